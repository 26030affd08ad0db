package main

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
)

// runEdge is the edge against a NATS server: MNIST test images through the
// split (system.RunImages), the Open Inference Protocol (--serve), or
// files (--input).
func runEdge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("edge", stderr)
	wf := addWorkerFlags(fs, "cloud workers' subject")
	wait := fs.Duration("wait", 30*time.Second, "wait this long for a cloud worker to answer a ping before starting (0: don't wait)")
	ef := addEdgeFlags(fs, false, false)
	sf := addServeFlags(fs)
	setUsage(fs, stderr, "usage: splitinfer edge --nats URL [--model M] [--n N] [--cut early|auto|NAME] [--adapt] [--link BANDWIDTH/RTT] [--edge-slowdown F] [--concurrency C] [--json] [--serve ADDR] [--serve-grpc ADDR] [flags]")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := wf.tel.prepare(stderr); err != nil {
		return err
	}
	s, err := ef.setup(sf, stderr)
	if err != nil {
		return err
	}
	s.Config.Subject, s.EarlyCutWithoutProfile = wf.subject, true
	hash := pipeline.ModelHash(s.Program.Graph())
	tel, conn, _, stop, err := wf.start(ctx, trace.ServiceEdge, "splitinfer-edge", hash, true,
		natsconn.WithNATSOptions(system.EmulationOptions(s.link, s.Config.Slowdown, stderr)...))
	if err != nil {
		return err
	}
	defer stop()
	if *wait > 0 {
		if err := edgeworker.WaitForCloud(ctx, conn.Conn, *wait); err != nil && !s.Config.Fallback {
			return err
		}
	}
	s.Options = edgeOptions(tel)
	e, plan, err := s.Start(ctx, conn.Conn)
	if err != nil {
		return err
	}
	tel.SetReadiness(system.EdgeReady(conn.Conn, e))
	slog.Info("edge worker started", "model", s.Name, "model_hash", hash, "version", trace.BuildVersion())
	defer slog.Info("edge worker stopped", "model", s.Name)
	return ef.finish(ctx, s, sf, e, plan, stdout, stderr)
}
