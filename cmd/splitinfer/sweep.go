package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/adaptive"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/pipeline/natsembed"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
)

func init() {
	register(&command{
		name:    "sweep",
		summary: "measure every cut over the live pipeline on an emulated link, against the prediction",
		run:     runSweep,
	})
}

// sweepCut is one measured cut in sweep output.
type sweepCut struct {
	cutJSON
	// CloudMeasuredMS is the median time the cloud worker reported
	// (queue + decode + compute).
	CloudMeasuredMS float64 `json:"cloud_measured_ms,omitempty"`
	// CloudComputeMS is the tail run alone, as the cloud reported it.
	CloudComputeMS float64 `json:"cloud_compute_ms,omitempty"`
	Skipped        string  `json:"skipped,omitempty"`
}

// sweepLink is the sweep of one link.
type sweepLink struct {
	Link           string  `json:"link"`
	RTTMeasured    float64 `json:"rtt_measured_ms"`
	Choice         string  `json:"choice"`
	ChoiceMeasured float64 `json:"choice_measured_ms"`
	ChoicePredict  float64 `json:"choice_predicted_ms"`
	BestMeasured   string  `json:"best_measured"`
	BestMS         float64 `json:"best_measured_ms"`
	// EdgeOnlyMS and CloudOnlyMS are absent when the cut was not measured;
	// CloudOnlySkipped then says why (a request too big for --max-bytes).
	EdgeOnlyMS       *float64   `json:"edge_only_ms,omitempty"`
	CloudOnlyMS      *float64   `json:"cloud_only_ms,omitempty"`
	CloudOnlySkipped string     `json:"cloud_only_skipped,omitempty"`
	Cuts             []sweepCut `json:"cuts"`
	// Traces link one request's trace per measured cut (--jaeger-ui).
	Traces []system.TraceLink `json:"traces,omitempty"`
}

