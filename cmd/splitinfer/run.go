package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/local"
	"github.com/splitinfer/splitinfer/trace"
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
	fallback    *bool
	timeout     *time.Duration
	attempts    *int
	threads     *int
}

func addEdgeFlags(fs *flag.FlagSet, defaultFallback bool) *edgeFlags {
	return &edgeFlags{
		model:       fs.String("model", "", "model file or built-in model name (default: the built-in default model)"),
		n:           fs.Int("n", 1000, "number of MNIST test images (at most 10,000)"),
		cut:         fs.String("cut", "auto", "auto, or the tensor(s) to cut at, comma-separated (see 'splitinfer partition')"),
		concurrency: fs.Int("concurrency", 1, "requests in flight (concurrent edges)"),
		asJSON:      fs.Bool("json", false, "print one JSON object"),
		codec:       fs.String("codec", "none", "activation coding on the wire: none or zstd"),
		wire:        fs.String("wire", "float32", "activation dtype on the wire: float32 (exact), uint8 or int8 (quantized, lossy)"),
		fallback:    fs.Bool("fallback", defaultFallback, "run the whole model locally when no cloud worker answers"),
		timeout:     fs.Duration("timeout", 2*time.Second, "timeout of one attempt"),
		attempts:    fs.Int("attempts", 3, "attempts per request (retries keep the request id)"),
		threads:     fs.Int("threads", 1, "kernel threads per runner"),
	}
}

// config turns the flags into an edge configuration for the compiled model.
func (f *edgeFlags) config(prog *nn.Program) (edgeworker.Config, error) {
	codec, err := pipeline.ParseCodec(*f.codec)
	if err != nil {
		return edgeworker.Config{}, fmt.Errorf("%w: --codec %q: want none or zstd", errUsage, *f.codec)
	}
	var wire nn.DType
	switch *f.wire {
	case "float32", "":
	case "uint8":
		wire = nn.Uint8
	case "int8":
		wire = nn.Int8
	default:
		return edgeworker.Config{}, fmt.Errorf("%w: --wire %q: want float32, uint8 or int8", errUsage, *f.wire)
	}
	if *f.n < 0 || *f.concurrency < 1 || *f.attempts < 1 || *f.timeout <= 0 || *f.threads < 1 {
		return edgeworker.Config{}, fmt.Errorf("%w: --n must not be negative; --concurrency, --attempts, --timeout and --threads must be positive", errUsage)
	}
	cfg := edgeworker.Config{Codec: codec, WireDType: wire, Fallback: *f.fallback, Timeout: *f.timeout,
		Attempts: *f.attempts, Concurrency: *f.concurrency, Threads: *f.threads}
	cut, err := resolveCut(prog, *f.cut)
	if err != nil {
		return cfg, err
	}
	cfg.Cut = cut
	return cfg, nil
}

