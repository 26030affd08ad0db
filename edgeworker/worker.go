// Package edgeworker is the edge half of a split: it runs the head of a
// model up to a cut, encodes the activations (optionally quantized to 8 bits
// and zstd-compressed) into a pipeline.Request with a deadline, sends it to
// the cloud workers over NATS, and decodes their reply. A failed attempt (no
// responders, timeout, 503) is retried with the same request id, so a cloud
// worker that already computed it answers from its cache; when no cloud
// worker answers at all the whole model can run locally (Config.Fallback).
// Every Infer call ends with exactly one outcome: a Result or an error.
package edgeworker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/trace"
)

// ErrNoCloud reports that no cloud worker answered any attempt and the
// fallback is off.
var ErrNoCloud = errors.New("edgeworker: no cloud worker answered")

// Timings are one request's stage times.
type Timings struct {
	EdgeCompute  time.Duration // the head
	Encode       time.Duration // quantize + msgpack + zstd
	Transit      time.Duration // NATS round trip minus the cloud's own time
	CloudQueue   time.Duration // reported by the cloud worker
	CloudDecode  time.Duration // reported by the cloud worker
	CloudCompute time.Duration // the tail, reported by the cloud worker
	Decode       time.Duration // decoding the reply
	Fallback     time.Duration // the whole model locally, when it ran
	Exit         time.Duration // the exit head, when the model has one at the cut
	Total        time.Duration
}

// Result is a successful outcome.
type Result struct {
	ID string
	// Outputs are the model outputs, in the model's output order; they
	// belong to the caller.
	Outputs  []*nn.Tensor
	Cut      string
	Worker   string // the cloud worker that answered ("" for a fallback)
	Attempts int    // NATS requests sent
	Fallback bool   // computed locally because no cloud worker answered
	Cached   bool   // the cloud answered a retry from its cache
	// Exited is set when the exit head answered (nothing was sent, the
	// outputs are the head's logits); ExitConfidence is the head's
	// confidence whenever it ran.
	Exited         bool
	ExitConfidence float32
	// InputBytes is the size of the model input; WireBytes the size of the
	// request message sent; ReplyBytes the size of the reply.
	InputBytes, WireBytes, ReplyBytes int
	// HeaderBytes and PayloadBytes split WireBytes into the message's
	// header and the activations as sent; Elements counts the activations.
	HeaderBytes, PayloadBytes, Elements int
	// Compact is set when the request went compact (wire version 3).
	Compact bool
	Timings Timings
	// TraceID is the request's trace id (32 hex digits) when the trace is
	// sampled, else "".
	TraceID string

	start time.Time // the request's first clock reading, the base of its span times
}

// Stats are the worker's counters.
type Stats struct {
	Requests, OK, Errors, Fallbacks, Retries int64
}

// Worker is an edge worker. It is safe for concurrent use: up to
// Config.Concurrency calls run their heads at once, others wait.
type Worker struct {
	cfg    Config
	nc     *nats.Conn
	split  *pipeline.Split
	hash   string
	model  string
	pool   chan *runners
	tracer oteltrace.Tracer
	// sendName is the NATS request span's name (trace.SendSpanName).
	sendName string
	metrics  *trace.Metrics
	est      estimator
	enc      pipeline.RequestEncoder
	exit     *earlyexit.Program // nil: no early exit

	headNodes int

	requests, ok, errs, fallbacks, retries atomic.Int64
}

type runners struct {
	head, whole *nn.Runner
	exit        *earlyexit.Runner
}

// NewLocal makes an edge worker that runs all of the model g here (no
// split, no NATS: Fallback on), with threads kernel threads.
func NewLocal(g *nn.Graph, threads int) (*Worker, error) {
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	return New(nil, prog, Config{Fallback: true, Threads: threads})
}

