// Package cloudworker is the cloud half of a split: a nats.go micro service
// named "splitinfer" whose endpoint receives the activations an edge worker
// computed at a cut, runs the tail of the model from that cut, and replies
// with the model outputs. Workers on the same subject form a queue group and
// share the load. Behind the endpoint a bounded queue feeds a fixed pool of
// goroutines, each with its own runners; a full queue answers 503 at once.
// Error replies carry the codes of package pipeline in the
// Nats-Service-Error-Code and Nats-Service-Error headers.
package cloudworker

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace"
)

// Model is a model a worker serves, by its content hash.
type Model struct {
	Name    string
	Program *nn.Program // the whole model, compiled
}

// Stats are a worker's counters since it started.
type Stats struct {
	Received  int64 `json:"received"`   // requests that reached the endpoint
	Computed  int64 `json:"computed"`   // requests computed (alone or in a batch)
	Cached    int64 `json:"cached"`     // retries answered from the reply cache
	Errors    int64 `json:"errors"`     // error replies
	QueueFull int64 `json:"queue_full"` // of which 503 because the queue was full or stopping
	Batches   int64 `json:"batches"`    // tail runs that served several requests (MaxBatch > 1)
}

// Worker is a running cloud worker. Make one with New, end it with Stop.
type Worker struct {
	cfg    Config
	nc     *nats.Conn
	svc    micro.Service
	id     string
	models map[string]*served
	tracer oteltrace.Tracer
	// processName is the process span's name (trace.ProcessSpanName).
	processName string
	unobserve   func() error // ends trace.ObserveNATS
	metrics     *trace.Metrics

	mu       sync.RWMutex // guards stopping and sends on queue
	stopping bool
	queue    chan *job
	wg       sync.WaitGroup // worker goroutines and cache waiters
	stopOnce sync.Once
	stopErr  error

	dedup *replyCache

	profiles map[string][]byte // model hash -> JSON profile (profile.go)
	first    string            // the first model's hash

	received, computed, cached, errs, full, batches atomic.Int64
	tailNs, tailRuns                                atomic.Int64 // for the 503s' retry hint
}

type served struct {
	name, hash string
	prog       *nn.Program
	// compact has the cuts with an activation codec (nil: none).
	compact *pipeline.CompactCuts
	mu      sync.Mutex
	splits  map[string]*pipeline.Split
}

type job struct {
	data     []byte
	reply    string
	ctx      context.Context
	span     oteltrace.Span
	queued   time.Time
	rec      bool // span records: make the stage spans
	received time.Time
	cut      string
	depth    int // queue depth with it, when it was queued
}

