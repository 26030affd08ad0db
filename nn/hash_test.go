package nn

import "testing"

func hashTestGraph() *Graph {
	w, _ := FromFloat32([]float32{1, 2, 3, 4}, 2, 2)
	return &Graph{
		Name:    "g",
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 2}}}},
		Outputs: []ValueInfo{{Name: "y", Type: Type{DType: Float32, Shape: []int{-1, 2}}}},
		Nodes: []*Node{
			{Name: "mm", Op: "MatMul", Inputs: []string{"x", "w"}, Outputs: []string{"h"}},
			{Name: "act", Op: "LeakyRelu", Inputs: []string{"h"}, Outputs: []string{"y"},
				Attrs: map[string]Attr{"alpha": {Kind: AttrFloat, Float: 0.1}}},
		},
		Consts: map[string]*Tensor{"w": w},
		Meta:   map[string]string{"producer": "test"},
	}
}

func TestHash(t *testing.T) {
	base := Hash(hashTestGraph())
	if len(base) != 64 {
		t.Fatalf("hash %q is not hex sha256", base)
	}
	tests := []struct {
		name   string
		mutate func(g *Graph)
		same   bool
	}{
		{"identical", func(g *Graph) {}, true},
		{"name and meta ignored", func(g *Graph) { g.Name = "other"; g.Meta["producer"] = "x"; g.Opset = 13 }, true},
		{"weight value", func(g *Graph) { g.Consts["w"].F32[3] = 5 }, false},
		{"weight shape", func(g *Graph) { g.Consts["w"].Shape = []int{4, 1} }, false},
		{"attr value", func(g *Graph) { g.Nodes[1].Attrs["alpha"] = Attr{Kind: AttrFloat, Float: 0.2} }, false},
		{"attr kind", func(g *Graph) { g.Nodes[1].Attrs["alpha"] = Attr{Kind: AttrInt, Int: 0} }, false},
		{"op", func(g *Graph) { g.Nodes[1].Op = "Relu" }, false},
		{"input type", func(g *Graph) { g.Inputs[0].Type.Shape[1] = 3 }, false},
		{"quant params", func(g *Graph) { g.Consts["w"].Quant = &Quant{Scale: []float32{1}, ZeroPoint: []int32{0}} }, false},
		{"unused const", func(g *Graph) { g.Consts["extra"] = New(Int8, 1) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := hashTestGraph()
			tc.mutate(g)
			got := Hash(g)
			if (got == base) != tc.same {
				t.Errorf("hash equal to base = %v, want %v", got == base, tc.same)
			}
		})
	}
}

func TestHashNodes(t *testing.T) {
	g := hashTestGraph()
	head, tail, all := HashNodes(g, []int{0}), HashNodes(g, []int{1}), HashNodes(g, []int{0, 1})
	if head == tail || head == all || tail == all {
		t.Fatalf("sub-graph hashes collide: %s %s %s", head, tail, all)
	}
	// The tail does not read w, so changing w leaves its hash alone.
	g.Consts["w"].F32[0] = 9
	if HashNodes(g, []int{1}) != tail {
		t.Error("tail hash changed with a weight it does not read")
	}
	if HashNodes(g, []int{0}) == head {
		t.Error("head hash did not change with its weight")
	}
	// Unused constants do not affect a sub-graph hash.
	g.Consts["extra"] = New(Int8, 1)
	if HashNodes(g, []int{1}) != tail {
		t.Error("tail hash changed with an unused constant")
	}
	if HashNodes(g, []int{5}) == tail {
		t.Error("bad index hashed like a real node")
	}
}
