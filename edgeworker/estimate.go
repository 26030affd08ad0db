package edgeworker

import (
	"sync"
	"time"
)

// estimateAlpha is the EWMA weight of a new sample.
const estimateAlpha = 0.2

// Estimate is the worker's view of the link and of the next request's
// latency, written on every request span (trace.AttrBandwidthBps,
// AttrRTTms, AttrPredictedMs) before the request runs.
type Estimate struct {
	// BandwidthBps is the link's estimated bandwidth in bytes per second
	// (0 while unknown).
	BandwidthBps float64
	// RTT is the round trip of an empty message to the NATS server:
	// measured once when the worker starts (a PING), lowered when a
	// request's network time is shorter.
	RTT time.Duration
	// Predicted is the latency predicted for a request of the last wire
	// size: the EWMAs of the edge compute, encode, cloud (queue, decode,
	// compute) and reply decode times plus RTT + bytes / bandwidth (0
	// before the first answered request).
	Predicted time.Duration
}

// estimator keeps EWMAs of the stage times and of the link.
type estimator struct {
	mu      sync.Mutex
	n       int
	rtt     float64 // seconds; 0 unknown
	secPerB float64 // seconds per byte; 0 unknown
	bytes   float64 // request + reply bytes of the last request
	edge    float64 // seconds: edge compute + encode + reply decode
	cloud   float64 // seconds: queue + decode + compute
}

func ewma(old, v float64, first bool) float64 {
	if first {
		return v
	}
	return old + estimateAlpha*(v-old)
}

// setRTT records a measured round trip.
func (e *estimator) setRTT(d time.Duration) {
	e.mu.Lock()
	e.rtt = d.Seconds()
	e.mu.Unlock()
}

// get returns the current estimate.
func (e *estimator) get() Estimate {
	e.mu.Lock()
	defer e.mu.Unlock()
	var est Estimate
	if e.secPerB > 0 {
		est.BandwidthBps = 1 / e.secPerB
	}
	est.RTT = time.Duration(e.rtt * 1e9)
	if e.n > 0 {
		est.Predicted = time.Duration((e.edge + e.cloud + e.rtt + e.bytes*e.secPerB) * 1e9)
	}
	return est
}

// observe learns from one answered request (first attempt, from the cloud).
func (e *estimator) observe(t Timings, bytes int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	first := e.n == 0
	e.n++
	e.edge = ewma(e.edge, (t.EdgeCompute + t.Encode + t.Decode).Seconds(), first)
	e.cloud = ewma(e.cloud, (t.CloudQueue + t.CloudDecode + t.CloudCompute).Seconds(), first)
	e.bytes = float64(bytes)
	net := t.Transit.Seconds()
	if e.rtt == 0 || net < e.rtt {
		e.rtt = net // no PING measurement, or the network was faster than it
	}
	// The time beyond the round trip is the transfer of the bytes.
	if extra := net - e.rtt; extra > 0 && bytes > 0 {
		e.secPerB = ewma(e.secPerB, extra/float64(bytes), e.secPerB == 0)
	}
}
