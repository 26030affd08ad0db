package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/system"
)

func init() {
	register(&command{
		name:    "sweep",
		summary: "measure every cut over the live pipeline on an emulated link, against the prediction",
		run:     runSweep,
	})
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
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
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
	s, err := cf.setup(ctx, stderr)
	if err != nil {
		return err
	}
	hash := pipeline.ModelHash(s.graph)
	edgeTel, cloudTel, shutdown, err := newTelemetryPair(ctx, tf, "sweep", hash, "", "")
	if err != nil {
		return err
	}
	defer shutdown()
	notes := []string{fmt.Sprintf("live pipeline: in-process nats-server, one cloud worker (unshaped connection), the edge's connection shaped by --link; %d passes over the cuts, each with %d warm-up and 1 measured request per cut, median", *requests, *warmup)}
	if cf.cloudProfile == "" {
		notes = append(notes, "cloud profile: measured again before each link (the host's load changes)")
	}
	var slowdown float64
	if cf.slowdown > 1 || cf.clock == "cpu" {
		slowdown = max(cf.slowdown, 1)
		notes = append(notes, fmt.Sprintf("edge: each head run takes %.3g x its thread CPU time (the edge sleeps the difference after computing), so host load does not change the emulated edge", slowdown))
	}
	if *maxPred > 0 {
		notes = append(notes, fmt.Sprintf("cuts predicted slower than %.3gx the choice are not measured", *maxPred))
	}
	s.Notes = append(s.Notes, notes...)
	codec, _ := pipeline.ParseCodec(cf.codec)
	dt, _ := parseWire(cf.wireDType)
	cfg := system.SweepConfig{Name: s.name, Program: s.prog, Cost: s.CostModel, Samples: s.samples, Links: specs,
		Edge: edgeworker.Config{Codec: codec, WireDType: dt, Compact: cf.compact, Threads: cf.threads, Slowdown: slowdown, Concurrency: 1,
			Timeout: *timeout, Deadline: *timeout, Attempts: 1},
		Requests: *requests, Warmup: *warmup, MaxPredicted: *maxPred, Phase: *phase, Log: stderr, Progress: progress(stderr, "requests"),
		CloudOptions: []cloudworker.Option{cloudworker.WithTracerProvider(cloudTel.TracerProvider())},
		JaegerUI:     *jaegerUI, TraceOptions: []edgeworker.Option{edgeworker.WithTracerProvider(edgeTel.TracerProvider())}}
	type report interface {
		WriteJSON(io.Writer) error
		WriteText(io.Writer)
	}
	var rep report
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
