package edgeworker_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/preprocess"
	"github.com/splitinfer/splitinfer/trace"
)

// TestPredictImageNet: the ImageNet declaration feeds the reference
// MobileNetV2 (an ONNX file without a declaration of its own): a 256x256
// PNG with a different colour per quadrant, centre-cropped to 224 and
// normalised, gives the logits of the same tensor built by hand.
func TestPredictImageNet(t *testing.T) {
	g, err := onnx.Load(testref.Path(t, "mobilenet_v2.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	w, err := edgeworker.New(nil, prog, edgeworker.Config{Fallback: true, Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := preprocess.Parse(preprocess.ImageNet)
	if err != nil {
		t.Fatal(err)
	}
	p, err := edgeworker.NewPredictor(w, g, edgeworker.PredictorConfig{Name: "mobilenet_v2", Preprocess: spec})
	if err != nil {
		t.Fatal(err)
	}
	quad := [4]color.RGBA{{250, 10, 10, 255}, {10, 250, 10, 255}, {10, 10, 250, 255}, {128, 128, 128, 255}}
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			img.SetRGBA(x, y, quad[(y/128)*2+x/128])
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	want := nn.New(nn.Float32, 1, 3, 224, 224)
	for c := 0; c < 3; c++ {
		for y := 0; y < 224; y++ {
			for x := 0; x < 224; x++ {
				px := quad[((y+16)/128)*2+(x+16)/128]
				v := float64(float32([]uint8{px.R, px.G, px.B}[c]) / 255)
				want.F32[(c*224+y)*224+x] = float32((v - spec.Mean[c]) / spec.Std[c])
			}
		}
	}
	direct, err := prog.NewRunner(1).Run(want)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Predict(context.Background(), &edgeworker.PredictRequest{Inputs: []edgeworker.Input{{Name: g.Inputs[0].Name, Images: [][]byte{b.Bytes()}}}})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.Outputs[0].Tensor
	if len(got.F32) != 1000 {
		t.Fatalf("output %v", got.Type())
	}
	for i, v := range direct[0].F32 {
		if d := math.Abs(float64(v - got.F32[i])); d > 1e-4*(1+math.Abs(float64(v))) {
			t.Fatalf("logit %d: %v through the image, %v by hand", i, got.F32[i], v)
		}
	}
	// The MNIST declaration does not fit this model.
	mn, _ := preprocess.Parse(preprocess.MNIST)
	if _, err := edgeworker.NewPredictor(w, g, edgeworker.PredictorConfig{Preprocess: mn}); !errors.Is(err, preprocess.ErrShape) {
		t.Fatalf("MNIST declaration on MobileNetV2: %v", err)
	}
}

// TestPredictTracedAndCounted: a served request is one trace whose root is
// the serve span carrying the caller's request id, above the preprocessing
// and the edge's request span; requests refused before the model are
// counted in the same metrics (errors by code, requests by outcome).
func TestPredictTracedAndCounted(t *testing.T) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	opts := []edgeworker.Option{edgeworker.WithTracerProvider(tp), edgeworker.WithMeterProvider(mp)}
	w, err := edgeworker.New(nil, prog, edgeworker.Config{Fallback: true}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := edgeworker.NewPredictor(w, g, edgeworker.PredictorConfig{}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	img, err := set.PNG(3)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Predict(context.Background(), &edgeworker.PredictRequest{ID: "client-42",
		Inputs: []edgeworker.Input{{Name: "input", Images: [][]byte{img}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = p.Predict(context.Background(), &edgeworker.PredictRequest{Inputs: []edgeworker.Input{{Name: "input", Images: [][]byte{[]byte("no")}}}})
	if !errors.Is(err, edgeworker.ErrInvalidInput) {
		t.Fatalf("non-image: %v", err)
	}
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if _, dup := spans[s.Name()]; !dup {
			spans[s.Name()] = s
		}
	}
	root, prep, req := spans[trace.SpanServe], spans[trace.SpanPreprocess], spans[trace.SpanEdgeRequest]
	if root == nil || prep == nil || req == nil {
		t.Fatalf("spans %v", rec.Ended())
	}
	if root.Parent().IsValid() || prep.Parent().SpanID() != root.SpanContext().SpanID() || req.Parent().SpanID() != root.SpanContext().SpanID() {
		t.Errorf("serve span is not the root above preprocess and the request")
	}
	found := false
	for _, a := range root.Attributes() {
		found = found || (a.Key == trace.AttrServeRequestID && a.Value.AsString() == "client-42")
	}
	if !found {
		t.Errorf("root attributes %v lack the request id", root.Attributes())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					oc, _ := dp.Attributes.Value(trace.AttrOutcome)
					code, _ := dp.Attributes.Value(trace.AttrErrorCode)
					counts[m.Name+"/"+oc.AsString()+code.AsString()] += dp.Value
				}
			}
		}
	}
	if counts[trace.MetricRequests+"/"+trace.OutcomeFallback] != 1 || counts[trace.MetricRequests+"/"+trace.OutcomeError] != 1 || counts[trace.MetricErrors+"/400"] != 1 {
		t.Errorf("metrics %v", counts)
	}
}
