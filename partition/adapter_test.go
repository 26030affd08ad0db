package partition

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/nn"
)

// chainModel is a five-layer chain shaped like a CNN on a big input: the
// first layer widens the activation, later ones shrink it; the edge is 4x
// slower than the cloud.
func chainModel(t testing.TB) *Model {
	g := &nn.Graph{Name: "chain", Inputs: []nn.ValueInfo{{Name: "x"}}, Outputs: []nn.ValueInfo{{Name: "t5"}}}
	prev := "x"
	for i := 1; i <= 5; i++ {
		o := fmt.Sprintf("t%d", i)
		g.Nodes = append(g.Nodes, &nn.Node{Name: fmt.Sprintf("n%d", i), Op: "Conv", Inputs: []string{prev}, Outputs: []string{o}})
		prev = o
	}
	d, err := NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	cloud := &Profile{NodesMS: map[string]float64{"n1": 4, "n2": 4, "n3": 4, "n4": 4, "n5": 4}}
	edge := cloud.Scaled(4)
	sizes := &Sizes{Overhead: 100, Bytes: map[string]int{"x": 150000, "t1": 400000, "t2": 100000, "t3": 25000, "t4": 4000, "t5": 40}}
	m, err := NewModel(d, edge, cloud, sizes)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mbit(f float64) float64 { return f * 1e6 / 8 }

// simLink produces noisy observations of a link: ±20% jitter on the round
// trip and on the transfer, and one request in 20 delayed by 30 ms.
type simLink struct {
	rng *rand.Rand
	l   Link
}

func (s *simLink) network(bytes int) time.Duration {
	j := func() float64 { return 1 + 0.4*(s.rng.Float64()-0.5) }
	sec := s.l.RTT.Seconds()*j() + float64(bytes)/s.l.Bandwidth*j()
	if s.rng.Intn(20) == 0 {
		sec += 0.030
	}
	return time.Duration(sec * 1e9)
}

// request runs one request through the adapter on the simulated link.
func (s *simLink) request(t *testing.T, m *Model, a *Adapter) {
	t.Helper()
	c := a.Next()
	if n, ok := a.NeedProbe(); ok {
		if _, err := a.Observe(Observation{Bytes: n, Network: s.network(n)}); err != nil {
			t.Fatal(err)
		}
	}
	if s.rng.Intn(5) == 0 {
		a.ObserveRTT(s.network(0))
	}
	if c.IsEdgeOnly() {
		return // no request leaves the edge
	}
	e, err := m.Predict(c, a.Link())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Observe(Observation{Bytes: e.Bytes, Network: s.network(e.Bytes)}); err != nil {
		t.Fatal(err)
	}
}

func TestAdapterMovesWhenLinkDrops(t *testing.T) {
	m := chainModel(t)
	fast := Link{Bandwidth: mbit(100), RTT: 20 * time.Millisecond}
	slow := Link{Bandwidth: mbit(1), RTT: 20 * time.Millisecond}
	bestFast, _ := m.Best(fast)
	bestSlow, _ := m.Best(slow)
	if bestFast.Cut.Name == bestSlow.Cut.Name {
		t.Fatalf("test model has the same best cut %s on both links", bestFast.Cut.Name)
	}
	for seed := int64(0); seed < 20; seed++ {
		sim := &simLink{rng: rand.New(rand.NewSource(seed)), l: fast}
		a, err := NewAdapter(m, Link{Bandwidth: mbit(10), RTT: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 150; i++ {
			sim.request(t, m, a)
		}
		if got := a.CutID(); got != bestFast.Cut.Name {
			t.Fatalf("seed %d: after 150 requests at 100 Mbit/s the cut is %s, want %s (estimate %v)", seed, got, bestFast.Cut.Name, a.Link())
		}
		sim.l = slow
		moved := -1
		for i := 1; i <= 10; i++ {
			sim.request(t, m, a)
			if a.CutID() == bestSlow.Cut.Name {
				moved = i
				break
			}
		}
		if moved < 0 {
			t.Fatalf("seed %d: 10 requests after the drop to 1 Mbit/s the cut is %s, want %s (estimate %v)", seed, a.CutID(), bestSlow.Cut.Name, a.Link())
		}
		if seed == 0 {
			t.Logf("moved from %s to %s %d requests after the drop", bestFast.Cut.Name, bestSlow.Cut.Name, moved)
		}
		// Back to the fast link: edge-only sends nothing, so only the
		// probes (one per 10 requests) can show it; three in a row reset
		// the estimate.
		sim.l = fast
		back := -1
		for i := 1; i <= 40 && back < 0; i++ {
			sim.request(t, m, a)
			if a.CutID() == bestFast.Cut.Name {
				back = i
			}
		}
		if back < 0 {
			t.Fatalf("seed %d: 40 requests after the link came back the cut is %s (estimate %v)", seed, a.CutID(), a.Link())
		}
		if seed == 0 {
			t.Logf("moved back %d requests after the link recovered", back)
		}
	}
}

func TestAdapterSteadyLinkDoesNotFlap(t *testing.T) {
	m := chainModel(t)
	// A sweep of bandwidths, including ones near the points where the best
	// cut changes, where noise is most likely to flip the choice.
	var bws []float64
	prev := ""
	for mb := 0.25; mb <= 400; mb *= 1.05 {
		e, _ := m.Best(Link{Bandwidth: mbit(mb), RTT: 20 * time.Millisecond})
		if e.Cut.Name != prev && prev != "" {
			bws = append(bws, mb/1.05, mb)
		}
		prev = e.Cut.Name
		bws = append(bws, mb)
	}
	flaps := 0
	for i, bw := range bws {
		l := Link{Bandwidth: mbit(bw), RTT: 20 * time.Millisecond}
		sim := &simLink{rng: rand.New(rand.NewSource(int64(i))), l: l}
		a, err := NewAdapter(m, l)
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < 300; r++ {
			sim.request(t, m, a)
		}
		if a.Moves() > 1 {
			t.Errorf("steady %.3g Mbit/s: %d moves in 300 requests", bw, a.Moves())
		}
		flaps += a.Moves()
	}
	t.Logf("%d links, %d moves in total", len(bws), flaps)
}
