package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/internal/progress"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
)

// edgeFlags are the flags that run and edge share, most of them straight
// into the edge's configuration.
type edgeFlags struct {
	cfg                                     edgeworker.Config
	model, cut, codec, wire, link, jaegerUI string
	n, samples                              int
	maxDrop                                 float64
	asJSON, adapt                           bool
}

// addEdgeFlags registers the edge's flags. defaultCompact is --compact's
// default: on for run, which measures the split, off for edge, whose
// applications get the model's own predictions unless they ask.
func addEdgeFlags(fs *flag.FlagSet, defaultFallback, defaultCompact bool) *edgeFlags {
	f := &edgeFlags{}
	c := &f.cfg
	fs.StringVar(&f.model, "model", "", modelUsage)
	fs.IntVar(&f.n, "n", 1000, "number of MNIST test images (at most 10,000)")
	fs.StringVar(&f.cut, "cut", "early", "early (after the early conv/pool blocks: the int8 convs on the edge), auto (the partitioner chooses from measured profiles and the link), or the tensor(s) to cut at, comma-separated (see 'splitinfer partition')")
	fs.IntVar(&c.Concurrency, "concurrency", 1, "requests in flight (concurrent edges)")
	fs.BoolVar(&f.asJSON, "json", false, jsonUsage)
	fs.StringVar(&f.codec, "codec", "none", "activation coding on the wire: none or zstd")
	fs.StringVar(&f.wire, "wire", "float32", "activation dtype on the wire: float32 (exact), uint8 or int8 (quantized, lossy)")
	fs.IntVar(&c.CodecBits, "codec-bits", 0, "with --compact: send the activation codec of this many bits among those the model's tuning record keeps (compress --act-bits with several widths; at the input they quantize the image) instead of the default (0)")
	fs.BoolVar(&c.Compact, "compact", defaultCompact, "at a cut the model carries an activation codec for (compress --act-bits): send compact requests (a few bits per element, entropy coded; lossy by the codec's measured accuracy); at the input of a model that declares its preprocessing, send the image as a PNG (lossless); false sends the activations as computed")
	fs.BoolVar(&c.Fallback, "fallback", defaultFallback, "run the whole model locally when no cloud worker answers")
	fs.DurationVar(&c.Timeout, "timeout", 2*time.Second, "timeout of one attempt")
	fs.IntVar(&c.Attempts, "attempts", 0, "bound on attempts per request (0: retry while an attempt fits before --deadline; retries keep the request id)")
	fs.DurationVar(&c.Deadline, "deadline", 10*time.Second, "deadline of a request over all its attempts (it travels to the cloud)")
	fs.IntVar(&c.Threads, "threads", 1, "kernel threads per runner")
	fs.StringVar(&f.link, "link", "", "emulate a link on the edge's NATS connection: BANDWIDTH/RTT, e.g. 10mbit/20ms (see pipeline/link)")
	fs.Float64Var(&c.Slowdown, "edge-slowdown", 0, "emulate an edge F times slower: each head run takes F x its thread CPU time (0: off)")
	fs.BoolVar(&f.adapt, "adapt", false, "with --cut auto: re-choose the cut while running, from the edge's own estimates of the link (hysteresis)")
	fs.IntVar(&f.samples, "samples", 4, "with --cut auto: MNIST test images the edge profiles and sizes the cuts with")
	fs.Float64Var(&f.maxDrop, "max-accuracy-drop", 0.002, "with --cut auto and --compact: choose the cut and its coding together among those within this accuracy of the model's on held-back images")
	fs.BoolVar(&c.Exit, "early-exit", true, "when the model carries an exit head at the cut (compress --exit): answer at the edge, sending nothing, when the head is confident; false sends every request")
	fs.StringVar(&f.jaegerUI, "jaeger-ui", "", "base URL of the Jaeger web UI the traces go to (e.g. http://127.0.0.1:16686): print the trace URLs of the slowest and the median request")
	return f
}

// edgeSetup is what run and edge start from: the edge to start, the
// emulated link and the test images (none when serving).
type edgeSetup struct {
	system.EdgeRun
	link *link.Spec
	set  *mnist.Set
}

// setup loads --model and turns the flags into the edge to start; usage
// errors are printed to stderr.
func (f *edgeFlags) setup(sf *serveFlags, stderr io.Writer) (*edgeSetup, error) {
	s, err := f.check()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, err
	}
	if s.Program, s.Name, err = loadProgram(f.model); err != nil {
		return nil, err
	}
	if f.cut == "auto" { // the partitioner chooses once the cloud answers
		set, _ := mnistTest() // without it the samples are seeded random inputs
		s.Plan = &system.PlanConfig{Samples: f.samples, Set: set, Slowdown: f.cfg.Slowdown, Adapt: f.adapt, MaxAccuracyDrop: f.maxDrop, Log: stderr,
			Progress: progress.Bar(stderr, "profiling")}
		if s.link != nil {
			s.Plan.Bandwidth = s.link.BytesPerSecond()
		}
	} else if s.Config.Cut, err = resolveCut(s.Program, f.cut); err != nil {
		return nil, err
	}
	if !sf.active() { // a server reads no test images
		if s.set, err = mnistTest(); err != nil {
			return nil, err
		}
		if f.n > s.set.Len() {
			err = fmt.Errorf("%w: --n %d: the data set holds %d images", errUsage, f.n, s.set.Len())
			fmt.Fprintln(stderr, err)
			return nil, err
		}
	}
	return s, nil
}