// New starts a worker on nc serving models: it registers the micro service
// "splitinfer" with one endpoint "infer" on cfg.Subject in cfg.QueueGroup,
// with metadata naming the models and their hashes. Defaults: see Config;
// tracing and metrics are off unless WithTracerProvider/WithMeterProvider.
// The worker does not own nc: close it after Stop.
func New(nc *nats.Conn, models []Model, cfg Config, opts ...Option) (*Worker, error) {
	if nc == nil {
		return nil, errors.New("cloudworker: nil NATS connection")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, errors.New("cloudworker: no models")
	}
	o := newOptions(opts)
	metrics, err := trace.NewMetrics(o.mp)
	if err != nil {
		return nil, fmt.Errorf("cloudworker: %w", err)
	}
	w := &Worker{
		cfg:     cfg.withDefaults(),
		nc:      nc,
		models:  map[string]*served{},
		tracer:  o.tp.Tracer(trace.ScopeName),
		metrics: metrics,
	}
	w.processName = trace.ProcessSpanName(w.cfg.Subject)
	if w.unobserve, err = trace.ObserveNATS(o.mp, nc); err != nil {
		return nil, fmt.Errorf("cloudworker: %w", err)
	}
	w.queue = make(chan *job, w.cfg.QueueLen)
	w.dedup = newReplyCache(w.cfg.Dedup)
	var names, hashes []string
	for _, m := range models {
		if m.Program == nil {
			return nil, fmt.Errorf("cloudworker: model %q has no program", m.Name)
		}
		h := pipeline.ModelHash(m.Program.Graph())
		name := m.Name
		if name == "" {
			name = m.Program.Graph().Name
		}
		compact, err := pipeline.NewCompactCuts(m.Program)
		if err != nil {
			return nil, fmt.Errorf("cloudworker: model %q: %w", name, err)
		}
		w.models[h] = &served{name: name, hash: h, prog: m.Program, compact: compact, splits: map[string]*pipeline.Split{}}
		names = append(names, name)
		hashes = append(hashes, h)
	}
	meta := map[string]string{
		"model":        names[0],
		"model_hash":   hashes[0],
		"models":       strings.Join(names, ","),
		"model_hashes": strings.Join(hashes, ","),
		"workers":      fmt.Sprint(w.cfg.Workers),
		"queue_len":    fmt.Sprint(w.cfg.QueueLen),
		"max_batch":    fmt.Sprint(max(w.cfg.MaxBatch, 1)),
	}
	for k, v := range w.cfg.Metadata {
		if _, taken := meta[k]; !taken {
			meta[k] = v
		}
	}
	w.first = hashes[0]
	svc, err := micro.AddService(nc, micro.Config{
		Name:        pipeline.ServiceName,
		Version:     w.cfg.Version,
		Description: "splitinfer cloud worker: runs model tails from a cut",
		Metadata:    meta,
		QueueGroup:  w.cfg.QueueGroup,
		// The endpoint answers most requests from the worker goroutines,
		// outside micro's own counters: STATS carries the worker's.
		StatsHandler: func(*micro.Endpoint) any { return w.Stats() },
	})
	if err != nil {
		return nil, fmt.Errorf("cloudworker: %w", err)
	}
	w.svc = svc
	w.id = svc.Info().ID
	for i := 0; i < w.cfg.Workers; i++ {
		w.wg.Add(1)
		go w.loop()
	}
	err = svc.AddEndpoint("infer", micro.HandlerFunc(w.handle),
		micro.WithEndpointSubject(w.cfg.Subject),
		micro.WithEndpointQueueGroup(w.cfg.QueueGroup),
		micro.WithEndpointMetadata(map[string]string{"model_hash": hashes[0]}))
	if err != nil {
		w.Stop()
		return nil, fmt.Errorf("cloudworker: %w", err)
	}
	if err := w.addProfileEndpoints(); err != nil {
		w.Stop()
		return nil, err
	}
	// Make sure the server knows the subscription before New returns, so
	// a request sent right after finds a responder.
	if err := nc.FlushTimeout(10 * time.Second); err != nil {
		w.Stop()
		return nil, fmt.Errorf("cloudworker: flushing subscription: %w", err)
	}
	return w, nil
}

// ID is the micro service instance id.
func (w *Worker) ID() string { return w.id }

// Info returns the micro service info (name, id, metadata, endpoints).
func (w *Worker) Info() micro.Info { return w.svc.Info() }

// Stats returns the worker's counters.
func (w *Worker) Stats() Stats {
	return Stats{Received: w.received.Load(), Computed: w.computed.Load(), Cached: w.cached.Load(),
		Errors: w.errs.Load(), QueueFull: w.full.Load(), Batches: w.batches.Load()}
}

// Stop drains the worker: the endpoint stops receiving, requests already
// queued are computed and answered, requests that arrive meanwhile get a
// 503 (the edge retries them elsewhere), then the worker goroutines exit
// and pending replies are flushed. It is safe to call more than once.
func (w *Worker) Stop() error {
	w.stopOnce.Do(func() {
		var errs []error
		if err := w.svc.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("cloudworker: stopping service: %w", err))
		}
		w.mu.Lock()
		w.stopping = true
		close(w.queue)
		w.mu.Unlock()
		w.wg.Wait()
		_ = w.unobserve()
		if !w.nc.IsClosed() {
			if err := w.nc.FlushTimeout(5 * time.Second); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
				errs = append(errs, fmt.Errorf("cloudworker: flushing replies: %w", err))
			}
		}
		w.stopErr = errors.Join(errs...)
	})
	return w.stopErr
}

