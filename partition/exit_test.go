package partition

import (
	"math"
	"testing"
	"time"
)

// TestExitRateWeighsPrediction: a cut with an early-exit head predicts
// its edge part plus the head, and the rest weighed by the requests that
// do not exit; Best (min cut plus the exit cuts) agrees with Exhaustive.
func TestExitRateWeighsPrediction(t *testing.T) {
	m := chainModel(t)
	l := Link{Bandwidth: mbit(10), RTT: 20 * time.Millisecond}
	before, err := m.Best(l)
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.DAG.CutAtTensor("t2")
	if err != nil || c.Name != "after:n2" {
		t.Fatal(c, err)
	}
	plain, err := m.Predict(c, l)
	if err != nil {
		t.Fatal(err)
	}
	if before.Cut.Name == c.Name {
		t.Fatalf("without an exit head the best cut is already %s", c.Name)
	}
	m.Exits = map[string]Exit{c.Name: {Rate: 0.9, HeadMS: 0.5}}
	e, err := m.Predict(c, l)
	if err != nil {
		t.Fatal(err)
	}
	sent := plain.TotalMS - plain.EdgeMS
	if want := plain.EdgeMS + 0.5 + 0.1*sent; math.Abs(e.TotalMS-want) > 1e-9 || e.ExitRate != 0.9 || e.ExitMS != 0.5 || e.Bytes != plain.Bytes {
		t.Errorf("with exit: %+v, want total %v", e, want)
	}
	best, err := m.Best(l)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := m.Exhaustive(l, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	if best.Cut.Name != c.Name || math.Abs(best.TotalMS-ex.TotalMS) > 1e-9 {
		t.Errorf("best %s (%.3f ms), exhaustive %s (%.3f ms); before the head %s (%.3f ms)", best.Cut.Name, best.TotalMS, ex.Cut.Name, ex.TotalMS, before.Cut.Name, before.TotalMS)
	}
	// A rate of 0 changes nothing but the head's time.
	m.Exits[c.Name] = Exit{}
	if e, _ := m.Predict(c, l); math.Abs(e.TotalMS-plain.TotalMS) > 1e-9 {
		t.Errorf("rate 0: %.3f ms, without a head %.3f", e.TotalMS, plain.TotalMS)
	}
}

func TestExitRateChecked(t *testing.T) {
	m := chainModel(t)
	m.Exits = map[string]Exit{"after:n2": {Rate: 1.5}}
	if _, err := m.Best(Link{Bandwidth: mbit(10), RTT: time.Millisecond}); err == nil {
		t.Error("an exit rate of 1.5 was accepted")
	}
}
