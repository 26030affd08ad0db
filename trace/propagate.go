package trace

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/contrib/propagators/autoprop"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	oteltrace "go.opentelemetry.io/otel/trace"
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

// SendSpanName is the name of the edge's NATS request span for a
// subject: "{operation} {destination}" (semantic conventions for
// messaging spans), e.g. "send splitinfer.infer" (SpanNATSRequest).
func SendSpanName(subject string) string { return "send " + subject }

// ProcessSpanName is the name of the cloud's process span for a subject,
// e.g. "process splitinfer.infer" (SpanCloudProcess).
func ProcessSpanName(subject string) string { return "process " + subject }

// Span kinds of the messaging spans: the send span's context travels in
// the message (it is the message's creation context), so it is a
// producer span; the process span is a consumer span.
const (
	SendSpanKind    = oteltrace.SpanKindProducer
	ProcessSpanKind = oteltrace.SpanKindConsumer
)

// SendAttributes are the OTel messaging attributes of the edge's NATS
// request span (SendSpanName, SendSpanKind). serverURL is the NATS
// server's URL (nats.Conn.ConnectedUrl), giving server.address and
// server.port; "" leaves them out.
func SendAttributes(subject string, bodyBytes int, serverURL string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystemNATS),
		semconv.MessagingDestinationName(subject),
		semconv.MessagingOperationName("send"),
		semconv.MessagingOperationTypeSend,
		semconv.MessagingMessageBodySize(bodyBytes),
	}
	return appendServer(attrs, serverURL)
}

// ProcessAttributes are the OTel messaging attributes of the cloud's
// process span (ProcessSpanName, ProcessSpanKind); group is the queue
// group (messaging.consumer.group.name).
func ProcessAttributes(subject, group string, bodyBytes int, serverURL string) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystemNATS),
		semconv.MessagingDestinationName(subject),
		semconv.MessagingOperationName("process"),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingMessageBodySize(bodyBytes),
	}
	if group != "" {
		attrs = append(attrs, semconv.MessagingConsumerGroupName(group))
	}
	return appendServer(attrs, serverURL)
}

// appendServer adds server.address and server.port from a NATS URL
// (nats://host:port).
func appendServer(attrs []attribute.KeyValue, serverURL string) []attribute.KeyValue {
	if serverURL == "" {
		return attrs
	}
	hostport := serverURL
	if _, rest, ok := strings.Cut(serverURL, "://"); ok {
		hostport = rest
	}
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 { // user info
		hostport = hostport[i+1:]
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return append(attrs, semconv.ServerAddress(hostport))
	}
	attrs = append(attrs, semconv.ServerAddress(host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	return attrs
}
