// Package adaptive puts the partitioner's Adapter in front of edge workers:
// each request asks the adapter for the cut, runs through an edge worker
// split at that cut (one per cut, made on first use; edge-only runs the
// whole model locally), and feeds the request's bytes and network time
// back, so the cut follows the link. The cut id travels in every request as
// usual, so the cloud workers follow without coordination.
package adaptive

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace"
)

// Edge is an adaptive edge. It is safe for concurrent use.
type Edge struct {
	nc    *nats.Conn
	whole *nn.Program
	cfg   edgeworker.Config
	opts  []edgeworker.Option
	a     *partition.Adapter
	probe string
	// tracer traces edge-only requests (the edge workers trace the rest).
	tracer oteltrace.Tracer

	mu      sync.Mutex
	workers map[string]*edgeworker.Worker
	local   chan *nn.Runner
}

// Result is one request's outcome: the edge worker's result (Fallback
// false, Cut "" and no wire bytes for an edge-only request) and the cut
// the adapter chose for it.
type Result struct {
	*edgeworker.Result
	CutName string
	Moved   bool // the adapter changed the cut after this request
	Probed  bool // the link was probed before this request
}

// New makes an adaptive edge for the compiled whole model. cfg configures
// the edge workers it makes (its Cut is ignored); a decides the cuts. When
// probeSubject is not empty, the edge sends the adapter's probes there (an
// endpoint that answers any message, such as a cloud worker's echo) while
// the cut sends too little to measure the link.
func New(nc *nats.Conn, whole *nn.Program, a *partition.Adapter, cfg edgeworker.Config, probeSubject string, opts ...edgeworker.Option) (*Edge, error) {
	if nc == nil || whole == nil || a == nil {
		return nil, errors.New("adaptive: nil connection, model or adapter")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Cut = nil
	n := max(cfg.Concurrency, 1)
	e := &Edge{nc: nc, whole: whole, cfg: cfg, opts: opts, a: a, probe: probeSubject,
		workers: map[string]*edgeworker.Worker{}, local: make(chan *nn.Runner, n), tracer: edgeworker.Tracer(opts...)}
	for i := 0; i < n; i++ {
		e.local <- nil
	}
	return e, nil
}

// Adapter returns the edge's adapter.
func (e *Edge) Adapter() *partition.Adapter { return e.a }

// worker returns the edge worker for cut c.
func (e *Edge) worker(c partition.Cut) (*edgeworker.Worker, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if w, ok := e.workers[c.Name]; ok {
		return w, nil
	}
	cfg := e.cfg
	cfg.Cut = c.Tensors
	cfg.LinkEstimate = func() (time.Duration, float64) { l := e.a.Link(); return l.RTT, l.Bandwidth }
	w, err := edgeworker.New(e.nc, e.whole, cfg, e.opts...)
	if err != nil {
		return nil, fmt.Errorf("adaptive: cut %s: %w", c.Name, err)
	}
	e.workers[c.Name] = w
	return w, nil
}

// Infer runs one request at the adapter's current cut and returns the edge
// worker's result (Cut is partition.EdgeOnly for an edge-only request), as
// edgeworker.Worker.Infer does: an Edge drives like a Worker (see
// system.Submitter). InferCut tells which cut and whether it moved.
func (e *Edge) Infer(ctx context.Context, inputs ...*nn.Tensor) (*edgeworker.Result, error) {
	r, err := e.InferCut(ctx, inputs...)
	if err != nil {
		return nil, err
	}
	return r.Result, nil
}

// Cut is the name of the adapter's current cut.
func (e *Edge) Cut() string { return e.a.CutID() }

// ModelHash is the whole model's content hash.
func (e *Edge) ModelHash() string { return pipeline.ModelHash(e.whole.Graph()) }

// Stats sums the counters of the edge workers made so far (edge-only
// requests are not counted: they never reach a worker).
func (e *Edge) Stats() edgeworker.Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	var s edgeworker.Stats
	for _, w := range e.workers {
		ws := w.Stats()
		s.Requests += ws.Requests
		s.OK += ws.OK
		s.Errors += ws.Errors
		s.Fallbacks += ws.Fallbacks
		s.Retries += ws.Retries
	}
	return s
}

