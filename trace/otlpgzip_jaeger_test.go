package trace

import (
	"context"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// TestJaegerGzip exports gzipped spans over both protocols to the real
// Jaeger (from the environment's variables, as the workers read them) and
// finds them there: a real collector accepts what the exporter compresses.
func TestJaegerGzip(t *testing.T) {
	j := jaegertest.Start(t)
	ctx := context.Background()
	tests := []struct {
		service, protocol, endpoint string
	}{
		{"splitinfer-gzip-grpc", ProtocolGRPC, j.OTLPGRPC},
		{"splitinfer-gzip-http", ProtocolHTTPProtobuf, j.OTLPHTTP},
	}
	for _, tt := range tests {
		t.Run(tt.protocol, func(t *testing.T) {
			setEnv(t, map[string]string{
				"OTEL_EXPORTER_OTLP_ENDPOINT": tt.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": tt.protocol,
				"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TIMEOUT": "5000",
				"OTEL_SERVICE_NAME": tt.service})
			p, err := New(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(ctx)
			_, s := p.Tracer().Start(ctx, "gzipped")
			s.End()
			if err := p.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			traces, err := j.WaitTraces(wctx, tt.service, func(ts []jaegertest.Trace) bool { return len(ts) > 0 })
			if err != nil {
				t.Fatal(err)
			}
			if len(traces[0].Spans) != 1 || traces[0].Spans[0].OperationName != "gzipped" {
				t.Errorf("Jaeger has %+v, want the one span \"gzipped\"", traces[0].Spans)
			}
		})
	}
}
