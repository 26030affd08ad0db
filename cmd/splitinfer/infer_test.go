package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// TestInferReferenceModels runs `splitinfer infer` on every reference
// model's test data set and compares the written output with ONNX
// Runtime's within 1e-4.
func TestInferReferenceModels(t *testing.T) {
	for _, m := range []string{"seednet_mnist", "tinyresnet_mnist", "mobilenet_v2"} {
		t.Run(m, func(t *testing.T) {
			dir := testref.Path(t, m, "test_data_set_0")
			outPath := filepath.Join(t.TempDir(), "out.pb")
			var out, errb bytes.Buffer
			code := runMain(context.Background(), []string{"infer", "--model", testref.Path(t, m+".onnx"),
				"--input", filepath.Join(dir, "input_0.pb"), "--output", outPath, "--threads", "2"}, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			got, err := onnx.ReadTensor(outPath)
			if err != nil {
				t.Fatal(err)
			}
			want, err := onnx.ReadTensor(filepath.Join(dir, "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) || got.DType != nn.Float32 {
				t.Fatalf("output %v, want %v", got.Type(), want.Type())
			}
			d, scale := 0.0, 0.0
			for i := range got.F32 {
				d = max(d, math.Abs(float64(got.F32[i])-float64(want.F32[i])))
				scale = max(scale, math.Abs(float64(want.F32[i])))
			}
			t.Logf("%s: max abs diff %.3g (largest |output| %.3g)", m, d, scale)
			if !(d <= 1e-4) || d > 1e-4*scale {
				t.Fatalf("max abs diff %g (largest output %g)", d, scale)
			}
			if !bytes.Contains(out.Bytes(), []byte("logits: float32")) {
				t.Errorf("summary %q", out.String())
			}
		})
	}
}

func TestInferErrors(t *testing.T) {
	dir := testref.Path(t, "mobilenet_v2", "test_data_set_0")
	var out, errb bytes.Buffer
	// A 3x224x224 input for the 1x32x32 default model.
	code := runMain(context.Background(), []string{"infer", "--input", filepath.Join(dir, "input_0.pb")}, &out, &errb)
	if code != 1 || !bytes.Contains(errb.Bytes(), []byte("does not match")) {
		t.Errorf("wrong input shape: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := runMain(context.Background(), []string{"infer"}, &out, &errb); code != 2 {
		t.Errorf("no --input: exit %d, want 2", code)
	}
	errb.Reset()
	if code := runMain(context.Background(), []string{"infer", "--input", filepath.Join(t.TempDir(), "missing.pb")}, &out, &errb); code != 1 {
		t.Errorf("missing input file: exit %d, want 1", code)
	}
}