func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", stderr)
	var cf costFlags
	cf.register(fs)
	links := fs.String("link", "1mbit/20ms,10mbit/20ms,100mbit/20ms", "emulated edge links, comma-separated (BANDWIDTH/RTT)")
	requests := fs.Int("requests", 5, "passes over the cuts: measured requests per cut (the median is reported)")
	warmup := fs.Int("warmup", 1, "unmeasured requests before each measured one (warm caches)")
	maxPred := fs.Float64("max-predicted", 3, "skip cuts predicted slower than this many times the choice (0: measure all)")
	timeout := fs.Duration("timeout", time.Minute, "per-request timeout")
	asJSON := fs.Bool("json", false, "print one JSON object instead of tables")
	adapt := fs.String("adapt", "", "instead of sweeping, run the adaptive partitioner while the link changes through these specs (comma-separated), --phase requests each")
	phase := fs.Int("phase", 30, "requests per link with --adapt")
	tf := addTelemetryFlags(fs)
	jaegerUI := fs.String("jaeger-ui", "", "base URL of the Jaeger web UI the traces go to (e.g. http://127.0.0.1:16686): after measuring a link, send one traced request per measured cut and print its trace URL")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	bad := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "splitinfer sweep: "+format+"\n", a...)
		return errUsage
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments %v", fs.Args())
	}
	if err := cf.validate(); err != nil {
		return bad("%v", err)
	}
	if err := tf.validate(); err != nil {
		return bad("%v", err)
	}
	if *jaegerUI != "" {
		if err := system.CheckJaegerUI(*jaegerUI); err != nil {
			return bad("--jaeger-ui: %v", err)
		}
	}
	list := *links
	if *adapt != "" {
		list = *adapt
		if *phase < 1 {
			return bad("--phase must be at least 1")
		}
	}
	var specs []link.Spec
	for _, s := range strings.Split(list, ",") {
		sp, err := link.Parse(s)
		if err != nil {
			return bad("--link: %v", err)
		}
		if sp.Bandwidth == 0 {
			return bad("--link %q: the sweep needs a finite bandwidth", s)
		}
		specs = append(specs, sp)
	}
	if *requests < 1 || *warmup < 0 || *maxPred < 0 || *timeout <= 0 {
		return bad("--requests >= 1, --warmup >= 0, --max-predicted >= 0 and --timeout > 0 please")
	}
	s, err := cf.setup(stderr)
	if err != nil {
		return err
	}
	hash := pipeline.ModelHash(s.graph)
	cloudTel, err := newTelemetry(ctx, tf, trace.ServiceCloud, "sweep-cloud", hash, "")
	if err != nil {
		return err
	}
	edgeTel, err := newTelemetry(ctx, tf, trace.ServiceEdge, "sweep-edge", hash, "")
	if err != nil {
		shutdownTelemetry(cloudTel)
		return err
	}
	defer shutdownTelemetry(edgeTel, cloudTel)
	h, err := startHarness(s, cloudworker.WithTracerProvider(cloudTel.TracerProvider()))
	if err != nil {
		return err
	}
	defer h.stop()
	s.Notes = append(s.Notes, fmt.Sprintf("live pipeline: in-process nats-server, one cloud worker (unshaped connection), the edge's connection shaped by --link; %d passes over the cuts, each with %d warm-up and 1 measured request per cut, median", *requests, *warmup))
	if cf.cloudProfile == "" {
		s.Notes = append(s.Notes, "cloud profile: measured again before each link (the host's load changes)")
	}
	emulate := cf.slowdown != 1 || cf.clock == "cpu"
	if emulate {
		s.Notes = append(s.Notes, fmt.Sprintf("edge: each head run takes %.3g x its thread CPU time (the edge sleeps the difference after computing), so host load does not change the emulated edge", cf.slowdown))
	}
	if *maxPred > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("cuts predicted slower than %.3gx the choice are not measured", *maxPred))
	}
	codec, _ := pipeline.ParseCodec(cf.codec)
	dt, _ := wireDType(cf.wireDType)
	edge := &sweepEdge{s: s, threads: cf.threads, slowdown: cf.slowdown, emulate: emulate, timeout: *timeout,
		jaegerUI: *jaegerUI, tracerProvider: edgeTel.TracerProvider(),
		enc: pipeline.RequestEncoder{Model: pipeline.ModelHash(s.graph), Codec: codec, Wire: dt}}
	if *adapt != "" {
		return runAdapt(ctx, edge, s, h.url, specs, *phase, *asJSON, stdout, stderr)
	}
	var results []sweepLink
	for _, sp := range specs {
		fmt.Fprintf(stderr, "sweeping %s...\n", sp)
		nc, err := nats.Connect(h.url, nats.SetCustomDialer(&link.Dialer{Spec: sp}), nats.MaxReconnects(0))
		if err != nil {
			return err
		}
		edge.nc = nc
		res, err := sweepOne(ctx, edge, s, sp, *requests, *warmup, *maxPred)
		nc.Close()
		if err != nil {
			return err
		}
		results = append(results, res)
	}
	if *asJSON {
		out := struct {
			Model        string      `json:"model"`
			EdgeSlowdown float64     `json:"edge_slowdown"`
			Notes        []string    `json:"notes"`
			Choice       string      `json:"choice"`
			Cuts         []sweepCut  `json:"cuts"`
			Links        []sweepLink `json:"links"`
		}{Model: s.name, EdgeSlowdown: cf.slowdown, Notes: s.Notes, Links: results}
		// the top-level choice and cuts are the first link's
		out.Choice, out.Cuts = results[0].Choice, results[0].Cuts
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(stdout, "model %s (%d nodes)\n", s.name, s.DAG.Len())
	for _, n := range s.Notes {
		fmt.Fprintf(stdout, "  %s\n", n)
	}
	for _, r := range results {
		fmt.Fprintf(stdout, "\nlink %s (round trip measured through the live path: %.1f ms)\n", r.Link, r.RTTMeasured)
		w := len("cut")
		for _, c := range r.Cuts {
			w = max(w, len(c.Name))
		}
		fmt.Fprintf(stdout, "  %-*s %10s %12s %12s %8s %9s %9s\n", w, "cut", "bytes", "predicted ms", "measured ms", "error", "cloud ms", "(meas.)")
		for _, c := range r.Cuts {
			mark := " "
			if c.Name == r.Choice {
				mark = "*"
			}
			if c.MeasuredMS == nil {
				fmt.Fprintf(stdout, "%s %-*s %10d %12.1f %12s %8s\n", mark, w, c.Name, c.Bytes, c.PredictedMS, "-", c.Skipped)
				continue
			}
			fmt.Fprintf(stdout, "%s %-*s %10d %12.1f %12.1f %+7.1f%% %9.1f %9.1f\n", mark, w, c.Name, c.Bytes, c.PredictedMS, *c.MeasuredMS,
				100*(c.PredictedMS-*c.MeasuredMS) / *c.MeasuredMS, c.CloudMS, c.CloudMeasuredMS)
		}
		fmt.Fprintf(stdout, "choice %s: measured %.1f ms (predicted %.1f); best measured %s %.1f ms (choice %+.1f%%); edge-only %s, cloud-only %s\n",
			r.Choice, r.ChoiceMeasured, r.ChoicePredict, r.BestMeasured, r.BestMS, 100*(r.ChoiceMeasured-r.BestMS)/r.BestMS,
			measuredOr(r.EdgeOnlyMS, "not measured"), measuredOr(r.CloudOnlyMS, cloudOnlyWhy(r.CloudOnlySkipped)))
		if *jaegerUI != "" {
			system.WriteTraceLinks(stdout, r.Traces)
		}
	}
	return nil
}

