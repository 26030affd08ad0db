package onnx_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	pb "github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
)

// runOpset encodes g (old-form nodes at g.Opset), decodes it through the
// version adapters and runs it on x.
func runOpset(t *testing.T, g *nn.Graph, x ...*nn.Tensor) []*nn.Tensor {
	t.Helper()
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	d, err := onnx.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewRunner(1).Run(x...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func attrs(kv ...any) map[string]nn.Attr {
	m := map[string]nn.Attr{}
	for i := 0; i+1 < len(kv); i += 2 {
		switch v := kv[i+1].(type) {
		case int:
			m[kv[i].(string)] = nn.Attr{Kind: nn.AttrInt, Int: int64(v)}
		case float32:
			m[kv[i].(string)] = nn.Attr{Kind: nn.AttrFloat, Float: v}
		case []int64:
			m[kv[i].(string)] = nn.Attr{Kind: nn.AttrInts, Ints: v}
		}
	}
	return m
}

// TestOpset6LegacyBroadcast: at opset 6, Add with broadcast=1 axis=1
// matches B [C] to A's channel axis (numpy would match the last axis), and
// BatchNormalization's is_test and Dropout's is_test are read.
func TestOpset6LegacyBroadcast(t *testing.T) {
	x := nn.New(nn.Float32, 1, 2, 2, 3)
	for i := range x.F32 {
		x.F32[i] = float32(i)
	}
	for _, constB := range []bool{true, false} {
		g := &nn.Graph{
			Opset:   6,
			Inputs:  []nn.ValueInfo{{Name: "x", Type: x.Type()}},
			Outputs: []nn.ValueInfo{{Name: "y"}},
			Consts:  map[string]*nn.Tensor{"b": {DType: nn.Float32, Shape: []int{2}, F32: []float32{100, 200}}},
			Nodes: []*nn.Node{
				{Name: "drop", Op: "Dropout", Inputs: []string{"x"}, Outputs: []string{"d", "mask"}, Attrs: attrs("is_test", 1, "ratio", float32(0.5))},
				{Name: "add", Op: "Add", Inputs: []string{"d", "b"}, Outputs: []string{"y"}, Attrs: attrs("broadcast", 1, "axis", 1)},
			},
		}
		ins := []*nn.Tensor{x}
		if !constB {
			g.Inputs = append(g.Inputs, nn.ValueInfo{Name: "b", Type: nn.Type{DType: nn.Float32, Shape: []int{2}}})
			ins = append(ins, g.Consts["b"])
			delete(g.Consts, "b")
		}
		y := runOpset(t, g, ins...)[0]
		for i, v := range y.F32 {
			want := float32(i) + 100*float32(1+i/6)
			if v != want {
				t.Fatalf("const B %v: y[%d] = %g, want %g", constB, i, v, want)
			}
		}
	}
}

// TestOpset9SoftmaxCoerce: before opset 13 Softmax normalizes over the
// input flattened to 2-D at axis; the adapter keeps that meaning.
func TestOpset9SoftmaxCoerce(t *testing.T) {
	x := nn.New(nn.Float32, 2, 3, 2)
	for i := range x.F32 {
		x.F32[i] = float32(i%5) * 0.3
	}
	g := &nn.Graph{
		Opset:   9,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: x.Type()}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts:  map[string]*nn.Tensor{},
		Nodes:   []*nn.Node{{Name: "sm", Op: "Softmax", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: attrs()}},
	}
	y := runOpset(t, g, x)[0]
	if len(y.Shape) != 3 {
		t.Fatalf("shape %v", y.Shape)
	}
	for b := 0; b < 2; b++ {
		var s float32
		for _, v := range y.F32[b*6 : b*6+6] {
			s += v
		}
		if s < 0.9999 || s > 1.0001 {
			t.Fatalf("batch %d: the 6 values of the coerced row sum to %g, want 1", b, s)
		}
	}
}

// TestUnsupportedListsAll: a model with several nodes the engine cannot
// run is refused with every one of them named.
func TestUnsupportedListsAll(t *testing.T) {
	g := &nn.Graph{
		Opset:   11,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 4}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts:  map[string]*nn.Tensor{},
		Nodes: []*nn.Node{
			{Name: "a", Op: "NoSuchOpA", Inputs: []string{"x"}, Outputs: []string{"t"}, Attrs: attrs()},
			{Name: "b", Op: "NoSuchOpB", Inputs: []string{"t"}, Outputs: []string{"y"}, Attrs: attrs()},
		},
	}
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	_, err = onnx.Decode(data)
	var ue *onnx.UnsupportedOpsError
	if !errors.As(err, &ue) || !errors.Is(err, onnx.ErrUnsupported) {
		t.Fatalf("error %v, want an *UnsupportedOpsError", err)
	}
	if len(ue.Problems) != 2 || !strings.Contains(err.Error(), "NoSuchOpA") || !strings.Contains(err.Error(), "NoSuchOpB") {
		t.Fatalf("problems %v", ue.Problems)
	}
}

// TestImageScaler: the experimental ImageScaler of opsets 1 to 9 (Tiny
// YOLOv2, older zoo models) computes scale·x + bias[channel].
func TestImageScaler(t *testing.T) {
	x := nn.New(nn.Float32, 1, 2, 1, 2)
	copy(x.F32, []float32{1, 2, 3, 4})
	g := &nn.Graph{
		Opset:   7,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: x.Type()}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts:  map[string]*nn.Tensor{},
		Nodes: []*nn.Node{{Name: "sc", Op: "ImageScaler", Inputs: []string{"x"}, Outputs: []string{"y"},
			Attrs: map[string]nn.Attr{"scale": {Kind: nn.AttrFloat, Float: 2}, "bias": {Kind: nn.AttrFloats, Floats: []float32{10, 20}}}}},
	}
	y := runOpset(t, g, x)[0]
	if fmt.Sprint(y.F32) != "[12 14 26 28]" {
		t.Fatalf("y = %v", y.F32)
	}
}

// TestBoolInput: a graph input declared BOOL loads as uint8 0/1 and feeds
// Where.
func TestBoolInput(t *testing.T) {
	m := tinyModel()
	m.Graph.Node = []*pb.NodeProto{{Name: "w", OpType: "Where", Input: []string{"C", "X", "B"}, Output: []string{"Y"}}}
	m.Graph.Input = append(m.Graph.Input, valueInfo("C", 9, 2, 3))
	g, err := onnx.Decode(marshal(t, m))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := nn.FromFloat32([]float32{10, 20, 30, 40, 50, 60}, 2, 3)
	c := &nn.Tensor{DType: nn.Uint8, Shape: []int{2, 3}, U8: []uint8{1, 0, 1, 0, 0, 1}}
	y, err := p.NewRunner(1).Run(x, c)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(y[0].F32) != "[10 -2 30 1 -2 60]" {
		t.Fatalf("y = %v", y[0].F32)
	}
}
