package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
)

// runCloud serves the model as a cloud worker (system.CloudServe) until
// SIGTERM, then drains.
func runCloud(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cloud", stderr)
	wf := addWorkerFlags(fs, "endpoint subject")
	model := modelFlag(fs)
	queue := fs.String("queue-group", "splitinfer", "queue group shared by the workers")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "goroutines running tails")
	queueLen := fs.Int("queue", 0, "bounded queue length (default 4 x workers); a full queue answers 503")
	threads := fs.Int("threads", 1, "kernel threads per runner")
	codec := fs.String("codec", "none", "reply coding: none or zstd")
	maxBatch := fs.Int("max-batch", 1, "dynamic batching: run up to this many queued requests for the same cut as one batch (1: off)")
	setUsage(fs, stderr, "usage: splitinfer cloud --nats URL [--creds F | --nkey F | --user U] [--tls-ca F --tls-cert F --tls-key F] [--model M] [flags]")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := wf.tel.prepare(stderr); err != nil {
		return err
	}
	c, err := pipeline.ParseCodec(*codec)
	if err != nil {
		return fmt.Errorf("%w: --codec %q", errUsage, *codec)
	}
	cfg := cloudworker.Config{Subject: wf.subject, QueueGroup: *queue, Workers: *workers, QueueLen: *queueLen, Threads: *threads, Codec: c, MaxBatch: *maxBatch}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	prog, name, err := loadProgram(*model)
	if err != nil {
		return err
	}
	tel, nc, ncfg, stop, err := wf.start(ctx, trace.ServiceCloud, "splitinfer-cloud", pipeline.ModelHash(prog.Graph()), false)
	if err != nil {
		return err
	}
	defer stop() // the connection on errors; Serve drains it on a stop
	cs := system.CloudServe{Name: name, Program: prog, Config: cfg, SetReadiness: tel.SetReadiness, Out: stderr,
		Options: cloudOptions(tel)}
	return cs.Serve(ctx, nc, ncfg.RedactedURLs())
}