// sweepOne measures the candidate cuts on one link.
func sweepOne(ctx context.Context, e *sweepEdge, s *costSetup, sp link.Spec, requests, warmup int, maxPred float64) (sweepLink, error) {
	if err := s.RemeasureCloud(); err != nil {
		return sweepLink{}, err
	}
	// The round trip the partitioner plans with is measured through the
	// live path (edge, shaped link, server, cloud connection and back), as
	// a deployed edge measures it: it includes the hops' own latency.
	rtt, err := e.echoRTT(ctx, 7)
	if err != nil {
		return sweepLink{}, err
	}
	l := partition.Link{Bandwidth: sp.BytesPerSecond(), RTT: rtt}
	best, err := s.Model.Best(l)
	if err != nil {
		return sweepLink{}, err
	}
	cuts := s.DAG.CandidateCuts(best.Cut)
	res := sweepLink{Link: sp.String(), RTTMeasured: round3(float64(rtt) / 1e6), Choice: best.Cut.Name, ChoicePredict: round3(best.TotalMS), BestMS: math.Inf(1)}
	var measured []int
	for i, c := range cuts {
		est, err := s.Model.Predict(c, l)
		if err != nil {
			return res, err
		}
		sc := sweepCut{cutJSON: toCutJSON(est)}
		trivial := c.IsEdgeOnly() || c.IsCloudOnly() || c.Name == best.Cut.Name
		switch {
		case est.Infeasible:
			sc.Skipped = "too big"
			if c.IsCloudOnly() {
				res.CloudOnlySkipped = fmt.Sprintf("not possible: a %d-byte request is too big for --max-bytes", est.Bytes)
			}
		case maxPred > 0 && !trivial && est.TotalMS > maxPred*best.TotalMS:
			sc.Skipped = "skipped"
		default:
			measured = append(measured, i)
		}
		res.Cuts = append(res.Cuts, sc)
	}
	// Passes over the cuts, so that a change of the host's load touches
	// every cut alike; in each pass a cut gets warm-up requests first (a
	// deployed edge sends one cut again and again: caches are warm) and
	// then one measured request.
	times := make([][]float64, len(cuts))
	server := make([][]float64, len(cuts))
	compute := make([][]float64, len(cuts))
	n := 0
	for r := 0; r < requests; r++ {
		for _, i := range measured {
			for k := 0; k <= warmup; k++ {
				d, info, err := e.once(ctx, cuts[i], n)
				n++
				if err != nil {
					return res, fmt.Errorf("link %s, cut %s: %w", sp, cuts[i].Name, err)
				}
				if k == warmup {
					times[i] = append(times[i], float64(d)/1e6)
					server[i] = append(server[i], float64(info.server)/1e6)
					compute[i] = append(compute[i], float64(info.compute)/1e6)
				}
			}
		}
	}
	e.heads = nil
	if e.jaegerUI != "" {
		if res.Traces, err = e.traceCuts(ctx, l, cuts, measured); err != nil {
			return res, fmt.Errorf("link %s: %w", sp, err)
		}
	}
	for _, i := range measured {
		c := cuts[i]
		sort.Float64s(times[i])
		m := round3(times[i][len(times[i])/2])
		res.Cuts[i].MeasuredMS = &m
		sort.Float64s(server[i])
		res.Cuts[i].CloudMeasuredMS = round3(server[i][len(server[i])/2])
		sort.Float64s(compute[i])
		res.Cuts[i].CloudComputeMS = round3(compute[i][len(compute[i])/2])
		if m < res.BestMS {
			res.BestMS, res.BestMeasured = m, c.Name
		}
		switch {
		case c.IsEdgeOnly():
			res.EdgeOnlyMS = &m
		case c.IsCloudOnly():
			res.CloudOnlyMS = &m
		}
		if c.Name == best.Cut.Name {
			res.ChoiceMeasured = m
		}
	}
	return res, nil
}