// resolveCut parses --cut: "auto" (pipeline.AutoCut) or comma-separated
// tensor names.
func resolveCut(prog *nn.Program, spec string) ([]string, error) {
	if spec == "" || spec == "auto" {
		c, err := pipeline.AutoCut(prog)
		if err != nil {
			return nil, err
		}
		return []string{c}, nil
	}
	names, err := pipeline.ParseCutID(spec)
	if err != nil {
		return nil, err
	}
	if _, err := pipeline.NewSplit(prog, names); err != nil {
		var cuts []string
		for _, c := range pipeline.Cuts(prog) {
			cuts = append(cuts, c.Tensor)
		}
		return nil, fmt.Errorf("--cut %q: %v (single-tensor cuts: %s)", spec, err, strings.Join(cuts, " "))
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
	ef := addEdgeFlags(fs, false)
	workers := fs.Int("cloud-workers", runtime.GOMAXPROCS(0), "goroutines of the cloud worker")
	maxBatch := fs.Int("max-batch", 1, "cloud dynamic batching: up to this many queued requests per tail run (1: off)")
	metricsAddr := fs.String("metrics-addr", "", "serve the edge worker's Prometheus metrics at http://ADDR/metrics")
	cloudMetricsAddr := fs.String("cloud-metrics-addr", "", "serve the cloud worker's Prometheus metrics at http://ADDR/metrics")
	tf := addTelemetryFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: splitinfer run [--model M] [--n N] [--cut auto|NAME] [--concurrency C] [--json] [flags]")
		fs.PrintDefaults()
	}
	if err := parseRunFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *workers < 1 || *maxBatch < 1 {
		fs.Usage()
		return errUsage
	}
	if err := tf.validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}
	prog, name, err := loadProgram(*ef.model)
	if err != nil {
		return err
	}
	ecfg, err := ef.config(prog)
	if err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprintln(stderr, err)
		}
		return err
	}
	hash := pipeline.ModelHash(prog.Graph())
	cloudTel, err := newTelemetry(ctx, tf, trace.ServiceCloud, "local-cloud", hash, *cloudMetricsAddr)
	if err != nil {
		return err
	}
	edgeTel, err := newTelemetry(ctx, tf, trace.ServiceEdge, "local-edge", hash, *metricsAddr)
	if err != nil {
		shutdownTelemetry(cloudTel)
		return err
	}
	defer shutdownTelemetry(edgeTel, cloudTel)
	set, err := mnist.Test()
	if err != nil {
		return err
	}
	ccfg := cloudworker.Config{Workers: *workers, Threads: *ef.threads, QueueLen: max(4**workers, 2**ef.concurrency), MaxBatch: *maxBatch}
	sys, err := local.Start(name, prog, ccfg, ecfg,
		[]cloudworker.Option{cloudworker.WithTracerProvider(cloudTel.TracerProvider()), cloudworker.WithMeterProvider(cloudTel.MeterProvider())},
		[]edgeworker.Option{edgeworker.WithTracerProvider(edgeTel.TracerProvider()), edgeworker.WithMeterProvider(edgeTel.MeterProvider())})
	if err != nil {
		return err
	}
	sum, runErr := local.Drive(ctx, sys.Edge, set, *ef.n, *ef.concurrency)
	if err := sys.Close(); err != nil {
		fmt.Fprintln(stderr, "splitinfer run: closing:", err)
	}
	sum.Model = name
	if err := printSummary(stdout, sum, *ef.asJSON); err != nil {
		return err
	}
	if errors.Is(runErr, context.Canceled) {
		return nil // SIGINT/SIGTERM: the images sent were answered and summarised
	}
	return runErr
}

// printSummary writes a Drive summary as text or one JSON object.
func printSummary(w io.Writer, s *local.Summary, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(s)
	}
	fmt.Fprintf(w, "model       %s (hash %.12s)\n", s.Model, s.ModelHash)
	fmt.Fprintf(w, "cut         %s\n", s.Cut)
	fmt.Fprintf(w, "images      %d   errors %d   fallbacks %d   retries %d\n", s.Images, s.Errors, s.Fallbacks, s.Retries)
	fmt.Fprintf(w, "accuracy    %.4f (%d/%d)\n", s.Accuracy, s.Correct, s.Images)
	fmt.Fprintf(w, "latency ms  p50 %.3f   p95 %.3f   p99 %.3f   (mean %.3f, max %.3f)\n",
		s.Latency.P50, s.Latency.P95, s.Latency.P99, s.Latency.Mean, s.Latency.Max)
	fmt.Fprintf(w, "throughput  %.0f requests/s with %d in flight (%.2f s)\n", s.RequestsPerSec, s.Concurrency, s.Seconds)
	st := s.Stages
	fmt.Fprintf(w, "stages ms   edge compute %.3f   encode %.3f   transit %.3f   cloud queue %.3f   cloud decode %.3f   cloud compute %.3f   reply decode %.3f",
		st.EdgeCompute, st.Encode, st.Transit, st.CloudQueue, st.CloudDecode, st.CloudCompute, st.Decode)
	if s.Fallbacks > 0 {
		fmt.Fprintf(w, "   fallback %.3f", st.Fallback)
	}
	fmt.Fprintln(w)
	if s.InputBytes > 0 && s.InputBytesUint8 > 0 {
		fmt.Fprintf(w, "bytes       %.0f per request = %.2fx the %d-byte float32 input, %.2fx the %d-byte uint8 image; reply %.0f\n",
			s.BytesPerRequest, s.BytesPerRequest/float64(s.InputBytes), s.InputBytes,
			s.BytesPerRequest/float64(s.InputBytesUint8), s.InputBytesUint8, s.ReplyBytes)
	}
	for _, e := range s.ErrorSamples {
		fmt.Fprintf(w, "error       %s\n", e)
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
