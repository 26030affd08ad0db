package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/trace"
)

func init() {
	register(&command{
		name:    "cloud",
		summary: "serve model tails as a cloud worker on a NATS server (drains on SIGTERM)",
		run:     runCloud,
	})
}

func runCloud(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cloud", stderr)
	nf := addNATSFlags(fs)
	model := modelFlag(fs)
	subject := fs.String("subject", pipeline.DefaultSubject, "endpoint subject")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics")
	tf := addTelemetryFlags(fs)
	queue := fs.String("queue-group", "splitinfer", "queue group shared by the workers")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines running tails")
	queueLen := fs.Int("queue", 0, "bounded queue length (default 4 x workers); a full queue answers 503")
	threads := fs.Int("threads", 1, "kernel threads per runner")
	codec := fs.String("codec", "none", "reply coding: none or zstd")
	maxBatch := fs.Int("max-batch", 1, "dynamic batching: run up to this many queued requests for the same cut as one batch (1: off)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: splitinfer cloud --nats URL [--creds F | --nkey F | --user U] [--tls-ca F --tls-cert F --tls-key F] [--model M] [flags]")
		fs.PrintDefaults()
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := tf.prepare(stderr); err != nil {
		return err
	}
	c, err := pipeline.ParseCodec(*codec)
	if err != nil {
		return fmt.Errorf("%w: --codec %q", errUsage, *codec)
	}
	cfg := cloudworker.Config{Subject: *subject, QueueGroup: *queue, Workers: *workers, QueueLen: *queueLen, Threads: *threads, Codec: c, MaxBatch: *maxBatch}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	prog, name, err := loadProgram(*model)
	if err != nil {
		return err
	}
	hash := pipeline.ModelHash(prog.Graph())
	tel, err := newTelemetry(ctx, tf, trace.ServiceCloud, "", hash, *metricsAddr)
	if err != nil {
		return err
	}
	defer shutdownTelemetry(tel)
	nc, ncfg, err := nf.connect(ctx, "splitinfer-cloud", false, tel.MeterProvider())
	if err != nil {
		return err
	}
	defer nc.Close() // on errors; DrainClose below on a stop
	w, err := cloudworker.New(nc.Conn, []cloudworker.Model{{Name: name, Program: prog}}, cfg,
		cloudworker.WithTracerProvider(tel.TracerProvider()), cloudworker.WithMeterProvider(tel.MeterProvider()))
	// The endpoint's and micro's subscriptions, refused by the server's
	// permissions, would leave a worker that never answers: fail, naming
	// the subjects.
	if perr := nc.CheckPermissions(10 * time.Second); perr != nil && natsconn.PermissionError(nc.Conn) != nil {
		if err == nil {
			_ = w.Stop()
		}
		return perr
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "splitinfer cloud: worker %s serving %s (hash %.12s) on %s at %s\n", w.ID(), name, hash, *subject, ncfg.RedactedURLs())
	slog.Info("cloud worker started", "worker", w.ID(), "model", name, "model_hash", hash, "subject", *subject, "version", trace.BuildVersion())
	tel.SetReadiness(func() error { return natsReady(nc.Conn) })
	<-ctx.Done()
	tel.SetReadiness(func() error { return errors.New("draining") })
	slog.Info("cloud worker draining", "worker", w.ID())
	err = w.Stop()
	// Requests that reached this worker's subscription while it stopped
	// are answered (503: another worker takes the retry) before the
	// connection goes, not dropped with it.
	if derr := nc.DrainClose(5 * time.Second); derr != nil && err == nil {
		err = derr
	}
	st := w.Stats()
	fmt.Fprintf(stderr, "splitinfer cloud: drained: %d received, %d computed, %d from the retry cache, %d errors (%d queue full)\n",
		st.Received, st.Computed, st.Cached, st.Errors, st.QueueFull)
	slog.Info("cloud worker stopped", "worker", w.ID(), "received", st.Received, "computed", st.Computed,
		"cached", st.Cached, "errors", st.Errors, "queue_full", st.QueueFull)
	return err
}
