package models

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
)

func TestDefaultRuns(t *testing.T) {
	g, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		t.Fatalf("inputs %v outputs %v", g.Inputs, g.Outputs)
	}
	for _, n := range g.Nodes {
		if n.Op == "Shape" || n.Op == "Gather" || n.Op == "Concat" {
			t.Errorf("default model still has %s node %s after optimization", n.Op, n.Name)
		}
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	x := nn.New(nn.Float32, 3, 1, 32, 32)
	out, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Shape; len(got) != 2 || got[0] != 3 || got[1] != 10 {
		t.Fatalf("output shape %v, want [3 10]", got)
	}
}

func TestNamesAndUnknown(t *testing.T) {
	names := Names()
	found := false
	for _, n := range names {
		found = found || n == DefaultName
		if !Has(n) {
			t.Errorf("Has(%q) = false", n)
		}
	}
	if !found {
		t.Fatalf("Names() = %v lacks %q", names, DefaultName)
	}
	if _, err := Load("no-such-model"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("Load(unknown) error = %v, want ErrUnknown", err)
	}
	if Has("no-such-model") {
		t.Fatal("Has(unknown) = true")
	}
}

func TestEmbeddedMatchesReference(t *testing.T) {
	ref, err := os.ReadFile(testref.Path(t, "seednet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Bytes("seednet_mnist")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, ref) {
		t.Fatal("models/seednet_mnist.onnx differs from the reference model")
	}
}