// processAttributes are the process span's attributes for a message of n
// bytes.
func (w *Worker) processAttributes(n int) []attribute.KeyValue {
	return append(trace.ProcessAttributes(w.cfg.Subject, w.cfg.QueueGroup, n, w.nc.ConnectedUrlRedacted()),
		attribute.String(trace.AttrWorkerID, w.id))
}

// handle runs on the subscription's goroutine: it only checks the size and
// queues the request, so a slow tail never blocks the endpoint.
func (w *Worker) handle(req micro.Request) {
	now := time.Now()
	w.received.Add(1)
	data := req.Data()
	ctx := trace.Extract(context.Background(), nats.Header(req.Headers()))
	// The process span starts at the message's receipt, the base of every
	// span time on this side (trace.SpanTime), so its children lie within.
	sopts := []oteltrace.SpanStartOption{oteltrace.WithSpanKind(trace.ProcessSpanKind), oteltrace.WithTimestamp(trace.SpanTime(now, now))}
	sampled := oteltrace.SpanContextFromContext(ctx).IsSampled()
	if sampled {
		// Attributes at Start, in one slice, when the span will record
		// (the sampler follows the edge's decision).
		sopts = append(sopts, oteltrace.WithAttributes(w.processAttributes(len(data))...))
	}
	ctx, span := w.tracer.Start(ctx, w.processName, sopts...)
	if !sampled && span.IsRecording() { // a root here: no context or not from a sampled edge
		span.SetAttributes(w.processAttributes(len(data))...)
	}
	if req.Reply() == "" {
		w.finishSpan(span, now, time.Now(), pipeline.Errorf(pipeline.CodeBadRequest, "request without a reply subject"))
		return
	}
	if max := w.maxMessage(); len(data) > max {
		w.rejectNow(ctx, req, span, now, pipeline.Errorf(pipeline.CodeTooLarge, "message of %d bytes (limit %d)", len(data), max))
		return
	}
	// The stage spans (queue, decode, compute, reply) are made afterwards
	// from the clock readings of the times the reply reports (QueueNs,
	// DecodeNs, ComputeNs), so both agree exactly; only when the request
	// is recorded.
	rec := span.IsRecording()
	j := &job{data: data, reply: req.Reply(), ctx: ctx, span: span, queued: now, rec: rec, received: now}
	// The job's fields are the worker goroutine's once it is queued.
	w.mu.RLock()
	var rejected *pipeline.Error
	if w.stopping {
		rejected = pipeline.Errorf(pipeline.CodeQueueFull, "worker %s is stopping", w.id)
	} else {
		j.depth = len(w.queue) + 1 // the endpoint is the only producer
		select {
		case w.queue <- j:
		default:
			rejected = pipeline.Errorf(pipeline.CodeQueueFull, "queue of %d full", w.cfg.QueueLen)
		}
	}
	depth := len(w.queue)
	w.mu.RUnlock()
	w.metrics.QueueDepth(ctx, depth)
	if rejected != nil {
		if rec {
			span.SetAttributes(attribute.Int(trace.AttrQueueDepth, depth))
		}
		w.full.Add(1)
		if !w.stopping {
			rejected.RetryAfter = w.retryHint()
		}
		w.rejectNow(ctx, req, span, now, rejected)
	}
}

func (w *Worker) maxMessage() int {
	if w.cfg.Limits.MaxMessageBytes > 0 {
		return w.cfg.Limits.MaxMessageBytes
	}
	return pipeline.DefaultLimits.MaxMessageBytes
}

// rejectNow answers from the handler goroutine with micro's req.Error;
// received is when the message arrived.
func (w *Worker) rejectNow(ctx context.Context, req micro.Request, span oteltrace.Span, received time.Time, e *pipeline.Error) {
	w.errs.Add(1)
	w.metrics.Error(ctx, int(e.Code))
	body, _ := pipeline.EncodeReply(&pipeline.Reply{Code: e.Code, Message: e.Message, Worker: w.id})
	var ropts []micro.RespondOpt
	if e.RetryAfter > 0 {
		ropts = append(ropts, micro.WithHeaders(micro.Headers{pipeline.HeaderRetryAfter: {pipeline.RetryAfterValue(e.RetryAfter)}}))
	}
	sent := time.Now() // before the reply goes out: see sendReply
	_ = req.Error(fmt.Sprint(int(e.Code)), e.Message, body, ropts...)
	w.finishSpan(span, received, sent, e)
}