// New makes an edge worker for the compiled whole model, split at cfg.Cut
// (or pipeline.EarlyCut). Defaults: see Config; tracing and metrics are off
// unless WithTracerProvider/WithMeterProvider. nc may be nil only with
// Fallback on (everything then runs locally). The worker does not own nc.
func New(nc *nats.Conn, whole *nn.Program, cfg Config, opts ...Option) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if whole == nil {
		return nil, errors.New("edgeworker: nil model")
	}
	if nc == nil && !cfg.Fallback {
		return nil, errors.New("edgeworker: nil NATS connection without fallback")
	}
	cfg = cfg.withDefaults()
	cut := cfg.Cut
	if len(cut) == 0 {
		c, err := pipeline.EarlyCut(whole)
		if err != nil {
			return nil, fmt.Errorf("edgeworker: %w", err)
		}
		cut = []string{c}
	}
	split, err := pipeline.NewSplit(whole, cut)
	if err != nil {
		return nil, fmt.Errorf("edgeworker: %w", err)
	}
	var exit *earlyexit.Program
	if cfg.Exit {
		if exit, err = exitProgram(split); err != nil {
			return nil, fmt.Errorf("edgeworker: %w", err)
		}
	}
	o := newOptions(opts)
	metrics, err := trace.NewMetrics(o.mp)
	if err != nil {
		return nil, fmt.Errorf("edgeworker: %w", err)
	}
	// The connection's figures for as long as the meter provider lives
	// (an edge worker has no Stop; workers sharing nc report it once).
	if _, err := trace.ObserveNATS(o.mp, nc); err != nil {
		return nil, fmt.Errorf("edgeworker: %w", err)
	}
	model := cfg.Model
	if model == "" {
		model = whole.Graph().Name
	}
	w := &Worker{
		cfg: cfg, nc: nc, split: split, hash: pipeline.ModelHash(whole.Graph()), model: model,
		pool: make(chan *runners, cfg.Concurrency), tracer: o.tp.Tracer(trace.ScopeName), sendName: trace.SendSpanName(cfg.Subject), metrics: metrics,
		headNodes: len(split.Head.NodeIndices()),
	}
	if w.enc, err = pipeline.NewRequestEncoder(whole, cfg.Codec, cfg.WireDType, cfg.Compact); err != nil {
		return nil, fmt.Errorf("edgeworker: %w", err)
	}
	w.enc.Bits = cfg.CodecBits
	for i := 0; i < cfg.Concurrency; i++ {
		w.pool <- &runners{}
	}
	w.exit = exit
	if nc != nil && nc.IsConnected() {
		// The link's round trip, for the estimates on the spans: one PING.
		t0 := time.Now()
		if nc.FlushTimeout(time.Second) == nil {
			w.est.setRTT(time.Since(t0))
		}
	}
	return w, nil
}

// Estimate returns the worker's current link and latency estimate (the
// values the next request's span carries).
func (w *Worker) Estimate() Estimate { return w.est.get() }

// Cut is the id of the cut the worker splits at.
func (w *Worker) Cut() string { return w.split.ID }

// Split is the worker's split of the model.
func (w *Worker) Split() *pipeline.Split { return w.split }

// ModelHash is the content hash the worker's requests carry.
func (w *Worker) ModelHash() string { return w.hash }

// Stats returns the worker's counters.
func (w *Worker) Stats() Stats {
	return Stats{Requests: w.requests.Load(), OK: w.ok.Load(), Errors: w.errs.Load(),
		Fallbacks: w.fallbacks.Load(), Retries: w.retries.Load()}
}

