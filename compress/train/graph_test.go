package train

import (
	"context"
	"math"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestGraphRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func() (*Net, error)
	}{
		{"seednet", func() (*Net, error) { return SeedNet(4, 6, 10, 3) }},
		{"tinyresnet", func() (*Net, error) { return TinyResNet(3) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := tc.make()
			if err != nil {
				t.Fatal(err)
			}
			g, err := n.ToGraph(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if g.Inputs[0].Name != InputName || g.Outputs[0].Name != OutputName {
				t.Errorf("graph io %v -> %v", g.Inputs, g.Outputs)
			}
			m, err := FromGraph(g)
			if err != nil {
				t.Fatal(err)
			}
			if m.NumParams() != n.NumParams() || len(m.Layers) != len(n.Layers) || m.MACs() != n.MACs() {
				t.Errorf("round trip: %d params %d layers %d MACs, want %d %d %d", m.NumParams(), len(m.Layers), m.MACs(), n.NumParams(), len(n.Layers), n.MACs())
			}
			d := randomData(n.Input, 5, 10, 4)
			a, _ := n.Logits(d.Images, 5, 2)
			b, _ := m.Logits(d.Images, 5, 1)
			if md := maxDiff(a, b); md > 1e-5 {
				t.Errorf("logits differ by %g after the round trip", md)
			}
		})
	}
}

// pytorchStyleSeedGraph builds the graph PyTorch exports for the seed
// network family: fused Conv activations (as nn's passes make them), the
// dynamic reshape, Gemm with transB.
func pytorchStyleGraph(t *testing.T) (*nn.Graph, *Net) {
	n, err := SeedNet(3, 4, 8, 9)
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.ToGraph("x")
	if err != nil {
		t.Fatal(err)
	}
	// Replace Flatten by Shape/Gather/Unsqueeze/Concat/Reshape and the first
	// Relu by a fused activation on the conv.
	var nodes []*nn.Node
	for i, nd := range g.Nodes {
		switch {
		case nd.Op == "Flatten":
			g.Consts["zero"] = &nn.Tensor{DType: nn.Int64, Shape: []int{}, I64: []int64{0}}
			g.Consts["minus1"] = &nn.Tensor{DType: nn.Int64, Shape: []int{1}, I64: []int64{-1}}
			nodes = append(nodes,
				&nn.Node{Name: "shape", Op: "Shape", Inputs: []string{nd.Inputs[0]}, Outputs: []string{"s"}},
				&nn.Node{Name: "gather", Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"s0"}},
				&nn.Node{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"s0"}, Outputs: []string{"s1"}},
				&nn.Node{Name: "concat", Op: "Concat", Inputs: []string{"s1", "minus1"}, Outputs: []string{"s2"}, Attrs: map[string]nn.Attr{"axis": {Kind: nn.AttrInt}}},
				&nn.Node{Name: "reshape", Op: "Reshape", Inputs: []string{nd.Inputs[0], "s2"}, Outputs: nd.Outputs})
		case i == 0 && nd.Op == "Conv":
			relu := g.Nodes[1]
			nd.Attrs["activation"] = nn.Attr{Kind: nn.AttrString, Str: "Relu"}
			nd.Outputs = relu.Outputs
			nodes = append(nodes, nd)
		case i == 1:
		default:
			nodes = append(nodes, nd)
		}
	}
	g.Nodes = nodes
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	return g, n
}

func TestFromGraphPyTorchStyle(t *testing.T) {
	g, n := pytorchStyleGraph(t)
	m, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	d := randomData(n.Input, 3, 10, 4)
	a, _ := n.Logits(d.Images, 3, 1)
	b, _ := m.Logits(d.Images, 3, 1)
	if md := maxDiff(a, b); md > 1e-5 {
		t.Errorf("logits differ by %g", md)
	}
}

