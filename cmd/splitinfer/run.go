package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/system"
)

func init() {
	register(&command{
		name:    "run",
		summary: "run MNIST test images through the split on one machine (embedded NATS, cloud and edge workers)",
		run:     runRun,
	})
}

// edgeFlags are the flags that run and edge share.
type edgeFlags struct {
	model       *string
	n           *int
	cut         *string
	concurrency *int
	asJSON      *bool
	codec       *string
	wire        *string
	compact     *bool
	fallback    *bool
	timeout     *time.Duration
	attempts    *int
	deadline    *time.Duration
	threads     *int
	link        *string
	slowdown    *float64
	adapt       *bool
	samples     *int
	jaegerUI    *string
	earlyExit   *bool
}

// addEdgeFlags registers the edge's flags. defaultCompact is --compact's
// default: on for run, which measures the split, off for edge, whose
// applications get the model's own predictions unless they ask.
func addEdgeFlags(fs *flag.FlagSet, defaultFallback, defaultCompact bool) *edgeFlags {
	return &edgeFlags{
		model:       modelFlag(fs),
		n:           fs.Int("n", 1000, "number of MNIST test images (at most 10,000)"),
		cut:         fs.String("cut", "early", "early (after the early conv/pool blocks: the int8 convs on the edge), auto (the partitioner chooses from measured profiles and the link), or the tensor(s) to cut at, comma-separated (see 'splitinfer partition')"),
		concurrency: fs.Int("concurrency", 1, "requests in flight (concurrent edges)"),
		asJSON:      jsonFlag(fs),
		codec:       fs.String("codec", "none", "activation coding on the wire: none or zstd"),
		wire:        fs.String("wire", "float32", "activation dtype on the wire: float32 (exact), uint8 or int8 (quantized, lossy)"),
		compact:     fs.Bool("compact", defaultCompact, "at a cut the model carries an activation codec for (compress --act-bits): send compact requests (a few bits per element, entropy coded; lossy by the codec's measured accuracy); at the input of a model that declares its preprocessing, send the image as a PNG (lossless); false sends the activations as computed"),
		fallback:    fs.Bool("fallback", defaultFallback, "run the whole model locally when no cloud worker answers"),
		timeout:     fs.Duration("timeout", 2*time.Second, "timeout of one attempt"),
		attempts:    fs.Int("attempts", 0, "bound on attempts per request (0: retry while an attempt fits before --deadline; retries keep the request id)"),
		deadline:    fs.Duration("deadline", 10*time.Second, "deadline of a request over all its attempts (it travels to the cloud)"),
		threads:     fs.Int("threads", 1, "kernel threads per runner"),
		link:        fs.String("link", "", "emulate a link on the edge's NATS connection: BANDWIDTH/RTT, e.g. 10mbit/20ms (see pipeline/link)"),
		slowdown:    fs.Float64("edge-slowdown", 0, "emulate an edge F times slower: each head run takes F x its thread CPU time (0: off)"),
		adapt:       fs.Bool("adapt", false, "with --cut auto: re-choose the cut while running, from the edge's own estimates of the link (hysteresis)"),
		samples:     fs.Int("samples", 4, "with --cut auto: MNIST test images the edge profiles and sizes the cuts with"),
		earlyExit:   fs.Bool("early-exit", true, "when the model carries an exit head at the cut (compress --exit): answer at the edge, sending nothing, when the head is confident; false sends every request"),
		jaegerUI:    fs.String("jaeger-ui", "", "base URL of the Jaeger web UI the traces go to (e.g. http://127.0.0.1:16686): print the trace URLs of the slowest and the median request"),
	}
}

