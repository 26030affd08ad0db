package trace

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/pipeline/pipetest"
	"go.opentelemetry.io/otel/attribute"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

func startNATS(t *testing.T) string {
	t.Helper()
	return pipetest.StartServerMax(t, 1<<20).ClientURL()
}

// TestJaegerEndToEnd exports spans from an edge and a cloud provider (edge
// over OTLP/gRPC, cloud over OTLP/HTTP) to the real Jaeger binary, with the
// cloud's context carried in NATS headers by a real nats-server, and reads
// them back from Jaeger's query API: one trace per request, spanning both
// services, parented across the wire, with the attributes and resources.
func TestJaegerEndToEnd(t *testing.T) {
	j := jaegertest.Start(t)
	url := startNATS(t)
	ctx := context.Background()
	const (
		subject   = "splitinfer.infer" // SpanNATSRequest and SpanCloudProcess are the names on it
		modelHash = "sha256:0123abcd"
		requests  = 3
	)

	cloud, err := New(ctx, WithServiceName(ServiceCloud), WithEndpoint(j.OTLPHTTP), WithProtocol(ProtocolHTTPProtobuf),
		WithWorkerID("cloud-1"), WithHostName("cloud-host"), WithModelHash(modelHash), WithBatchTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Shutdown(ctx)
	edge, err := New(ctx, WithServiceName(ServiceEdge), WithEndpoint(j.OTLPGRPC), WithProtocol(ProtocolGRPC),
		WithWorkerID("edge-1"), WithHostName("edge-host"), WithModelHash(modelHash), WithBatchTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer edge.Shutdown(ctx)

	cnc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer cnc.Close()
	var handled sync.WaitGroup
	handled.Add(requests)
	ct := cloud.Tracer()
	sub, err := cnc.Subscribe(subject, func(m *nats.Msg) {
		defer handled.Done()
		pctx, proc := ct.Start(Extract(context.Background(), m.Header), ProcessSpanName(m.Subject),
			oteltrace.WithSpanKind(ProcessSpanKind),
			oteltrace.WithAttributes(ProcessAttributes(m.Subject, "splitinfer", len(m.Data), cnc.ConnectedUrl())...))
		defer proc.End()
		for _, name := range []string{SpanQueueWait, SpanDecode, SpanCloudCompute} {
			_, s := ct.Start(pctx, name)
			s.End()
		}
		_, rs := ct.Start(pctx, SpanReply)
		err := m.Respond([]byte("ok"))
		rs.End()
		if err != nil {
			proc.SetAttributes(attribute.Int(AttrErrorCode, 500))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := cnc.Flush(); err != nil {
		t.Fatal(err)
	}

	enc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	et := edge.Tracer()
	for i := range requests {
		rctx, root := et.Start(ctx, SpanEdgeRequest, oteltrace.WithAttributes(
			attribute.String(AttrRequestID, strconv.Itoa(i)),
			attribute.String(AttrCutID, "2"),
			attribute.String(AttrModelHash, modelHash),
			attribute.Int(AttrInputBytes, 4096),
			attribute.Int(AttrWireBytes, 2048+i),
			attribute.Int(AttrBitsPerElement, 8),
			attribute.Float64(AttrCompressionRatio, 4),
			attribute.Float64(AttrBandwidthBps, 1e8),
			attribute.Float64(AttrRTTms, 0.5),
			attribute.Float64(AttrPredictedMs, 1.25),
		))
		_, cs := et.Start(rctx, SpanEdgeCompute)
		cs.End()
		_, es := et.Start(rctx, SpanEncode)
		es.End()
		sctx, send := et.Start(rctx, SendSpanName(subject), oteltrace.WithSpanKind(SendSpanKind),
			oteltrace.WithAttributes(SendAttributes(subject, 2048+i, enc.ConnectedUrl())...))
		msg := nats.NewMsg(subject)
		msg.Data = make([]byte, 2048+i)
		Inject(sctx, msg.Header)
		rctxTimeout, cancel := context.WithTimeout(sctx, 10*time.Second)
		_, err := enc.RequestMsgWithContext(rctxTimeout, msg)
		cancel()
		send.End()
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		root.SetAttributes(attribute.Float64(AttrMeasuredMs, 1.5))
		root.End()
	}
	handled.Wait()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := edge.Shutdown(sctx); err != nil {
		t.Fatalf("edge shutdown: %v", err)
	}
	if err := cloud.Shutdown(sctx); err != nil {
		t.Fatalf("cloud shutdown: %v", err)
	}

	const spansPerTrace = 4 + 5 // edge: request, compute, encode, send; cloud: process, queue, decode, compute, reply
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	complete := func(ts []jaegertest.Trace) bool {
		if len(ts) < requests {
			return false
		}
		for _, tr := range ts {
			if len(tr.Spans) < spansPerTrace {
				return false
			}
		}
		return true
	}
	traces, err := j.WaitTraces(wctx, ServiceEdge, complete)
	if err != nil {
		t.Fatalf("%v; got %d traces", err, len(traces))
	}
	if len(traces) != requests {
		t.Fatalf("Jaeger has %d traces for %s, want %d (one per request)", len(traces), ServiceEdge, requests)
	}

	var reqIDs []string
	for _, tr := range traces {
		t.Logf("trace %s: %d spans, services %v", tr.TraceID, len(tr.Spans), tr.Services())
		checkTrace(t, tr, subject, modelHash)
		if roots := tr.Roots(); len(roots) == 1 {
			id, _ := roots[0].Tag(AttrRequestID)
			reqIDs = append(reqIDs, id)
		}
	}
	slices.Sort(reqIDs)
	if want := []string{"0", "1", "2"}; !slices.Equal(reqIDs, want) {
		t.Errorf("request ids over the traces = %v, want %v", reqIDs, want)
	}

	// The same traces are found from the cloud's side.
	cloudTraces, err := j.Traces(wctx, ServiceCloud)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []string
	for _, tr := range traces {
		a = append(a, tr.TraceID)
	}
	for _, tr := range cloudTraces {
		b = append(b, tr.TraceID)
	}
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Errorf("trace ids by %s %v, by %s %v", ServiceEdge, a, ServiceCloud, b)
	}
}

func checkTrace(t *testing.T, tr jaegertest.Trace, subject, modelHash string) {
	t.Helper()
	fail := func(format string, args ...any) { t.Errorf("trace %s: %s", tr.TraceID, fmt.Sprintf(format, args...)) }
	if svcs := tr.Services(); len(svcs) != 2 || !svcs[ServiceEdge] || !svcs[ServiceCloud] {
		fail("services %v, want %s and %s", svcs, ServiceEdge, ServiceCloud)
	}
	count := map[string]int{}
	byID := map[string]jaegertest.Span{}
	for _, s := range tr.Spans {
		count[s.OperationName]++
		byID[s.SpanID] = s
	}
	for op, svc := range map[string]string{
		SpanEdgeRequest: ServiceEdge, SpanEdgeCompute: ServiceEdge, SpanEncode: ServiceEdge, SpanNATSRequest: ServiceEdge,
		SpanCloudProcess: ServiceCloud, SpanQueueWait: ServiceCloud, SpanDecode: ServiceCloud, SpanCloudCompute: ServiceCloud, SpanReply: ServiceCloud,
	} {
		spans := tr.Find(op)
		if len(spans) != 1 {
			fail("%d spans %q, want 1", len(spans), op)
			return
		}
		if got := tr.Service(spans[0]); got != svc {
			fail("span %q from %q, want %q", op, got, svc)
		}
	}
	roots := tr.Roots()
	if len(roots) != 1 || roots[0].OperationName != SpanEdgeRequest {
		fail("roots %v, want one %q", roots, SpanEdgeRequest)
		return
	}
	root, send, proc := roots[0], tr.Find(SpanNATSRequest)[0], tr.Find(SpanCloudProcess)[0]
	for _, op := range []string{SpanEdgeCompute, SpanEncode, SpanNATSRequest} {
		if p := tr.Find(op)[0].Parent(); p != root.SpanID {
			fail("%q parent %s, want the root %s", op, p, root.SpanID)
		}
	}
	if proc.Parent() != send.SpanID {
		fail("cloud %q parent %s, want the edge's %q %s (context across NATS headers)", SpanCloudProcess, proc.Parent(), SpanNATSRequest, send.SpanID)
	}
	for _, op := range []string{SpanQueueWait, SpanDecode, SpanCloudCompute, SpanReply} {
		if p := tr.Find(op)[0].Parent(); p != proc.SpanID {
			fail("%q parent %s, want %q %s", op, p, SpanCloudProcess, proc.SpanID)
		}
	}
	if proc.StartTime < send.StartTime || proc.StartTime+proc.Duration > send.StartTime+send.Duration {
		fail("cloud span [%d,+%d] outside the edge's request span [%d,+%d]", proc.StartTime, proc.Duration, send.StartTime, send.Duration)
	}
	wantTags := func(s jaegertest.Span, want map[string]string) {
		for k, v := range want {
			if got, ok := s.Tag(k); !ok || got != v {
				fail("span %q tag %s = %q (present %v), want %q", s.OperationName, k, got, ok, v)
			}
		}
	}
	wantTags(root, map[string]string{
		AttrCutID: "2", AttrModelHash: modelHash, AttrInputBytes: "4096", AttrBitsPerElement: "8",
		AttrCompressionRatio: "4", AttrBandwidthBps: "100000000", AttrRTTms: "0.5", AttrPredictedMs: "1.25", AttrMeasuredMs: "1.5",
	})
	if _, ok := root.Tag(AttrWireBytes); !ok {
		fail("root lacks %s", AttrWireBytes)
	}
	wantTags(send, map[string]string{"span.kind": "producer", "messaging.system": "nats", "messaging.destination.name": subject,
		"messaging.operation.name": "send", "messaging.operation.type": "send", "server.address": "127.0.0.1"})
	wantTags(proc, map[string]string{"span.kind": "consumer", "messaging.system": "nats", "messaging.destination.name": subject,
		"messaging.operation.name": "process", "messaging.operation.type": "process", "messaging.consumer.group.name": "splitinfer",
		"server.address": "127.0.0.1"})
	for _, s := range []jaegertest.Span{send, proc} {
		if p, ok := s.Tag("server.port"); !ok || p == "0" {
			fail("%q: server.port %q", s.OperationName, p)
		}
	}
	if got, _ := send.Tag("messaging.message.body.size"); got != func() string { v, _ := root.Tag(AttrWireBytes); return v }() {
		fail("send body size %s differs from the root's wire bytes", got)
	}
	for svc, want := range map[string]map[string]string{
		ServiceEdge:  {"host.name": "edge-host", AttrWorkerID: "edge-1", "service.instance.id": "edge-1", AttrModelHash: modelHash},
		ServiceCloud: {"host.name": "cloud-host", AttrWorkerID: "cloud-1", "service.instance.id": "cloud-1", AttrModelHash: modelHash},
	} {
		found := false
		for _, p := range tr.Processes {
			if p.ServiceName != svc {
				continue
			}
			found = true
			for k, v := range want {
				if got, ok := jaegertest.Tag(p.Tags, k); !ok || got != v {
					fail("process %s tag %s = %q, want %q", svc, k, got, v)
				}
			}
		}
		if !found {
			fail("no process for %s", svc)
		}
	}
}
