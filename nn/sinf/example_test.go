package sinf_test

import (
	"bytes"
	"fmt"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// A model round-trips through the .sinf format; the halves of a split are
// identified by the hashes of their node sets.
func Example() {
	w := nn.New(nn.Float32, 2, 3)
	copy(w.F32, []float32{1, 0, 0, 0, 0, 2})
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 3}}}},
		Outputs: []nn.ValueInfo{{Name: "z"}},
		Consts:  map[string]*nn.Tensor{"w": w},
		Nodes: []*nn.Node{
			{Name: "fc", Op: "Gemm", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: map[string]nn.Attr{"transB": {Kind: nn.AttrInt, Int: 1}}},
			{Name: "act", Op: "Relu", Inputs: []string{"y"}, Outputs: []string{"z"}},
		},
	}
	var buf bytes.Buffer
	if err := sinf.Write(&buf, &sinf.Model{Graph: g}); err != nil {
		fmt.Println(err)
		return
	}
	m, err := sinf.Read(&buf)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Hash() == nn.Hash(g))
	fmt.Println(sinf.SubgraphHash(m.Graph, []int{0}) == sinf.SubgraphHash(g, []int{0}))
	fmt.Println(sinf.SubgraphHash(m.Graph, []int{0}) == sinf.SubgraphHash(m.Graph, []int{1}))
	// Output:
	// true
	// true
	// false
}
