package actcode

import (
	"fmt"
	"io"

	"github.com/splitinfer/splitinfer/nn"
)

// TuneAndAttach tunes codecs at tensor name of g (prog is g compiled) on
// fitImages, scoring them on the held-back images and labels (Cut.Tune),
// writes a line per step and per candidate to log (nil: none), and stores
// the chosen codec in g (Attach) beside the tuning record of every width
// (NewRecord, AttachRecord). It fails when no candidate keeps the
// accuracy within cfg.MaxAccuracyDrop.
func TuneAndAttach(g *nn.Graph, prog *nn.Program, name string, fitImages, heldImages *nn.Tensor, heldLabels []uint8, cfg TuneConfig, log io.Writer) (*Tuning, error) {
	if log == nil {
		log = io.Discard
	}
	cut, err := NewCut(prog, name)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "activation codec at %s (%dx%dx%d): fitting on %d training images, scoring on the last %d\n",
		name, cut.C, cut.H, cut.W, fitImages.Shape[0], heldImages.Shape[0])
	tu, err := cut.Tune(fitImages, heldImages, heldLabels, cfg)
	if err != nil {
		return nil, err
	}
	for _, c := range tu.Candidates {
		fmt.Fprintf(log, "  %d bits, dead zone %.2f: %.1f bytes, %.3f bits/element, accuracy %.4f (uncoded %.4f)\n",
			c.Bits, c.DeadZone, c.Bytes, c.BitsPerElement, c.Accuracy, tu.Uncoded.Accuracy)
	}
	drop := cfg.MaxAccuracyDrop
	if drop == 0 {
		drop = 0.002 // Tune's default
	}
	if tu.Chosen < 0 {
		return tu, fmt.Errorf("no activation codec at %s keeps the accuracy within %v of %.4f", name, drop, tu.Uncoded.Accuracy)
	}
	rec, err := NewRecord(tu, drop)
	if err != nil {
		return tu, err
	}
	if err := AttachRecord(g, name, rec); err != nil {
		return tu, err
	}
	return tu, Attach(g, name, tu.Candidates[tu.Chosen].Codec)
}
