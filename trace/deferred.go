package trace

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// Deferred spans. The SDK does a lot per span (sampler, ID generator
// behind a mutex, attribute limits and de-duplication, span processors),
// all on the goroutine that serves the request: at batch 1 over loopback
// the nine spans of a split request cost a third of its throughput. A
// deferredProvider records each span in a small struct instead (name,
// IDs, parent, kind, timestamps, attributes, events, status) and replays
// the finished ones into the SDK on a background goroutine, with the same
// trace and span IDs (a preset-ID generator), timestamps and content, so
// the exported trace is the one the SDK would have made. The sampling
// decision is taken at Start, with the configured sampler, so that
// propagation (traceparent's sampled flag) and IsRecording are as before.
//
// With this package's own OTLP exporter (the default: no WithSpanExporter)
// the SDK is skipped altogether: the finished light spans are encoded and
// exported as they are (lightSpan is a spanView), with the SDK's attribute
// semantics (last value of a key wins, at most 128 attributes, events and
// links). With a caller's exporter they are replayed into the SDK.
//
// Finished spans wait in a bounded queue (DefaultMaxQueue·4); when it is
// full they are dropped and counted, and the count is reported to otel's
// error handler, as the batcher does. ForceFlush and Shutdown export or
// replay what is queued first.

// replayBatch is the queue length that wakes the replay goroutine before
// its tick.
const replayBatch = 256

// replayTick is how often the replay goroutine looks at the queue.
const replayTick = 100 * time.Millisecond

type deferredProvider struct {
	embedded.TracerProvider
	sdk      *sdktrace.TracerProvider
	sampler  sdktrace.Sampler
	direct   *otlpExporter // export light spans without the SDK; nil: replay
	res      *resource.Resource
	tick     time.Duration
	q        *spanQueue[*lightSpan]
	replayMu sync.Mutex // one replay at a time, so ForceFlush sees all

	mu      sync.Mutex
	tracers map[tracerKey]*deferredTracer

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

type tracerKey struct{ name, version, schema string }

var _ oteltrace.TracerProvider = (*deferredProvider)(nil)

// newDeferred wraps sdk, whose sampler must be sdktrace.AlwaysSample and
// whose ID generator must be presetIDs (the decision and the IDs are made
// here). sampler is the configured sampler. With direct set, spans go
// straight to it (resource res, every tick at the latest) instead.
func newDeferred(sdk *sdktrace.TracerProvider, sampler sdktrace.Sampler, direct *otlpExporter, res *resource.Resource, tick time.Duration) *deferredProvider {
	if direct == nil || tick <= 0 {
		tick = replayTick
	}
	p := &deferredProvider{
		sdk: sdk, sampler: sampler, direct: direct, res: res, tick: tick,
		q:       newSpanQueue[*lightSpan](4*DefaultMaxQueue, DefaultMaxBatch),
		tracers: map[tracerKey]*deferredTracer{},
		stop:    make(chan struct{}), done: make(chan struct{}),
	}
	go p.loop()
	return p
}

// Tracer implements oteltrace.TracerProvider.
func (p *deferredProvider) Tracer(name string, opts ...oteltrace.TracerOption) oteltrace.Tracer {
	c := oteltrace.NewTracerConfig(opts...)
	k := tracerKey{name, c.InstrumentationVersion(), c.SchemaURL()}
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tracers[k]
	if !ok {
		t = &deferredTracer{p: p, sdk: p.sdk.Tracer(name, opts...),
			scope: instrumentation.Scope{Name: name, Version: c.InstrumentationVersion(), SchemaURL: c.SchemaURL(), Attributes: c.InstrumentationAttributes()}}
		p.tracers[k] = t
	}
	return t
}

func (p *deferredProvider) loop() {
	defer close(p.done)
	tick := time.NewTicker(p.tick)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		case <-p.q.kick:
		}
		if err := p.replayQueued(context.Background()); err != nil {
			otel.Handle(err)
		}
	}
}

// replayQueued hands every queued span to the SDK.
func (p *deferredProvider) replayQueued(ctx context.Context) error {
	p.replayMu.Lock()
	defer p.replayMu.Unlock()
	batch, dropped := p.q.take()
	if dropped > 0 {
		otel.Handle(fmt.Errorf("trace: %d spans dropped: replay queue of %d full", dropped, p.q.max))
	}
	var err error
	if p.direct != nil {
		var errs []error
		for i := 0; i < len(batch); i += DefaultMaxBatch {
			if err := exportViews(ctx, p.direct, batch[i:min(i+DefaultMaxBatch, len(batch))]); err != nil {
				errs = append(errs, err)
			}
		}
		err = errors.Join(errs...)
	} else {
		for _, s := range batch {
			if err = ctx.Err(); err != nil {
				break
			}
			s.replay()
		}
	}
	p.q.recycle(batch)
	return err
}