// Infer runs the model on inputs (in the model's input order) through the
// split and returns its outputs, or an error: a *pipeline.Error for a coded
// cloud reply, ErrNoCloud, or the context's error.
func (w *Worker) Infer(ctx context.Context, inputs ...*nn.Tensor) (res *Result, err error) {
	start := time.Now()
	w.requests.Add(1)
	id := w.enc.NewID(w.split.ID)
	ctx, span := w.tracer.Start(ctx, trace.SpanEdgeRequest, oteltrace.WithTimestamp(trace.SpanTime(start, start)))
	// The root's attributes are gathered while the request runs and set
	// once at its end (one SetAttributes: the SDK's cost is per call), and
	// only when the span records.
	var attrs *[]attribute.KeyValue
	if span.IsRecording() {
		est := w.est.get()
		if w.cfg.LinkEstimate != nil {
			est.RTT, est.BandwidthBps = w.cfg.LinkEstimate()
		}
		a := make([]attribute.KeyValue, 0, 20)
		a = append(a, attribute.String(trace.AttrRequestID, id), attribute.String(trace.AttrCutID, w.split.ID),
			attribute.String(trace.AttrModelHash, w.hash), attribute.String(trace.AttrModelName, w.model),
			attribute.Float64(trace.AttrRTTms, float64(est.RTT)/1e6))
		if est.BandwidthBps > 0 {
			a = append(a, attribute.Float64(trace.AttrBandwidthBps, est.BandwidthBps))
		}
		if est.Predicted > 0 {
			a = append(a, attribute.Float64(trace.AttrPredictedMs, float64(est.Predicted)/1e6))
		}
		attrs = &a
	}
	defer func() {
		outcome := trace.OutcomeOK
		if err != nil {
			outcome = trace.OutcomeError
			w.errs.Add(1)
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			var pe *pipeline.Error
			if errors.As(err, &pe) {
				if attrs != nil {
					*attrs = append(*attrs, attribute.Int(trace.AttrErrorCode, int(pe.Code)))
				}
				w.metrics.Error(ctx, int(pe.Code))
			} else {
				w.metrics.Error(ctx, int(pipeline.CodeInternal))
			}
		} else {
			w.ok.Add(1)
			if res.Fallback {
				outcome = trace.OutcomeFallback
			} else if res.Exited {
				outcome = trace.OutcomeExit
			}
			res.Timings.Total = time.Since(start)
			if !res.Fallback && !res.Cached && res.Attempts == 1 {
				w.est.observe(res.Timings, res.WireBytes+res.ReplyBytes)
			}
			if attrs != nil {
				*attrs = append(*attrs, attribute.Int(trace.AttrAttempt, res.Attempts),
					attribute.Float64(trace.AttrMeasuredMs, float64(res.Timings.Total)/1e6))
			}
		}
		w.metrics.Request(ctx, w.split.ID, outcome, time.Since(start))
		// Logged in the request's span: the records carry its trace_id.
		if err != nil {
			slog.WarnContext(ctx, "edge request failed", "request_id", id, "cut", w.split.ID, "err", err)
		} else if slog.Default().Enabled(ctx, slog.LevelDebug) {
			slog.DebugContext(ctx, "edge request", "request_id", id, "cut", w.split.ID, "duration_s", time.Since(start).Seconds(),
				"wire_bytes", res.WireBytes, "attempts", res.Attempts, "fallback", res.Fallback, "cached", res.Cached)
		}
		if attrs != nil {
			span.SetAttributes(*attrs...)
		}
		span.End(oteltrace.WithTimestamp(trace.SpanTime(start, time.Now())))
	}()
	deadline := start.Add(w.cfg.Deadline)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	res = &Result{ID: id, Cut: w.split.ID, start: start}
	if sc := span.SpanContext(); sc.IsSampled() {
		res.TraceID = sc.TraceID().String()
	}
	for _, t := range inputs {
		if t != nil {
			res.InputBytes += len(t.Bytes())
		}
	}
	if attrs != nil {
		*attrs = append(*attrs, attribute.Int(trace.AttrInputBytes, res.InputBytes))
	}

	if w.nc == nil {
		return w.fallback(ctx, res, inputs, ErrNoCloud)
	}
	body, err := w.headAndEncode(ctx, attrs, id, deadline, inputs, res)
	if err != nil {
		return nil, err
	}
	if res.Exited {
		return res, nil
	}

	// Send, retrying while another attempt fits before the deadline.
	var last error
	policy := pipeline.RetryPolicy{Base: w.cfg.Backoff, Max: w.cfg.MaxBackoff, Attempts: w.cfg.Attempts}
	for attempt := 1; ; attempt++ {
		res.Attempts = attempt
		reply, retry, err := w.send(ctx, body, attempt, deadline, res)
		if err == nil {
			return w.finish(ctx, reply, res)
		}
		last = err
		if !retry || ctx.Err() != nil {
			break
		}
		pause, ok := policy.Pause(attempt, err, time.Now(), deadline)
		if !ok {
			break
		}
		w.retries.Add(1)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return nil, context.DeadlineExceeded // the attempt's timer fired first
	}
	if noCloud(last) {
		return w.fallback(ctx, res, inputs, last)
	}
	return nil, last
}

