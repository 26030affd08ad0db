package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/adaptive"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
)

// CutEstimate is one cut's prediction (and, in a sweep, measurement) in
// reports.
type CutEstimate struct {
	Name        string   `json:"name"`
	Tensors     []string `json:"tensors"`
	EdgeMS      float64  `json:"edge_ms"`
	EncodeMS    float64  `json:"encode_ms"`
	Bytes       int      `json:"bytes"`
	TransferMS  float64  `json:"transfer_ms"`
	RTTMS       float64  `json:"rtt_ms"`
	DecodeMS    float64  `json:"decode_ms"`
	CloudMS     float64  `json:"cloud_ms"`
	PredictedMS float64  `json:"predicted_ms"`
	Infeasible  bool     `json:"infeasible,omitempty"`
	MeasuredMS  *float64 `json:"measured_ms,omitempty"`
}

// NewCutEstimate rounds a prediction for a report.
func NewCutEstimate(e partition.Estimate) CutEstimate {
	return CutEstimate{Name: e.Cut.Name, Tensors: e.Cut.Tensors, EdgeMS: round3(e.EdgeMS), EncodeMS: round3(e.EncodeMS), Bytes: e.Bytes,
		TransferMS: round3(e.TransferMS), RTTMS: round3(e.RTTMS), DecodeMS: round3(e.DecodeMS), CloudMS: round3(e.CloudMS),
		PredictedMS: round3(e.TotalMS), Infeasible: e.Infeasible}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// SweepConfig configures Sweep and Adapt.
type SweepConfig struct {
	// Name names the model; Cost is its cost model (measure.Build), built
	// from Samples, which the requests send in turn.
	Name    string
	Program *nn.Program
	Cost    *measure.CostModel
	Samples [][]*nn.Tensor
	// Links are the emulated edge links: one sweep each, or (Adapt) the
	// phases the link goes through.
	Links []link.Spec
	// Edge configures the edge workers (codec, wire dtype, threads,
	// slowdown); the cut is the sweep's.
	Edge edgeworker.Config
	// Requests is the number of passes over the cuts (one measured request
	// per cut each; the median is reported), Warmup the unmeasured
	// requests before each measured one. MaxPredicted skips cuts predicted
	// slower than this many times the choice (0: measure all).
	Requests, Warmup int
	MaxPredicted     float64
	// MaxAccuracyDrop is the accuracy budget of the joint choice of cut
	// and coding when the cost model has codings (AddCodings): every
	// candidate within it is measured and the best one found.
	MaxAccuracyDrop float64
	// Phase is Adapt's number of requests per link.
	Phase int
	// CloudOptions configure the cloud worker (e.g. its tracer provider).
	CloudOptions []cloudworker.Option
	// JaegerUI, when set, makes Sweep send one request per measured cut
	// after each link through edge workers made with TraceOptions (e.g. a
	// tracer provider exporting to that Jaeger) and link its trace there.
	JaegerUI     string
	TraceOptions []edgeworker.Option
	// Log, when not nil, gets progress lines.
	Log io.Writer
	// Progress, when set, gets the requests sent so far on the link being
	// swept after each one.
	Progress func(done, total int)
}

// SweepCut is one cut of a swept link.
type SweepCut struct {
	CutEstimate
	// CloudMeasuredMS is the median time the cloud worker reported
	// (queue + decode + compute).
	CloudMeasuredMS float64 `json:"cloud_measured_ms,omitempty"`
	// CloudComputeMS is the tail run alone, as the cloud reported it.
	CloudComputeMS float64 `json:"cloud_compute_ms,omitempty"`
	Skipped        string  `json:"skipped,omitempty"`
}

// SweepLink is the sweep of one link.
type SweepLink struct {
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
	Cuts             []SweepCut `json:"cuts"`
	// Traces link one request's trace per measured cut (JaegerUI).
	Traces []TraceLink `json:"traces,omitempty"`
	// With codings, the cut and the coding are chosen and measured
	// together: ChoiceCoding and BestCoding are the codings of Choice and
	// BestMeasured, PNGMS the input sent as a PNG, and Candidates every
	// cut with every coding.
	ChoiceCoding string              `json:"choice_coding,omitempty"`
	BestCoding   string              `json:"best_measured_coding,omitempty"`
	PNGMS        *float64            `json:"png_ms,omitempty"`
	Candidates   []CandidateEstimate `json:"candidates,omitempty"`
}

// SweepReport is a sweep's result; the top-level choice and cuts are the
// first link's.
type SweepReport struct {
	Model        string      `json:"model"`
	EdgeSlowdown float64     `json:"edge_slowdown"`
	Notes        []string    `json:"notes"`
	Choice       string      `json:"choice"`
	Cuts         []SweepCut  `json:"cuts"`
	Links        []SweepLink `json:"links"`

	nodes  int
	traced bool
	// maxDrop and accuracy head the candidates tables.
	maxDrop, accuracy float64
}

// sweepMaxPayload lets the sweep's server carry the requests of any cut
// (the cost model marks the ones above its MaxBytes infeasible).
const sweepMaxPayload = 64 << 20

// ParseLinks parses the links of a sweep: link specs (link.Parse),
// comma-separated, each with a finite bandwidth.
func ParseLinks(list string) ([]link.Spec, error) {
	var specs []link.Spec
	for _, s := range strings.Split(list, ",") {
		sp, err := link.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("--link: %v", err)
		}
		if sp.Bandwidth == 0 {
			return nil, fmt.Errorf("--link %q: the sweep needs a finite bandwidth", s)
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// notes are the cost model's notes and how the sweep measures.
func (cfg SweepConfig) notes() []string {
	notes := append(slices.Clone(cfg.Cost.Notes), fmt.Sprintf("live pipeline: in-process nats-server, one cloud worker (unshaped connection), the edge's connection shaped by --link; %d passes over the cuts, each with %d warm-up and 1 measured request per cut, median", cfg.Requests, cfg.Warmup))
	if cfg.Cost.CloudMeasuredHere() {
		notes = append(notes, "cloud profile: measured again before each link (the host's load changes)")
	}
	if sd := cfg.Edge.Slowdown; sd >= 1 {
		notes = append(notes, fmt.Sprintf("edge: each head run takes %.3g x its thread CPU time (the edge sleeps the difference after computing), so host load does not change the emulated edge", sd))
	}
	if cfg.MaxPredicted > 0 {
		notes = append(notes, fmt.Sprintf("cuts predicted slower than %.3gx the choice are not measured", cfg.MaxPredicted))
	}
	return notes
}

// sweeper is the live pipeline a sweep or an adaptive run measures: the
// embedded system with one cloud worker on an unshaped connection; each
// link gets an edge on its own shaped connection.
type sweeper struct {
	cfg SweepConfig
	sys *System
}

func startSweeper(cfg SweepConfig) (*sweeper, error) {
	if cfg.Program == nil || cfg.Cost == nil || len(cfg.Samples) == 0 || len(cfg.Links) == 0 {
		return nil, errors.New("system: a sweep needs a model, its cost model, samples and links")
	}
	for _, sp := range cfg.Links {
		if sp.Bandwidth == 0 {
			return nil, fmt.Errorf("system: link %q: the sweep needs a finite bandwidth", sp)
		}
	}
	sys, err := StartCloud(cfg.Name, cfg.Program, cloudworker.Config{Workers: 1, Limits: pipeline.Limits{MaxMessageBytes: sweepMaxPayload}}, cfg.CloudOptions)
	if err != nil {
		return nil, err
	}
	return &sweeper{cfg: cfg, sys: sys}, nil
}

// edge connects an adaptive edge through a shaped connection.
func (s *sweeper) edge(sh *link.Shaper, initial partition.Link) (*adaptive.Edge, *nats.Conn, error) {
	nc, err := nats.Connect(s.sys.URL(), nats.SetCustomDialer(&link.Dialer{Shaper: sh}), nats.MaxReconnects(0))
	if err != nil {
		return nil, nil, err
	}
	e, err := s.edgeOn(nc, initial)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return e, nc, nil
}

// edgeOn makes an adaptive edge on nc whose edge workers take opts.
func (s *sweeper) edgeOn(nc *nats.Conn, initial partition.Link, opts ...edgeworker.Option) (*adaptive.Edge, error) {
	return s.edgeWith(nc, initial, s.cfg.Edge, opts...)
}

// edgeWith makes an adaptive edge on nc whose edge workers take ecfg and
// opts.
func (s *sweeper) edgeWith(nc *nats.Conn, initial partition.Link, ecfg edgeworker.Config, opts ...edgeworker.Option) (*adaptive.Edge, error) {
	a, err := partition.NewAdapter(s.cfg.Cost.Model, initial)
	if err != nil {
		return nil, err
	}
	ecfg.Model = s.cfg.Name
	return adaptive.New(nc, s.cfg.Program, a, ecfg, pipeline.EchoSubject(pipeline.DefaultSubject), opts...)
}

// traceCuts sends one request per measured cut through edge workers made
// with the trace options (so traced as run traces them; edge-only stays on
// the edge) and links the traces in the Jaeger UI.
func (s *sweeper) traceCuts(ctx context.Context, nc *nats.Conn, l partition.Link, cuts []partition.Cut, measured []int) ([]TraceLink, error) {
	e, err := s.edgeOn(nc, l, s.cfg.TraceOptions...)
	if err != nil {
		return nil, err
	}
	return s.traceEach(measured, func(i int) (string, *adaptive.Result, error) {
		r, err := e.InferAt(ctx, cuts[i], s.cfg.Samples[0]...)
		return cuts[i].Name, r, err
	})
}

// traceEach sends one traced request per measured item and links the
// sampled ones' traces.
func (s *sweeper) traceEach(measured []int, send func(i int) (string, *adaptive.Result, error)) ([]TraceLink, error) {
	var links []TraceLink
	for _, i := range measured {
		name, r, err := send(i)
		if err != nil {
			return nil, fmt.Errorf("traced request at %s: %w", name, err)
		}
		if r.TraceID != "" {
			links = append(links, Link(s.cfg.JaegerUI, name, r.Result))
		}
	}
	return links, nil
}

func (s *sweeper) logf(format string, a ...any) {
	if s.cfg.Log != nil {
		fmt.Fprintf(s.cfg.Log, format+"\n", a...)
	}
}

func specLink(sp link.Spec) partition.Link {
	return partition.Link{Bandwidth: sp.BytesPerSecond(), RTT: sp.RTT}
}

// Sweep measures every candidate cut over the live pipeline (the embedded
// system, real edge workers on a connection shaped as each link) against
// the cost model's prediction.
func Sweep(ctx context.Context, cfg SweepConfig) (*SweepReport, error) {
	if cfg.Requests < 1 || cfg.Warmup < 0 || cfg.MaxPredicted < 0 {
		return nil, errors.New("system: a sweep needs Requests >= 1, Warmup >= 0 and MaxPredicted >= 0")
	}
	s, err := startSweeper(cfg)
	if err != nil {
		return nil, err
	}
	defer s.sys.Close()
	rep := &SweepReport{Model: cfg.Name, EdgeSlowdown: cfg.Edge.Slowdown, Notes: cfg.notes(), nodes: cfg.Cost.DAG.Len(), traced: cfg.JaegerUI != "",
		maxDrop: cfg.MaxAccuracyDrop, accuracy: cfg.Cost.Model.Accuracy}
	for _, sp := range cfg.Links {
		s.logf("sweeping %s...", sp)
		res, err := s.sweepLink(ctx, sp)
		if err != nil {
			return nil, err
		}
		rep.Links = append(rep.Links, res)
	}
	rep.Choice, rep.Cuts = rep.Links[0].Choice, rep.Links[0].Cuts
	return rep, nil
}

// sweepLink measures the candidate cuts on one link.
func (s *sweeper) sweepLink(ctx context.Context, sp link.Spec) (SweepLink, error) {
	cm := s.cfg.Cost
	if err := cm.RemeasureCloud(); err != nil {
		return SweepLink{}, err
	}
	e, nc, err := s.edge(link.NewShaper(sp), specLink(sp))
	if err != nil {
		return SweepLink{}, err
	}
	defer nc.Close()
	// The round trip the partitioner plans with is measured through the
	// live path (edge, shaped link, server, cloud connection and back), as
	// a deployed edge measures it: it includes the hops' own latency.
	lk, err := adaptive.MeasureLink(ctx, nc, pipeline.DefaultSubject, 7, 0)
	if err != nil {
		return SweepLink{}, err
	}
	l := partition.Link{Bandwidth: sp.BytesPerSecond(), RTT: lk.RTT}
	if len(cm.Model.Codings) > 0 {
		return s.sweepCandidates(ctx, sp, nc, l)
	}
	best, err := cm.Model.Best(l)
	if err != nil {
		return SweepLink{}, err
	}
	cuts := cm.DAG.CandidateCuts(best.Cut)
	res := SweepLink{Link: sp.String(), RTTMeasured: round3(float64(lk.RTT) / 1e6), Choice: best.Cut.Name, ChoicePredict: round3(best.TotalMS), BestMS: math.Inf(1)}
	var measured []int
	for i, c := range cuts {
		est, err := cm.Model.Predict(c, l)
		if err != nil {
			return res, err
		}
		sc := SweepCut{CutEstimate: NewCutEstimate(est)}
		trivial := c.IsEdgeOnly() || c.IsCloudOnly() || c.Name == best.Cut.Name
		switch {
		case est.Infeasible:
			sc.Skipped = "too big"
			if c.IsCloudOnly() {
				res.CloudOnlySkipped = fmt.Sprintf("not possible: a %d-byte request is too big for --max-bytes", est.Bytes)
			}
		case s.cfg.MaxPredicted > 0 && !trivial && est.TotalMS > s.cfg.MaxPredicted*best.TotalMS:
			sc.Skipped = "skipped"
		default:
			measured = append(measured, i)
		}
		res.Cuts = append(res.Cuts, sc)
	}
	times, err := s.passes(ctx, sp, measured, func(i int, in []*nn.Tensor) (*adaptive.Result, error) {
		return e.InferAt(ctx, cuts[i], in...)
	})
	if err != nil {
		return res, err
	}
	med := func(i int, f func(edgeworker.Timings) time.Duration) float64 {
		var v []float64
		for _, tm := range times[i] {
			v = append(v, ms(f(tm)))
		}
		return round3(partition.Median(v))
	}
	if s.cfg.JaegerUI != "" {
		if res.Traces, err = s.traceCuts(ctx, nc, l, cuts, measured); err != nil {
			return res, fmt.Errorf("link %s: %w", sp, err)
		}
	}
	for _, i := range measured {
		c := cuts[i]
		m := med(i, totalTime)
		res.Cuts[i].MeasuredMS = &m
		res.Cuts[i].CloudMeasuredMS = med(i, cloudTime)
		res.Cuts[i].CloudComputeMS = med(i, func(tm edgeworker.Timings) time.Duration { return tm.CloudCompute })
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

func totalTime(tm edgeworker.Timings) time.Duration { return tm.Total }
func cloudTime(tm edgeworker.Timings) time.Duration {
	return tm.CloudQueue + tm.CloudDecode + tm.CloudCompute
}

// passes sends the measured items (indices) Requests passes over them,
// so that a change of the host's load touches every item alike; in each
// pass an item gets Warmup requests first (a deployed edge sends one cut
// again and again: caches are warm) and then one measured request. It
// returns the measured requests' timings by item.
func (s *sweeper) passes(ctx context.Context, sp link.Spec, measured []int, send func(i int, in []*nn.Tensor) (*adaptive.Result, error)) (map[int][]edgeworker.Timings, error) {
	times := map[int][]edgeworker.Timings{}
	n, total := 0, s.cfg.Requests*len(measured)*(s.cfg.Warmup+1)
	for r := 0; r < s.cfg.Requests; r++ {
		for _, i := range measured {
			for k := 0; k <= s.cfg.Warmup; k++ {
				if ctx.Err() != nil {
					return nil, fmt.Errorf("link %s: %w", sp, ctx.Err())
				}
				out, err := send(i, s.cfg.Samples[n%len(s.cfg.Samples)])
				n++
				if s.cfg.Progress != nil {
					s.cfg.Progress(n, total)
				}
				if err != nil {
					return nil, fmt.Errorf("link %s, candidate %d: %w", sp, i, err)
				}
				if k == s.cfg.Warmup {
					times[i] = append(times[i], out.Timings)
				}
			}
		}
	}
	return times, nil
}

// sweepCandidates measures every cut with every coding it can be sent
// with (the cost model's codings, AddCodings) on one link: the joint
// choice of cut and coding within MaxAccuracyDrop against the best
// measured candidate within it.
func (s *sweeper) sweepCandidates(ctx context.Context, sp link.Spec, nc *nats.Conn, l partition.Link) (SweepLink, error) {
	cm := s.cfg.Cost
	cuts := cm.DAG.CandidateCuts()
	cands, chosen, err := cm.Model.Candidates(cuts, l, s.cfg.MaxAccuracyDrop)
	if err != nil {
		return SweepLink{}, err
	}
	if chosen < 0 {
		return SweepLink{}, fmt.Errorf("link %s: no cut and coding within the accuracy budget %v", sp, s.cfg.MaxAccuracyDrop)
	}
	choice := cands[chosen]
	res := SweepLink{Link: sp.String(), RTTMeasured: round3(float64(l.RTT) / 1e6), Choice: choice.Cut.Name, ChoiceCoding: choice.Coding.Name,
		ChoicePredict: round3(choice.TotalMS), BestMS: math.Inf(1)}
	// One adaptive edge per way of sending: cuts with codings get an
	// edge worker that sends the coding, the others the configured one.
	edges := map[string]*adaptive.Edge{}
	edgeFor := func(c partition.Candidate, traced bool) (*adaptive.Edge, error) {
		ecfg, key := s.cfg.Edge, fmt.Sprint("default ", traced)
		if len(cm.Model.Codings[c.Cut.Name]) > 0 {
			ecfg.Compact, ecfg.CodecBits = c.Coding.Compact, c.Coding.Bits
			key = fmt.Sprint(ecfg.Compact, ecfg.CodecBits, traced)
		}
		if e, ok := edges[key]; ok {
			return e, nil
		}
		var opts []edgeworker.Option
		if traced {
			opts = s.cfg.TraceOptions
		}
		e, err := s.edgeWith(nc, l, ecfg, opts...)
		edges[key] = e
		return e, err
	}
	var measured []int
	for i, c := range cands {
		ce := NewCandidateEstimate(c)
		trivial := c.Cut.IsEdgeOnly() || c.Cut.IsCloudOnly() || i == chosen
		switch {
		case c.Infeasible:
			ce.Skipped = "too big"
		case !c.Within:
			ce.Skipped = "over budget"
		case s.cfg.MaxPredicted > 0 && !trivial && c.TotalMS > s.cfg.MaxPredicted*choice.TotalMS:
			ce.Skipped = "skipped"
		default:
			measured = append(measured, i)
		}
		res.Candidates = append(res.Candidates, ce)
	}
	times, err := s.passes(ctx, sp, measured, func(i int, in []*nn.Tensor) (*adaptive.Result, error) {
		e, err := edgeFor(cands[i], false)
		if err != nil {
			return nil, err
		}
		return e.InferAt(ctx, cands[i].Cut, in...)
	})
	if err != nil {
		return res, err
	}
	if s.cfg.JaegerUI != "" {
		res.Traces, err = s.traceEach(measured, func(i int) (string, *adaptive.Result, error) {
			name := cands[i].Key()
			if cands[i].Cut.IsEdgeOnly() {
				name = partition.EdgeOnly // no coding
			}
			e, err := edgeFor(cands[i], true)
			if err != nil {
				return name, nil, err
			}
			r, err := e.InferAt(ctx, cands[i].Cut, s.cfg.Samples[0]...)
			return name, r, err
		})
		if err != nil {
			return res, fmt.Errorf("link %s: %w", sp, err)
		}
	}
	for _, i := range measured {
		var v []float64
		for _, tm := range times[i] {
			v = append(v, ms(tm.Total))
		}
		m := round3(partition.Median(v))
		c := cands[i]
		res.Candidates[i].MeasuredMS = &m
		if m < res.BestMS {
			res.BestMS, res.BestMeasured, res.BestCoding = m, c.Cut.Name, c.Coding.Name
		}
		switch {
		case c.Cut.IsEdgeOnly():
			res.EdgeOnlyMS = &m
		case c.Cut.IsCloudOnly() && c.Coding.Name == PNGCoding:
			res.PNGMS = &m
		case c.Cut.IsCloudOnly() && c.Coding.Name == partition.AsComputed:
			res.CloudOnlyMS = &m
		}
		if i == chosen {
			res.ChoiceMeasured = m
		}
	}
	return res, nil
}

// WriteJSON writes the report as one indented JSON object.
func (r *SweepReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteText writes the report as a table per link.
func (r *SweepReport) WriteText(w io.Writer) {
	writeHeader(w, fmt.Sprintf("model %s (%d nodes)", r.Model, r.nodes), r.Notes)
	for _, l := range r.Links {
		fmt.Fprintf(w, "\nlink %s (round trip measured through the live path: %.1f ms)\n", l.Link, l.RTTMeasured)
		if len(l.Candidates) > 0 {
			writeCandidates(w, l.Candidates, l.Choice+" / "+l.ChoiceCoding, r.maxDrop, r.accuracy)
			fmt.Fprintf(w, "choice %s / %s: measured %.1f ms (predicted %.1f); best measured %s / %s %.1f ms (choice %+.1f%%); edge-only %s, PNG %s, cloud-only as computed %s\n",
				l.Choice, l.ChoiceCoding, l.ChoiceMeasured, l.ChoicePredict, l.BestMeasured, l.BestCoding, l.BestMS, 100*(l.ChoiceMeasured-l.BestMS)/l.BestMS,
				measuredOr(l.EdgeOnlyMS, "not measured"), measuredOr(l.PNGMS, "not measured"), measuredOr(l.CloudOnlyMS, "not measured"))
			if r.traced {
				WriteTraceLinks(w, l.Traces)
			}
			continue
		}
		nw := len("cut")
		for _, c := range l.Cuts {
			nw = max(nw, len(c.Name))
		}
		fmt.Fprintf(w, "  %-*s %10s %12s %12s %8s %9s %9s\n", nw, "cut", "bytes", "predicted ms", "measured ms", "error", "cloud ms", "(meas.)")
		for _, c := range l.Cuts {
			mark := mark(c.Name == l.Choice)
			if c.MeasuredMS == nil {
				fmt.Fprintf(w, "%s %-*s %10d %12.1f %12s %8s\n", mark, nw, c.Name, c.Bytes, c.PredictedMS, "-", c.Skipped)
				continue
			}
			fmt.Fprintf(w, "%s %-*s %10d %12.1f %12.1f %+7.1f%% %9.1f %9.1f\n", mark, nw, c.Name, c.Bytes, c.PredictedMS, *c.MeasuredMS,
				100*(c.PredictedMS-*c.MeasuredMS) / *c.MeasuredMS, c.CloudMS, c.CloudMeasuredMS)
		}
		fmt.Fprintf(w, "choice %s: measured %.1f ms (predicted %.1f); best measured %s %.1f ms (choice %+.1f%%); edge-only %s, cloud-only %s\n",
			l.Choice, l.ChoiceMeasured, l.ChoicePredict, l.BestMeasured, l.BestMS, 100*(l.ChoiceMeasured-l.BestMS)/l.BestMS,
			measuredOr(l.EdgeOnlyMS, "not measured"), measuredOr(l.CloudOnlyMS, cmp(l.CloudOnlySkipped, "not measured")))
		if r.traced {
			WriteTraceLinks(w, l.Traces)
		}
	}
}

// writeHeader writes a title line and the notes under it.
func writeHeader(w io.Writer, title string, notes []string) {
	fmt.Fprintln(w, title)
	for _, n := range notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

func mark(on bool) string {
	if on {
		return "*"
	}
	return " "
}

func cmp(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// measuredOr formats a measured time, or why there is none.
func measuredOr(ms *float64, why string) string {
	if ms == nil {
		return why
	}
	return fmt.Sprintf("%.1f ms", *ms)
}

// AdaptStep is one request of an adaptive run.
type AdaptStep struct {
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

// AdaptPhase summarises one link of an adaptive run.
type AdaptPhase struct {
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

// AdaptReport is an adaptive run's result.
type AdaptReport struct {
	Model  string       `json:"model"`
	Notes  []string     `json:"notes"`
	Phases []AdaptPhase `json:"phases"`
	Steps  []AdaptStep  `json:"requests"`

	phase int
}

// Adapt runs cfg.Phase requests per link through the adaptive edge
// (edgeworker/adaptive) while its shaped link goes through cfg.Links, and
// reports when the cut moved.
func Adapt(ctx context.Context, cfg SweepConfig) (*AdaptReport, error) {
	if cfg.Phase < 1 {
		return nil, errors.New("system: an adaptive run needs Phase >= 1")
	}
	s, err := startSweeper(cfg)
	if err != nil {
		return nil, err
	}
	defer s.sys.Close()
	sh := link.NewShaper(cfg.Links[0])
	e, nc, err := s.edge(sh, specLink(cfg.Links[0]))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	a := e.Adapter()
	rep := &AdaptReport{Model: cfg.Name, Notes: cfg.notes(), phase: cfg.Phase}
	n := 0
	for pi, sp := range cfg.Links {
		sh.Set(sp)
		best, err := cfg.Cost.Model.Best(specLink(sp))
		if err != nil {
			return nil, err
		}
		ph := AdaptPhase{Link: sp.String(), Best: best.Cut.Name, MovedAfter: -1}
		prev, left := a.CutID(), ""
		s.logf("link %s: best cut %s", sp, best.Cut.Name)
		for i := 0; i < cfg.Phase; i++ {
			if i%5 == 0 {
				if d, err := nc.RTT(); err == nil {
					a.ObserveRTT(d)
				}
			}
			out, err := e.InferCut(ctx, cfg.Samples[n%len(cfg.Samples)]...)
			n++
			if err != nil {
				return nil, fmt.Errorf("link %s, cut %s: %w", sp, a.CutID(), err)
			}
			c := out.CutName
			if c == best.Cut.Name && ph.MovedAfter < 0 {
				ph.MovedAfter = i
			}
			if c != prev {
				ph.Moves++
				if c == left {
					ph.Reversals++
				}
				left, prev = prev, c
			}
			est := a.Link()
			rep.Steps = append(rep.Steps, AdaptStep{Phase: pi, Request: i, Link: sp.String(), Cut: c, MS: round3(ms(out.Timings.Total)),
				EstMbit: round3(est.Bandwidth * 8 / 1e6), EstRTTMS: round3(float64(est.RTT) / 1e6), Probe: out.Probed,
				BestCut: best.Cut.Name, OnBestCut: c == best.Cut.Name})
		}
		rep.Phases = append(rep.Phases, ph)
	}
	return rep, nil
}

// WriteJSON writes the report as one indented JSON object.
func (r *AdaptReport) WriteJSON(w io.Writer) error { return writeJSON(w, r) }

// WriteText writes each request and each phase's summary.
func (r *AdaptReport) WriteText(w io.Writer) {
	writeHeader(w, fmt.Sprintf("model %s, adaptive partitioner, %d requests per link", r.Model, r.phase), r.Notes)
	for _, st := range r.Steps {
		probe := ""
		if st.Probe {
			probe = " (probed)"
		}
		fmt.Fprintf(w, "%s %-14s #%-3d %9.1f ms  est %7.2f Mbit/s %6.1f ms RTT  %s%s\n", mark(st.OnBestCut), st.Link, st.Request, st.MS, st.EstMbit, st.EstRTTMS, st.Cut, probe)
	}
	for _, ph := range r.Phases {
		fmt.Fprintf(w, "link %s: best cut %s reached after %d requests; %d moves, %d reversals\n", ph.Link, ph.Best, ph.MovedAfter, ph.Moves, ph.Reversals)
	}
}
