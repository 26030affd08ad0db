package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// TestInferOldOpsetDynamicBatch: an opset-9 model with a dynamic batch,
// a constant computed from the input's shape (ConstantOfShape of Shape)
// and a Softmax over the input coerced to 2-D runs through infer on a
// TensorProto file.
func TestInferOldOpsetDynamicBatch(t *testing.T) {
	dir := t.TempDir()
	value := &nn.Tensor{DType: nn.Float32, Shape: []int{1}, F32: []float32{1}}
	g := &nn.Graph{
		Opset:   9,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 3, 2, 2}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}, {Name: "p"}},
		Consts:  map[string]*nn.Tensor{},
		Nodes: []*nn.Node{
			{Name: "shape", Op: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}, Attrs: map[string]nn.Attr{}},
			{Name: "ones", Op: "ConstantOfShape", Inputs: []string{"s"}, Outputs: []string{"c"}, Attrs: map[string]nn.Attr{"value": {Kind: nn.AttrTensor, Tensor: value}}},
			{Name: "add", Op: "Add", Inputs: []string{"x", "c"}, Outputs: []string{"y"}, Attrs: map[string]nn.Attr{}},
			{Name: "sm", Op: "Softmax", Inputs: []string{"y"}, Outputs: []string{"p"}, Attrs: map[string]nn.Attr{}},
		},
	}
	model := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(model, g); err != nil {
		t.Fatal(err)
	}
	x := nn.New(nn.Float32, 2, 3, 2, 2)
	for i := range x.F32 {
		x.F32[i] = float32(i%7) * 0.25
	}
	in, y, p := filepath.Join(dir, "in.pb"), filepath.Join(dir, "y.pb"), filepath.Join(dir, "p.pb")
	if err := onnx.WriteTensor(in, x); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := runInfer(context.Background(), []string{"--model", model, "--input", in, "--output", y, "--output", p}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	got, err := onnx.ReadTensor(y)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.F32 {
		if v != x.F32[i]+1 {
			t.Fatalf("y[%d] = %g, want %g", i, v, x.F32[i]+1)
		}
	}
	prob, err := onnx.ReadTensor(p)
	if err != nil {
		t.Fatal(err)
	}
	for b := 0; b < 2; b++ {
		var s float32
		for _, v := range prob.F32[b*12 : (b+1)*12] {
			s += v
		}
		if s < 0.9999 || s > 1.0001 {
			t.Fatalf("row %d of the opset-9 softmax (over 12 values) sums to %g", b, s)
		}
	}
	if !strings.Contains(stdout.String(), "argmax per row") {
		t.Fatalf("stdout %q", stdout.String())
	}
}