// acquire takes a runner set from the pool (bounding concurrent compute).
func (w *Worker) acquire(ctx context.Context) (*runners, error) {
	select {
	case rs := <-w.pool:
		return rs, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// headAndEncode runs the head and encodes its outputs into a request, and
// appends the wire attributes to attrs (when not nil). The runner is held
// only until the activations are encoded.
func (w *Worker) headAndEncode(ctx context.Context, attrs *[]attribute.KeyValue, id string, deadline time.Time, inputs []*nn.Tensor, res *Result) ([]byte, error) {
	rs, err := w.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { w.pool <- rs }()
	// The stage spans are made from the same two clock readings as the
	// Timings, so the durations they export equal the stage times.
	t0 := time.Now()
	if rs.head == nil {
		rs.head = w.split.Head.NewRunner(w.cfg.Threads)
	}
	var mid []*nn.Tensor
	if w.cfg.Slowdown >= 1 {
		_, _, err = EmulateSlower(w.cfg.Slowdown, func() (err error) { mid, err = safeRun(rs.head, inputs); return err })
	} else {
		mid, err = safeRun(rs.head, inputs)
	}
	t1 := time.Now()
	res.Timings.EdgeCompute = t1.Sub(t0)
	if attrs != nil {
		_, hspan := w.tracer.Start(ctx, trace.SpanEdgeCompute, oteltrace.WithTimestamp(trace.SpanTime(res.start, t0)), oteltrace.WithAttributes(
			attribute.Int(trace.AttrNodes, w.headNodes)))
		if err != nil {
			hspan.SetStatus(codes.Error, err.Error())
		}
		hspan.End(oteltrace.WithTimestamp(trace.SpanTime(res.start, t1)))
	}
	if err != nil {
		rs.head = nil
		return nil, fmt.Errorf("edgeworker: head: %w", err)
	}
	w.metrics.Stage(ctx, trace.StageEdgeCompute, res.Timings.EdgeCompute)
	if w.exit != nil {
		if err := w.tryExit(rs, mid, attrs, res); err != nil || res.Exited {
			return nil, err
		}
	}

	// Encode.
	t0 = time.Now()
	enc, err := w.enc.Encode(id, w.split.Head.Outputs(), mid, deadline)
	body := enc.Body
	t1 = time.Now()
	res.Timings.Encode = t1.Sub(t0)
	if attrs != nil {
		_, espan := w.tracer.Start(ctx, trace.SpanEncode, oteltrace.WithTimestamp(trace.SpanTime(res.start, t0)))
		if err != nil {
			espan.SetStatus(codes.Error, err.Error())
		}
		espan.End(oteltrace.WithTimestamp(trace.SpanTime(res.start, t1)))
	}
	if err != nil {
		return nil, fmt.Errorf("edgeworker: %w", err)
	}
	res.WireBytes = len(body)
	res.HeaderBytes, res.PayloadBytes, res.Elements, res.Compact = enc.HeaderBytes, enc.PayloadBytes, enc.Elements, enc.Compact
	if attrs != nil { // on the request span (the root), next to the cut
		version := pipeline.Version
		if enc.Compact {
			version = pipeline.CompactVersion
		}
		*attrs = append(*attrs,
			attribute.Int(trace.AttrWireBytes, len(body)), attribute.String(trace.AttrCodec, string(w.cfg.Codec)),
			attribute.Int(trace.AttrHeaderBytes, enc.HeaderBytes), attribute.Int(trace.AttrPayloadBytes, enc.PayloadBytes),
			attribute.Int(trace.AttrWireVersion, version),
			attribute.Float64(trace.AttrBitsPerElement, float64(8*len(body))/float64(max(enc.Elements, 1))),
			attribute.Float64(trace.AttrCompressionRatio, float64(enc.RawBytes)/float64(max(len(body), 1))))
	}
	w.metrics.Stage(ctx, trace.StageEncode, res.Timings.Encode)
	w.metrics.WireBytes(ctx, w.split.ID, len(body))
	return body, nil
}

// exitProgram compiles the exit head the model carries at the split's
// cut; nil when it carries none (or the cut is not one tensor).
func exitProgram(split *pipeline.Split) (*earlyexit.Program, error) {
	if len(split.Cut) != 1 {
		return nil, nil
	}
	h, err := earlyexit.Lookup(split.Whole.Graph(), split.Cut[0])
	if h == nil || err != nil {
		return nil, err
	}
	outs := split.Whole.Graph().Outputs
	if len(outs) != 1 || len(outs[0].Type.Shape) != 2 {
		return nil, fmt.Errorf("%w: an exit head answers for a model of one [batch, classes] output", earlyexit.ErrShape)
	}
	return earlyexit.Compile(h, outs[0].Type.Shape[1])
}

// tryExit runs the exit head on the head's outputs; when it is confident
// the result is the head's answer (res.Exited) and nothing is sent.
func (w *Worker) tryExit(rs *runners, mid []*nn.Tensor, attrs *[]attribute.KeyValue, res *Result) error {
	if rs.exit == nil {
		rs.exit = w.exit.NewRunner(w.cfg.Threads)
	}
	t0 := time.Now()
	d, err := rs.exit.Decide(mid[0])
	res.Timings.Exit = time.Since(t0)
	if err != nil {
		rs.exit = nil
		return fmt.Errorf("edgeworker: %w", err)
	}
	res.ExitConfidence = d.Confidence
	if d.Exit {
		res.Exited, res.Outputs = true, []*nn.Tensor{d.Logits}
	}
	if attrs != nil {
		*attrs = append(*attrs, attribute.Bool(trace.AttrExited, d.Exit), attribute.Float64(trace.AttrExitConfidence, float64(d.Confidence)))
		if d.Exit {
			*attrs = append(*attrs, attribute.Int(trace.AttrWireBytes, 0))
		}
	}
	return nil
}

// noCloud reports whether err means no cloud worker could take the request.
func noCloud(err error) bool {
	var pe *pipeline.Error
	if errors.As(err, &pe) {
		return pe.Code == pipeline.CodeQueueFull
	}
	return errors.Is(err, ErrNoCloud)
}

func safeRun(r *nn.Runner, in []*nn.Tensor) (outs []*nn.Tensor, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("kernel panic: %v", p)
		}
	}()
	return r.Run(in...)
}

