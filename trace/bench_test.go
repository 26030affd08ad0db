package trace

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discardExporter drops spans: the benchmark measures the SDK's recording
// and batching, not an exporter's network.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

// BenchmarkSpan compares a request-shaped unit of instrumentation (root
// span, child span with attributes, a metrics record) with tracing and
// metrics off (no-op providers) and on (sampled always, Prometheus
// metrics). Run side by side:
//
//	go test ./trace -run '^$' -bench Span -benchmem
func BenchmarkSpan(b *testing.B) {
	cases := []struct {
		name string
		opts []Option
	}{
		{"off", nil},
		{"sampled", []Option{WithSpanExporter(discardExporter{}), WithPrometheus()}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			p, err := New(context.Background(), c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			tr, m := p.Tracer(), p.Metrics()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				rctx, root := tr.Start(ctx, SpanEdgeRequest)
				_, child := tr.Start(rctx, SpanEncode)
				if child.IsRecording() {
					child.SetAttributes(
						attribute.Int(AttrInputBytes, 4096),
						attribute.Int(AttrWireBytes, 1024),
						attribute.Int(AttrBitsPerElement, 8),
					)
				}
				child.End()
				m.Request(rctx, "3", OutcomeOK, time.Millisecond)
				root.End()
			}
		})
	}
}
