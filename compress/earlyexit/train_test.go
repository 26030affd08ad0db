package earlyexit_test

import (
	"context"
	"testing"

	"github.com/splitinfer/splitinfer/compress/actcode"
	. "github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/internal/earlysplit"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
)

// TestTrainThroughCodec: with a codec at the cut, the threshold is chosen
// against the split as it runs (the tail fed decoded activations): the
// choice's split accuracy is the codec's, and the accuracy with early exit
// stays within the budget of the whole model's.
func TestTrainThroughCodec(t *testing.T) {
	g, prog, cut := earlysplit.Load(t, models.DefaultName)
	data := func(lo, hi int) Data {
		x, labels := earlysplit.Images(t, lo, hi)
		return Data{Images: x, Labels: labels}
	}
	fit, held := data(0, 1500), data(1500, 2500)
	ac, err := actcode.NewCut(prog, cut)
	if err != nil {
		t.Fatal(err)
	}
	// A 1-bit codec loses accuracy (a point or more) the threshold must account for.
	samples, err := ac.Samples(fit.Images, 2)
	if err != nil {
		t.Fatal(err)
	}
	cd, err := ac.Fit(samples, actcode.FitConfig{Bits: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := actcode.Attach(g, cut, cd); err != nil {
		t.Fatal(err)
	}
	coded, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	split, _, err := ac.Predict(cd, held.Images, held.Labels, 2)
	if err != nil {
		t.Fatal(err)
	}
	const drop = 0.05
	h, err := Train(context.Background(), coded, cut, fit, held, Config{MaxAccuracyDrop: drop, Epochs: 1, Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	c := h.Choice
	if c.SplitAccuracy != split.Accuracy || c.SplitAccuracy >= c.WholeAccuracy {
		t.Errorf("split accuracy %.4f, through the codec %.4f, whole %.4f", c.SplitAccuracy, split.Accuracy, c.WholeAccuracy)
	}
	if c.ExitRate == 0 || c.Accuracy < c.WholeAccuracy-drop-1e-9 {
		t.Errorf("exit rate %.3f, accuracy with exit %.4f, whole %.4f, budget %v", c.ExitRate, c.Accuracy, c.WholeAccuracy, drop)
	}
	t.Logf("%+v", c)
}
