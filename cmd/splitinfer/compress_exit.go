package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/nn"
)

// exitFlags are compress's flags for an early-exit head at a cut.
type exitFlags struct {
	cut                  string
	fitN, heldN, epochs  int
	hidden               int
	defaultDrop, maxDrop float64
}

// exitDefaultDrop is --max-accuracy-drop's default for the exit head (the
// flag's own default is the activation codec's).
const exitDefaultDrop = 0.001

func (e *exitFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&e.cut, "exit", "", "train an early-exit head at this cut tensor (early: the default early cut), distilled from the model; its threshold keeps accuracy within --max-accuracy-drop (default 0.001 here) of the whole model on held-back training images")
	fs.IntVar(&e.fitN, "exit-fit", 20000, "training images the exit head is distilled on (the first N)")
	fs.IntVar(&e.heldN, "exit-held", 10000, "held-back training images the exit threshold is chosen on (the last N)")
	fs.IntVar(&e.epochs, "exit-epochs", 4, "distillation epochs of the exit head")
	fs.IntVar(&e.hidden, "exit-hidden", 0, "width of a hidden layer in the exit head (0: linear)")
}

// drop returns the accuracy drop the exit head may cost: the flag's value
// when given, else exitDefaultDrop.
func (e *exitFlags) drop(fs *flag.FlagSet, value float64) float64 {
	d := exitDefaultDrop
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "max-accuracy-drop" {
			d = value
		}
	})
	return d
}

func (e *exitFlags) check() error {
	if e.fitN < 1 || e.heldN < 1 || e.fitN+e.heldN > 60000 {
		return fmt.Errorf("--exit-fit %d and --exit-held %d: want at least 1 each, 60000 together", e.fitN, e.heldN)
	}
	if e.epochs < 1 || e.hidden < 0 {
		return fmt.Errorf("--exit-epochs %d, --exit-hidden %d: want at least 1 epoch and a width of 0 or more", e.epochs, e.hidden)
	}
	if !(e.maxDrop > 0 && e.maxDrop < 1) {
		return fmt.Errorf("--max-accuracy-drop %v: want a value in (0, 1)", e.maxDrop)
	}
	return nil
}

// attach trains the exit head on g (the compressed model, as the edge
// will run it) and stores it in g.
func (e *exitFlags) attach(ctx context.Context, g *nn.Graph, rep *compressReport, threads int, stderr io.Writer) error {
	if !evaluate.MNISTShaped(g) {
		return fmt.Errorf("an early-exit head (--exit) needs images of the model's input, and splitinfer's data is MNIST [N,1,%d,%d] while the model takes %v", mnist.Rows, mnist.Cols, g.Inputs[0].Type)
	}
	d, err := loadFitHeld(g, e.cut, e.fitN, e.heldN)
	if err != nil {
		return err
	}
	name := d.cut
	fit := earlyexit.Data{Images: d.fit, Labels: d.fitLabels}
	held := earlyexit.Data{Images: d.held, Labels: d.heldLabels}
	fmt.Fprintf(stderr, "exit head at %s: distilling on %d training images, choosing the threshold on the last %d (accuracy drop at most %v)\n", name, e.fitN, e.heldN, e.maxDrop)
	h, err := earlyexit.Train(ctx, d.prog, name, fit, held, earlyexit.Config{MaxAccuracyDrop: e.maxDrop, Epochs: e.epochs,
		Hidden: e.hidden, Threads: threads})
	if err != nil {
		return err
	}
	c := h.Choice
	fmt.Fprintf(stderr, "  threshold %.4f: exits %.1f%% of held-back images, accuracy %.4f (whole model %.4f, split %.4f, head alone %.4f)\n",
		c.Threshold, 100*c.ExitRate, c.Accuracy, c.WholeAccuracy, c.SplitAccuracy, c.HeadAccuracy)
	rep.ExitCut, rep.Exit = name, &c
	return earlyexit.Attach(g, h)
}
