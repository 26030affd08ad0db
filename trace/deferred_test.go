package trace

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
)

// instrument makes a request-shaped set of spans through tp: a server root
// under a remote parent, children with attributes (a duplicate key too),
// events, an error, statuses, a link, explicit and implicit timestamps.
func instrument(tp oteltrace.TracerProvider) {
	tr := tp.Tracer("splitinfer/test", oteltrace.WithInstrumentationVersion("v1"))
	remote := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{
		TraceID: oteltrace.TraceID{1, 2, 3}, SpanID: oteltrace.SpanID{4, 5, 6},
		TraceFlags: oteltrace.FlagsSampled, Remote: true,
	})
	ctx := oteltrace.ContextWithRemoteSpanContext(context.Background(), remote)
	t0 := time.Unix(1700000000, 12345)
	ctx, root := tr.Start(ctx, "root", oteltrace.WithSpanKind(oteltrace.SpanKindServer), oteltrace.WithTimestamp(t0),
		oteltrace.WithAttributes(attribute.String("a", "1"), attribute.Int("n", 7)))
	_, child := tr.Start(ctx, "child", oteltrace.WithTimestamp(t0.Add(time.Millisecond)))
	child.SetAttributes(attribute.String("a", "2"), attribute.Float64("f", 1.5), attribute.StringSlice("s", []string{"x", "y"}))
	child.AddEvent("node", oteltrace.WithTimestamp(t0.Add(2*time.Millisecond)), oteltrace.WithAttributes(attribute.Int("i", 3)))
	child.RecordError(errors.New("boom"), oteltrace.WithTimestamp(t0.Add(3*time.Millisecond)))
	child.SetStatus(codes.Error, "boom")
	child.AddLink(oteltrace.Link{SpanContext: remote, Attributes: []attribute.KeyValue{attribute.Bool("l", true)}})
	child.End(oteltrace.WithTimestamp(t0.Add(4 * time.Millisecond)))
	child.SetAttributes(attribute.String("late", "ignored"))
	_, ok := tr.Start(ctx, "ok", oteltrace.WithSpanKind(oteltrace.SpanKindClient), oteltrace.WithTimestamp(t0.Add(5*time.Millisecond)))
	ok.SetStatus(codes.Ok, "dropped description")
	ok.SetStatus(codes.Error, "after ok: ignored")
	ok.End(oteltrace.WithTimestamp(t0.Add(6 * time.Millisecond)))
	root.End(oteltrace.WithTimestamp(t0.Add(7 * time.Millisecond)))
}

// TestDeferredDirectEncodingMatchesSDK checks the SDK bypass: the light
// spans encoded as they are give the same OTLP bytes as the SDK spans the
// replay makes from them.
func TestDeferredDirectEncodingMatchesSDK(t *testing.T) {
	ctx := context.Background()
	mem := tracetest.NewInMemoryExporter()
	res := resource.NewSchemaless(attribute.String("service.name", "test"))
	sdk := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(presetIDs{}), sdktrace.WithSyncer(mem))
	p := newDeferred(sdk, sdktrace.ParentBased(sdktrace.AlwaysSample()), nil, res, 0)
	defer sdk.Shutdown(ctx)
	defer p.Shutdown(ctx)
	instrument(p)
	p.q.mu.Lock()
	light := append([]*lightSpan(nil), p.q.items...)
	p.q.mu.Unlock()
	if len(light) != 3 {
		t.Fatalf("%d spans queued, want 3", len(light))
	}
	if err := p.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	ro := mem.GetSpans().Snapshots()
	if len(ro) != 3 {
		t.Fatalf("SDK got %d spans, want 3", len(ro))
	}
	got, want := appendTraces(nil, light), appendTraces(nil, ro)
	if !bytes.Equal(got, want) {
		t.Fatalf("direct encoding differs from the SDK's:\n got %x\nwant %x", got, want)
	}
	// The replay kept the IDs, the remote parent and the status rules.
	if ro[2].Parent().SpanID() != (oteltrace.SpanID{4, 5, 6}) || !ro[2].Parent().IsRemote() {
		t.Errorf("root's parent %v", ro[2].Parent())
	}
	if ro[0].Parent().SpanID() != ro[2].SpanContext().SpanID() || !ro[0].SpanContext().Equal(light[0].SpanContext()) {
		t.Errorf("child's IDs changed in the replay")
	}
	if st := ro[1].Status(); st.Code != codes.Ok || st.Description != "" {
		t.Errorf("status %+v, want Ok without description", st)
	}
	if n := len(ro[0].Events()); n != 2 || ro[0].Events()[1].Name != "exception" {
		t.Errorf("events %+v", ro[0].Events())
	}
}

