package bottleneck_test

import (
	"context"
	"errors"
	"testing"

	"github.com/splitinfer/splitinfer/compress/actcode"
	. "github.com/splitinfer/splitinfer/compress/bottleneck"
	"github.com/splitinfer/splitinfer/internal/earlysplit"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
)

// TestInsert: an 8-channel bottleneck at the float seed network's early
// cut (32 channels) keeps the head's weights, narrows the cut 4-fold,
// is recorded as the model's early cut, drops the old cut's codec, and,
// distilled briefly, keeps most of the accuracy on held-out images.
func TestInsert(t *testing.T) {
	g, prog, cut := earlysplit.Load(t, "seednet_mnist")
	x := func(lo, hi int) (*nn.Tensor, []uint8) { return earlysplit.Images(t, lo, hi) }
	g.Meta[actcode.MetaPrefix+cut] = "stale"
	fit, fitLabels := x(0, 3000)
	held, heldLabels := x(5000, 6000)
	out, rep, err := Insert(context.Background(), g, cut, fit, fitLabels, Config{Channels: 8, Epochs: 2, Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Channels != 8 || rep.From != 32 || rep.Elements != 8*8*8 || Tensor(out) != rep.Tensor || out.Meta[actcode.MetaPrefix+cut] != "" {
		t.Fatalf("report %+v, tensor %q, metadata %v", rep, Tensor(out), out.Meta)
	}
	p2, err := nn.Compile(out)
	if err != nil {
		t.Fatal(err)
	}
	early, err := pipeline.EarlyCut(p2)
	if err != nil || early != rep.Tensor {
		t.Fatalf("early cut %q (%v), want the bottleneck %q", early, err, rep.Tensor)
	}
	narrow, err := actcode.NewCut(p2, rep.Tensor)
	if err != nil || narrow.C != 8 || narrow.H != 8 || narrow.W != 8 {
		t.Fatalf("bottleneck cut %+v, %v", narrow, err)
	}
	// The head is the original's: the same nodes up to the cut.
	for i, n := range g.Nodes[:3] {
		if out.Nodes[i] != n {
			t.Fatalf("head node %d changed", i)
		}
	}
	old, err := actcode.NewCut(prog, cut)
	if err != nil {
		t.Fatal(err)
	}
	before, err := old.Evaluate(nil, held, heldLabels, 2)
	if err != nil {
		t.Fatal(err)
	}
	after, err := narrow.Evaluate(nil, held, heldLabels, 2)
	if err != nil {
		t.Fatal(err)
	}
	if after.Accuracy < before.Accuracy-0.03 {
		t.Errorf("accuracy %.4f with the bottleneck, %.4f without", after.Accuracy, before.Accuracy)
	}
	t.Logf("accuracy %.4f -> %.4f, %+v", before.Accuracy, after.Accuracy, rep)

	if _, _, err := Insert(context.Background(), g, cut, fit, fitLabels, Config{Channels: 32}); !errors.Is(err, ErrArg) {
		t.Errorf("as many channels as the cut: %v", err)
	}
}

func TestParseSpec(t *testing.T) {
	for _, tc := range []struct {
		in       string
		cut      string
		channels int
	}{
		{"early:8", "early", 8},
		{"/l3/Relu_1_output_0:16", "/l3/Relu_1_output_0", 16},
		{"a:b:4", "a:b", 4},
		{"early", "", 0},
		{":8", "", 0},
		{"early:0", "", 0},
		{"early:x", "", 0},
	} {
		cut, ch, err := ParseSpec(tc.in)
		if cut != tc.cut || ch != tc.channels || (err != nil) != (tc.channels == 0) {
			t.Errorf("%q: %q, %d, %v", tc.in, cut, ch, err)
		}
		if err != nil && !errors.Is(err, ErrArg) {
			t.Errorf("%q: %v, want ErrArg", tc.in, err)
		}
	}
}

func TestRename(t *testing.T) {
	g := &nn.Graph{Meta: map[string]string{MetaKey: "b"}, Nodes: []*nn.Node{{Op: "QuantizeLinear", Outputs: []string{"b_q"}}}}
	if Rename(g, "missing") || Tensor(g) != "b" {
		t.Errorf("renamed to a tensor no node makes: %q", Tensor(g))
	}
	if !Rename(g, "b_q") || Tensor(g) != "b_q" {
		t.Errorf("rename: %q", Tensor(g))
	}
}
