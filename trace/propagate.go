package trace

import (
	"context"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

var propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{},
)

// Propagator returns the W3C trace-context and baggage propagator that both
// workers use over HeaderCarrier.
func Propagator() propagation.TextMapPropagator { return propagator }

// Inject writes ctx's span context (traceparent, tracestate) and baggage
// into h. h must not be nil.
func Inject(ctx context.Context, h nats.Header) {
	propagator.Inject(ctx, HeaderCarrier(h))
}

// Extract returns ctx carrying the remote span context and baggage found in
// h (whatever the case of the header keys); ctx unchanged if there is none.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return propagator.Extract(ctx, HeaderCarrier(h))
}

// MessagingSystemNATS is the messaging.system value for NATS.
const MessagingSystemNATS = "nats"

// SendAttributes are the OTel messaging attributes of the edge's NATS
// request span (SpanNATSRequest, kind client).
func SendAttributes(subject string, bodyBytes int) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystemNATS),
		semconv.MessagingDestinationName(subject),
		semconv.MessagingOperationName("send"),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingMessageBodySize(bodyBytes),
	}
}

// ProcessAttributes are the OTel messaging attributes of the cloud's
// process span (SpanCloudProcess, kind server).
func ProcessAttributes(subject string, bodyBytes int) []attribute.KeyValue {
	return []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystemNATS),
		semconv.MessagingDestinationName(subject),
		semconv.MessagingOperationName("process"),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingMessageBodySize(bodyBytes),
	}
}