// send makes one attempt. retry tells whether another attempt may help.
func (w *Worker) send(ctx context.Context, body []byte, attempt int, deadline time.Time, res *Result) (*pipeline.Reply, bool, error) {
	actx, cancel := context.WithDeadline(ctx, minTime(deadline, time.Now().Add(w.cfg.Timeout)))
	defer cancel()
	// The send span covers exactly the round trip the Timings use: it
	// starts at t0 and ends at t0+rtt, before the reply is decoded.
	// Its attributes go in at Start when the request span records (the
	// sampler follows the parent).
	var sopts []oteltrace.SpanStartOption
	if oteltrace.SpanFromContext(ctx).IsRecording() {
		sopts = []oteltrace.SpanStartOption{oteltrace.WithSpanKind(trace.SendSpanKind),
			oteltrace.WithAttributes(append(trace.SendAttributes(w.cfg.Subject, len(body), w.nc.ConnectedUrlRedacted()), attribute.Int(trace.AttrAttempt, attempt))...)}
	}
	t0 := time.Now()
	actx, sspan := w.tracer.Start(actx, w.sendName, append(sopts, oteltrace.WithTimestamp(trace.SpanTime(res.start, t0)))...)
	var sendEnd time.Time
	defer func() {
		if sendEnd.IsZero() {
			sendEnd = time.Now()
		}
		sspan.End(oteltrace.WithTimestamp(trace.SpanTime(res.start, sendEnd)))
	}()
	msg := &nats.Msg{Subject: w.cfg.Subject, Data: body}
	if sspan.SpanContext().IsValid() { // also unsampled: the cloud follows the decision
		msg.Header = nats.Header{}
		trace.Inject(actx, msg.Header)
	}
	rmsg, err := w.nc.RequestMsgWithContext(actx, msg)
	sendEnd = time.Now()
	rtt := sendEnd.Sub(t0)
	if err != nil {
		sspan.SetStatus(codes.Error, err.Error())
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			return nil, true, fmt.Errorf("%w: %v", ErrNoCloud, err)
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
			if ctx.Err() != nil {
				return nil, false, ctx.Err()
			}
			if perr := natsconn.PermissionError(w.nc); perr != nil {
				// The server refused our request or our inbox: no retry helps.
				return nil, false, perr
			}
			return nil, true, fmt.Errorf("%w: attempt %d timed out after %v", ErrNoCloud, attempt, rtt.Round(time.Millisecond))
		case errors.Is(err, context.Canceled):
			return nil, false, err
		case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining), errors.Is(err, nats.ErrConnectionReconnecting):
			return nil, true, fmt.Errorf("%w: %v", ErrNoCloud, err)
		}
		return nil, true, fmt.Errorf("edgeworker: request: %w", err)
	}
	res.ReplyBytes = len(rmsg.Data)
	t1 := time.Now()
	reply, err := pipeline.ReadReply(rmsg, res.ID, w.cfg.Limits)
	t2 := time.Now()
	res.Timings.Decode = t2.Sub(t1)
	if sspan.IsRecording() {
		sspan.SetAttributes(attribute.Int(trace.AttrReplyBytes, len(rmsg.Data)),
			attribute.Float64(trace.AttrReplyDecodeMs, float64(res.Timings.Decode)/1e6))
	}
	if err != nil {
		var pe *pipeline.Error
		if errors.As(err, &pe) {
			sspan.SetAttributes(attribute.Int(trace.AttrErrorCode, int(pe.Code)))
		}
		sspan.SetStatus(codes.Error, err.Error())
		if errors.Is(err, pipeline.ErrBadReply) {
			err = fmt.Errorf("edgeworker: %w", err)
		}
		return nil, pipeline.Retryable(err), err
	}
	cloud := time.Duration(reply.QueueNs + reply.DecodeNs + reply.ComputeNs)
	res.Timings.CloudQueue = time.Duration(reply.QueueNs)
	res.Timings.CloudDecode = time.Duration(reply.DecodeNs)
	res.Timings.CloudCompute = time.Duration(reply.ComputeNs)
	res.Timings.Transit = max(rtt-cloud, 0)
	return reply, false, nil
}

