package adaptive_test

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/adaptive"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
	"github.com/splitinfer/splitinfer/trace"
)

// TestEdgeOnlyTraced: a request the adapter keeps on the edge is a trace
// too: a request span with cut edge-only, the link estimate and the
// measured latency, and its compute span.
func TestEdgeOnlyTraced(t *testing.T) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	whole, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	x := nn.New(nn.Float32, 1, 1, 32, 32)
	d, err := partition.NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	edgeP := &partition.Profile{NodesMS: map[string]float64{}}
	cloudP := &partition.Profile{NodesMS: map[string]float64{}}
	for _, n := range g.Nodes { // a cloud so slow that edge-only wins
		edgeP.NodesMS[n.Name], cloudP.NodesMS[n.Name] = 0.01, 100
	}
	sizes, err := measure.ShapeSizes(d, whole, []*nn.Tensor{x}, 200, 60)
	if err != nil {
		t.Fatal(err)
	}
	m, err := partition.NewModel(d, edgeP, cloudP, sizes)
	if err != nil {
		t.Fatal(err)
	}
	a, err := partition.NewAdapter(m, partition.Link{Bandwidth: 1e7, RTT: 1e6})
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	e, err := adaptive.New(pipetest.Connect(t, pipetest.StartServer(t)), whole, a, edgeworker.Config{}, "", edgeworker.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.InferCut(context.Background(), x)
	if err != nil {
		t.Fatal(err)
	}
	if res.CutName != partition.EdgeOnly {
		t.Fatalf("cut %s, want %s", res.CutName, partition.EdgeOnly)
	}
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
	}
	root, compute := spans[trace.SpanEdgeRequest], spans[trace.SpanEdgeCompute]
	if root == nil || compute == nil || len(spans) != 2 {
		t.Fatalf("spans %v", spans)
	}
	if compute.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Error("compute span is not the request span's child")
	}
	// Span times are whole microseconds (trace.SpanTime).
	if got := compute.EndTime().Sub(compute.StartTime()); got < res.Timings.EdgeCompute-time.Microsecond || got > res.Timings.EdgeCompute+time.Microsecond {
		t.Errorf("compute span %v, edge compute %v", got, res.Timings.EdgeCompute)
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range root.Attributes() {
		attrs[kv.Key] = kv.Value
	}
	if attrs[trace.AttrCutID].AsString() != partition.EdgeOnly || attrs[trace.AttrModelHash].AsString() != e.ModelHash() ||
		attrs[trace.AttrInputBytes].AsInt64() != 4096 || attrs[trace.AttrRTTms].AsFloat64() != 1 ||
		attrs[trace.AttrBandwidthBps].AsFloat64() != 1e7 ||
		attrs[trace.AttrMeasuredMs].AsFloat64() != float64(res.Timings.Total)/1e6 {
		t.Errorf("request span attributes %v", attrs)
	}
}

// TestSplitRequestsCarryAdapterLink: a request an adaptive edge sends
// through an edge worker carries the adapter's link estimate (the one that
// chooses the cut), not the worker's own.
func TestSplitRequestsCarryAdapterLink(t *testing.T) {
	whole, err := pipetest.Program()
	if err != nil {
		t.Fatal(err)
	}
	g := pipetest.Model()
	d, err := partition.NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	sizes, err := measure.ShapeSizes(d, whole, []*nn.Tensor{pipetest.Input(1, 1)}, 200, 60)
	if err != nil {
		t.Fatal(err)
	}
	edgeP := &partition.Profile{NodesMS: map[string]float64{}}
	cloudP := &partition.Profile{NodesMS: map[string]float64{}}
	for _, n := range g.Nodes {
		edgeP.NodesMS[n.Name], cloudP.NodesMS[n.Name] = 1, 1
	}
	m, err := partition.NewModel(d, edgeP, cloudP, sizes)
	if err != nil {
		t.Fatal(err)
	}
	a, err := partition.NewAdapter(m, partition.Link{Bandwidth: 3e6, RTT: 7 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := pipetest.StartServer(t)
	cw, err := cloudworker.New(pipetest.Connect(t, srv), []cloudworker.Model{{Name: "toy", Program: whole}}, cloudworker.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer cw.Stop()
	nc := pipetest.Connect(t, srv)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	e, err := adaptive.New(nc, whole, a, edgeworker.Config{}, "", edgeworker.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	cut, err := d.CutByName(d.Prefixes(true)[1].Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.InferAt(context.Background(), cut, pipetest.Input(1, 1)); err != nil {
		t.Fatal(err)
	}
	want := a.Link()
	for _, s := range rec.Ended() {
		if s.Name() != trace.SpanEdgeRequest {
			continue
		}
		attrs := map[attribute.Key]attribute.Value{}
		for _, kv := range s.Attributes() {
			attrs[kv.Key] = kv.Value
		}
		if attrs[trace.AttrRTTms].AsFloat64() != float64(want.RTT)/1e6 || attrs[trace.AttrBandwidthBps].AsFloat64() != want.Bandwidth {
			t.Errorf("request span link %v ms, %v B/s; the adapter's %v", attrs[trace.AttrRTTms], attrs[trace.AttrBandwidthBps], want)
		}
		return
	}
	t.Fatal("no request span")
}
