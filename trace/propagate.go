package trace

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// propagator holds the process's propagator: OTEL_PROPAGATORS, read by
// each New (the environment is the process's, so every Provider agrees).
var propagator atomic.Pointer[propagation.TextMapPropagator]

func init() {
	var p propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{})
	propagator.Store(&p)
}

// setPropagatorFromEnv installs the propagators OTEL_PROPAGATORS names
// (autoprop: tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace,
// none), the W3C pair when it is unset. An unknown name is an error
// wrapping ErrConfig.
func setPropagatorFromEnv() error {
	var p propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
		propagation.TraceContext{}, propagation.Baggage{})
	if v := strings.TrimSpace(os.Getenv("OTEL_PROPAGATORS")); v != "" {
		names := strings.Split(v, ",")
		for i := range names {
			names[i] = strings.TrimSpace(names[i])
		}
		ep, err := autoprop.TextMapPropagator(names...)
		if err != nil {
			return fmt.Errorf("%w: OTEL_PROPAGATORS=%q: %v", ErrConfig, v, err)
		}
		p = ep
	}
	propagator.Store(&p)
	return nil
}

// Propagator returns the propagator both workers use over HeaderCarrier:
// OTEL_PROPAGATORS as of the last New, W3C trace context and baggage by
// default.
func Propagator() propagation.TextMapPropagator { return *propagator.Load() }

// Inject writes ctx's span context (traceparent, tracestate) and baggage
// into h. h must not be nil.
func Inject(ctx context.Context, h nats.Header) {
	Propagator().Inject(ctx, HeaderCarrier(h))
}

// Extract returns ctx carrying the remote span context and baggage found in
// h (whatever the case of the header keys); ctx unchanged if there is none.
func Extract(ctx context.Context, h nats.Header) context.Context {
	if len(h) == 0 {
		return ctx
	}
	return Propagator().Extract(ctx, HeaderCarrier(h))
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
