package partition

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/nn"
)

// randomGraph builds a random DAG of n nodes over one input: each node reads
// one to three earlier tensors (the input or node outputs), some nodes
// produce two outputs, and the last node's output is the graph output.
func randomGraph(rng *rand.Rand, n int) *nn.Graph {
	g := &nn.Graph{Name: "random", Inputs: []nn.ValueInfo{{Name: "x"}}, Consts: map[string]*nn.Tensor{"w": nn.New(nn.Float32, 1)}}
	avail := []string{"x"}
	for i := 0; i < n; i++ {
		node := &nn.Node{Name: fmt.Sprintf("n%d", i), Op: "X"}
		k := 1 + rng.Intn(3)
		for j := 0; j < k; j++ {
			// favour recent tensors so graphs look like networks
			lo := len(avail) - 4
			if lo < 0 || rng.Intn(4) == 0 {
				lo = 0
			}
			node.Inputs = append(node.Inputs, avail[lo+rng.Intn(len(avail)-lo)])
		}
		if rng.Intn(5) == 0 {
			node.Inputs = append(node.Inputs, "w")
		}
		outs := 1
		if rng.Intn(6) == 0 {
			outs = 2
		}
		for j := 0; j < outs; j++ {
			o := fmt.Sprintf("t%d_%d", i, j)
			node.Outputs = append(node.Outputs, o)
			avail = append(avail, o)
		}
		g.Nodes = append(g.Nodes, node)
	}
	g.Outputs = []nn.ValueInfo{{Name: g.Nodes[n-1].Outputs[0]}}
	return g
}

// randomModel gives g random edge/cloud times and tensor sizes.
func randomModel(t testing.TB, rng *rand.Rand, g *nn.Graph) *Model {
	d, err := NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	edge := &Profile{NodesMS: map[string]float64{}, Scale: 1 + 4*rng.Float64()}
	cloud := &Profile{NodesMS: map[string]float64{}}
	for _, n := range g.Nodes {
		if rng.Intn(5) > 0 { // some nodes are free (aliases)
			edge.NodesMS[n.Name] = rng.Float64() * 5
			cloud.NodesMS[n.Name] = rng.Float64() * 2
		}
	}
	sizes := &Sizes{Overhead: rng.Intn(100), Bytes: map[string]int{}, EncodeMS: map[string]float64{}}
	for _, x := range d.tensors {
		sizes.Bytes[x.name] = rng.Intn(200000)
		sizes.EncodeMS[x.name] = rng.Float64() * 0.2
	}
	m, err := NewModel(d, edge, cloud, sizes)
	if err != nil {
		t.Fatal(err)
	}
	m.DecodeFactor = 0.5 + rng.Float64()
	return m
}

// TestBestMatchesExhaustive is the property test: on random small DAGs,
// costs and links, the min-cut choice costs exactly what the best of all
// closed sets costs, and it is a closed set.
func TestBestMatchesExhaustive(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < 400; trial++ {
		g := randomGraph(rng, 1+rng.Intn(12))
		m := randomModel(t, rng, g)
		l := Link{Bandwidth: math.Pow(10, 4+3*rng.Float64()), RTT: time.Duration(rng.Intn(50)) * time.Millisecond}
		best, err := m.Best(l)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := m.Exhaustive(l, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(best.TotalMS-ex.TotalMS) > 1e-6*math.Max(1, ex.TotalMS) {
			t.Fatalf("trial %d: min cut %s costs %.6f, exhaustive %s costs %.6f", trial, best.Cut.Name, best.TotalMS, ex.Cut.Name, ex.TotalMS)
		}
		onEdge := make([]bool, m.DAG.Len())
		for _, v := range best.Cut.Edge {
			onEdge[v] = true
		}
		if _, err := m.DAG.CutOf(onEdge); err != nil {
			t.Fatalf("trial %d: min cut is not closed: %v", trial, err)
		}
		back, err := m.DAG.CutByName(best.Cut.Name)
		if err != nil || fmt.Sprint(back) != fmt.Sprint(best.Cut) {
			t.Fatalf("trial %d: CutByName(%q) = %v, %v; want %v", trial, best.Cut.Name, back, err, best.Cut)
		}
	}
}

// diamond: x -> a -> {b, c} -> add -> fc, with a's output read twice.
func diamond() *nn.Graph {
	return &nn.Graph{
		Name:   "diamond",
		Inputs: []nn.ValueInfo{{Name: "x"}},
		Nodes: []*nn.Node{
			{Name: "a", Op: "Conv", Inputs: []string{"x"}, Outputs: []string{"ta"}},
			{Name: "b", Op: "Conv", Inputs: []string{"ta"}, Outputs: []string{"tb"}},
			{Name: "c", Op: "Relu", Inputs: []string{"ta"}, Outputs: []string{"tc"}},
			{Name: "add", Op: "Add", Inputs: []string{"tb", "tc"}, Outputs: []string{"ts"}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"ts"}, Outputs: []string{"y"}},
		},
		Outputs: []nn.ValueInfo{{Name: "y"}},
	}
}

