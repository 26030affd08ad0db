package quantize_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/splitinfer/splitinfer/compress/quantize"
	"github.com/splitinfer/splitinfer/nn"
)

// Quantize a small conv layer: the result runs QLinearConvInt8 between a
// QuantizeLinear at the input and a DequantizeLinear where float resumes.
func Example() {
	r := rand.New(rand.NewPCG(1, 2))
	w := nn.New(nn.Float32, 4, 1, 3, 3)
	for i := range w.F32 {
		w.F32[i] = float32(r.NormFloat64()) / 3
	}
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 1, 8, 8}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts:  map[string]*nn.Tensor{"w": w, "b": nn.New(nn.Float32, 4)},
		Nodes: []*nn.Node{
			{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
				Attrs: map[string]nn.Attr{"pads": {Kind: nn.AttrInts, Ints: []int64{1, 1, 1, 1}}}},
			{Name: "relu", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"y"}},
		},
	}
	calib := nn.New(nn.Float32, 16, 1, 8, 8)
	for i := range calib.F32 {
		calib.F32[i] = r.Float32()
	}
	res, err := quantize.Quantize(g, calib, quantize.WithMethod(quantize.Percentile))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range res.Graph.Nodes {
		fmt.Println(n.Op)
	}
	fmt.Println("int8:", res.Int8Nodes, "float:", res.FloatNodes)
	// Output:
	// QuantizeLinear
	// QLinearConvInt8
	// DequantizeLinear
	// int8: [conv] float: []
}
