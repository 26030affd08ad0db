package onnx

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"fmt"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
	"google.golang.org/protobuf/proto"
	"os"
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

// TestRunFilesDeclaredOutputTypes: outputs a model declares bool or double
// (computed as uint8 0/1 and float32) are written in the declared type.
func TestRunFilesDeclaredOutputTypes(t *testing.T) {
	g := &nn.Graph{
		Opset:   13,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{2, 3}}}},
		Outputs: []nn.ValueInfo{{Name: "b"}, {Name: "r"}},
		Consts:  map[string]*nn.Tensor{"z": {DType: nn.Float32, Shape: []int{}, F32: []float32{0}}},
		Nodes: []*nn.Node{{Name: "gt", Op: "Greater", Inputs: []string{"x", "z"}, Outputs: []string{"b"}},
			{Name: "relu", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"r"}}},
	}
	data, err := Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	for i, et := range []int32{onnxBool, onnxDouble} {
		m.Graph.Output[i].Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: et}}}
	}
	if data, err = proto.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if g, err = Decode(data); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, ob, or := filepath.Join(dir, "x.pb"), filepath.Join(dir, "b.pb"), filepath.Join(dir, "r.pb")
	x := nn.New(nn.Float32, 2, 3)
	copy(x.F32, []float32{-1, 2, -3, 4, 0, 6})
	if err := WriteTensor(in, x); err != nil {
		t.Fatal(err)
	}
	if _, err := RunFiles(context.Background(), g, []string{in}, []string{ob, or}, 1); err != nil {
		t.Fatal(err)
	}
	read := func(path string) *onnxpb.TensorProto {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		tp := &onnxpb.TensorProto{}
		if err := proto.Unmarshal(b, tp); err != nil {
			t.Fatal(err)
		}
		return tp
	}
	if tp := read(ob); tp.DataType != onnxBool || fmt.Sprint(tp.RawData) != "[0 1 0 1 0 1]" {
		t.Errorf("bool output: type %d, data %v", tp.DataType, tp.RawData)
	}
	if tp := read(or); tp.DataType != onnxDouble || len(tp.RawData) != 48 {
		t.Errorf("double output: type %d, %d bytes", tp.DataType, len(tp.RawData))
	} else if r, err := ReadTensor(or); err != nil || fmt.Sprint(r.F32) != "[0 2 0 4 0 6]" {
		t.Errorf("double output reads back as %v (%v)", r, err)
	}
}
