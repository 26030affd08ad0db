package edgeworker_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
	"github.com/splitinfer/splitinfer/trace"
)

// TestTraceAcrossNATS: one request makes one trace whose edge spans and
// cloud spans are linked through the NATS headers, with the names and
// attributes of package trace.
func TestTraceAcrossNATS(t *testing.T) {
	s := pipetest.StartServer(t)
	prog, _ := pipetest.Program()
	edgeRec, cloudRec := tracetest.NewSpanRecorder(), tracetest.NewSpanRecorder()
	edgeTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(edgeRec))
	cloudTP := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(cloudRec))
	defer edgeTP.Shutdown(context.Background())
	defer cloudTP.Shutdown(context.Background())
	cw, err := cloudworker.New(pipetest.Connect(t, s), []cloudworker.Model{{Name: "toy", Program: prog}}, cloudworker.Config{},
		cloudworker.WithTracerProvider(cloudTP))
	if err != nil {
		t.Fatal(err)
	}
	e, err := edgeworker.New(pipetest.Connect(t, s), prog, edgeworker.Config{Cut: []string{"h3"}}, edgeworker.WithTracerProvider(edgeTP))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Infer(context.Background(), pipetest.Input(2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := cw.Stop(); err != nil { // all cloud spans ended
		t.Fatal(err)
	}
	byName := func(rec *tracetest.SpanRecorder) map[string]sdktrace.ReadOnlySpan {
		m := map[string]sdktrace.ReadOnlySpan{}
		for _, sp := range rec.Ended() {
			m[sp.Name()] = sp
		}
		return m
	}
	edge, cloud := byName(edgeRec), byName(cloudRec)
	for _, name := range []string{trace.SpanEdgeRequest, trace.SpanEdgeCompute, trace.SpanEncode, trace.SpanNATSRequest} {
		if edge[name] == nil {
			t.Errorf("edge span %q missing (have %v)", name, keys(edge))
		}
	}
	for _, name := range []string{trace.SpanCloudProcess, trace.SpanQueueWait, trace.SpanDecode, trace.SpanCloudCompute, trace.SpanReply} {
		if cloud[name] == nil {
			t.Errorf("cloud span %q missing (have %v)", name, keys(cloud))
		}
	}
	if t.Failed() {
		return
	}
	root, send, process := edge[trace.SpanEdgeRequest], edge[trace.SpanNATSRequest], cloud[trace.SpanCloudProcess]
	if process.Parent().SpanID() != send.SpanContext().SpanID() || !process.Parent().IsRemote() ||
		process.SpanContext().TraceID() != root.SpanContext().TraceID() {
		t.Errorf("cloud process span is not the remote child of the NATS send span")
	}
	if send.SpanKind() != oteltrace.SpanKindProducer || process.SpanKind() != oteltrace.SpanKindConsumer {
		t.Errorf("span kinds %v, %v", send.SpanKind(), process.SpanKind())
	}
	for _, name := range []string{trace.SpanQueueWait, trace.SpanDecode, trace.SpanCloudCompute, trace.SpanReply} {
		if cloud[name].Parent().SpanID() != process.SpanContext().SpanID() {
			t.Errorf("%s is not a child of %s", name, trace.SpanCloudProcess)
		}
	}
	attrs := func(sp sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
		m := map[attribute.Key]attribute.Value{}
		for _, kv := range sp.Attributes() {
			m[kv.Key] = kv.Value
		}
		return m
	}
	ra := attrs(root)
	if ra[trace.AttrCutID].AsString() != "h3" || ra[trace.AttrModelHash].AsString() != e.ModelHash() ||
		ra[trace.AttrRequestID].AsString() != res.ID || ra[trace.AttrWireBytes].AsInt64() != int64(res.WireBytes) ||
		ra[trace.AttrInputBytes].AsInt64() != int64(res.InputBytes) || ra[trace.AttrCompressionRatio].AsFloat64() <= 0 ||
		ra[trace.AttrBitsPerElement].AsFloat64() <= 0 {
		t.Errorf("edge request attributes %v", ra)
	}
	pa := attrs(process)
	if pa[trace.AttrRequestID].AsString() != res.ID || pa[trace.AttrCutID].AsString() != "h3" || pa[trace.AttrWorkerID].AsString() != cw.ID() {
		t.Errorf("cloud process attributes %v", pa)
	}
}

func keys(m map[string]sdktrace.ReadOnlySpan) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}