// config turns the flags into an edge configuration for the compiled model.
func (f *edgeFlags) config(prog *nn.Program) (edgeworker.Config, error) {
	codec, err := pipeline.ParseCodec(*f.codec)
	if err != nil {
		return edgeworker.Config{}, fmt.Errorf("%w: --codec %q: want none or zstd", errUsage, *f.codec)
	}
	wire, err := parseWire(*f.wire)
	if err != nil {
		return edgeworker.Config{}, err
	}
	if *f.n < 0 || *f.concurrency < 1 || *f.attempts < 0 || *f.timeout <= 0 || *f.deadline <= 0 || *f.threads < 1 {
		return edgeworker.Config{}, fmt.Errorf("%w: --n and --attempts must not be negative; --concurrency, --timeout, --deadline and --threads must be positive", errUsage)
	}
	if *f.slowdown != 0 && !(*f.slowdown >= 1 && *f.slowdown <= 1000) {
		return edgeworker.Config{}, fmt.Errorf("%w: --edge-slowdown %v: want 0 (off) or 1..1000", errUsage, *f.slowdown)
	}
	if *f.samples < 1 || *f.samples > 1024 {
		return edgeworker.Config{}, fmt.Errorf("%w: --samples %d: want 1..1024", errUsage, *f.samples)
	}
	if *f.adapt && !f.auto() {
		return edgeworker.Config{}, fmt.Errorf("%w: --adapt needs --cut auto", errUsage)
	}
	if *f.jaegerUI != "" {
		if err := system.CheckJaegerUI(*f.jaegerUI); err != nil {
			return edgeworker.Config{}, fmt.Errorf("%w: --jaeger-ui: %v", errUsage, err)
		}
	}
	cfg := edgeworker.Config{Codec: codec, WireDType: wire, Compact: *f.compact, Fallback: *f.fallback, Timeout: *f.timeout,
		Attempts: *f.attempts, Deadline: *f.deadline, Concurrency: *f.concurrency, Threads: *f.threads, Slowdown: *f.slowdown}
	cfg.Exit = *f.earlyExit
	if f.auto() {
		return cfg, nil // the partitioner chooses once the cloud answers (planCut)
	}
	cut, err := resolveCut(prog, *f.cut)
	if err != nil {
		return cfg, err
	}
	cfg.Cut = cut
	return cfg, nil
}

// load loads --model and turns the flags into an edge configuration for
// it; usage errors are printed to stderr.
func (f *edgeFlags) load(stderr io.Writer) (*nn.Program, string, edgeworker.Config, error) {
	prog, name, err := loadProgram(*f.model)
	if err != nil {
		return nil, "", edgeworker.Config{}, err
	}
	cfg, err := f.config(prog)
	if err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, err)
		}
		return nil, "", edgeworker.Config{}, err
	}
	return prog, name, cfg, nil
}

// auto reports --cut auto: the partitioner chooses.
func (f *edgeFlags) auto() bool { return *f.cut == "auto" }

// linkSpec parses --link (nil when not set).
func (f *edgeFlags) linkSpec() (*link.Spec, error) {
	if *f.link == "" {
		return nil, nil
	}
	sp, err := link.Parse(*f.link)
	if err != nil {
		return nil, fmt.Errorf("%w: --link: %v", errUsage, err)
	}
	return &sp, nil
}

// natsOptions are the edge connection's options for --link: the shaped
// dialer, said on stderr.
func (f *edgeFlags) natsOptions(sp *link.Spec, stderr io.Writer) []nats.Option {
	var opts []nats.Option
	if sp != nil {
		opts = append(opts, nats.SetCustomDialer(&link.Dialer{Spec: *sp}))
		fmt.Fprintf(stderr, "edge link emulated: %s (token bucket and RTT/2 delay each way on the edge's NATS connection)\n", *sp)
	}
	if *f.slowdown > 1 {
		fmt.Fprintf(stderr, "edge emulated %gx slower: each head run takes %g x its thread CPU time\n", *f.slowdown, *f.slowdown)
	}
	return opts
}

// planCut chooses the cut with the partitioner (system.PlanCut) from the
// --samples first MNIST test images (else seeded random inputs) and --link.
func (f *edgeFlags) planCut(ctx context.Context, nc *nats.Conn, prog *nn.Program, cfg edgeworker.Config, sp *link.Spec, stderr io.Writer) (*system.CutPlan, error) {
	set, _ := mnistTest() // without it the samples are seeded random inputs
	pc := system.PlanConfig{Samples: *f.samples, Set: set, Slowdown: *f.slowdown, Adapt: *f.adapt, Log: stderr,
		Progress: progress(stderr, "profiling")}
	if sp != nil {
		pc.Bandwidth = sp.BytesPerSecond()
	}
	return system.PlanCut(ctx, nc, prog, cfg, pc)
}

// resolveCut parses --cut (pipeline.ResolveCut); "auto" is the
// partitioner's and is resolved by planCut, not here.
func resolveCut(prog *nn.Program, spec string) ([]string, error) {
	names, err := pipeline.ResolveCut(prog, spec)
	if err != nil {
		return nil, fmt.Errorf("--cut %q: %w", spec, err)
	}
	return names, nil
}

// loadProgram loads and compiles --model.
func loadProgram(spec string) (*nn.Program, string, error) {
	g, name, err := loadModel(spec)
	if err != nil {
		return nil, "", err
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, "", err
	}
	return prog, name, nil
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	ef := addEdgeFlags(fs, false, true)
	workers := fs.Int("cloud-workers", runtime.GOMAXPROCS(0), "goroutines of the cloud worker")
	maxBatch := fs.Int("max-batch", 1, "cloud dynamic batching: up to this many queued requests per tail run (1: off)")
	metricsAddr := fs.String("metrics-addr", "", "serve the edge worker's Prometheus metrics at http://ADDR/metrics")
	cloudMetricsAddr := fs.String("cloud-metrics-addr", "", "serve the cloud worker's Prometheus metrics at http://ADDR/metrics")
	tf := addTelemetryFlags(fs)
	sf := addServeFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: splitinfer run [--model M] [--n N] [--cut early|auto|NAME] [--adapt] [--link BANDWIDTH/RTT] [--edge-slowdown F] [--concurrency C] [--json] [flags]")
		fs.PrintDefaults()
	}
	if err := parseRunFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *workers < 1 || *maxBatch < 1 {
		fs.Usage()
		return errUsage
	}
	if err := tf.prepare(stderr); err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}
	prog, name, ecfg, err := ef.load(stderr)
	if err != nil {
		return err
	}
	hash := pipeline.ModelHash(prog.Graph())
	edgeTel, cloudTel, shutdown, err := newTelemetryPair(ctx, tf, "local", hash, *metricsAddr, *cloudMetricsAddr)
	if err != nil {
		return err
	}
	defer shutdown()
	var set *mnist.Set
	if !sf.active() { // a server reads no test images
		var err error
		set, err = mnistTest()
		if err != nil {
			return err
		}
		if err := checkN(*ef.n, set.Len()); err != nil {
			fmt.Fprintln(stderr, err)
			return err
		}
	}
	sp, err := ef.linkSpec()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}
	ccfg := cloudworker.Config{Workers: *workers, Threads: *ef.threads, QueueLen: max(4**workers, 2**ef.concurrency), MaxBatch: *maxBatch}
	sys, err := system.StartCloud(name, prog, ccfg,
		[]cloudworker.Option{cloudworker.WithTracerProvider(cloudTel.TracerProvider()), cloudworker.WithMeterProvider(cloudTel.MeterProvider())},
		ef.natsOptions(sp, stderr)...)
	if err != nil {
		return err
	}
	defer sys.Close()
	eopts := []edgeworker.Option{edgeworker.WithTracerProvider(edgeTel.TracerProvider()), edgeworker.WithMeterProvider(edgeTel.MeterProvider())}
	ecfg.Model = name
	var edge system.Submitter
	var plan *system.CutPlan
	if ef.auto() {
		if plan, err = ef.planCut(ctx, sys.EdgeConn(), prog, ecfg, sp, stderr); err != nil {
			return err
		}
		if edge, err = plan.Edge(sys.EdgeConn(), prog, ecfg, eopts); err != nil {
			return err
		}
	} else {
		if err := sys.StartEdge(name, prog, ecfg, eopts); err != nil {
			return err
		}
		edge = sys.Edge
	}
	if sf.active() {
		return sf.serve(ctx, edge, prog.Graph(), name, readiness(edge), eopts, *ef.concurrency, stdout, stderr)
	}
	sum, runErr := system.Drive(ctx, edge, set, *ef.n, *ef.concurrency)
	if err := sys.Close(); err != nil {
		fmt.Fprintln(stderr, "splitinfer run: closing:", err)
	}
	if plan != nil {
		sum.Plan = plan.Summary(edge)
	}
	sum.Model = name
	if err := ef.printSummary(stdout, sum); err != nil {
		return err
	}
	if errors.Is(runErr, context.Canceled) {
		runErr = nil // SIGINT/SIGTERM: the images sent were answered and summarised
	}
	return summaryErr(sum, runErr)
}

// errInputsFailed reports a run in which some inputs ended in an error (the
// summary, already printed, lists them): the command exits non-zero.
var errInputsFailed = errors.New("inputs ended in an error")

// summaryErr is the error a run ends with: runErr, or errInputsFailed with
// the count when any input ended in an error.
func summaryErr(sum *system.Summary, runErr error) error {
	if runErr != nil {
		return runErr
	}
	if sum != nil && sum.Errors > 0 {
		return fmt.Errorf("%d of %d %w", sum.Errors, sum.Images, errInputsFailed)
	}
	return nil
}

// checkN refuses --n above what the data set holds (0 means all of it).
func checkN(n, have int) error {
	if n > have {
		return fmt.Errorf("%w: --n %d: the data set holds %d images", errUsage, n, have)
	}
	return nil
}

// printSummary prints sum (--json), with the trace URLs of the slowest and
// the median request when --jaeger-ui is set.
func (f *edgeFlags) printSummary(w io.Writer, sum *system.Summary) error {
	if *f.jaegerUI != "" {
		sum.Traces = system.TraceLinks(*f.jaegerUI, sum.Results)
	}
	if *f.asJSON {
		return json.NewEncoder(w).Encode(sum)
	}
	sum.WriteText(w)
	if *f.jaegerUI != "" {
		system.WriteTraceLinks(w, sum.Traces)
	}
	return nil
}

// parseRunFlags is fs.Parse with flag errors (already printed) as errUsage.
func parseRunFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
