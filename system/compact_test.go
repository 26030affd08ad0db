package system_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
)

// TestCompactSplit runs the bundled model's early cut with compact
// requests: every request is compact, a 26-byte header and its payload,
// well under the 248 bytes of the mean MNIST PNG; every prediction is the
// one the tail makes from the codec's reconstruction (actcode.Evaluate).
// A cloud whose model carries other codec tables answers 409 naming them.
func TestCompactSplit(t *testing.T) {
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	p := defaultModel(t)
	const n = 500
	sys, err := system.Start("seednet_mnist", p, cloudworker.Config{}, edgeworker.Config{Compact: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	sum, err := system.Drive(context.Background(), sys.Edge, set, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 0 || sum.Compact != n || sum.HeaderBytes != 26 || sum.BytesPerRequest > 248 ||
		math.Abs(sum.HeaderBytes+sum.PayloadBytes-sum.BytesPerRequest) > 1e-9 || math.Abs(sum.BitsPerElement-8*sum.BytesPerRequest/2048) > 1e-9 {
		t.Fatalf("summary: %d errors, %d compact, %.1f bytes = %.1f header + %.1f payload, %.3f bits/element",
			sum.Errors, sum.Compact, sum.BytesPerRequest, sum.HeaderBytes, sum.PayloadBytes, sum.BitsPerElement)
	}
	codec, err := actcode.Lookup(p.Graph(), sys.Edge.Cut())
	if err != nil || codec == nil {
		t.Fatal(err)
	}
	cut, err := actcode.NewCut(p, sys.Edge.Cut())
	if err != nil {
		t.Fatal(err)
	}
	x, _ := nn.FromFloat32(set.Batch(0, n), n, 1, mnist.Rows, mnist.Cols)
	want, err := cut.Evaluate(codec, x, set.Labels[:n], 1)
	if err != nil {
		t.Fatal(err)
	}
	if want.Accuracy != sum.Accuracy || math.Abs(want.Bytes-sum.PayloadBytes) > 1e-9 {
		t.Errorf("split: accuracy %.4f, payload %.2f bytes; the codec alone: %.4f, %.2f", sum.Accuracy, sum.PayloadBytes, want.Accuracy, want.Bytes)
	}
	t.Logf("%.1f bytes/request (%.0f header), accuracy %.4f on %d images", sum.BytesPerRequest, sum.HeaderBytes, sum.Accuracy, n)

	// Another codec for the same model (same content hash) in the cloud.
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	samples, err := cut.Samples(x, 1)
	if err != nil {
		t.Fatal(err)
	}
	other, err := cut.Fit(samples, actcode.FitConfig{Bits: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := actcode.Attach(g, sys.Edge.Cut(), other); err != nil {
		t.Fatal(err)
	}
	p3, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	sys3, err := system.Start("seednet_mnist", p3, cloudworker.Config{}, edgeworker.Config{Compact: true}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sys3.Close()
	e, err := edgeworker.New(natsConn(t, sys3), p, edgeworker.Config{Compact: true, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := nn.FromFloat32(set.Image(0), 1, 1, mnist.Rows, mnist.Cols)
	_, err = e.Infer(context.Background(), in)
	var pe *pipeline.Error
	if !errors.As(err, &pe) || pe.Code != pipeline.CodeModelMismatch || !strings.Contains(pe.Message, "codec") {
		t.Errorf("edge and cloud with different codec tables: %v, want a 409 naming the codec", err)
	}
}

// TestImageCutSplit: cloud-only with compact requests sends each MNIST
// input as a PNG through the live path, and the cloud, decoding it with
// the model's declared preprocessing, predicts exactly what the unsplit
// model does.
func TestImageCutSplit(t *testing.T) {
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	p := defaultModel(t)
	const n = 300
	in := p.Inputs()[0]
	sys, err := system.Start("seednet_mnist", p, cloudworker.Config{}, edgeworker.Config{Compact: true, Cut: []string{in}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	sum, err := system.Drive(context.Background(), sys.Edge, set, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 0 || sum.Compact != n || sum.BytesPerRequest > 400 {
		t.Fatalf("summary: %d errors, %d of %d compact, %.1f bytes per request", sum.Errors, sum.Compact, n, sum.BytesPerRequest)
	}
	r := p.NewRunner(1)
	correct := 0
	for i := 0; i < n; i++ {
		x, _ := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
		out, err := r.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		if row := out[0].F32; slices.Index(row, slices.Max(row)) == int(set.Labels[i]) {
			correct++
		}
	}
	if want := float64(correct) / n; sum.Accuracy != want {
		t.Errorf("accuracy through the PNG cut %.4f, unsplit %.4f", sum.Accuracy, want)
	}
	t.Logf("input as PNG: %.1f bytes per request (%.1f header), accuracy %.4f on %d images", sum.BytesPerRequest, sum.HeaderBytes, sum.Accuracy, n)
}
