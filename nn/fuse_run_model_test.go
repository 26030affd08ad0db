package nn_test

import (
	"math"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/nn"
)

// TestAddReluFusionTinyResNet: the residual Add+Relu pairs of tinyresnet run
// fused into the Conv before them in the whole program; a slice that also returns the Add outputs runs
// them unfused, and the logits agree bit for bit.
func TestAddReluFusionTinyResNet(t *testing.T) {
	m := "tinyresnet_mnist"
	g, in := loadRef(t, m)
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	outs := append([]string(nil), p.Outputs()...)
	adds := 0
	for _, n := range p.Nodes() {
		if n.Op == "Add" {
			outs = append(outs, n.Outputs[0])
			adds++
		}
	}
	if adds == 0 {
		t.Fatal("tinyresnet has no Add")
	}
	ref, err := p.Slice(p.Inputs(), outs)
	if err != nil {
		t.Fatal(err)
	}
	x := firstImage(in)
	want, err := ref.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	fr := p.NewRunner(1)
	if _, err := fr.Run(x); err != nil {
		t.Fatal(err)
	}
	// Every Add runs inside the Conv before it (the observer is told it
	// took no time), and so does its Relu.
	ran := map[string]bool{}
	fr.SetObserver(func(n *nn.Node, d time.Duration) {
		if d > 0 {
			ran[n.Op] = true
		}
	})
	got, err := fr.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	if ran["Add"] || ran["Relu"] || !ran["Conv"] {
		t.Fatalf("ops that ran a kernel: %v, want Conv and neither Add nor Relu", ran)
	}
	for i, v := range got[0].F32 {
		if math.Float32bits(v) != math.Float32bits(want[0].F32[i]) {
			t.Fatalf("logit %d = %v, unfused %v", i, v, want[0].F32[i])
		}
	}
	// The Add outputs of the unfused slice are pre-Relu: some are negative.
	neg := false
	for _, a := range want[1:] {
		for _, v := range a.F32 {
			neg = neg || v < 0
		}
	}
	if !neg {
		t.Fatal("no negative Add output: slice returned post-Relu values")
	}
}