func TestFromGraphErrors(t *testing.T) {
	n, _ := SeedNet(2, 2, 4, 1)
	base, _ := n.ToGraph("x")
	for _, tc := range []struct {
		name string
		edit func(g *nn.Graph)
	}{
		{"grouped conv", func(g *nn.Graph) { g.Nodes[0].Attrs["group"] = nn.Attr{Kind: nn.AttrInt, Int: 2} }},
		{"dilation", func(g *nn.Graph) { g.Nodes[0].Attrs["dilations"] = nn.Attr{Kind: nn.AttrInts, Ints: []int64{2, 2}} }},
		{"unknown op", func(g *nn.Graph) { g.Nodes[1].Op = "Sigmoid" }},
		{"int8 weight", func(g *nn.Graph) {
			w := g.Nodes[0].Inputs[1]
			g.Consts[w] = &nn.Tensor{DType: nn.Int8, Shape: g.Consts[w].Shape, I8: make([]int8, g.Consts[w].Len())}
		}},
		{"2-D input", func(g *nn.Graph) { g.Inputs[0].Type.Shape = []int{-1, 1024} }},
		{"fused clip", func(g *nn.Graph) { g.Nodes[0].Attrs["activation"] = nn.Attr{Kind: nn.AttrString, Str: "Clip"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := base.Clone()
			for k, v := range base.Consts {
				g.Consts[k] = v
			}
			tc.edit(g)
			if _, err := FromGraph(g); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestPruneGlobalKeepsMask(t *testing.T) {
	n, _ := SeedNet(4, 6, 16, 2)
	total := 0
	for _, p := range n.weightParams() {
		total += len(p.Data)
	}
	k, err := n.PruneGlobal(0.9)
	if err != nil {
		t.Fatal(err)
	}
	if want := int(math.Round(0.9 * float64(total))); k != want {
		t.Errorf("pruned %d, want %d", k, want)
	}
	if s := n.Sparsity(); math.Abs(s-0.9) > 1e-3 {
		t.Errorf("sparsity %v after pruning", s)
	}
	d := randomData(n.Input, 64, 10, 3)
	if _, err := Fit(context.Background(), n, d, Config{Epochs: 2, Batch: 16, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if s := n.Sparsity(); math.Abs(s-0.9) > 1e-3 {
		t.Errorf("sparsity %v after fine-tuning, want 0.9 kept", s)
	}
	for _, p := range n.weightParams() {
		for j, v := range p.Data {
			if v == 0 && math.Signbit(float64(v)) {
				t.Fatalf("%s[%d] is -0: pruned weights must be +0", p.Name, j)
			}
		}
	}
	for _, bad := range []float64{-0.1, 1, math.NaN()} {
		if _, err := n.PruneGlobal(bad); err == nil {
			t.Errorf("sparsity %v: no error", bad)
		}
	}
}

func TestPruneChannelsRemovesDeadChannels(t *testing.T) {
	n, _ := SeedNet(6, 8, 10, 4)
	// Make channels 1,3,5 of conv1 and 0,2,4,6 of conv2 dead (zero filter
	// and bias): removing them must not change the logits, which checks the
	// input-channel selection of the next conv and of the fc after flatten.
	convs := []*Layer{}
	for _, l := range n.Layers {
		if l.Kind == Conv {
			convs = append(convs, l)
		}
	}
	kill := func(l *Layer, chans ...int) {
		rows := len(l.W.Data) / l.outShape.C
		for _, c := range chans {
			clear(l.W.Data[c*rows : (c+1)*rows])
			l.B.Data[c] = 0
		}
	}
	kill(convs[0], 1, 3, 5)
	kill(convs[1], 0, 2, 4, 6)
	d := randomData(n.Input, 4, 10, 5)
	before, _ := n.Logits(d.Images, 4, 1)
	macs := n.MACs()
	removed, err := n.PruneChannels(0.5)
	if err != nil {
		t.Fatal(err)
	}
	if removed != 3+4 {
		t.Errorf("removed %d channels, want 7", removed)
	}
	after, _ := n.Logits(d.Images, 4, 1)
	if md := maxDiff(before, after); md > 1e-5 {
		t.Errorf("logits changed by %g", md)
	}
	if n.Values[n.Layers[len(n.Layers)-1].In[0]].C != 10 || n.MACs() >= macs*6/10 {
		t.Errorf("MACs %d -> %d", macs, n.MACs())
	}
	// The pruned net still trains and exports.
	if _, err := Fit(context.Background(), n, randomData(n.Input, 8, 10, 1), Config{Batch: 4}); err != nil {
		t.Fatal(err)
	}
	g, err := n.ToGraph("pruned")
	if err != nil {
		t.Fatal(err)
	}
	if w := g.Consts[g.Nodes[0].Inputs[1]]; w.Shape[0] != 3 {
		t.Errorf("exported conv1 weight %v", w.Shape)
	}
}

func TestPruneChannelsSkipsResidual(t *testing.T) {
	n, _ := TinyResNet(1)
	macs := n.MACs()
	removed, err := n.PruneChannels(0.5)
	if err != nil {
		t.Fatal(err)
	}
	// Only the first conv of each block feeds a single conv (3 convs).
	if removed != 8+16+32 {
		t.Errorf("removed %d channels, want 56", removed)
	}
	if n.MACs() >= macs {
		t.Errorf("MACs %d -> %d", macs, n.MACs())
	}
	d := randomData(n.Input, 2, 10, 5)
	if _, err := Fit(context.Background(), n, d, Config{Batch: 2}); err != nil {
		t.Fatal(err)
	}
}
