package trace

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Batch sizes of the span processor.
const (
	// DefaultMaxQueue is how many finished spans may wait for export; more
	// are dropped (and counted) until an export makes room.
	DefaultMaxQueue = 4096
	// DefaultMaxBatch is the span count that starts an export before the
	// batch timeout, and the most spans sent in one export call.
	DefaultMaxBatch = 512
)

// batcher is a batching span processor. Unlike the SDK's batch processor,
// which hands every finished span to its export goroutine over a channel
// (waking that goroutine, often another thread, once per span), it appends
// the span to a slice under a mutex and wakes the export goroutine once
// per DefaultMaxBatch spans or batch timeout.
type batcher struct {
	exp      sdktrace.SpanExporter
	timeout  time.Duration // batch timeout
	expTime  time.Duration // bound of one export (the exporter's timeout)
	maxBatch int

	q     *spanQueue[sdktrace.ReadOnlySpan] // kicked when a full batch waits
	expMu sync.Mutex                        // one export at a time

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

var _ sdktrace.SpanProcessor = (*batcher)(nil)

// newBatcher batches for exp, exporting at least every timeout; expTime
// bounds one export (<= 0: exportTimeout).
func newBatcher(exp sdktrace.SpanExporter, timeout, expTime time.Duration) *batcher {
	if expTime <= 0 {
		expTime = exportTimeout
	}
	b := &batcher{
		exp: exp, timeout: timeout, expTime: expTime, maxBatch: DefaultMaxBatch,
		q:    newSpanQueue[sdktrace.ReadOnlySpan](DefaultMaxQueue, DefaultMaxBatch),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	go b.loop()
	return b
}

func (b *batcher) loop() {
	defer close(b.done)
	t := time.NewTicker(b.timeout)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
		case <-b.q.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), b.timeout+b.expTime)
		if err := b.export(ctx); err != nil {
			otel.Handle(err)
		}
		cancel()
	}
}

// OnStart does nothing.
func (b *batcher) OnStart(context.Context, sdktrace.ReadWriteSpan) {}

// OnEnd queues a sampled span for export.
func (b *batcher) OnEnd(s sdktrace.ReadOnlySpan) {
	if !s.SpanContext().IsSampled() {
		return
	}
	b.q.push(s)
}

// export sends every queued span, in calls of at most maxBatch spans.
func (b *batcher) export(ctx context.Context) error {
	b.expMu.Lock()
	defer b.expMu.Unlock()
	batch, dropped := b.q.take()
	if dropped > 0 {
		otel.Handle(fmt.Errorf("trace: %d spans dropped: export queue of %d full", dropped, b.q.max))
	}
	var errs []error
	for i := 0; i < len(batch); i += b.maxBatch {
		if err := b.exp.ExportSpans(ctx, batch[i:min(i+b.maxBatch, len(batch))]); err != nil {
			errs = append(errs, err)
		}
	}
	b.q.recycle(batch)
	return errors.Join(errs...)
}

// ForceFlush exports the queued spans; it returns ctx's error if ctx ends
// first (the export then finishes in the background, within its timeout).
func (b *batcher) ForceFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// The export itself is not cut short by ctx: spans taken from the
	// queue are sent (within the export timeout) even after the caller gave up.
	errc := make(chan error, 1)
	go func() {
		ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.expTime)
		defer cancel()
		errc <- b.export(ectx)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Shutdown stops the export goroutine, exports what is queued and shuts the
// exporter down. Spans ending later are dropped. Calls after the first
// return the first's result.
func (b *batcher) Shutdown(ctx context.Context) error {
	b.stopOnce.Do(func() {
		b.q.close()
		close(b.stop)
		select {
		case <-b.done:
		case <-ctx.Done():
			b.stopErr = ctx.Err()
			return
		}
		b.stopErr = errors.Join(b.ForceFlush(ctx), b.exp.Shutdown(ctx))
	})
	return b.stopErr
}