// ForceFlush exports (or replays) the queued spans and flushes the SDK.
func (p *deferredProvider) ForceFlush(ctx context.Context) error {
	if err := p.replayQueued(ctx); err != nil {
		return err
	}
	return p.sdk.ForceFlush(ctx)
}

// Shutdown stops the replay goroutine, replays what is queued (until ctx
// ends) and takes no more spans. The SDK provider is shut down by the
// caller.
func (p *deferredProvider) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() { close(p.stop) })
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.q.close()
	return p.replayQueued(ctx)
}

type deferredTracer struct {
	embedded.Tracer
	p     *deferredProvider
	sdk   oteltrace.Tracer
	scope instrumentation.Scope
}

// Start implements oteltrace.Tracer.
func (t *deferredTracer) Start(ctx context.Context, name string, opts ...oteltrace.SpanStartOption) (context.Context, oteltrace.Span) {
	cfg := oteltrace.NewSpanStartConfig(opts...)
	pctx := ctx
	if cfg.NewRoot() {
		pctx = oteltrace.ContextWithSpanContext(ctx, oteltrace.SpanContext{})
	}
	parent := oteltrace.SpanContextFromContext(pctx)
	tid := parent.TraceID()
	if !parent.IsValid() {
		tid = randTraceID()
	}
	res := t.p.sampler.ShouldSample(sdktrace.SamplingParameters{
		ParentContext: pctx, TraceID: tid, Name: name, Kind: cfg.SpanKind(),
		Attributes: cfg.Attributes(), Links: cfg.Links(),
	})
	if res.Decision != sdktrace.RecordAndSample && parent.IsValid() && !parent.IsSampled() && !cfg.NewRoot() {
		// Inside a trace that is not sampled: nothing downstream records,
		// so the parent's context goes on as it is (as otel's no-op
		// tracer does), without new IDs or a new context.
		return ctx, nonRecording{sc: parent, tp: t.p}
	}
	sid := randSpanID()
	flags := parent.TraceFlags().WithSampled(res.Decision == sdktrace.RecordAndSample)
	sc := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, TraceState: res.Tracestate})
	if res.Decision != sdktrace.RecordAndSample {
		// Not exported (a batching processor drops RecordOnly spans too):
		// a non-recording span that still carries the context onward.
		return oteltrace.ContextWithSpanContext(ctx, sc), nonRecording{sc: sc, tp: t.p}
	}
	start := cfg.Timestamp()
	if start.IsZero() {
		start = time.Now()
	}
	// cfg's attribute slice is its own (NewSpanStartConfig appends the
	// options' into a new one): the span keeps it.
	attrs := cfg.Attributes()
	if len(res.Attributes) > 0 {
		attrs = append(res.Attributes[:len(res.Attributes):len(res.Attributes)], attrs...)
	}
	s := &lightSpan{
		t: t, name: name, sc: sc, parent: parent, kind: cfg.SpanKind(), start: start,
		attrs: attrs, links: cfg.Links(),
	}
	return oteltrace.ContextWithSpan(ctx, s), s
}

// nonRecording is the span of a context that is not sampled.
type nonRecording struct {
	embedded.Span
	sc oteltrace.SpanContext
	tp oteltrace.TracerProvider
}

func (nonRecording) End(...oteltrace.SpanEndOption)              {}
func (nonRecording) AddEvent(string, ...oteltrace.EventOption)   {}
func (nonRecording) AddLink(oteltrace.Link)                      {}
func (nonRecording) IsRecording() bool                           { return false }
func (nonRecording) RecordError(error, ...oteltrace.EventOption) {}
func (s nonRecording) SpanContext() oteltrace.SpanContext        { return s.sc }
func (nonRecording) SetStatus(codes.Code, string)                {}
func (nonRecording) SetName(string)                              {}
func (nonRecording) SetAttributes(...attribute.KeyValue)         {}
func (s nonRecording) TracerProvider() oteltrace.TracerProvider  { return s.tp }

