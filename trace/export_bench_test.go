//go:build linux

package trace_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// BenchmarkExportOTLP records request-shaped traces (the 9 spans of one
// split request with their attributes, as the workers make them) and
// exports them to the real Jaeger over OTLP/gRPC and OTLP/HTTP, and to
// nowhere ("discard", the recording alone). Each op is one request; the
// spans are flushed every 250 ops. It reports this process's CPU time per
// request, so the difference to "discard" is the exporter's cost.
//
//	go test ./trace -run '^$' -bench ExportOTLP -benchtime 5000x -count 6
func BenchmarkExportOTLP(b *testing.B) {
	j := jaegertest.Start(b)
	cases := []struct {
		name string
		opts []trace.Option
	}{
		{"discard", []trace.Option{trace.WithSpanExporter(discardExporter{})}},
		{"grpc", []trace.Option{trace.WithEndpoint(j.OTLPGRPC), trace.WithProtocol(trace.ProtocolGRPC)}},
		{"http", []trace.Option{trace.WithEndpoint(j.OTLPHTTP), trace.WithProtocol(trace.ProtocolHTTPProtobuf)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			p, err := trace.New(ctx, append(c.opts, trace.WithServiceName(trace.ServiceEdge), trace.WithEnv(noEnv))...)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Shutdown(ctx)
			tr := p.Tracer()
			c0 := processCPU()
			for i := 0; b.Loop(); i++ {
				requestSpans(ctx, tr)
				if i%250 == 249 {
					if err := p.ForceFlush(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := p.ForceFlush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/1e3/float64(b.N), "cpu-us/req")
		})
	}
}

func noEnv(string) (string, bool) { return "", false }

// requestSpans makes the spans of one request: 4 on the edge, 5 on the
// cloud, with attributes like the workers'.
func requestSpans(ctx context.Context, tr oteltrace.Tracer) {
	t0 := time.Now()
	rctx, root := tr.Start(ctx, trace.SpanEdgeRequest)
	_, c := tr.Start(rctx, trace.SpanEdgeCompute, oteltrace.WithTimestamp(t0), oteltrace.WithAttributes(attribute.Int(trace.AttrNodes, 6)))
	c.End(oteltrace.WithTimestamp(t0.Add(50 * time.Microsecond)))
	_, e := tr.Start(rctx, trace.SpanEncode, oteltrace.WithTimestamp(t0))
	e.End(oteltrace.WithTimestamp(t0.Add(60 * time.Microsecond)))
	sctx, s := tr.Start(rctx, trace.SpanNATSRequest, oteltrace.WithSpanKind(oteltrace.SpanKindClient),
		oteltrace.WithAttributes(append(trace.SendAttributes("splitinfer.infer", 4200), attribute.Int(trace.AttrAttempt, 1))...))
	pctx, ps := tr.Start(sctx, trace.SpanCloudProcess, oteltrace.WithSpanKind(oteltrace.SpanKindServer),
		oteltrace.WithAttributes(append(trace.ProcessAttributes("splitinfer.infer", 4200), attribute.String(trace.AttrWorkerID, "W0RKER1D"))...))
	for _, n := range []string{trace.SpanQueueWait, trace.SpanDecode, trace.SpanCloudCompute, trace.SpanReply} {
		_, cs := tr.Start(pctx, n, oteltrace.WithTimestamp(t0))
		cs.End(oteltrace.WithTimestamp(t0.Add(10 * time.Microsecond)))
	}
	ps.SetAttributes(attribute.String(trace.AttrRequestID, "NUIDNUIDNUIDNUIDNUID12"), attribute.String(trace.AttrCutID, "relu_2"),
		attribute.String(trace.AttrModelHash, "0123456789abcdef0123456789abcdef"), attribute.String(trace.AttrCodec, "zstd"),
		attribute.Int(trace.AttrQueueDepth, 1))
	ps.End()
	s.SetAttributes(attribute.Int(trace.AttrReplyBytes, 80), attribute.Float64(trace.AttrReplyDecodeMs, 0.004))
	s.End()
	root.SetAttributes(attribute.String(trace.AttrRequestID, "NUIDNUIDNUIDNUIDNUID12"), attribute.String(trace.AttrCutID, "relu_2"),
		attribute.String(trace.AttrModelHash, "0123456789abcdef0123456789abcdef"), attribute.String(trace.AttrModelName, "seednet_mnist"),
		attribute.Float64(trace.AttrRTTms, 0.1), attribute.Int(trace.AttrInputBytes, 4096), attribute.Int(trace.AttrWireBytes, 4200),
		attribute.String(trace.AttrCodec, "zstd"), attribute.Float64(trace.AttrBitsPerElement, 8.2),
		attribute.Float64(trace.AttrCompressionRatio, 3.9), attribute.Int(trace.AttrAttempt, 1), attribute.Float64(trace.AttrMeasuredMs, 0.2))
	root.End()
}

// processCPU is this process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discardExporter drops spans.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }
