package train

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestParseArch(t *testing.T) {
	for arch, params := range map[string]int{"seednet": 268362, "8,16,64": 67498, "4,8,32": 17082} {
		n, err := ParseArch(arch, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n.NumParams() != params {
			t.Errorf("%s: %d params, want %d", arch, n.NumParams(), params)
		}
	}
	for _, bad := range []string{"", "8,16", "8,x,64", "0,1,2", "resnet50"} {
		if _, err := ParseArch(bad, 1); err == nil {
			t.Errorf("--arch %q: no error", bad)
		}
	}
}

func TestOptionsCompressGraph(t *testing.T) {
	teacher, err := ParseArch("4,4,16", 1)
	if err != nil {
		t.Fatal(err)
	}
	g, err := teacher.ToGraph("teacher")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	base := Options{LR: 1e-3, Batch: 64, Seed: 1, Optimizer: "adam", Temperature: 4, Alpha: 0.7, Log: &stderr}
	data := mnistSubset(t, 256)

	// Pruning with fine-tuning keeps the architecture and the sparsity.
	o := base
	o.Prune, o.PruneChannels, o.Epochs = 0.8, 0.5, 1
	pg, err := o.CompressGraph(context.Background(), g, data, data)
	if err != nil {
		t.Fatal(err)
	}
	n, err := FromGraph(pg)
	if err != nil {
		t.Fatal(err)
	}
	if n.MACs() >= teacher.MACs()/2 || n.Sparsity() < 0.79 {
		t.Errorf("pruned: %d MACs (from %d), sparsity %v", n.MACs(), teacher.MACs(), n.Sparsity())
	}
	if !strings.Contains(stderr.String(), "before fine-tuning") {
		t.Errorf("no pruning report: %q", stderr.String())
	}

	// A student distilled from the input model.
	o = base
	o.Student, o.Epochs = "2,2,8", 1
	sg, err := o.CompressGraph(context.Background(), g, data, data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromGraph(sg)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := ParseArch("2,2,8", 1); s.NumParams() != want.NumParams() {
		t.Errorf("student has %d params, want %d", s.NumParams(), want.NumParams())
	}

	o = base
	o.Student = "2,2,8" // no epochs
	if _, err := o.CompressGraph(context.Background(), g, data, data); err == nil {
		t.Error("distillation without epochs: no error")
	}
}