// measuredOr formats a measured time, or why there is none.
func measuredOr(ms *float64, why string) string {
	if ms == nil {
		return why
	}
	return fmt.Sprintf("%.1f ms", *ms)
}

func cloudOnlyWhy(skipped string) string {
	if skipped != "" {
		return skipped
	}
	return "not measured"
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// harness is the live pipeline the sweep measures: an in-process NATS
// server and a cloud worker on an unshaped connection.
type harness struct {
	srv    *server.Server
	url    string
	cloud  *nats.Conn
	worker *cloudworker.Worker
}

func startHarness(s *costSetup, copts ...cloudworker.Option) (*harness, error) {
	srv, err := natsembed.Start(64 << 20)
	if err != nil {
		return nil, err
	}
	h := &harness{srv: srv, url: srv.ClientURL()}
	h.cloud, err = nats.Connect(h.url, nats.MaxReconnects(0))
	if err != nil {
		h.stop()
		return nil, err
	}
	if _, err := h.cloud.Subscribe(probeSubject, func(m *nats.Msg) { m.Respond([]byte{1}) }); err != nil {
		h.stop()
		return nil, err
	}
	h.worker, err = cloudworker.New(h.cloud, []cloudworker.Model{{Name: s.name, Program: s.prog}},
		cloudworker.Config{Workers: 1}, copts...)
	if err != nil {
		h.stop()
		return nil, err
	}
	return h, nil
}

func (h *harness) stop() {
	if h.worker != nil {
		h.worker.Stop()
	}
	if h.cloud != nil {
		h.cloud.Close()
	}
	natsembed.Stop(h.srv)
}

// sweepEdge is the sweep's edge: it runs the head of a cut, emulates the
// slower device, and sends the request over its shaped connection.
type sweepEdge struct {
	s        *costSetup
	nc       *nats.Conn
	threads  int
	slowdown float64
	emulate  bool // run heads through edgeworker.EmulateSlower
	enc      pipeline.RequestEncoder
	timeout  time.Duration
	heads    map[string]*nn.Runner

	// jaegerUI, when set, makes sweepOne send one traced request per
	// measured cut through edge workers on tracerProvider (traceCuts).
	jaegerUI       string
	tracerProvider oteltrace.TracerProvider
}

// head returns a runner for the head of cut c, cached by cut name.
func (e *sweepEdge) head(c partition.Cut) (*nn.Runner, error) {
	if r, ok := e.heads[c.Name]; ok {
		return r, nil
	}
	p := e.s.prog
	head := p
	if !c.IsEdgeOnly() {
		var err error
		if head, err = p.Slice(p.Inputs(), c.Tensors); err != nil {
			return nil, err
		}
	}
	if e.heads == nil {
		e.heads = map[string]*nn.Runner{}
	}
	r := head.NewRunner(e.threads)
	e.heads[c.Name] = r
	return r, nil
}

// once runs one inference split at c on sample i: the head (on the
// emulated edge), then the request unless c is edge-only. It returns the
// end-to-end latency.
func (e *sweepEdge) once(ctx context.Context, c partition.Cut, i int) (time.Duration, reqInfo, error) {
	var info reqInfo
	if err := ctx.Err(); err != nil {
		return 0, info, err
	}
	r, err := e.head(c)
	if err != nil {
		return 0, info, err
	}
	in := e.s.samples[i%len(e.s.samples)]
	t0 := time.Now()
	var outs []*nn.Tensor
	run := func() (err error) { outs, err = r.Run(in...); return err }
	if e.emulate {
		_, _, err = edgeworker.EmulateSlower(e.slowdown, run)
	} else {
		err = run()
	}
	if err != nil {
		return 0, info, err
	}
	if !c.IsEdgeOnly() {
		if info, err = e.request(ctx, c.Tensors, outs); err != nil {
			return 0, info, err
		}
	}
	return time.Since(t0), info, nil
}

// traceCuts sends one request per cut cuts[i], i in measured, over the
// link's connection through the edge workers splitinfer's edge runs (so
// traced as `run` traces them; edge-only stays on the edge), and links
// the traces in the Jaeger UI.
func (e *sweepEdge) traceCuts(ctx context.Context, l partition.Link, cuts []partition.Cut, measured []int) ([]system.TraceLink, error) {
	a, err := partition.NewAdapter(e.s.Model, l)
	if err != nil {
		return nil, err
	}
	cfg := edgeworker.Config{Model: e.s.name, Codec: e.enc.Codec, WireDType: e.enc.Wire, Timeout: e.timeout, Attempts: 1, Threads: e.threads}
	if cfg.WireDType == nn.Float32 {
		cfg.WireDType = nn.Undefined // as computed
	}
	if e.emulate && e.slowdown > 1 {
		cfg.Slowdown = e.slowdown
	}
	edge, err := adaptive.New(e.nc, e.s.prog, a, cfg, "", edgeworker.WithTracerProvider(e.tracerProvider))
	if err != nil {
		return nil, err
	}
	var links []system.TraceLink
	for _, i := range measured {
		r, err := edge.InferAt(ctx, cuts[i], e.s.samples[0]...)
		if err != nil {
			return nil, fmt.Errorf("traced request at cut %s: %w", cuts[i].Name, err)
		}
		if r.TraceID != "" {
			links = append(links, system.Link(e.jaegerUI, cuts[i].Name, r.Result))
		}
	}
	return links, nil
}

// echoRTT is the median round trip of n tiny echo requests (after one).
func (e *sweepEdge) echoRTT(ctx context.Context, n int) (time.Duration, error) {
	var ds []time.Duration
	for i := 0; i <= n; i++ {
		d, err := e.probe(ctx, 1)
		if err != nil {
			return 0, err
		}
		if i > 0 {
			ds = append(ds, d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], nil
}

// probeSubject is the harness's echo endpoint for bandwidth probes.
const probeSubject = "splitinfer.sweep.probe"

// probe sends n bytes to the harness's echo and returns the round trip.
func (e *sweepEdge) probe(ctx context.Context, n int) (time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	t0 := time.Now()
	if _, err := e.nc.RequestWithContext(rctx, probeSubject, make([]byte, n)); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// reqInfo is what one request tells the edge about the link.
type reqInfo struct {
	sent, received int
	roundTrip      time.Duration
	server         time.Duration // the cloud's queue + decode + compute
	compute        time.Duration // of which the tail run
}

func (e *sweepEdge) request(ctx context.Context, names []string, outs []*nn.Tensor) (reqInfo, error) {
	var info reqInfo
	id := pipeline.NewRequestID()
	enc, err := e.enc.Encode(id, names, outs, time.Now().Add(e.timeout))
	if err != nil {
		return info, err
	}
	rctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	t0 := time.Now()
	msg, err := e.nc.RequestWithContext(rctx, pipeline.DefaultSubject, enc.Body)
	info.roundTrip = time.Since(t0)
	if err != nil {
		return info, err
	}
	info.sent, info.received = len(enc.Body), len(msg.Data)
	rep, err := pipeline.ReadReply(msg, id, pipeline.Limits{})
	if err != nil {
		return info, err
	}
	if _, err := rep.OutputTensors(e.s.prog.Outputs()); err != nil {
		return info, err
	}
	info.server = time.Duration(rep.QueueNs + rep.DecodeNs + rep.ComputeNs)
	info.compute = time.Duration(rep.ComputeNs)
	return info, nil
}

// adaptStep is one request of an --adapt run.
type adaptStep struct {
	Phase     int     `json:"phase"`
	Request   int     `json:"request"`
	Link      string  `json:"link"`
	Cut       string  `json:"cut"`
	MS        float64 `json:"ms"`
	EstMbit   float64 `json:"estimated_mbit"`
	EstRTTMS  float64 `json:"estimated_rtt_ms"`
	Probe     bool    `json:"probe,omitempty"`
	BestCut   string  `json:"best_cut_for_link"`
	OnBestCut bool    `json:"on_best_cut"`
}

// adaptPhase summarises one link of an --adapt run.
type adaptPhase struct {
	Link string `json:"link"`
	// Best is the cut the model predicts best for the link.
	Best string `json:"best_cut"`
	// MovedAfter is the number of requests into the phase after which the
	// edge used Best (0: from the start; -1: never).
	MovedAfter int `json:"moved_after_requests"`
	// Moves counts cut changes during the phase; Reversals the moves back
	// to a cut just left (flaps).
	Moves     int `json:"moves"`
	Reversals int `json:"reversals"`
}

// runAdapt runs requests through the Adapter while the shaped link
// changes from phase to phase, and reports when the cut moved.
func runAdapt(ctx context.Context, e *sweepEdge, s *costSetup, url string, specs []link.Spec, phase int, asJSON bool, stdout, stderr io.Writer) error {
	sh := link.NewShaper(specs[0])
	nc, err := nats.Connect(url, nats.SetCustomDialer(&link.Dialer{Shaper: sh}), nats.MaxReconnects(0))
	if err != nil {
		return err
	}
	defer nc.Close()
	e.nc = nc
	toLink := func(sp link.Spec) partition.Link {
		return partition.Link{Bandwidth: sp.BytesPerSecond(), RTT: sp.RTT}
	}
	a, err := partition.NewAdapter(s.Model, toLink(specs[0]))
	if err != nil {
		return err
	}
	var steps []adaptStep
	var phases []adaptPhase
	n := 0
	for pi, sp := range specs {
		sh.Set(sp)
		best, err := s.Model.Best(toLink(sp))
		if err != nil {
			return err
		}
		ph := adaptPhase{Link: sp.String(), Best: best.Cut.Name, MovedAfter: -1}
		prev, left := a.CutID(), ""
		fmt.Fprintf(stderr, "link %s: best cut %s\n", sp, best.Cut.Name)
		for i := 0; i < phase; i++ {
			c := a.Next()
			if c.Name == best.Cut.Name && ph.MovedAfter < 0 {
				ph.MovedAfter = i
			}
			if c.Name != prev {
				ph.Moves++
				if c.Name == left {
					ph.Reversals++
				}
				left, prev = prev, c.Name
			}
			if i%5 == 0 {
				if d, err := nc.RTT(); err == nil {
					a.ObserveRTT(d)
				}
			}
			probed := false
			if size, need := a.NeedProbe(); need {
				d, err := e.probe(ctx, size)
				if err != nil {
					return err
				}
				if _, err := a.Observe(partition.Observation{Bytes: size, Network: d}); err != nil {
					return err
				}
				probed = true
			}
			d, info, err := e.once(ctx, c, n)
			n++
			if err != nil {
				return fmt.Errorf("link %s, cut %s: %w", sp, c.Name, err)
			}
			if !c.IsEdgeOnly() {
				net := info.roundTrip - info.server
				if _, err := a.Observe(partition.Observation{Bytes: info.sent + info.received, Network: max(net, 0)}); err != nil {
					return err
				}
			}
			est := a.Link()
			steps = append(steps, adaptStep{Phase: pi, Request: i, Link: sp.String(), Cut: c.Name, MS: round3(float64(d) / 1e6),
				EstMbit: round3(est.Bandwidth * 8 / 1e6), EstRTTMS: round3(float64(est.RTT) / 1e6), Probe: probed,
				BestCut: best.Cut.Name, OnBestCut: c.Name == best.Cut.Name})
		}
		phases = append(phases, ph)
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Model  string       `json:"model"`
			Notes  []string     `json:"notes"`
			Phases []adaptPhase `json:"phases"`
			Steps  []adaptStep  `json:"requests"`
		}{s.name, s.Notes, phases, steps})
	}
	fmt.Fprintf(stdout, "model %s, adaptive partitioner, %d requests per link\n", s.name, phase)
	for _, note := range s.Notes {
		fmt.Fprintf(stdout, "  %s\n", note)
	}
	for _, st := range steps {
		mark := " "
		if st.OnBestCut {
			mark = "*"
		}
		probe := ""
		if st.Probe {
			probe = " (probed)"
		}
		fmt.Fprintf(stdout, "%s %-14s #%-3d %9.1f ms  est %7.2f Mbit/s %6.1f ms RTT  %s%s\n", mark, st.Link, st.Request, st.MS, st.EstMbit, st.EstRTTMS, st.Cut, probe)
	}
	for _, ph := range phases {
		fmt.Fprintf(stdout, "link %s: best cut %s reached after %d requests; %d moves, %d reversals\n", ph.Link, ph.Best, ph.MovedAfter, ph.Moves, ph.Reversals)
	}
	return nil
}
