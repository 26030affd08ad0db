package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/adaptive"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
)

func init() {
	register(&command{
		name:    "edge",
		summary: "an edge worker against cloud workers on a NATS server: MNIST test images through the split, or serve the Open Inference Protocol (--serve)",
		run:     runEdge,
	})
}

func runEdge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("edge", stderr)
	nf := addNATSFlags(fs)
	subject := fs.String("subject", pipeline.DefaultSubject, "cloud workers' subject")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics")
	tf := addTelemetryFlags(fs)
	wait := fs.Duration("wait", 30*time.Second, "wait this long for a cloud worker to answer a ping before starting (0: don't wait)")
	ef := addEdgeFlags(fs, false, false)
	sf := addServeFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: splitinfer edge --nats URL [--model M] [--n N] [--cut early|auto|NAME] [--adapt] [--link BANDWIDTH/RTT] [--edge-slowdown F] [--concurrency C] [--json] [--serve ADDR] [--serve-grpc ADDR] [flags]")
		fs.PrintDefaults()
	}
	if err := parseRunFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if err := tf.prepare(stderr); err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}
	prog, name, cfg, err := ef.load(stderr)
	if err != nil {
		return err
	}
	cfg.Subject, cfg.Model = *subject, name
	sp, err := ef.linkSpec()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return err
	}
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
	hash := pipeline.ModelHash(prog.Graph())
	tel, err := newTelemetry(ctx, tf, trace.ServiceEdge, "", hash, *metricsAddr)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel)
	conn, _, err := nf.connect(ctx, "splitinfer-edge", true, stderr, tel.MeterProvider(),
		natsconn.WithNATSOptions(ef.natsOptions(sp, stderr)...))
	if err != nil {
		return err
	}
	defer conn.Close()
	nc := conn.Conn
	if *wait > 0 {
		if err := edgeworker.WaitForCloud(ctx, nc, *wait); err != nil && !*ef.fallback {
			return err
		}
	}
	eopts := []edgeworker.Option{edgeworker.WithTracerProvider(tel.TracerProvider()), edgeworker.WithMeterProvider(tel.MeterProvider())}
	var e system.Submitter
	var plan *system.CutPlan
	if ef.auto() {
		plan, err = ef.planCut(ctx, nc, prog, cfg, sp, stderr)
		switch {
		case err == nil:
			e, err = plan.Edge(nc, prog, cfg, eopts)
		case errors.Is(err, adaptive.ErrNoProfile):
			// e.g. cloud workers that publish no profile: the simple heuristic
			fmt.Fprintf(stderr, "splitinfer edge: no partitioner (%v): cutting by pipeline.EarlyCut\n", err)
			plan = nil
			e, err = edgeworker.New(nc, prog, cfg, eopts...)
		}
	} else {
		e, err = edgeworker.New(nc, prog, cfg, eopts...)
	}
	if err != nil {
		return err
	}
	tel.SetReadiness(edgeReady(nc, readiness(e)))
	slog.Info("edge worker started", "model", name, "model_hash", hash, "version", trace.BuildVersion())
	defer slog.Info("edge worker stopped", "model", name)
	if sf.active() {
		return sf.serve(ctx, e, prog.Graph(), name, readiness(e), eopts, *ef.concurrency, stdout, stderr)
	}
	sum, runErr := system.Drive(ctx, e, set, *ef.n, *ef.concurrency)
	if plan != nil {
		sum.Plan = plan.Summary(e)
	}
	sum.Model = name
	if err := ef.printSummary(stdout, sum); err != nil {
		return err
	}
	if errors.Is(runErr, context.Canceled) {
		runErr = nil // SIGTERM: the images sent were answered and summarised
	}
	return summaryErr(sum, runErr)
}

// readiness is the edge's readiness check for the inference endpoint: a
// cloud worker for the model answers (or the fallback is on).
func readiness(e system.Submitter) func(context.Context) error {
	if r, ok := e.(interface{ Ready(context.Context) error }); ok {
		return r.Ready
	}
	return nil
}