// check checks the flags that need no model.
func (f *edgeFlags) check() (*edgeSetup, error) {
	s := &edgeSetup{EdgeRun: system.EdgeRun{Config: f.cfg}}
	c := &s.Config
	var err error
	if c.Codec, err = pipeline.ParseCodec(f.codec); err != nil {
		return nil, fmt.Errorf("%w: --codec %q: want none or zstd", errUsage, f.codec)
	}
	if c.WireDType, err = parseWire(f.wire); err != nil {
		return nil, err
	}
	switch {
	case f.n < 0 || c.Concurrency < 1 || c.Attempts < 0 || c.Timeout <= 0 || c.Deadline <= 0 || c.Threads < 1:
		return nil, fmt.Errorf("%w: --n and --attempts must not be negative; --concurrency, --timeout, --deadline and --threads must be positive", errUsage)
	case c.Slowdown != 0 && !(c.Slowdown >= 1 && c.Slowdown <= 1000):
		return nil, fmt.Errorf("%w: --edge-slowdown %v: want 0 (off) or 1..1000", errUsage, c.Slowdown)
	case f.samples < 1 || f.samples > 1024:
		return nil, fmt.Errorf("%w: --samples %d: want 1..1024", errUsage, f.samples)
	case !(f.maxDrop > 0 && f.maxDrop < 1):
		return nil, fmt.Errorf("%w: --max-accuracy-drop %v: want a value in (0, 1)", errUsage, f.maxDrop)
	case f.adapt && f.cut != "auto":
		return nil, fmt.Errorf("%w: --adapt needs --cut auto", errUsage)
	}
	if f.jaegerUI != "" {
		if err := system.CheckJaegerUI(f.jaegerUI); err != nil {
			return nil, fmt.Errorf("%w: --jaeger-ui: %v", errUsage, err)
		}
	}
	if f.link != "" {
		sp, err := link.Parse(f.link)
		if err != nil {
			return nil, fmt.Errorf("%w: --link: %v", errUsage, err)
		}
		s.link = &sp
	}
	return s, nil
}

// finish serves (--serve, --serve-grpc, --input) or runs the test images
// through e and prints the summary.
func (f *edgeFlags) finish(ctx context.Context, s *edgeSetup, sf *serveFlags, e system.Submitter, plan *system.CutPlan, stdout, stderr io.Writer) error {
	if sf.active() {
		return sf.serve(ctx, e, s.Program.Graph(), s.Name, system.Readiness(e), s.Options, s.Config.Concurrency, stdout, stderr)
	}
	sum, runErr := system.RunImages(ctx, e, plan, s.Name, s.set, f.n, s.Config.Concurrency)
	if err := sum.Write(stdout, f.asJSON, f.jaegerUI); err != nil {
		return err
	}
	return runErr
}

// resolveCut parses --cut (pipeline.ResolveCut); "auto" is the
// partitioner's.
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
	return prog, name, err
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
	setUsage(fs, stderr, "usage: splitinfer run [--model M] [--n N] [--cut early|auto|NAME] [--adapt] [--link BANDWIDTH/RTT] [--edge-slowdown F] [--concurrency C] [--json] [flags]")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *workers < 1 || *maxBatch < 1 {
		fs.Usage()
		return errUsage
	}
	if err := tf.prepare(stderr); err != nil {
		return err
	}
	s, err := ef.setup(sf, stderr)
	if err != nil {
		return err
	}
	edgeTel, cloudTel, shutdown, err := tf.pair(ctx, "local", pipeline.ModelHash(s.Program.Graph()), *metricsAddr, *cloudMetricsAddr)
	if err != nil {
		return err
	}
	defer shutdown()
	ccfg := cloudworker.Config{Workers: *workers, Threads: s.Config.Threads, QueueLen: max(4**workers, 2*s.Config.Concurrency), MaxBatch: *maxBatch}
	sys, err := system.StartCloud(s.Name, s.Program, ccfg,
		cloudOptions(cloudTel),
		system.EmulationOptions(s.link, s.Config.Slowdown, stderr)...)
	if err != nil {
		return err
	}
	defer func() {
		if err := sys.Close(); err != nil {
			fmt.Fprintln(stderr, "splitinfer run: closing:", err)
		}
	}()
	s.Options = edgeOptions(edgeTel)
	e, plan, err := s.Start(ctx, sys.EdgeConn())
	if err != nil {
		return err
	}
	return ef.finish(ctx, s, sf, e, plan, stdout, stderr)
}

// cloudOptions are the cloud worker's options for the telemetry tel.
func cloudOptions(tel *trace.Provider) []cloudworker.Option {
	return []cloudworker.Option{cloudworker.WithTracerProvider(tel.TracerProvider()), cloudworker.WithMeterProvider(tel.MeterProvider())}
}

// edgeOptions are the edge worker's options for the telemetry tel.
func edgeOptions(tel *trace.Provider) []edgeworker.Option {
	return []edgeworker.Option{edgeworker.WithTracerProvider(tel.TracerProvider()), edgeworker.WithMeterProvider(tel.MeterProvider())}
}

// parseNoArgs is parseFlags for a command without positional arguments.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	return nil
}
