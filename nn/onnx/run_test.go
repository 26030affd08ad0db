package onnx

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

// TestRunFiles runs a Relu on a tensor file, writes the output file, and
// rejects an input of the wrong type and a wrong number of files.
func TestRunFiles(t *testing.T) {
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 3}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Nodes:   []*nn.Node{{Name: "relu", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}
	dir := t.TempDir()
	in, out, bad := filepath.Join(dir, "x.pb"), filepath.Join(dir, "y.pb"), filepath.Join(dir, "bad.pb")
	x := nn.New(nn.Float32, 2, 3)
	copy(x.F32, []float32{-1, 2, -3, 4, -5, 6})
	if err := WriteTensor(in, x); err != nil {
		t.Fatal(err)
	}
	if err := WriteTensor(bad, nn.New(nn.Float32, 2, 4)); err != nil {
		t.Fatal(err)
	}
	outs, err := RunFiles(context.Background(), g, []string{in}, []string{out}, 1)
	if err != nil {
		t.Fatal(err)
	}
	y, err := ReadTensor(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 2, 0, 4, 0, 6}
	for i, v := range want {
		if outs[0].F32[i] != v || y.F32[i] != v {
			t.Fatalf("outputs %v, file %v, want %v", outs[0].F32, y.F32, want)
		}
	}
	if _, err := RunFiles(context.Background(), g, []string{bad}, nil, 1); !errors.Is(err, ErrInputType) {
		t.Errorf("a [2 4] input for [? 3]: %v", err)
	}
	if _, err := RunFiles(context.Background(), g, []string{in, in}, nil, 1); err == nil {
		t.Error("two inputs for a one-input model: no error")
	}
}
