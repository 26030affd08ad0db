package actcode

import (
	"bytes"
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
	if !strings.Contains(log.String(), "fitting on 300 training images, scoring on the last 200") ||
		strings.Count(log.String(), " bits, dead zone ") != 2 {
		t.Errorf("log %q", log.String())
	}
}
