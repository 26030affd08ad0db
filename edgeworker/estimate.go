package edgeworker

import (
	"sync"
	"time"

	"github.com/splitinfer/splitinfer/partition"
)

// Estimate is the worker's view of the link and of the next request's
// latency, written on every request span (trace.AttrBandwidthBps,
// AttrRTTms, AttrPredictedMs) before the request runs.
type Estimate struct {
	// BandwidthBps is the link's estimated bandwidth in bytes per second
	// (0 while unknown).
	BandwidthBps float64
	// RTT is the round trip of an empty message to the NATS server:
	// measured when the worker starts (a PING), then learnt from requests
	// (partition.LinkEstimator).
	RTT time.Duration
	// Predicted is the latency predicted for a request of the last wire
	// size: the EWMAs of the edge compute, encode, cloud (queue, decode,
	// compute) and reply decode times plus RTT + bytes / bandwidth (0
	// before the first answered request).
	Predicted time.Duration
}

// estimator keeps EWMAs of the stage times; the link is estimated by
// partition's LinkEstimator, the one the adaptive edge's cut choice uses.
type estimator struct {
	mu    sync.Mutex
	link  *partition.LinkEstimator // nil until first used
	n     int
	bytes float64 // request + reply bytes of the last request
	edge  float64 // seconds: edge compute + encode + reply decode
	cloud float64 // seconds: queue + decode + compute
}

func ewma(old, v float64, first bool) float64 {
	if first {
		return v
	}
	return old + partition.DefaultAlpha*(v-old)
}

// linkEst returns the link estimator, made on first use (e.mu held).
func (e *estimator) linkEst() *partition.LinkEstimator {
	if e.link == nil {
		e.link = partition.NewLinkEstimator(partition.Link{}, partition.DefaultAlpha, partition.DefaultMinBytes)
	}
	return e.link
}

// setRTT records a measured round trip.
func (e *estimator) setRTT(d time.Duration) {
	e.mu.Lock()
	e.linkEst().ObserveRTT(d)
	e.mu.Unlock()
}

// get returns the current estimate.
func (e *estimator) get() Estimate {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.linkEst().Link()
	est := Estimate{BandwidthBps: l.Bandwidth, RTT: l.RTT}
	if e.n > 0 {
		transfer := 0.0
		if l.Bandwidth > 0 {
			transfer = e.bytes / l.Bandwidth
		}
		est.Predicted = time.Duration((e.edge+e.cloud+transfer)*1e9) + l.RTT
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
	e.linkEst().Observe(partition.Observation{Bytes: bytes, Network: t.Transit})
}
