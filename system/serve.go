package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/trace"
)

// CloudServe is `splitinfer cloud`: one model served by a cloud worker on
// a NATS server until the process is told to stop.
type CloudServe struct {
	Name    string
	Program *nn.Program
	Config  cloudworker.Config
	Options []cloudworker.Option
	// SetReadiness, when not nil, gets the worker's readiness check
	// (trace.Provider.SetReadiness): ready while the connection is up,
	// not ready while draining.
	SetReadiness func(func() error)
	// Out gets a line when the worker starts and when it has drained; Log
	// (default slog.Default()) the same as records.
	Out io.Writer
	Log *slog.Logger
}

// Serve runs the worker on conn until ctx ends, then drains: the worker
// stops (requests that reached it are answered 503, another worker takes
// the retry), and the connection drains and closes. A worker whose
// subscriptions the server's permissions refuse would never answer: Serve
// fails at once, naming the subjects.
func (c CloudServe) Serve(ctx context.Context, conn *natsconn.Conn, urls string) error {
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	out := c.Out
	if out == nil {
		out = io.Discard
	}
	w, err := cloudworker.New(conn.Conn, []cloudworker.Model{{Name: c.Name, Program: c.Program}}, c.Config, c.Options...)
	if perr := conn.CheckPermissions(10 * time.Second); perr != nil && natsconn.PermissionError(conn.Conn) != nil {
		if err == nil {
			_ = w.Stop()
		}
		return perr
	}
	if err != nil {
		return err
	}
	hash, subject := pipeline.ModelHash(c.Program.Graph()), c.Config.Subject
	if subject == "" {
		subject = pipeline.DefaultSubject
	}
	fmt.Fprintf(out, "splitinfer cloud: worker %s serving %s (hash %.12s) on %s at %s\n", w.ID(), c.Name, hash, subject, urls)
	log.Info("cloud worker started", "worker", w.ID(), "model", c.Name, "model_hash", hash, "subject", subject, "version", trace.BuildVersion())
	setReady := c.SetReadiness
	if setReady == nil {
		setReady = func(func() error) {}
	}
	setReady(func() error { return NATSReady(conn.Conn) })
	<-ctx.Done()
	setReady(func() error { return errors.New("draining") })
	log.Info("cloud worker draining", "worker", w.ID())
	err = w.Stop()
	// Requests that reached this worker's subscription while it stopped
	// are answered before the connection goes, not dropped with it.
	if derr := conn.DrainClose(5 * time.Second); derr != nil && err == nil {
		err = derr
	}
	st := w.Stats()
	fmt.Fprintf(out, "splitinfer cloud: drained: %d received, %d computed, %d from the retry cache, %d errors (%d queue full)\n",
		st.Received, st.Computed, st.Cached, st.Errors, st.QueueFull)
	log.Info("cloud worker stopped", "worker", w.ID(), "received", st.Received, "computed", st.Computed,
		"cached", st.Cached, "errors", st.Errors, "queue_full", st.QueueFull)
	return err
}

// NATSReady is a worker's readiness while its NATS connection is up.
func NATSReady(nc *nats.Conn) error {
	if st := nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats connection %s", st)
	}
	return nil
}

// EdgeReady is the edge's readiness check (/readyz): connected, and a cloud
// worker for the model answers (e's Ready, bounded by 2s) when the edge can
// tell.
func EdgeReady(nc *nats.Conn, e Submitter) func() error {
	ready := Readiness(e)
	return func() error {
		if err := NATSReady(nc); err != nil || ready == nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return ready(ctx)
	}
}

// Readiness is e's check that a cloud worker for the model answers (or
// its fallback is on); nil when e cannot tell.
func Readiness(e Submitter) func(context.Context) error {
	if r, ok := e.(interface{ Ready(context.Context) error }); ok {
		return r.Ready
	}
	return nil
}