func TestCutsOfDiamond(t *testing.T) {
	d, err := NewDAG(diamond())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := d.EnumerateCuts(100, func(c Cut) bool { names = append(names, c.Name+fmt.Sprint(c.Tensors)); return true }); err != nil {
		t.Fatal(err)
	}
	want := []string{"cloud-only[x]", "after:a[ta]", "after:c[ta tc]", "after:b[ta tb]", "after:b+c[tb tc]", "after:add[ts]", "edge-only[]"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Fatalf("cuts\n got %v\nwant %v", names, want)
	}
	if err := d.EnumerateCuts(6, func(Cut) bool { return true }); !errors.Is(err, ErrTooBig) {
		t.Fatalf("limit 6: err %v, want ErrTooBig", err)
	}
	if _, err := d.CutOf([]bool{false, true, false, false, false}); !errors.Is(err, ErrCut) {
		t.Fatalf("open set accepted: %v", err)
	}
	for _, bad := range []string{"after:zz", "after:", "somewhere", "after:a+b"} {
		if _, err := d.CutByName(bad); !errors.Is(err, ErrCut) {
			t.Errorf("CutByName(%q): err %v, want ErrCut", bad, err)
		}
	}
	var pre []string
	for _, c := range d.Prefixes(true) {
		pre = append(pre, c.Name)
	}
	if want := "[cloud-only after:a after:add edge-only]"; fmt.Sprint(pre) != want {
		t.Fatalf("natural cuts %v, want %s", pre, want)
	}
}

// TestTransferCountedOnce: ta is read by b and c; sending it must cost its
// bytes once, in Predict and in the min cut alike.
func TestTransferCountedOnce(t *testing.T) {
	d, _ := NewDAG(diamond())
	edge := &Profile{NodesMS: map[string]float64{"a": 1, "b": 100, "c": 100, "add": 1, "fc": 1}}
	cloud := &Profile{NodesMS: map[string]float64{"a": 50, "b": 1, "c": 1, "add": 1, "fc": 1}}
	sizes := &Sizes{Overhead: 0, Bytes: map[string]int{"x": 1000000, "ta": 1000, "tb": 1000, "tc": 1000, "ts": 1000, "y": 40}}
	m, err := NewModel(d, edge, cloud, sizes)
	if err != nil {
		t.Fatal(err)
	}
	l := Link{Bandwidth: 1e6, RTT: 10 * time.Millisecond} // 1 ms per 1000 bytes
	best, err := m.Best(l)
	if err != nil {
		t.Fatal(err)
	}
	if best.Cut.Name != "after:a" || best.Bytes != 1000 {
		t.Fatalf("best %s (%d bytes), want after:a (1000 bytes)", best.Cut.Name, best.Bytes)
	}
	// edge 1 + transfer 1 + rtt 10 + cloud 1+1+1+1
	if want := 16.0; math.Abs(best.TotalMS-want) > 1e-9 {
		t.Fatalf("predicted %.3f ms, want %.3f", best.TotalMS, want)
	}
}

// TestMaxBytes: with a transport limit, Best never returns a cut whose
// request is too big, never beats the exhaustive search and is never worse
// than a feasible prefix cut.
func TestMaxBytes(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	exact := 0
	const trials = 300
	for trial := 0; trial < trials; trial++ {
		g := randomGraph(rng, 1+rng.Intn(10))
		m := randomModel(t, rng, g)
		m.MaxBytes = 50000 + rng.Intn(250000)
		l := Link{Bandwidth: math.Pow(10, 5+3*rng.Float64()), RTT: time.Duration(rng.Intn(30)) * time.Millisecond}
		best, err := m.Best(l)
		if err != nil {
			t.Fatal(err)
		}
		if best.Infeasible || (!best.Cut.IsEdgeOnly() && best.Bytes > m.MaxBytes) {
			t.Fatalf("trial %d: infeasible choice %s (%d bytes > %d)", trial, best.Cut.Name, best.Bytes, m.MaxBytes)
		}
		ex, err := m.Exhaustive(l, 1<<16)
		if err != nil {
			t.Fatal(err)
		}
		if best.TotalMS < ex.TotalMS-1e-6 {
			t.Fatalf("trial %d: min cut %.4f beats exhaustive %.4f", trial, best.TotalMS, ex.TotalMS)
		}
		if math.Abs(best.TotalMS-ex.TotalMS) <= 1e-6*math.Max(1, ex.TotalMS) {
			exact++
		}
		for _, c := range m.DAG.Prefixes(false) {
			e, _ := m.Predict(c, l)
			if !e.Infeasible && e.TotalMS < best.TotalMS-1e-6 {
				t.Fatalf("trial %d: feasible prefix %s (%.3f) beats the choice %s (%.3f)", trial, c.Name, e.TotalMS, best.Cut.Name, best.TotalMS)
			}
		}
	}
	t.Logf("%d of %d choices exactly optimal under the size limit", exact, trials)
	if exact < trials*9/10 {
		t.Fatalf("only %d of %d choices optimal", exact, trials)
	}
}
