package inspect

import (
	"math"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

func TestNonZero(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	cases := []struct {
		t    *nn.Tensor
		want int64
	}{
		{&nn.Tensor{DType: nn.Float32, Shape: []int{4}, F32: []float32{0, negZero, 1, -2}}, 2},
		{&nn.Tensor{DType: nn.Int8, Shape: []int{3}, I8: []int8{0, -1, 5}}, 2},
		{&nn.Tensor{DType: nn.Int32, Shape: []int{3}, I32: []int32{256, 0, 1 << 24}}, 2},
	}
	for i, c := range cases {
		if got := NonZero(c.t); got != c.want {
			t.Errorf("case %d: nonzero = %d, want %d", i, got, c.want)
		}
	}
}

// TestGraphCounts: a conv (3x3, 1->2 channels, 4x4 output) counts its
// weights and bias as parameters, its MACs, and its activation bytes.
func TestGraphCounts(t *testing.T) {
	w := nn.New(nn.Float32, 2, 1, 3, 3)
	w.F32[0] = 1 // one weight not zero
	b := nn.New(nn.Float32, 2)
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 1, 4, 4}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts:  map[string]*nn.Tensor{"w": w, "b": b},
		Nodes: []*nn.Node{{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"},
			Attrs: map[string]nn.Attr{"pads": {Kind: nn.AttrInts, Ints: []int64{1, 1, 1, 1}}}}},
	}
	r, err := Graph(g, "one-conv")
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Nodes) != 1 {
		t.Fatalf("%d nodes", len(r.Nodes))
	}
	n := r.Nodes[0]
	if n.Params != 20 || n.Nonzero != 1 || n.MACs != 2*9*16 || n.BytesF32 != 4*2*16 || n.BytesInt8 != 2*16 {
		t.Errorf("node %+v", n)
	}
	if r.TotalParams != 20 || r.Outputs[0].DType != "float32" || len(r.Outputs[0].Shape) != 4 {
		t.Errorf("report %+v", r)
	}
}