// retryHint is how long a full queue should take to drain by half: the
// mean tail time x QueueLen / (2 x Workers), within 1ms..1s. A 503
// carries it (pipeline.HeaderRetryAfter) so edges come back when there is
// room, not at once.
func (w *Worker) retryHint() time.Duration {
	mean := time.Millisecond
	if n := w.tailRuns.Load(); n > 0 {
		mean = time.Duration(w.tailNs.Load() / n)
	}
	hint := mean * time.Duration(w.cfg.QueueLen) / time.Duration(2*w.cfg.Workers)
	return min(max(hint, time.Millisecond), time.Second)
}

// finishSpan ends the process span of a message received at received, at
// the clock reading end.
func (w *Worker) finishSpan(span oteltrace.Span, received, end time.Time, e *pipeline.Error) {
	// Logged in the request's span: the records carry its trace_id.
	ctx := oteltrace.ContextWithSpan(context.Background(), span)
	if e != nil {
		span.SetAttributes(attribute.Int(trace.AttrErrorCode, int(e.Code)))
		span.SetStatus(codes.Error, e.Message)
		level := slog.LevelWarn
		if e.Code == pipeline.CodeQueueFull { // a full queue: backpressure, not a fault; often many
			level = slog.LevelDebug
		}
		slog.Log(ctx, level, "cloud request failed", "worker", w.id, "code", int(e.Code), "err", e.Message)
	} else if slog.Default().Enabled(ctx, slog.LevelDebug) {
		slog.DebugContext(ctx, "cloud request", "worker", w.id, "duration_s", end.Sub(received).Seconds())
	}
	span.End(oteltrace.WithTimestamp(trace.SpanTime(received, end)))
}

// runner state of one worker goroutine.
type local struct {
	runners map[*pipeline.Split]*nn.Runner
}

func (w *Worker) loop() {
	defer w.wg.Done()
	l := &local{runners: map[*pipeline.Split]*nn.Runner{}}
	for j := range w.queue {
		p := w.prepare(j)
		if w.cfg.MaxBatch <= 1 {
			if p != nil {
				w.runOne(l, p)
			}
			continue
		}
		// Dynamic batching: take what else is already queued, up to MaxBatch.
		var ps []*pending
		if p != nil {
			ps = append(ps, p)
		}
	more:
		for n := 1; n < w.cfg.MaxBatch; n++ {
			select {
			case j2, ok := <-w.queue:
				if !ok {
					break more
				}
				if p2 := w.prepare(j2); p2 != nil {
					ps = append(ps, p2)
				}
			default:
				break more
			}
		}
		w.runBatched(l, ps)
	}
}

// result is a computed reply, cached by request id.
type result struct {
	reply *pipeline.Reply // outputs own their data
	err   *pipeline.Error
}

// pending is a decoded request ready to run.
type pending struct {
	j       *job
	req     *pipeline.Request
	ent     *entry
	split   *pipeline.Split
	in      []*nn.Tensor
	queued  time.Duration
	decoded time.Duration
}

