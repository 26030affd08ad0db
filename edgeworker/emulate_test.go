package edgeworker

import (
	"errors"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/partition"
)

func spin(d time.Duration) float64 {
	x := 1.0
	for t0 := time.Now(); time.Since(t0) < d; {
		for i := 0; i < 1000; i++ {
			x = x*1.0000001 + 1e-9
		}
	}
	return x
}

func TestEmulateSlower(t *testing.T) {
	compute, emulated, err := EmulateSlower(3, func() error { spin(5 * time.Millisecond); return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compute %v, emulated %v", compute, emulated)
	if compute <= 0 || compute > 50*time.Millisecond {
		t.Fatalf("compute %v for 5ms of spinning", compute)
	}
	if emulated < 3*compute {
		t.Fatalf("emulated %v < 3 x compute %v", emulated, compute)
	}
	boom := errors.New("boom")
	if _, _, err := EmulateSlower(2, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("error not passed through: %v", err)
	}
	for _, f := range []float64{0.5, 0, -1} {
		if _, _, err := EmulateSlower(f, func() error { return nil }); err == nil {
			t.Errorf("factor %v accepted", f)
		}
	}
}

// TestEmulateSlowerSmall: a head of a few tens of microseconds is emulated
// 4x slower without the timer's overshoot (up to a millisecond with a plain
// time.Sleep): the median emulated time over 21 runs stays within 0.5 ms
// of 4 x the median CPU time.
func TestEmulateSlowerSmall(t *testing.T) {
	var comp, emu []float64
	for i := 0; i < 21; i++ {
		c, e, err := EmulateSlower(4, func() error { spin(30 * time.Microsecond); return nil })
		if err != nil {
			t.Fatal(err)
		}
		comp, emu = append(comp, float64(c)), append(emu, float64(e))
	}
	c, e := time.Duration(partition.Median(comp)), time.Duration(partition.Median(emu))
	if e < 3*c || e > 4*c+500*time.Microsecond {
		t.Fatalf("median emulated %v for a median compute of %v (want about 4x)", e, c)
	}
}
