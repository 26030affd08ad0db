package partition

import (
	"math"
	"testing"
	"time"
)

// TestLinkEstimatorFromUnknown: without a guess the first samples are the
// estimate; a lone slow request moves nothing; three in a row reset it.
func TestLinkEstimatorFromUnknown(t *testing.T) {
	e := NewLinkEstimator(Link{}, DefaultAlpha, DefaultMinBytes)
	if got := e.Link(); got != (Link{}) {
		t.Fatalf("unknown link: %v", got)
	}
	// Before any round trip is known a request is a round-trip sample.
	if e.Observe(Observation{Bytes: 10000, Network: time.Millisecond}) {
		t.Fatal("a request before any round trip counted as a bandwidth sample")
	}
	if got := e.Link(); got.RTT != time.Millisecond || got.Bandwidth != 0 {
		t.Fatalf("after the first request: %v", got)
	}
	// 10,000 B in 1 ms beyond the round trip: 1e7 B/s, 1e-7 s/B.
	steady := Observation{Bytes: 10000, Network: 2 * time.Millisecond}
	for i := 0; i < 5; i++ {
		if !e.Observe(steady) {
			t.Fatal("not a bandwidth sample")
		}
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-9*want }
	if got := e.Link().Bandwidth; !near(got, 1e7) {
		t.Fatalf("bandwidth %v, want 1e7", got)
	}
	// 100x slower: 1e-5 s/B.
	slow := Observation{Bytes: 10000, Network: time.Millisecond + 100*time.Millisecond}
	e.Observe(slow)
	if got := e.Link().Bandwidth; !near(got, 1e7) {
		t.Errorf("one slow request moved the bandwidth to %v", got)
	}
	e.Observe(slow)
	e.Observe(slow)
	if got := e.Link().Bandwidth; !near(got, 1e5) {
		t.Errorf("after three slow requests bandwidth %v, want the new level 1e5", got)
	}
	if got := e.Link().RTT; got != time.Millisecond {
		t.Errorf("rtt %v moved by bandwidth samples", got)
	}
}