// prepare decodes a queued request and resolves its model, cut and input
// tensors. It answers the request itself (error, expired deadline, retry of
// a known id) and returns nil, or returns the request to run.
func (w *Worker) prepare(j *job) *pending {
	start := time.Now()
	queued := start.Sub(j.queued)
	w.metrics.Stage(j.ctx, trace.StageQueue, queued)

	req, err := w.decode(j)
	dend := time.Now()
	decoded := dend.Sub(start)
	if j.rec {
		_, qspan := w.tracer.Start(j.ctx, trace.SpanQueueWait, oteltrace.WithTimestamp(trace.SpanTime(j.received, j.queued)))
		qspan.End(oteltrace.WithTimestamp(trace.SpanTime(j.received, start)))
		_, dspan := w.tracer.Start(j.ctx, trace.SpanDecode, oteltrace.WithTimestamp(trace.SpanTime(j.received, start)))
		if err != nil {
			dspan.SetStatus(codes.Error, pipeline.AsError(err).Message)
		}
		dspan.End(oteltrace.WithTimestamp(trace.SpanTime(j.received, dend)))
	}
	if err != nil {
		e := pipeline.AsError(err)
		w.send(j, &pipeline.Reply{Code: e.Code, Message: e.Message}, queued, decoded, 0)
		return nil
	}
	w.metrics.Stage(j.ctx, trace.StageDecode, decoded)
	j.cut = req.Cut
	if j.span.IsRecording() {
		j.span.SetAttributes(attribute.String(trace.AttrRequestID, req.ID), attribute.String(trace.AttrCutID, req.Cut),
			attribute.String(trace.AttrModelHash, req.Model), attribute.String(trace.AttrCodec, string(req.Codec)),
			attribute.Int(trace.AttrQueueDepth, j.depth))
	}

	if dl := req.DeadlineTime(); !dl.IsZero() && start.After(dl) {
		w.send(j, &pipeline.Reply{ID: req.ID, Code: pipeline.CodeDeadline,
			Message: fmt.Sprintf("deadline passed %v before the request ran", start.Sub(dl).Round(time.Microsecond))},
			queued, decoded, 0)
		return nil
	}

	ent, first := w.dedup.begin(req.Model + "/" + req.Cut + "/" + req.ID)
	if !first {
		// A retry of a request this worker has answered or is computing.
		w.cached.Add(1)
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			<-ent.done
			r := *ent.res.reply
			r.Cached = true
			r.QueueNs, r.DecodeNs = int64(queued), int64(decoded)
			w.sendReply(j, &r)
		}()
		return nil
	}
	p := &pending{j: j, req: req, ent: ent, queued: queued, decoded: decoded}
	if e := w.resolve(p); e != nil {
		w.complete(p, &result{reply: &pipeline.Reply{ID: req.ID, Code: e.Code, Message: e.Message}, err: e})
		return nil
	}
	return p
}

// decode decodes j's request: a compact one (wire version 3) against the
// served models' activation codecs, any other with DecodeRequest.
func (w *Worker) decode(j *job) (*pipeline.Request, error) {
	if !pipeline.IsCompact(j.data) {
		return pipeline.DecodeRequest(j.data, w.cfg.Limits)
	}
	return pipeline.DecodeCompactRequest(j.data, w.cfg.Limits, j.received, func(prefix []byte) *pipeline.CompactCuts {
		for _, m := range w.models {
			if m.compact != nil && m.compact.Matches(prefix) {
				return m.compact
			}
		}
		return nil
	})
}

// resolve finds p's split and converts its tensors in the tail's input order.
func (w *Worker) resolve(p *pending) *pipeline.Error {
	req := p.req
	m, ok := w.models[req.Model]
	if !ok {
		return pipeline.Errorf(pipeline.CodeModelMismatch, "model %.16s is not served here (have %s)", req.Model, w.hashList())
	}
	split, err := m.split(req.Cut, w.cfg.MaxCuts)
	if err != nil {
		return pipeline.AsError(err)
	}
	inputs := split.Tail.Inputs()
	if len(req.Tensors) != len(inputs) {
		return pipeline.Errorf(pipeline.CodeBadRequest, "cut %q takes %d tensors, got %d", req.Cut, len(inputs), len(req.Tensors))
	}
	byName := make(map[string]*pipeline.Tensor, len(req.Tensors))
	for i := range req.Tensors {
		byName[req.Tensors[i].Name] = &req.Tensors[i]
	}
	p.in = make([]*nn.Tensor, len(inputs))
	for i, name := range inputs {
		wt, ok := byName[name]
		if !ok {
			return pipeline.Errorf(pipeline.CodeBadRequest, "cut %q needs tensor %q", req.Cut, name)
		}
		t, err := wt.ToNN()
		if err != nil {
			return pipeline.AsError(err)
		}
		p.in[i] = t
	}
	p.split = split
	return nil
}

