package system_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// tracedSystem starts the all-in-one pipeline with one trace.Provider per
// worker exporting to j: the edge over OTLP/gRPC, the cloud over
// OTLP/HTTP, as `splitinfer run` does with --otlp-endpoint.
func tracedSystem(tb testing.TB, j *jaegertest.Jaeger, p *nn.Program, cloud cloudworker.Config, edge edgeworker.Config) (*system.System, *trace.Provider, *trace.Provider) {
	tb.Helper()
	ctx := context.Background()
	hash := pipeline.ModelHash(p.Graph())
	cloudTel, err := trace.New(ctx, trace.WithServiceName(trace.ServiceCloud), trace.WithEndpoint(j.OTLPHTTP),
		trace.WithProtocol(trace.ProtocolHTTPProtobuf), trace.WithWorkerID("local-cloud"), trace.WithModelHash(hash),
		trace.WithBatchTimeout(100*time.Millisecond))
	if err != nil {
		tb.Fatal(err)
	}
	edgeTel, err := trace.New(ctx, trace.WithServiceName(trace.ServiceEdge), trace.WithEndpoint(j.OTLPGRPC),
		trace.WithProtocol(trace.ProtocolGRPC), trace.WithWorkerID("local-edge"), trace.WithModelHash(hash),
		trace.WithBatchTimeout(100*time.Millisecond))
	if err != nil {
		cloudTel.Shutdown(ctx)
		tb.Fatal(err)
	}
	sys, err := system.Start("seednet_mnist", p, cloud, edge,
		[]cloudworker.Option{cloudworker.WithTracerProvider(cloudTel.TracerProvider())},
		[]edgeworker.Option{edgeworker.WithTracerProvider(edgeTel.TracerProvider())})
	if err != nil {
		edgeTel.Shutdown(ctx)
		cloudTel.Shutdown(ctx)
		tb.Fatal(err)
	}
	return sys, edgeTel, cloudTel
}

// splitSpans are the spans of an answered split request.
var splitSpans = []string{trace.SpanEdgeRequest, trace.SpanEdgeCompute, trace.SpanEncode, trace.SpanNATSRequest,
	trace.SpanCloudProcess, trace.SpanQueueWait, trace.SpanDecode, trace.SpanCloudCompute, trace.SpanReply}

// driveTraced starts the traced all-in-one system (tracedSystem, one
// cloud worker, closed at cleanup) and drives n MNIST test images through
// it, one in flight; every one must be answered by the split.
func driveTraced(t *testing.T, j *jaegertest.Jaeger, n int) (*mnist.Set, *system.System, *system.Summary, *trace.Provider, *trace.Provider) {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	sys, edgeTel, cloudTel := tracedSystem(t, j, defaultModel(t), cloudworker.Config{Workers: 1}, edgeworker.Config{})
	t.Cleanup(func() {
		sys.Close()
		edgeTel.Shutdown(context.Background())
		cloudTel.Shutdown(context.Background())
	})
	sum, err := system.Drive(context.Background(), sys.Edge, set, n, 1)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Images != n || sum.Errors != 0 || sum.Fallbacks != 0 {
		t.Fatalf("summary %+v", sum)
	}
	return set, sys, sum, edgeTel, cloudTel
}

