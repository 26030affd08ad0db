package main

import (
	"context"
	"io"
	"time"

	"github.com/splitinfer/splitinfer/internal/progress"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
)

// runSweep measures the cuts over the live pipeline (system.Sweep), or the
// adaptive partitioner as the link changes (--adapt).
func runSweep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sweep", stderr)
	cc := addCostFlags(fs)
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
	bad := badUsage("sweep", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments %v", fs.Args())
	}
	if err := cc.Validate(); err != nil {
		return bad("%v", err)
	}
	if err := tf.check(stderr); err != nil {
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
	specs, err := system.ParseLinks(list)
	if err != nil {
		return bad("%v", err)
	}
	if *requests < 1 || *warmup < 0 || *maxPred < 0 || *timeout <= 0 {
		return bad("--requests >= 1, --warmup >= 0, --max-predicted >= 0 and --timeout > 0 please")
	}
	s, err := buildCost(ctx, cc, stderr)
	if err != nil {
		return err
	}
	edgeTel, cloudTel, shutdown, err := tf.pair(ctx, "sweep", pipeline.ModelHash(s.Program.Graph()), "", "")
	if err != nil {
		return err
	}
	defer shutdown()
	cfg := s.SweepConfig(specs, *timeout)
	cfg.Requests, cfg.Warmup, cfg.MaxPredicted, cfg.Phase, cfg.JaegerUI = *requests, *warmup, *maxPred, *phase, *jaegerUI
	cfg.Log, cfg.Progress = stderr, progress.Bar(stderr, "requests")
	cfg.CloudOptions, cfg.TraceOptions = cloudOptions(cloudTel), edgeOptions(edgeTel)
	var rep interface {
		WriteJSON(io.Writer) error
		WriteText(io.Writer)
	}
	if *adapt != "" {
		rep, err = system.Adapt(ctx, cfg)
	} else {
		rep, err = system.Sweep(ctx, cfg)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	rep.WriteText(stdout)
	return nil
}