// complete records p's result for retries and sends the reply.
func (w *Worker) complete(p *pending, res *result) {
	if p.split != nil { // the tail ran (resolve failures do not count)
		w.computed.Add(1)
	}
	w.dedup.finish(p.ent, res, res.err == nil || res.err.Code != pipeline.CodeInternal)
	r := *res.reply
	r.QueueNs, r.DecodeNs = int64(p.queued), int64(p.decoded)
	w.sendReply(p.j, &r)
}

func (l *local) runner(w *Worker, s *pipeline.Split) *nn.Runner {
	r := l.runners[s]
	if r == nil {
		if len(l.runners) >= w.cfg.MaxCuts {
			clear(l.runners)
		}
		r = s.Tail.NewRunner(w.cfg.Threads)
		l.runners[s] = r
	}
	return r
}

// runTail runs split's tail on in, with a compute span under each job's trace.
func (w *Worker) runTail(l *local, split *pipeline.Split, in []*nn.Tensor, ps []*pending) ([]*nn.Tensor, time.Duration, *pipeline.Error) {
	t0 := time.Now()
	outs, err := safeRun(l.runner(w, split), in)
	t1 := time.Now()
	dt := t1.Sub(t0)
	w.tailNs.Add(int64(dt))
	w.tailRuns.Add(1)
	var e *pipeline.Error
	if err != nil {
		delete(l.runners, split) // a failed run may leave the runner half-planned
		code := pipeline.CodeInternal
		if errors.Is(err, nn.ErrShape) || errors.Is(err, nn.ErrDType) || errors.Is(err, nn.ErrMissing) {
			code = pipeline.CodeBadRequest
		}
		e = &pipeline.Error{Code: code, Message: err.Error()}
	}
	// One compute span per request, made from the run's clock readings.
	for _, p := range ps {
		w.metrics.Stage(p.j.ctx, trace.StageCloudCompute, dt)
		if !p.j.rec {
			continue
		}
		_, span := w.tracer.Start(p.j.ctx, trace.SpanCloudCompute, oteltrace.WithTimestamp(trace.SpanTime(p.j.received, t0)), oteltrace.WithAttributes(
			attribute.Int(trace.AttrNodes, len(split.Tail.NodeIndices())),
			attribute.String(trace.AttrCutID, split.ID), attribute.Int(trace.AttrBatch, len(ps))))
		if e != nil {
			span.SetStatus(codes.Error, e.Message)
		}
		span.End(oteltrace.WithTimestamp(trace.SpanTime(p.j.received, t1)))
	}
	return outs, dt, e
}

// runOne computes one request and answers it.
func (w *Worker) runOne(l *local, p *pending) {
	outs, dt, e := w.runTail(l, p.split, p.in, []*pending{p})
	if e != nil {
		w.complete(p, &result{reply: &pipeline.Reply{ID: p.req.ID, Code: e.Code, Message: e.Message}, err: e})
		return
	}
	reply := &pipeline.Reply{ID: p.req.ID, Codec: w.cfg.Codec, ComputeNs: int64(dt)}
	for i, name := range p.split.Tail.Outputs() {
		wt, err := pipeline.FromNN(name, outs[i])
		if err != nil {
			e := pipeline.Errorf(pipeline.CodeInternal, "output %q: %v", name, err)
			w.complete(p, &result{reply: &pipeline.Reply{ID: p.req.ID, Code: e.Code, Message: e.Message}, err: e})
			return
		}
		wt.Data = append([]byte(nil), wt.Data...) // the runner reuses its outputs
		reply.Outputs = append(reply.Outputs, wt)
	}
	w.complete(p, &result{reply: reply})
}

func safeRun(r *nn.Runner, in []*nn.Tensor) (outs []*nn.Tensor, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("cloudworker: kernel panic: %v", p)
		}
	}()
	return r.Run(in...)
}

func (w *Worker) hashList() string {
	hs := make([]string, 0, len(w.models))
	for h := range w.models {
		hs = append(hs, fmt.Sprintf("%.16s", h))
	}
	sort.Strings(hs)
	return strings.Join(hs, ",")
}

