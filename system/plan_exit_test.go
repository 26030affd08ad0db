package system

import (
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/internal/earlysplit"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/partition"
)

// TestWeighExits: the exit rate a model's head carries reaches the cost
// model under the partitioner's name of the head's cut.
func TestWeighExits(t *testing.T) {
	g, _, cut := earlysplit.Load(t, models.DefaultName)
	b := train.NewBuilder(train.Shape{C: 32, H: 8, W: 8}, 1)
	net, err := b.Build(b.Gemm(b.Flatten(b.Input()), 10))
	if err != nil {
		t.Fatal(err)
	}
	hg, err := net.ToGraph("exit")
	if err != nil {
		t.Fatal(err)
	}
	g = g.Clone()
	if err := earlyexit.Attach(g, &earlyexit.Head{Cut: cut, Threshold: 0.9, Graph: hg, Choice: earlyexit.Choice{ExitRate: 0.7}}); err != nil {
		t.Fatal(err)
	}
	d, err := partition.NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	m := &partition.Model{DAG: d}
	notes, err := weighExits(m, g, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.CutAtTensor(cut)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Exits) != 1 || m.Exits[c.Name].Rate != 0.7 || len(notes) != 1 || !strings.Contains(notes[0], "70.0%") {
		t.Errorf("exits %v, notes %q (cut %s)", m.Exits, notes, c.Name)
	}
}