// InferCut runs one request at the adapter's current cut (probing the link
// first when the adapter asks for it) and feeds the request's bytes and
// network time back to the adapter.
func (e *Edge) InferCut(ctx context.Context, inputs ...*nn.Tensor) (*Result, error) {
	c := e.a.Next()
	probed := false
	if size, need := e.a.NeedProbe(); need && e.probe != "" {
		// best effort: a failed probe only means no bandwidth sample
		t0 := time.Now()
		if _, err := e.nc.RequestWithContext(ctx, e.probe, make([]byte, size)); err == nil {
			if _, err := e.a.Observe(partition.Observation{Bytes: size, Network: time.Since(t0)}); err != nil {
				return nil, err
			}
			probed = true
		}
	}
	out, err := e.InferAt(ctx, c, inputs...)
	if err != nil {
		return nil, err
	}
	out.Probed = probed
	if !c.IsEdgeOnly() && !out.Fallback && out.Attempts == 1 {
		moved, err := e.a.Observe(partition.Observation{Bytes: out.WireBytes + out.ReplyBytes, Network: out.Timings.Transit})
		if err != nil {
			return nil, err
		}
		out.Moved = moved
	}
	return out, nil
}

// InferAt runs one request at cut c, whatever the adapter's choice, and
// tells the adapter nothing: an edge worker split at c (made on first
// use), or the whole model here for edge-only.
func (e *Edge) InferAt(ctx context.Context, c partition.Cut, inputs ...*nn.Tensor) (*Result, error) {
	if c.IsEdgeOnly() {
		return e.runLocal(ctx, c, inputs)
	}
	w, err := e.worker(c)
	if err != nil {
		return nil, err
	}
	res, err := w.Infer(ctx, inputs...)
	if err != nil {
		return nil, err
	}
	return &Result{Result: res, CutName: c.Name}, nil
}

// runLocal runs the whole model on the edge.
func (e *Edge) runLocal(ctx context.Context, c partition.Cut, inputs []*nn.Tensor) (res *Result, err error) {
	// An edge-only request is a trace too: the request span (cut
	// edge-only) and its compute span.
	start := time.Now()
	ctx, span := e.tracer.Start(ctx, trace.SpanEdgeRequest, oteltrace.WithTimestamp(trace.SpanTime(start, start)))
	var t0, t1 time.Time
	defer func() {
		if span.IsRecording() {
			l := e.a.Link()
			in := 0
			for _, t := range inputs {
				if t != nil {
					in += len(t.Bytes())
				}
			}
			span.SetAttributes(attribute.String(trace.AttrCutID, c.Name), attribute.String(trace.AttrModelHash, e.ModelHash()),
				attribute.Int(trace.AttrInputBytes, in), attribute.Float64(trace.AttrRTTms, float64(l.RTT)/1e6),
				attribute.Float64(trace.AttrBandwidthBps, l.Bandwidth))
			if !t0.IsZero() {
				_, cs := e.tracer.Start(ctx, trace.SpanEdgeCompute, oteltrace.WithTimestamp(trace.SpanTime(start, t0)))
				cs.End(oteltrace.WithTimestamp(trace.SpanTime(start, t1)))
			}
			if err != nil {
				span.SetStatus(codes.Error, err.Error())
			} else {
				span.SetAttributes(attribute.Float64(trace.AttrMeasuredMs, float64(res.Timings.Total)/1e6))
			}
		}
		span.End(oteltrace.WithTimestamp(trace.SpanTime(start, time.Now())))
	}()
	var r *nn.Runner
	select {
	case r = <-e.local:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { e.local <- r }()
	if r == nil {
		r = e.whole.NewRunner(max(e.cfg.Threads, 1))
	}
	t0 = time.Now()
	var outs []*nn.Tensor
	run := func() (err error) { outs, err = r.Run(inputs...); return err }
	if e.cfg.Slowdown >= 1 {
		// the emulated slower edge runs the whole model slower too
		_, _, err = edgeworker.EmulateSlower(e.cfg.Slowdown, run)
	} else {
		err = run()
	}
	t1 = time.Now()
	if err != nil {
		r = nil
		return nil, fmt.Errorf("adaptive: edge-only run: %w", err)
	}
	er := &edgeworker.Result{Cut: c.Name}
	if sc := span.SpanContext(); sc.IsSampled() {
		er.TraceID = sc.TraceID().String()
	}
	for _, t := range outs {
		er.Outputs = append(er.Outputs, t.Clone())
	}
	er.Timings.EdgeCompute = t1.Sub(t0)
	er.Timings.Total = er.Timings.EdgeCompute
	return &Result{Result: er, CutName: c.Name}, nil
}