// split returns the compiled split for a cut id, slicing it on first use.
func (m *served) split(cut string, maxCuts int) (*pipeline.Split, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.splits[cut]; ok {
		return s, nil
	}
	names, err := pipeline.ParseCutID(cut)
	if err != nil {
		return nil, err
	}
	s, err := pipeline.NewSplit(m.prog, names)
	if err != nil {
		return nil, err
	}
	if len(m.splits) >= maxCuts {
		clear(m.splits)
	}
	m.splits[cut] = s
	m.splits[s.ID] = s
	return s, nil
}

// send answers with an error reply or a result.
func (w *Worker) send(j *job, r *pipeline.Reply, queued, decode, compute time.Duration) {
	r.QueueNs, r.DecodeNs, r.ComputeNs = int64(queued), int64(decode), int64(compute)
	w.sendReply(j, r)
}

func (w *Worker) sendReply(j *job, r *pipeline.Reply) {
	t0 := time.Now()
	r.Worker = w.id
	msg := &nats.Msg{Subject: j.reply}
	var e *pipeline.Error
	if e = r.Err(); e != nil {
		r.Outputs = nil
		msg.Header = pipeline.ErrorHeaders(e)
		w.errs.Add(1)
		w.metrics.Error(j.ctx, int(e.Code))
	}
	body, err := pipeline.EncodeReply(r)
	if err != nil {
		e = pipeline.Errorf(pipeline.CodeInternal, "encoding reply: %v", err)
		msg.Header = pipeline.ErrorHeaders(e)
		body, _ = pipeline.EncodeReply(&pipeline.Reply{ID: r.ID, Code: e.Code, Message: e.Message, Worker: w.id})
	}
	msg.Data = body
	// The cloud's spans end as the reply is handed to NATS: the edge may
	// have it (and end its send span) before PublishMsg returns.
	sent := time.Now()
	if err := w.nc.PublishMsg(msg); err != nil && e == nil {
		e = pipeline.Errorf(pipeline.CodeInternal, "publishing reply: %v", err)
	}
	t1 := time.Now()
	if j.rec {
		_, rspan := w.tracer.Start(j.ctx, trace.SpanReply, oteltrace.WithTimestamp(trace.SpanTime(j.received, t0)),
			oteltrace.WithAttributes(attribute.Int(trace.AttrWireBytes, len(body))))
		rspan.End(oteltrace.WithTimestamp(trace.SpanTime(j.received, sent)))
	}
	w.metrics.Stage(j.ctx, trace.StageReply, t1.Sub(t0))
	outcome := trace.OutcomeOK
	if e != nil {
		outcome = trace.OutcomeError
	}
	w.metrics.Request(j.ctx, j.cut, outcome, time.Since(j.received))
	w.finishSpan(j.span, j.received, sent, e)
}

// replyCache keeps the replies of the last n request ids, and the ones
// being computed, so a retry is answered once.
type replyCache struct {
	mu    sync.Mutex
	n     int
	byID  map[string]*entry
	order *list.List // completed entries, oldest first
}

type entry struct {
	id   string
	done chan struct{}
	res  *result
	elem *list.Element
}

func newReplyCache(n int) *replyCache {
	return &replyCache{n: n, byID: map[string]*entry{}, order: list.New()}
}

// begin returns the entry for id and whether the caller must compute it.
func (c *replyCache) begin(id string) (*entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[id]; ok {
		return e, false
	}
	e := &entry{id: id, done: make(chan struct{})}
	if c.n > 0 {
		c.byID[id] = e
	}
	return e, true
}

// finish publishes the result to waiters; keep=false forgets it (errors
// that a retry might not meet again).
func (c *replyCache) finish(e *entry, res *result, keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.res = res
	close(e.done)
	if c.n <= 0 {
		return
	}
	if !keep {
		delete(c.byID, e.id)
		return
	}
	e.elem = c.order.PushBack(e)
	for c.order.Len() > c.n {
		old := c.order.Remove(c.order.Front()).(*entry)
		delete(c.byID, old.id)
	}
}
