package earlyexit

import (
	"encoding/base64"
	"errors"
	"math"
	"testing"

	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/nn"
)

func TestChooseThreshold(t *testing.T) {
	// Ten held-back images, most confident first. The whole model is right
	// on all but image 9; the head is wrong on images 3 and 6.
	conf := []float32{0.99, 0.98, 0.97, 0.96, 0.95, 0.95, 0.90, 0.80, 0.70, 0.60}
	labels := []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	whole := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 0}
	head := []int{0, 1, 2, 0, 4, 5, 0, 7, 8, 0}
	cases := []struct {
		drop      float64
		threshold float32
		exitRate  float64
		accuracy  float64
	}{
		// No loss allowed: exit the first three; the fourth (wrong) costs
		// a point.
		{0, 0.97, 0.3, 0.9},
		// One image in ten: up to the head's second mistake, the tie
		// included.
		{0.1, 0.95, 0.6, 0.8},
		// Two: everything (image 9 is wrong either way).
		{0.2, 0.60, 1, 0.7},
	}
	for _, c := range cases {
		got, err := ChooseThreshold(Held{Conf: conf, Head: head, Split: whole, Labels: labels}, c.drop)
		if err != nil {
			t.Fatal(err)
		}
		if got.Threshold != c.threshold || got.ExitRate != c.exitRate || math.Abs(got.Accuracy-c.accuracy) > 1e-12 ||
			got.WholeAccuracy != 0.9 || got.HeadAccuracy != 0.7 || got.Images != 10 {
			t.Errorf("drop %v: %+v, want threshold %v, exit rate %v, accuracy %v", c.drop, got, c.threshold, c.exitRate, c.accuracy)
		}
		// The threshold does what the choice says on the same images.
		exits, correct := 0, 0
		for i := range conf {
			p := whole[i]
			if conf[i] >= got.Threshold {
				exits, p = exits+1, head[i]
			}
			if p == int(labels[i]) {
				correct++
			}
		}
		if float64(exits)/10 != got.ExitRate || math.Abs(float64(correct)/10-got.Accuracy) > 1e-12 {
			t.Errorf("drop %v: threshold %v exits %d and gets %d right, choice says %+v", c.drop, got.Threshold, exits, correct, got)
		}
	}

	// A head wrong on its most confident image never exits.
	got, err := ChooseThreshold(Held{Conf: []float32{0.9, 0.5}, Head: []int{1, 1}, Split: []int{0, 1}, Labels: []uint8{0, 1}}, 0.001)
	if err != nil || got.ExitRate != 0 || got.Threshold <= 1 || got.Accuracy != 1 {
		t.Errorf("never exits: %+v, %v", got, err)
	}
	if _, err := ChooseThreshold(Held{Conf: conf, Head: head[:3], Split: whole, Labels: labels}, 0.1); !errors.Is(err, ErrData) {
		t.Errorf("short predictions: %v", err)
	}
	if _, err := ChooseThreshold(Held{Conf: conf, Head: head, Split: whole, Labels: labels}, math.NaN()); !errors.Is(err, ErrData) {
		t.Errorf("NaN drop: %v", err)
	}
}

// TestChooseThresholdLossySplit: when the split loses accuracy (a low-bit
// codec at the cut), the budget is against the whole model, so the head
// must win back what the split loses before it may lose any itself.
func TestChooseThresholdLossySplit(t *testing.T) {
	conf := []float32{0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.80, 0.70, 0.60, 0.50}
	labels := []uint8{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	whole := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	// The split (coded activations) is wrong on images 1 and 8.
	split := []int{0, 0, 2, 3, 4, 5, 6, 7, 0, 9}
	// The head is wrong only on the least confident image.
	head := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 0}
	h := Held{Conf: conf, Head: head, Split: split, Whole: whole, Labels: labels}
	cases := []struct {
		drop      float64
		threshold float32
		exitRate  float64
		accuracy  float64
	}{
		// No loss against the whole model: the split alone is 0.8, so
		// the head must answer both images the split gets wrong (1 and
		// 8) and not the one it gets wrong itself.
		{0, 0.60, 0.9, 1.0},
		// A point of loss: everything exits.
		{0.1, 0.50, 1, 0.9},
	}
	for _, c := range cases {
		got, err := ChooseThreshold(h, c.drop)
		if err != nil {
			t.Fatal(err)
		}
		if got.Threshold != c.threshold || got.ExitRate != c.exitRate || math.Abs(got.Accuracy-c.accuracy) > 1e-12 ||
			got.WholeAccuracy != 1 || got.SplitAccuracy != 0.8 {
			t.Errorf("drop %v: %+v, want threshold %v, exit rate %v, accuracy %v", c.drop, got, c.threshold, c.exitRate, c.accuracy)
		}
	}
	// A split that loses more than the budget and a head that cannot win
	// it back: no exit (the threshold cannot help).
	if got, err := ChooseThreshold(Held{Conf: conf, Head: split, Split: split, Whole: whole, Labels: labels}, 0.1); err != nil || got.ExitRate != 0 || got.Threshold <= 1 {
		t.Errorf("no gain: %+v, %v", got, err)
	}
	// Without Whole the split is the reference: any exits that keep 0.8.
	got, err := ChooseThreshold(Held{Conf: conf, Head: head, Split: split, Labels: labels}, 0)
	if err != nil || got.ExitRate != 1 || got.WholeAccuracy != 0.8 {
		t.Errorf("split as reference: %+v, %v", got, err)
	}
}

