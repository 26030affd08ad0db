package actcode

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
)

// TestTuneAndAttach: the chosen codec is stored in the graph, and the log
// has the fitting line and a line per candidate.
func TestTuneAndAttach(t *testing.T) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	images := func(lo, hi int) *nn.Tensor {
		x, err := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	const cutName = "MaxPool_5_out_QuantizeLinear_Output"
	var log bytes.Buffer
	tu, err := TuneAndAttach(g, prog, cutName, images(0, 300), images(300, 500), set.Labels[300:500],
		TuneConfig{Bits: []int{8, 4}, MaxAccuracyDrop: 0.01, Threads: 2}, &log)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Lookup(g, cutName)
	if err != nil || c == nil || c.Fingerprint() != tu.Candidates[tu.Chosen].Codec.Fingerprint() {
		t.Fatalf("chosen codec not attached: %v, %v", c, err)
	}
	rec, codecs, err := LookupRecord(g, cutName)
	if err != nil || rec == nil || len(rec.Widths) != 2 || rec.Widths[0].Bits != 4 || rec.Widths[1].Bits != 8 ||
		rec.HeldImages != 200 || rec.Uncoded != tu.Uncoded.Accuracy {
		t.Fatalf("tuning record %+v, %v", rec, err)
	}
	for i, w := range rec.Widths {
		var c Candidate
		for _, k := range tu.Candidates {
			if k.Bits == w.Bits {
				c = k
			}
		}
		if w.Accuracy != c.Accuracy || w.Bytes != c.Bytes || codecs[i].Fingerprint() != c.Codec.Fingerprint() {
			t.Errorf("%d bits: recorded %+v, tuned %+v", w.Bits, w, c.Score)
		}
	}
	g.Meta[TuningMetaPrefix+cutName] = `{"held_images":1,"uncoded_accuracy":2,"widths":[]}`
	if _, _, err := LookupRecord(g, cutName); !errors.Is(err, ErrFormat) {
		t.Errorf("accuracy 2: %v, want ErrFormat", err)
	}
	if !strings.Contains(log.String(), "fitting on 300 training images, scoring on the last 200") ||
		strings.Count(log.String(), " bits, dead zone ") != 2 {
		t.Errorf("log %q", log.String())
	}
}
