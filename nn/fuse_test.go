package nn

import (
	"fmt"
	"testing"
)

func TestFuseActivations(t *testing.T) {
	r := newRand(50)
	g := smallConvNet(r)
	f := FuseActivations(g)
	if len(g.Nodes) != 8 {
		t.Fatalf("FuseActivations modified its argument: %d nodes", len(g.Nodes))
	}
	ops := ""
	for _, n := range f.Nodes {
		ops += n.Op + " "
	}
	if want := "Conv MaxPool Conv Conv Flatten Gemm "; ops != want {
		t.Fatalf("fused ops = %q, want %q", ops, want)
	}
	if c := f.Node("conv1"); c.AttrString("activation", "") != "Relu" || c.Outputs[0] != "r1" {
		t.Fatalf("conv1 = %+v", c)
	}
	if c := f.Node("dw"); c.AttrString("activation", "") != "Clip" || c.AttrFloat("activation_min", -1) != 0 || c.AttrFloat("activation_max", -1) != 6 {
		t.Fatalf("dw = %+v", c)
	}
	// Same outputs before and after, batch 1 and 3.
	pg, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	pf, err := Compile(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3} {
		x := randT(r, n, 1, 16, 16)
		a, err := pg.Run(map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		b, err := pf.Run(map[string]*Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		checkClose(t, "fused", b["y"], a["y"].Shape, toF64(a["y"].F32))
	}
}

func TestFuseActivationsLeavesSharedTensors(t *testing.T) {
	w := New(Float32, 2, 1, 1, 1)
	base := func() *Graph {
		return &Graph{
			Name:   "f",
			Inputs: []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{1, 1, 2, 2}}}},
			Consts: map[string]*Tensor{"w": w, "lo": f32T([]int{}, 0), "fc": New(Float32, 3, 3)},
			Nodes: []*Node{
				{Name: "conv", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}},
				{Name: "act", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"y"}},
			},
			Outputs: []ValueInfo{{Name: "y"}},
		}
	}
	cases := []struct {
		name   string
		edit   func(g *Graph)
		fused  bool
		nNodes int
	}{
		{"plain", func(g *Graph) {}, true, 1},
		{"intermediate is an output", func(g *Graph) { g.Outputs = append(g.Outputs, ValueInfo{Name: "c"}) }, false, 2},
		{"two readers", func(g *Graph) {
			g.Nodes = append(g.Nodes, &Node{Name: "other", Op: "Sigmoid", Inputs: []string{"c"}, Outputs: []string{"z"}})
			g.Outputs = append(g.Outputs, ValueInfo{Name: "z"})
		}, false, 3},
		{"clip constant bound", func(g *Graph) {
			g.Nodes[1].Op = "Clip"
			g.Nodes[1].Inputs = []string{"c", "lo"}
		}, true, 1},
		{"clip computed bound", func(g *Graph) {
			g.Inputs = append(g.Inputs, ValueInfo{Name: "m", Type: Type{DType: Float32, Shape: []int{}}})
			g.Nodes[1].Op = "Clip"
			g.Nodes[1].Inputs = []string{"c", "m"}
		}, false, 2},
		{"not after conv", func(g *Graph) { g.Nodes[0].Op = "Sigmoid"; g.Nodes[0].Inputs = []string{"x"} }, false, 2},
		{"gemm", func(g *Graph) {
			g.Inputs[0].Type.Shape = []int{2, 3}
			g.Nodes[0].Op = "Gemm"
			g.Nodes[0].Inputs = []string{"x", "fc"}
		}, true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := base()
			c.edit(g)
			f := FuseActivations(g)
			if len(f.Nodes) != c.nNodes {
				t.Fatalf("%d nodes after fusion, want %d", len(f.Nodes), c.nNodes)
			}
			fused := hasAttr(f.Nodes[0], "activation")
			if fused != c.fused {
				t.Fatalf("fused = %v, want %v", fused, c.fused)
			}
			if err := f.Validate(); err != nil {
				t.Fatal(err)
			}
			if c.fused && f.Nodes[0].Outputs[0] != "y" {
				t.Fatalf("fused node writes %q, want y", f.Nodes[0].Outputs[0])
			}
		})
	}
}

func ExampleFuseActivations() {
	g := &Graph{
		Name:    "example",
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{1, 1, 4, 4}}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Consts:  map[string]*Tensor{"w": New(Float32, 2, 1, 3, 3)},
		Nodes: []*Node{
			{Name: "conv", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}},
			{Name: "relu6", Op: "Clip", Inputs: []string{"c"}, Outputs: []string{"y"},
				Attrs: map[string]Attr{"min": {Kind: AttrFloat, Float: 0}, "max": {Kind: AttrFloat, Float: 6}}},
		},
	}
	f := FuseActivations(g)
	for _, n := range f.Nodes {
		fmt.Println(n.Name, n.Op, n.Outputs, n.AttrString("activation", ""), n.AttrFloat("activation_min", -1), n.AttrFloat("activation_max", -1))
	}
	p, _ := Compile(f)
	k := p.Kernel(0)
	in := []Type{g.Inputs[0].Type, {DType: Float32, Shape: []int{2, 1, 3, 3}}}
	out, _ := k.OutputTypes(in)
	fmt.Println(out[0], NodeMACs(k, in, out))
	// Output:
	// conv Conv [y] Clip 0 6
	// float32[1 2 2 2] 72
}