func TestConfidence(t *testing.T) {
	if c := Confidence([]float32{0, 0, 0, 0}); math.Abs(float64(c)-0.25) > 1e-6 {
		t.Errorf("uniform: %v", c)
	}
	if c := Confidence([]float32{100, 0}); c < 0.999999 {
		t.Errorf("peaked: %v", c)
	}
}

func testHead(t *testing.T) *Head {
	t.Helper()
	b := train.NewBuilder(train.Shape{C: 2, H: 8, W: 8}, 1)
	net, err := b.Build(b.Gemm(b.Flatten(b.MaxPool(b.Input(), 2, 2)), 3))
	if err != nil {
		t.Fatal(err)
	}
	g, err := net.ToGraph("exit")
	if err != nil {
		t.Fatal(err)
	}
	return &Head{Cut: "pool2", Threshold: 0.5, Graph: g, Choice: Choice{Threshold: 0.5, Images: 7, ExitRate: 0.25, Accuracy: 0.9, WholeAccuracy: 0.95, SplitAccuracy: 0.93, HeadAccuracy: 0.8}}
}

func TestAttachLookup(t *testing.T) {
	h := testHead(t)
	g := &nn.Graph{}
	if err := Attach(g, h); err != nil {
		t.Fatal(err)
	}
	if cuts := Cuts(g); len(cuts) != 1 || cuts[0] != "pool2" {
		t.Fatalf("cuts %v", cuts)
	}
	got, err := Lookup(g, "pool2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Cut != "pool2" || got.Threshold != 0.5 || got.Choice != h.Choice || nn.Hash(got.Graph) != nn.Hash(h.Graph) {
		t.Errorf("round trip: %+v, want %+v", got, h)
	}
	if none, err := Lookup(g, "other"); none != nil || err != nil {
		t.Errorf("no head: %v, %v", none, err)
	}
	// Version 1 (no split accuracy: it chose against the whole model).
	s := g.Meta[MetaPrefix+"pool2"]
	b, _ := base64.StdEncoding.DecodeString(s)
	v1 := append([]byte{1}, b[1:1+4+8+4*8]...)
	v1 = append(v1, b[fixedLen(formatVersion):]...)
	old, err := Unmarshal(base64.StdEncoding.EncodeToString(v1))
	if want := h.Choice; err != nil || old.Choice != func() Choice { want.SplitAccuracy = want.WholeAccuracy; return want }() {
		t.Errorf("version 1: %+v, %v", old, err)
	}
	// Damaged values are refused with ErrFormat, never a panic.
	for _, bad := range []string{"", "!!", s[:20], s[:len(s)-8] + "AAAAAAAA"} {
		if _, err := Unmarshal(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("%q...: %v", bad[:min(len(bad), 10)], err)
		}
	}
}

func TestDecide(t *testing.T) {
	h := testHead(t)
	if _, err := Compile(h, 10); !errors.Is(err, ErrShape) {
		t.Errorf("output mismatch: %v", err)
	}
	p, err := Compile(h, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(1)
	x := nn.New(nn.Float32, 1, 2, 8, 8)
	for i := range x.F32 {
		x.F32[i] = float32(i%7) - 3
	}
	d, err := r.Decide(x)
	if err != nil {
		t.Fatal(err)
	}
	if d.Exit != (d.Confidence >= 0.5) || (d.Logits != nil) != d.Exit || d.Confidence < 1.0/3 {
		t.Errorf("decision %+v", d)
	}
	p.Head.Threshold = 0 // always exits: the logits are the head's
	d, err = r.Decide(x)
	if err != nil || !d.Exit || d.Logits == nil || Confidence(d.Logits.F32) != d.Confidence {
		t.Errorf("always exit: %+v, %v", d, err)
	}
	if _, err := r.Decide(nn.New(nn.Float32, 1, 2, 4, 4)); !errors.Is(err, ErrShape) {
		t.Errorf("wrong cut size: %v", err)
	}
}