func (w *Worker) finish(ctx context.Context, reply *pipeline.Reply, res *Result) (*Result, error) {
	outs, err := reply.OutputTensors(w.split.Whole.Outputs())
	if err != nil {
		return nil, err
	}
	res.Outputs = outs
	res.Worker, res.Cached = reply.Worker, reply.Cached
	w.metrics.Stage(ctx, trace.StageNetwork, res.Timings.Transit)
	return res, nil
}

// fallback runs the whole model locally, when configured; cause is why.
func (w *Worker) fallback(ctx context.Context, res *Result, inputs []*nn.Tensor, cause error) (*Result, error) {
	if !w.cfg.Fallback {
		return nil, cause
	}
	rs, err := w.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer func() { w.pool <- rs }()
	t0 := time.Now()
	_, fspan := w.tracer.Start(ctx, trace.SpanFallback, oteltrace.WithTimestamp(trace.SpanTime(res.start, t0)),
		oteltrace.WithAttributes(attribute.String("splitinfer.fallback.cause", cause.Error())))
	defer func() { fspan.End(oteltrace.WithTimestamp(trace.SpanTime(res.start, time.Now()))) }()
	if rs.whole == nil {
		rs.whole = w.split.Whole.NewRunner(w.cfg.Threads)
	}
	outs, err := safeRun(rs.whole, inputs)
	res.Timings.Fallback = time.Since(t0)
	if err != nil {
		rs.whole = nil
		fspan.SetStatus(codes.Error, err.Error())
		return nil, fmt.Errorf("edgeworker: local fallback after %v: %w", cause, err)
	}
	for _, t := range outs {
		res.Outputs = append(res.Outputs, t.Clone())
	}
	res.Fallback = true
	w.fallbacks.Add(1)
	return res, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
