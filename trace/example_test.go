package trace_test

import (
	"context"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/trace"
)

// A worker builds its own Provider from the OTEL_* environment (read by
// the SDK and the exporters) with flags as overrides, records spans and
// metrics, carries the span context in NATS headers, and shuts down at
// exit.
func Example() {
	ctx := context.Background()
	p, err := trace.New(ctx,
		trace.WithServiceName(trace.ServiceEdge),
		trace.WithWorkerID("edge-1"),
		trace.WithModelHash("sha256:0123"),
		trace.WithEndpoint(""), // --otlp-endpoint flag, unset: the environment decides
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer p.Shutdown(ctx)

	rctx, span := p.Tracer().Start(ctx, trace.SpanEdgeRequest)
	h := nats.Header{}
	trace.Inject(rctx, h) // the cloud worker calls trace.Extract(ctx, msg.Header)
	span.End()
	fmt.Println("tracing:", p.Tracing(), "metrics:", p.Metrics().Enabled())
	// Output: tracing: false metrics: false
}
