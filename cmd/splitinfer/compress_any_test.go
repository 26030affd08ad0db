package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// TestCompressPruneChannelsAnyModel: --prune-channels works on a model
// that is not an MNIST classifier (RGB input, depthwise conv, ReLU6 as
// Clip, a residual Add), reports MACs before and after, and a step that
// needs data says so.
func TestCompressPruneChannelsAnyModel(t *testing.T) {
	dir := t.TempDir()
	w := func(seed int, shape ...int) *nn.Tensor {
		t := nn.New(nn.Float32, shape...)
		for i := range t.F32 {
			t.F32[i] = float32((i*7+seed*13)%17)/17 - 0.5
		}
		return t
	}
	ints := func(v ...int64) nn.Attr { return nn.Attr{Kind: nn.AttrInts, Ints: v} }
	g := &nn.Graph{
		Opset:   11,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 3, 16, 16}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts: map[string]*nn.Tensor{"w1": w(1, 8, 3, 3, 3), "w2": w(2, 8, 1, 3, 3), "w3": w(3, 8, 8, 1, 1), "fc": w(4, 5, 8),
			"lo": {DType: nn.Float32, Shape: []int{}, F32: []float32{0}}, "hi": {DType: nn.Float32, Shape: []int{}, F32: []float32{6}}},
		Nodes: []*nn.Node{
			{Name: "c1", Op: "Conv", Inputs: []string{"x", "w1"}, Outputs: []string{"a"}, Attrs: map[string]nn.Attr{"pads": ints(1, 1, 1, 1), "strides": ints(2, 2)}},
			{Name: "r1", Op: "Clip", Inputs: []string{"a", "lo", "hi"}, Outputs: []string{"b"}, Attrs: map[string]nn.Attr{}},
			{Name: "dw", Op: "Conv", Inputs: []string{"b", "w2"}, Outputs: []string{"c"}, Attrs: map[string]nn.Attr{"pads": ints(1, 1, 1, 1), "group": {Kind: nn.AttrInt, Int: 8}}},
			{Name: "pw", Op: "Conv", Inputs: []string{"c", "w3"}, Outputs: []string{"d"}, Attrs: map[string]nn.Attr{}},
			{Name: "add", Op: "Add", Inputs: []string{"b", "d"}, Outputs: []string{"e"}, Attrs: map[string]nn.Attr{}},
			{Name: "gap", Op: "GlobalAveragePool", Inputs: []string{"e"}, Outputs: []string{"f"}, Attrs: map[string]nn.Attr{}},
			{Name: "flat", Op: "Flatten", Inputs: []string{"f"}, Outputs: []string{"h"}, Attrs: map[string]nn.Attr{}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"h", "fc"}, Outputs: []string{"y"}, Attrs: map[string]nn.Attr{"transB": {Kind: nn.AttrInt, Int: 1}}},
		},
	}
	model := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(model, g); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	out := filepath.Join(dir, "m.sinf")
	if err := runCompress(context.Background(), []string{"--model", model, "--out", out, "--prune-channels", "0.5", "--json"}, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var rep compressReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if !(rep.MACsAfter > 0 && rep.MACsAfter < rep.MACsBefore*6/10) || rep.ParamsAfter >= rep.ParamsBefore {
		t.Fatalf("MACs %d -> %d, params %d -> %d", rep.MACsBefore, rep.MACsAfter, rep.ParamsBefore, rep.ParamsAfter)
	}
	if !strings.Contains(stderr.String(), "8 -> 4 channels of c1, pw") {
		t.Fatalf("stderr %s", stderr.String())
	}
	err := runCompress(context.Background(), []string{"--model", model, "--out", out, "--quantize", "int8"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "int8 calibration") {
		t.Fatalf("quantizing an RGB model: error %v", err)
	}
}