// TestDeferredMatchesSynchronous runs the same instrumentation through the
// plain SDK and through the deferred provider (replay) and compares what
// the exporter sees, IDs aside.
func TestDeferredMatchesSynchronous(t *testing.T) {
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", "test"))
	memSync, memDef := tracetest.NewInMemoryExporter(), tracetest.NewInMemoryExporter()
	syncTP := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(memSync))
	defer syncTP.Shutdown(ctx)
	sdk := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSampler(sdktrace.AlwaysSample()),
		sdktrace.WithIDGenerator(presetIDs{}), sdktrace.WithSyncer(memDef))
	defer sdk.Shutdown(ctx)
	p := newDeferred(sdk, sdktrace.ParentBased(sdktrace.AlwaysSample()), nil, res, 0)
	defer p.Shutdown(ctx)
	instrument(syncTP)
	instrument(p)
	if err := p.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := memSync.GetSpans().Snapshots(), memDef.GetSpans().Snapshots()
	if len(a) != len(b) {
		t.Fatalf("%d spans synchronous, %d deferred", len(a), len(b))
	}
	for i := range a {
		if a[i].Name() != b[i].Name() || a[i].SpanKind() != b[i].SpanKind() || !a[i].StartTime().Equal(b[i].StartTime()) ||
			!a[i].EndTime().Equal(b[i].EndTime()) || a[i].Status() != b[i].Status() || a[i].Parent().IsRemote() != b[i].Parent().IsRemote() {
			t.Errorf("span %d: synchronous %s %v %v-%v %+v, deferred %s %v %v-%v %+v", i,
				a[i].Name(), a[i].SpanKind(), a[i].StartTime(), a[i].EndTime(), a[i].Status(),
				b[i].Name(), b[i].SpanKind(), b[i].StartTime(), b[i].EndTime(), b[i].Status())
		}
		if sa, sb := attribute.NewSet(a[i].Attributes()...), attribute.NewSet(b[i].Attributes()...); !sa.Equals(&sb) {
			t.Errorf("span %s: attributes %v vs %v", a[i].Name(), a[i].Attributes(), b[i].Attributes())
		}
		if len(a[i].Events()) != len(b[i].Events()) || len(a[i].Links()) != len(b[i].Links()) {
			t.Errorf("span %s: events/links differ", a[i].Name())
		}
	}
}

// TestDeferredUnsampled: a parent-based sampler over an unsampled parent
// gives non-recording spans that still carry the context, and nothing is
// exported.
func TestDeferredUnsampled(t *testing.T) {
	ctx := context.Background()
	mem := tracetest.NewInMemoryExporter()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithIDGenerator(presetIDs{}), sdktrace.WithSyncer(mem))
	defer sdk.Shutdown(ctx)
	p := newDeferred(sdk, sdktrace.ParentBased(sdktrace.NeverSample()), nil, nil, 0)
	defer p.Shutdown(ctx)
	sctx, s := p.Tracer("t").Start(ctx, "root")
	if s.IsRecording() || !s.SpanContext().IsValid() || s.SpanContext().IsSampled() {
		t.Fatalf("root: recording %v, context %v", s.IsRecording(), s.SpanContext())
	}
	_, c := p.Tracer("t").Start(sctx, "child")
	if c.SpanContext().TraceID() != s.SpanContext().TraceID() {
		t.Error("child left the trace")
	}
	c.End()
	s.End()
	if err := p.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(mem.GetSpans()); n != 0 {
		t.Errorf("%d unsampled spans exported", n)
	}
}

// TestDeferredQueueFull drops spans past the queue bound instead of
// blocking or growing.
func TestDeferredQueueFull(t *testing.T) {
	ctx := context.Background()
	mem := tracetest.NewInMemoryExporter()
	sdk := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithIDGenerator(presetIDs{}), sdktrace.WithSyncer(mem))
	defer sdk.Shutdown(ctx)
	p := newDeferred(sdk, sdktrace.AlwaysSample(), nil, nil, time.Hour)
	defer p.Shutdown(ctx)
	p.q.max = 10
	p.replayMu.Lock() // hold the replay so the queue fills
	tr := p.Tracer("t")
	for i := 0; i < 25; i++ {
		_, s := tr.Start(ctx, "s")
		s.End()
	}
	p.q.mu.Lock()
	queued, dropped := len(p.q.items), p.q.dropped
	p.q.mu.Unlock()
	p.replayMu.Unlock()
	if queued != 10 || dropped != 15 {
		t.Fatalf("queued %d dropped %d, want 10 and 15", queued, dropped)
	}
	if err := p.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(mem.GetSpans()); n != 10 {
		t.Errorf("%d exported, want 10", n)
	}
}
