package trace

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/propagation"
	oteltrace "go.opentelemetry.io/otel/trace"
)

func TestHeaderCarrierRoundTrip(t *testing.T) {
	tid, _ := oteltrace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	sid, _ := oteltrace.SpanIDFromHex("00f067aa0ba902b7")
	sc := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: oteltrace.FlagsSampled})
	ctx := oteltrace.ContextWithSpanContext(context.Background(), sc)
	h := nats.Header{}
	prop := propagation.TraceContext{}
	prop.Inject(ctx, HeaderCarrier(h))
	if got := h.Get("traceparent"); got != "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" {
		t.Fatalf("traceparent = %q", got)
	}
	for _, key := range []string{"traceparent", "Traceparent", "TRACEPARENT"} {
		h2 := nats.Header{key: h["traceparent"]}
		got := oteltrace.SpanContextFromContext(prop.Extract(context.Background(), HeaderCarrier(h2)))
		if got.TraceID() != tid || got.SpanID() != sid || !got.IsRemote() {
			t.Errorf("header key %q: extracted %v", key, got)
		}
	}
	if got := HeaderCarrier(nats.Header{}).Get("traceparent"); got != "" {
		t.Errorf("empty header: Get = %q", got)
	}
}