// flushTraced closes sys, so that the cloud's spans have all ended, and
// exports every span of the providers.
func flushTraced(t *testing.T, ctx context.Context, sys *system.System, providers ...*trace.Provider) {
	t.Helper()
	if err := sys.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range providers {
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// otherModel is the default model with one weight changed: another hash,
// the same cuts.
func otherModel(t *testing.T) *nn.Program {
	t.Helper()
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Consts {
		if c.DType == nn.Float32 && len(c.F32) > 0 {
			cl := c.Clone()
			cl.F32[0] += 1
			*c = *cl
			break
		}
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJaegerPipeline runs the real all-in-one pipeline (embedded NATS,
// cloud and edge workers, each with its own provider exporting OTLP to the
// real Jaeger binary) on MNIST images plus one request with a model the
// cloud does not serve, then reads the traces back from Jaeger's query API
// and checks: one trace per request spanning both services; the span tree;
// the attributes; the error code and status of the failing request; and
// that every stage time the pipeline reports (the Timings that `splitinfer
// run` averages into its breakdown) equals the exported span's duration.
func TestJaegerPipeline(t *testing.T) {
	j := jaegertest.Start(t)
	const n = 20
	set, sys, sum, edgeTel, cloudTel := driveTraced(t, j, n)
	ctx := context.Background()
	// One request the cloud must refuse: same cut, another model hash.
	nc, err := nats.Connect(sys.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	bad, err := edgeworker.New(nc, otherModel(t), edgeworker.Config{Cut: []string{sum.Cut}, Attempts: 1}, edgeworker.WithTracerProvider(edgeTel.TracerProvider()))
	if err != nil {
		t.Fatal(err)
	}
	if bad.ModelHash() == sys.Edge.ModelHash() {
		t.Fatal("the changed model has the same hash")
	}
	x, _ := nn.FromFloat32(set.Image(0), 1, 1, mnist.Rows, mnist.Cols)
	_, badErr := bad.Infer(ctx, x)
	var pe *pipeline.Error
	if !errors.As(badErr, &pe) || pe.Code != pipeline.CodeModelMismatch {
		t.Fatalf("request with another model: %v, want a %d error", badErr, pipeline.CodeModelMismatch)
	}

	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	flushTraced(t, sctx, sys, edgeTel, cloudTel)

	okSpans := splitSpans
	// The refused request has no cloud compute.
	badSpans := []string{trace.SpanEdgeRequest, trace.SpanEdgeCompute, trace.SpanEncode, trace.SpanNATSRequest,
		trace.SpanCloudProcess, trace.SpanQueueWait, trace.SpanDecode, trace.SpanReply}
	traces, err := j.WaitTraces(sctx, trace.ServiceEdge, func(ts []jaegertest.Trace) bool {
		if len(ts) < n+1 {
			return false
		}
		for _, tr := range ts {
			if len(tr.Spans) < len(badSpans) {
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("%v (%d traces)", err, len(traces))
	}
	if len(traces) != n+1 {
		t.Fatalf("Jaeger has %d traces of %s, want %d: one per request", len(traces), trace.ServiceEdge, n+1)
	}

	byID := map[string]*edgeworker.Result{}
	for _, r := range sum.Results {
		byID[r.ID] = r
	}
	seen := map[string]bool{}
	var spanStages system.Stages
	var withBandwidth, unpredicted int
	var badTraces, overhangs int
	for _, tr := range traces {
		// Every child within its parent, on both sides of the wire and
		// across it, to Jaeger's microsecond.
		for _, s := range tr.Overhangs() {
			overhangs++
			t.Errorf("trace %s: %s [%d, %d] is not within its parent %s", tr.TraceID, s.OperationName, s.StartTime, s.End(), s.Parent())
		}
		root := checkTree(t, tr)
		if root == nil {
			continue
		}
		id, _ := root.Tag(trace.AttrRequestID)
		if seen[id] {
			t.Errorf("request %s has two traces", id)
		}
		seen[id] = true
		res := byID[id]
		if res == nil { // the refused request
			badTraces++
			checkNames(t, tr, badSpans)
			checkFailed(t, tr, *root, bad.ModelHash())
			continue
		}
		if !checkNames(t, tr, okSpans) {
			continue
		}
		checkAttributes(t, tr, *root, res, sys.Edge.ModelHash(), sum.Cut)
		if _, ok := root.Tag(trace.AttrBandwidthBps); ok {
			withBandwidth++
		}
		if _, ok := root.Tag(trace.AttrPredictedMs); !ok {
			unpredicted++
		}
		st := checkStages(t, tr, res)
		for _, v := range []struct{ sum, one *float64 }{
			{&spanStages.EdgeCompute, &st.EdgeCompute}, {&spanStages.Encode, &st.Encode}, {&spanStages.Transit, &st.Transit},
			{&spanStages.CloudQueue, &st.CloudQueue}, {&spanStages.CloudDecode, &st.CloudDecode},
			{&spanStages.CloudCompute, &st.CloudCompute}, {&spanStages.Decode, &st.Decode},
		} {
			*v.sum += *v.one / n
		}
	}
	t.Logf("%d of %d traces' spans outside their parents", overhangs, len(traces))
	if badTraces != 1 {
		t.Errorf("%d traces of the refused request, want 1", badTraces)
	}
	for id := range byID {
		if !seen[id] {
			t.Errorf("request %s has no trace", id)
		}
	}
	// The first request has nothing to predict from; every later one does.
	if unpredicted > 1 {
		t.Errorf("%d request spans lack %s, want only the first", unpredicted, trace.AttrPredictedMs)
	}
	if withBandwidth == 0 {
		t.Errorf("no request span carries %s", trace.AttrBandwidthBps)
	}
	// The breakdown `splitinfer run` prints (Summary.Stages, in ms) from the
	// spans: Jaeger keeps whole microseconds, so each mean may be 1µs off
	// (transit, from 4 spans: 5µs).
	for _, v := range []struct {
		name       string
		run, spans float64
		tol        float64
	}{
		{"edge compute", sum.Stages.EdgeCompute, spanStages.EdgeCompute, 0.001},
		{"encode", sum.Stages.Encode, spanStages.Encode, 0.001},
		{"transit", sum.Stages.Transit, spanStages.Transit, 0.005},
		{"cloud queue", sum.Stages.CloudQueue, spanStages.CloudQueue, 0.001},
		{"cloud decode", sum.Stages.CloudDecode, spanStages.CloudDecode, 0.001},
		{"cloud compute", sum.Stages.CloudCompute, spanStages.CloudCompute, 0.001},
		{"reply decode", sum.Stages.Decode, spanStages.Decode, 1e-9},
	} {
		if d := v.run - v.spans; d < -v.tol || d > v.tol {
			t.Errorf("stage %s: run reports %.4f ms, spans %.4f ms", v.name, v.run, v.spans)
		}
		t.Logf("stage %-13s run %.4f ms, Jaeger spans %.4f ms", v.name, v.run, v.spans)
	}
}

// spanService is where each span must come from.
var spanService = map[string]string{
	trace.SpanEdgeRequest: trace.ServiceEdge, trace.SpanEdgeCompute: trace.ServiceEdge, trace.SpanEncode: trace.ServiceEdge,
	trace.SpanNATSRequest:  trace.ServiceEdge,
	trace.SpanCloudProcess: trace.ServiceCloud, trace.SpanQueueWait: trace.ServiceCloud, trace.SpanDecode: trace.ServiceCloud,
	trace.SpanCloudCompute: trace.ServiceCloud, trace.SpanReply: trace.ServiceCloud,
}

// spanParent is each span's parent.
var spanParent = map[string]string{
	trace.SpanEdgeCompute: trace.SpanEdgeRequest, trace.SpanEncode: trace.SpanEdgeRequest,
	trace.SpanNATSRequest:  trace.SpanEdgeRequest,
	trace.SpanCloudProcess: trace.SpanNATSRequest,
	trace.SpanQueueWait:    trace.SpanCloudProcess, trace.SpanDecode: trace.SpanCloudProcess,
	trace.SpanCloudCompute: trace.SpanCloudProcess, trace.SpanReply: trace.SpanCloudProcess,
}

// checkTree checks that tr has one root, the edge's request span, and both
// services with their resources; it returns the root.
func checkTree(t *testing.T, tr jaegertest.Trace) *jaegertest.Span {
	t.Helper()
	if svcs := tr.Services(); len(svcs) != 2 || !svcs[trace.ServiceEdge] || !svcs[trace.ServiceCloud] {
		t.Errorf("trace %s: services %v, want %s and %s", tr.TraceID, svcs, trace.ServiceEdge, trace.ServiceCloud)
	}
	for _, p := range tr.Processes {
		want := map[string]string{trace.ServiceEdge: "local-edge", trace.ServiceCloud: "local-cloud"}[p.ServiceName]
		if got, _ := jaegertest.Tag(p.Tags, trace.AttrWorkerID); got != want {
			t.Errorf("trace %s: process %s has worker id %q, want %q", tr.TraceID, p.ServiceName, got, want)
		}
		if _, ok := jaegertest.Tag(p.Tags, trace.AttrModelHash); !ok {
			t.Errorf("trace %s: process %s has no %s", tr.TraceID, p.ServiceName, trace.AttrModelHash)
		}
	}
	roots := tr.Roots()
	if len(roots) != 1 || roots[0].OperationName != trace.SpanEdgeRequest || tr.Service(roots[0]) != trace.ServiceEdge {
		t.Errorf("trace %s: roots %v, want one %s of %s", tr.TraceID, roots, trace.SpanEdgeRequest, trace.ServiceEdge)
		return nil
	}
	return &roots[0]
}

// checkNames checks that tr holds exactly one span of each name, from the
// right service, under the right parent; false if a span is missing.
func checkNames(t *testing.T, tr jaegertest.Trace, names []string) bool {
	t.Helper()
	if len(tr.Spans) != len(names) {
		ops := []string{}
		for _, s := range tr.Spans {
			ops = append(ops, s.OperationName)
		}
		t.Errorf("trace %s: spans %v, want %v", tr.TraceID, ops, names)
		return false
	}
	for _, name := range names {
		spans := tr.Find(name)
		if len(spans) != 1 {
			t.Errorf("trace %s: %d spans %q, want 1", tr.TraceID, len(spans), name)
			return false
		}
		if got := tr.Service(spans[0]); got != spanService[name] {
			t.Errorf("trace %s: %q from %s, want %s", tr.TraceID, name, got, spanService[name])
		}
		if pn, ok := spanParent[name]; ok {
			if parent := tr.Find(pn); len(parent) != 1 || spans[0].Parent() != parent[0].SpanID {
				t.Errorf("trace %s: %q is not a child of %q", tr.TraceID, name, pn)
			}
		}
	}
	return true
}

func tagFloat(t *testing.T, s jaegertest.Span, key string) float64 {
	t.Helper()
	v, ok := s.Tag(key)
	if !ok {
		t.Errorf("span %s (%s) lacks %s", s.OperationName, s.SpanID, key)
		return math.NaN()
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Errorf("span %s: %s = %q: %v", s.OperationName, key, v, err)
		return math.NaN()
	}
	return f
}

func wantTags(t *testing.T, s jaegertest.Span, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := s.Tag(k); !ok || got != v {
			t.Errorf("span %s: %s = %q (present %v), want %q", s.OperationName, k, got, ok, v)
		}
	}
}

// checkAttributes checks the trade-off attributes of an answered request
// against its Result, and the messaging attributes of the NATS spans.
func checkAttributes(t *testing.T, tr jaegertest.Trace, root jaegertest.Span, res *edgeworker.Result, hash, cut string) {
	t.Helper()
	wire := strconv.Itoa(res.WireBytes)
	wantTags(t, root, map[string]string{
		trace.AttrCutID: cut, trace.AttrModelHash: hash, trace.AttrInputBytes: strconv.Itoa(res.InputBytes),
		trace.AttrWireBytes: wire, trace.AttrAttempt: "1",
	})
	if res.InputBytes != 4*mnist.Pixels {
		t.Errorf("input bytes %d", res.InputBytes)
	}
	// Activations sent as computed, without a codec: bits x ratio is the
	// element size in bits (8 for int8, 32 for float32); the message adds
	// its framing (under 50% here) to the raw bytes.
	bits, ratio := tagFloat(t, root, trace.AttrBitsPerElement), tagFloat(t, root, trace.AttrCompressionRatio)
	elemBits := bits * ratio
	if !(math.Abs(elemBits-8) < 1e-6 || math.Abs(elemBits-32) < 1e-6) || !(ratio < 1 && ratio > 1/1.5) {
		t.Errorf("bits per element %v, compression ratio %v for %d wire bytes", bits, ratio, res.WireBytes)
	}
	if ms := tagFloat(t, root, trace.AttrMeasuredMs); math.Abs(ms-float64(res.Timings.Total)/1e6) > 1e-9 {
		t.Errorf("measured %v ms, the result says %v", ms, res.Timings.Total)
	}
	if rtt := tagFloat(t, root, trace.AttrRTTms); !(rtt > 0 && rtt < 1000) {
		t.Errorf("RTT estimate %v ms", rtt)
	}
	if _, ok := root.Tag(trace.AttrBandwidthBps); ok {
		if bw := tagFloat(t, root, trace.AttrBandwidthBps); !(bw > 0) {
			t.Errorf("bandwidth estimate %v B/s", bw)
		}
	}
	_, predicted := root.Tag(trace.AttrPredictedMs)
	if predicted {
		if pred := tagFloat(t, root, trace.AttrPredictedMs); !(pred > 0 && pred < 1000) {
			t.Errorf("predicted latency %v ms", pred)
		}
	}
	send, proc := tr.Find(trace.SpanNATSRequest)[0], tr.Find(trace.SpanCloudProcess)[0]
	wantTags(t, send, map[string]string{
		"span.kind": "producer", "messaging.system": "nats", "messaging.destination.name": pipeline.DefaultSubject,
		"server.address": "127.0.0.1", "messaging.operation.name": "send", "messaging.operation.type": "send", "messaging.message.body.size": wire,
		trace.AttrReplyBytes: strconv.Itoa(res.ReplyBytes),
	})
	wantTags(t, proc, map[string]string{
		"span.kind": "consumer", "messaging.system": "nats", "messaging.destination.name": pipeline.DefaultSubject,
		"messaging.consumer.group.name": "splitinfer", "server.address": "127.0.0.1", "messaging.operation.name": "process", "messaging.operation.type": "process", "messaging.message.body.size": wire,
		trace.AttrRequestID: res.ID, trace.AttrCutID: cut, trace.AttrModelHash: hash,
	})
}

// checkStages compares the request's stage times with its spans'
// durations (Jaeger keeps whole microseconds) and returns the stages as the
// spans give them, in ms.
func checkStages(t *testing.T, tr jaegertest.Trace, res *edgeworker.Result) system.Stages {
	t.Helper()
	dur := func(name string) int64 { return tr.Find(name)[0].Duration }
	tm := res.Timings
	queue, decode, compute := dur(trace.SpanQueueWait), dur(trace.SpanDecode), dur(trace.SpanCloudCompute)
	transit := dur(trace.SpanNATSRequest) - queue - decode - compute
	for _, v := range []struct {
		name  string
		span  int64 // µs
		stage time.Duration
		tol   int64
	}{
		{"edge compute", dur(trace.SpanEdgeCompute), tm.EdgeCompute, 1},
		{"encode", dur(trace.SpanEncode), tm.Encode, 1},
		{"cloud queue", queue, tm.CloudQueue, 1},
		{"cloud decode", decode, tm.CloudDecode, 1},
		{"cloud compute", compute, tm.CloudCompute, 1},
		{"transit (send - cloud stages)", transit, tm.Transit, 5},
	} {
		if d := v.stage.Microseconds() - v.span; d < -v.tol || d > v.tol {
			t.Errorf("request %s: %s %v, span %dµs", res.ID, v.name, v.stage, v.span)
		}
	}
	// The edge's decode of the reply is an attribute of the NATS request
	// span (the span ends when the reply arrives).
	replyDecode := tagFloat(t, tr.Find(trace.SpanNATSRequest)[0], trace.AttrReplyDecodeMs)
	if want := float64(tm.Decode) / 1e6; math.Abs(replyDecode-want) > 1e-9 {
		t.Errorf("request %s: reply decode %v, span attribute %v ms", res.ID, tm.Decode, replyDecode)
	}
	ms := func(us int64) float64 { return float64(us) / 1e3 }
	return system.Stages{EdgeCompute: ms(dur(trace.SpanEdgeCompute)), Encode: ms(dur(trace.SpanEncode)), Transit: ms(transit),
		CloudQueue: ms(queue), CloudDecode: ms(decode), CloudCompute: ms(compute), Decode: replyDecode}
}

// checkFailed checks the trace of the refused request: the error code on
// the edge's request and NATS spans and on the cloud's process span, with
// error status.
func checkFailed(t *testing.T, tr jaegertest.Trace, root jaegertest.Span, hash string) {
	t.Helper()
	code := fmt.Sprint(int(pipeline.CodeModelMismatch))
	for _, s := range []jaegertest.Span{root, tr.Find(trace.SpanNATSRequest)[0], tr.Find(trace.SpanCloudProcess)[0]} {
		wantTags(t, s, map[string]string{trace.AttrErrorCode: code, "otel.status_code": "ERROR", "error": "true"})
	}
	wantTags(t, root, map[string]string{trace.AttrModelHash: hash})
}
