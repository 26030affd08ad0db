package edgeworker

import (
	"math"
	"testing"
	"time"
)

func TestEstimator(t *testing.T) {
	var e estimator
	if got := e.get(); got != (Estimate{}) {
		t.Fatalf("empty estimator: %+v", got)
	}
	e.setRTT(100 * time.Microsecond)
	if got := e.get(); got.RTT != 100*time.Microsecond || got.BandwidthBps != 0 || got.Predicted != 0 {
		t.Fatalf("after the PING: %+v", got)
	}
	// 10,000 bytes in 100µs beyond the round trip: 1e8 B/s.
	tm := Timings{EdgeCompute: 50 * time.Microsecond, Encode: 10 * time.Microsecond, Decode: 5 * time.Microsecond,
		CloudQueue: 5 * time.Microsecond, CloudDecode: 10 * time.Microsecond, CloudCompute: 40 * time.Microsecond,
		Transit: 200 * time.Microsecond}
	e.observe(tm, 10000)
	got := e.get()
	if math.Abs(got.BandwidthBps-1e8)/1e8 > 1e-9 || got.RTT != 100*time.Microsecond {
		t.Errorf("after one request: %+v", got)
	}
	// Predicted: edge 65 + cloud 55 + RTT 100 + transfer 100 = 320µs.
	if d := got.Predicted - 320*time.Microsecond; d < -time.Nanosecond || d > time.Nanosecond {
		t.Errorf("predicted %v, want 320µs", got.Predicted)
	}
	// A small request is a round-trip sample: median of (100, 80)µs = 90,
	// averaged half way with the PING (the second sample): 95µs.
	tm.Transit = 80*time.Microsecond + 100*10*time.Nanosecond // 100 B at 1e8 B/s
	e.observe(tm, 100)
	if got := e.get(); got.RTT != 95*time.Microsecond || math.Abs(got.BandwidthBps-1e8)/1e8 > 1e-9 {
		t.Errorf("after a small request: %+v", got)
	}
	// A slower transfer (2e-8 s/B): median of (1e-8, 2e-8), half way as
	// the second sample: 1.25e-8 s/B.
	tm.Transit = 95*time.Microsecond + 200*time.Microsecond
	e.observe(tm, 10000)
	if got, want := e.get().BandwidthBps, 1/1.25e-8; math.Abs(got-want)/want > 1e-9 {
		t.Errorf("bandwidth %v, want %v", got, want)
	}
}