// lightSpan records a sampled span until it ends; the replay makes the
// SDK span from it.
type lightSpan struct {
	embedded.Span
	t      *deferredTracer
	sc     oteltrace.SpanContext
	parent oteltrace.SpanContext
	kind   oteltrace.SpanKind

	mu         sync.Mutex // spans may be handed between goroutines
	name       string
	start, end time.Time
	ended      bool
	attrs      []attribute.KeyValue
	links      []oteltrace.Link
	events     []lightEvent
	status     codes.Code
	statusDesc string

	// Set by dedup on the export goroutine, after End.
	deduped      bool
	droppedAttrs int
}

type lightEvent struct {
	name  string
	err   error // RecordError
	opts  []oteltrace.EventOption
	stamp time.Time // the event's time: its WithTimestamp, else when recorded
}

func (s *lightSpan) End(opts ...oteltrace.SpanEndOption) {
	ec := oteltrace.NewSpanEndConfig(opts...)
	end := ec.Timestamp()
	if end.IsZero() {
		end = time.Now()
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended, s.end = true, end
	s.mu.Unlock()
	s.t.p.q.push(s)
}

func (s *lightSpan) AddEvent(name string, opts ...oteltrace.EventOption) {
	s.event(lightEvent{name: name, opts: opts})
}

func (s *lightSpan) RecordError(err error, opts ...oteltrace.EventOption) {
	if err != nil {
		s.event(lightEvent{err: err, opts: opts})
	}
}

func (s *lightSpan) event(e lightEvent) {
	if ec := oteltrace.NewEventConfig(e.opts...); !ec.Timestamp().IsZero() {
		e.stamp = ec.Timestamp()
	} else {
		e.stamp = time.Now()
	}
	s.mu.Lock()
	if !s.ended {
		s.events = append(s.events, e)
	}
	s.mu.Unlock()
}

func (s *lightSpan) AddLink(l oteltrace.Link) {
	s.mu.Lock()
	if !s.ended {
		s.links = append(s.links, l)
	}
	s.mu.Unlock()
}

func (s *lightSpan) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

func (s *lightSpan) SpanContext() oteltrace.SpanContext { return s.sc }

// SetStatus follows the SDK: Unset is ignored, Ok is final, a description
// goes with Error only.
func (s *lightSpan) SetStatus(c codes.Code, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || c == codes.Unset || s.status == codes.Ok {
		return
	}
	s.status, s.statusDesc = c, ""
	if c == codes.Error {
		s.statusDesc = desc
	}
}

func (s *lightSpan) SetName(name string) {
	s.mu.Lock()
	if !s.ended {
		s.name = name
	}
	s.mu.Unlock()
}

func (s *lightSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	if !s.ended {
		s.attrs = append(s.attrs, kv...)
	}
	s.mu.Unlock()
}

func (s *lightSpan) TracerProvider() oteltrace.TracerProvider { return s.t.p }

// replay makes the SDK span: same IDs (presetIDs reads them from the
// context), parent, kind, timestamps, attributes, links, events, status.
func (s *lightSpan) replay() {
	ctx := context.Background()
	if s.parent.IsValid() {
		ctx = oteltrace.ContextWithSpanContext(ctx, s.parent)
	}
	ctx = context.WithValue(ctx, presetKey{}, s.sc)
	_, sp := s.t.sdk.Start(ctx, s.name, oteltrace.WithTimestamp(s.start), oteltrace.WithSpanKind(s.kind),
		oteltrace.WithAttributes(s.attrs...), oteltrace.WithLinks(s.links...))
	for _, e := range s.events {
		opts := append(e.opts[:len(e.opts):len(e.opts)], oteltrace.WithTimestamp(e.stamp))
		if e.err != nil {
			sp.RecordError(e.err, opts...)
		} else {
			sp.AddEvent(e.name, opts...)
		}
	}
	if s.status != codes.Unset {
		sp.SetStatus(s.status, s.statusDesc)
	}
	sp.End(oteltrace.WithTimestamp(s.end))
}

// presetKey carries the span context whose IDs the replayed span takes.
type presetKey struct{}

// presetIDs is the SDK's ID generator under a deferredProvider: the IDs
// were chosen when the span started.
type presetIDs struct{}

func (presetIDs) NewIDs(ctx context.Context) (oteltrace.TraceID, oteltrace.SpanID) {
	if sc, ok := ctx.Value(presetKey{}).(oteltrace.SpanContext); ok {
		return sc.TraceID(), sc.SpanID()
	}
	return randTraceID(), randSpanID()
}

func (presetIDs) NewSpanID(ctx context.Context, _ oteltrace.TraceID) oteltrace.SpanID {
	if sc, ok := ctx.Value(presetKey{}).(oteltrace.SpanContext); ok {
		return sc.SpanID()
	}
	return randSpanID()
}

func randTraceID() oteltrace.TraceID {
	var tid oteltrace.TraceID
	binary.LittleEndian.PutUint64(tid[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(tid[8:], rand.Uint64())
	return tid
}

func randSpanID() oteltrace.SpanID {
	var sid oteltrace.SpanID
	for !sid.IsValid() {
		binary.LittleEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

// The spanView of a finished lightSpan, read by the direct export once the
// span is queued (no more writes then).

// maxLightAttrs is the SDK's default attribute count limit.
const maxLightAttrs = 128

func (s *lightSpan) Parent() oteltrace.SpanContext { return s.parent }
func (s *lightSpan) Name() string                  { return s.name }
func (s *lightSpan) SpanKind() oteltrace.SpanKind {
	if s.kind == oteltrace.SpanKindUnspecified {
		return oteltrace.SpanKindInternal
	}
	return s.kind
}
func (s *lightSpan) StartTime() time.Time { return s.start }
func (s *lightSpan) EndTime() time.Time   { return s.end }

// Attributes applies the SDK's rules: the last value of a key wins, in the
// order keys first appeared; at most maxLightAttrs (DroppedAttributes).
func (s *lightSpan) Attributes() []attribute.KeyValue {
	s.dedup()
	return s.attrs
}

func (s *lightSpan) DroppedAttributes() int {
	s.dedup()
	return s.droppedAttrs
}

// dedup applies the attribute rules once, on the export goroutine.
func (s *lightSpan) dedup() {
	if !s.deduped {
		s.attrs, s.droppedAttrs = dedupAttrs(s.attrs)
		s.deduped = true
	}
}

// dedupAttrs returns in itself when it holds no duplicate or invalid key
// and not too many.
func dedupAttrs(in []attribute.KeyValue) ([]attribute.KeyValue, int) {
	clean := len(in) <= maxLightAttrs
	for i := 0; clean && i < len(in); i++ {
		clean = in[i].Valid()
		for j := 0; clean && j < i; j++ {
			clean = in[j].Key != in[i].Key
		}
	}
	if clean {
		return in, 0
	}
	out := make([]attribute.KeyValue, 0, len(in))
	dropped := 0
	for _, kv := range in {
		if !kv.Valid() {
			continue
		}
		i := 0
		for i < len(out) && out[i].Key != kv.Key {
			i++
		}
		switch {
		case i < len(out):
			out[i] = kv
		case len(out) < maxLightAttrs:
			out = append(out, kv)
		default:
			dropped++
		}
	}
	return out, dropped
}

func (s *lightSpan) Events() []sdktrace.Event {
	if len(s.events) == 0 {
		return nil
	}
	out := make([]sdktrace.Event, len(s.events))
	for i, e := range s.events {
		c := oteltrace.NewEventConfig(e.opts...)
		ev := sdktrace.Event{Name: e.name, Time: e.stamp, Attributes: c.Attributes()}
		if e.err != nil {
			// As the SDK's RecordError.
			ev.Name = "exception"
			ev.Attributes = append(ev.Attributes[:len(ev.Attributes):len(ev.Attributes)],
				attribute.String("exception.type", errType(e.err)),
				attribute.String("exception.message", e.err.Error()))
		}
		out[i] = ev
	}
	return out
}

func errType(err error) string {
	t := reflect.TypeOf(err)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

func (s *lightSpan) DroppedEvents() int { return 0 }

func (s *lightSpan) Links() []sdktrace.Link {
	if len(s.links) == 0 {
		return nil
	}
	out := make([]sdktrace.Link, len(s.links))
	for i, l := range s.links {
		out[i] = sdktrace.Link{SpanContext: l.SpanContext, Attributes: l.Attributes}
	}
	return out
}

func (s *lightSpan) DroppedLinks() int { return 0 }

func (s *lightSpan) Status() sdktrace.Status {
	return sdktrace.Status{Code: s.status, Description: s.statusDesc}
}

func (s *lightSpan) Resource() *resource.Resource { return s.t.p.res }

func (s *lightSpan) InstrumentationScope() instrumentation.Scope { return s.t.scope }

var _ spanView = (*lightSpan)(nil)
