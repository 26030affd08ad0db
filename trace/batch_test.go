package trace

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

// countingExporter counts exported spans and export calls.
type countingExporter struct {
	mu           sync.Mutex
	spans, calls int
	maxCall      int
	shutdowns    int
	block        chan struct{} // when not nil, exports wait for it
}

func (e *countingExporter) ExportSpans(ctx context.Context, s []sdktrace.ReadOnlySpan) error {
	if e.block != nil {
		select {
		case <-e.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.spans += len(s)
	e.calls++
	e.maxCall = max(e.maxCall, len(s))
	return nil
}

func (e *countingExporter) Shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.shutdowns++
	return nil
}

func (e *countingExporter) get() (spans, calls, maxCall, shutdowns int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.spans, e.calls, e.maxCall, e.shutdowns
}

func endSpans(tp *sdktrace.TracerProvider, n int) {
	tr := tp.Tracer("t")
	for range n {
		_, s := tr.Start(context.Background(), "s")
		s.End()
	}
}

func TestBatcher(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	exp := &countingExporter{}
	b := newBatcher(exp, time.Hour, 0)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	// Fewer than a batch: nothing exported until a flush.
	endSpans(tp, 10)
	if n, _, _, _ := exp.get(); n != 0 {
		t.Fatalf("%d spans exported before a full batch or flush", n)
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, c, _, _ := exp.get(); n != 10 || c != 1 {
		t.Fatalf("after flush: %d spans in %d calls, want 10 in 1", n, c)
	}
	// A full batch is exported without a flush, in calls of at most
	// DefaultMaxBatch spans.
	endSpans(tp, 3*DefaultMaxBatch)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, _, _, _ := exp.get(); n >= 10+2*DefaultMaxBatch || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := tp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, m, _ := exp.get(); n != 10+3*DefaultMaxBatch || m > DefaultMaxBatch {
		t.Fatalf("%d spans exported (want %d), largest call %d", n, 10+3*DefaultMaxBatch, m)
	}
	// Unsampled spans never reach the exporter.
	tpNever := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(b))
	endSpans(tpNever, 5)
	if err := b.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, _, _ := exp.get(); n != 10+3*DefaultMaxBatch {
		t.Fatalf("unsampled spans exported: %d", n)
	}
	// Shutdown flushes, shuts the exporter down once, drops later spans.
	endSpans(tp, 7)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal("second Shutdown:", err)
	}
	n, _, _, sd := exp.get()
	if n != 17+3*DefaultMaxBatch || sd != 1 {
		t.Fatalf("after Shutdown: %d spans, %d exporter shutdowns", n, sd)
	}
	b.OnEnd(tracetest.SpanStub{SpanContext: sampledContext()}.Snapshot())
	if b.q.dropped != 1 {
		t.Errorf("span after Shutdown: dropped %d, want 1", b.q.dropped)
	}
}

func TestBatcherQueueFull(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx := context.Background()
	block := make(chan struct{})
	exp := &countingExporter{block: block}
	var (
		mu   sync.Mutex
		errs []error
	)
	prevHandler := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() }))
	defer otel.SetErrorHandler(prevHandler)
	b := newBatcher(exp, time.Hour, 0)
	b.maxBatch, b.q.max, b.q.kickAt = 4, 8, 4
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(b))
	// The first full batch is taken by the (blocked) export; 8 more fill
	// the queue; 3 are dropped.
	endSpans(tp, 4)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.q.mu.Lock()
		taken := len(b.q.items) == 0
		b.q.mu.Unlock()
		if taken || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	endSpans(tp, 11)
	b.q.mu.Lock()
	queued, dropped := len(b.q.items), b.q.dropped
	b.q.mu.Unlock()
	if queued != 8 || dropped != 3 {
		t.Fatalf("queued %d dropped %d, want 8 and 3", queued, dropped)
	}
	// A flush that cannot finish honours its deadline.
	fctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.ForceFlush(fctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ForceFlush with a blocked exporter: %v", err)
	}
	close(block)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _, _, _ := exp.get(); n != 12 {
		t.Errorf("%d spans exported, want 12", n)
	}
	mu.Lock()
	defer mu.Unlock()
	found := false
	for _, err := range errs {
		found = found || err != nil && strings.Contains(err.Error(), "3 spans dropped")
	}
	if !found {
		t.Errorf("drops not reported to the error handler: %v", errs)
	}
}

func sampledContext() oteltrace.SpanContext {
	return oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: oteltrace.TraceID{1}, SpanID: oteltrace.SpanID{1}, TraceFlags: oteltrace.FlagsSampled})
}
