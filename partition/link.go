package partition

import (
	"math"
	"time"
)

// Defaults of the link estimate (see WithAlpha and WithMinBytes).
const (
	DefaultAlpha    = 0.2
	DefaultMinBytes = 1024
)

// LinkEstimator estimates a link from what requests over it take: EWMAs of
// the round trip and of the time per byte (the inverse bandwidth, which
// latency is linear in, so a sudden drop shows at once). Each sample is the
// median of the last three, so a lone slow request (a GC pause, a
// retransmission) does not count; three samples in a row more than twice
// off the estimate on the same side reset it (the link changed). It is the
// one link estimate: the Adapter chooses the cut with it and the edge
// worker's spans report it. It is not safe for concurrent use.
type LinkEstimator struct {
	alpha    float64
	minBytes int
	guess    int // 1 when started from an initial guess, which counts as one sample

	secPerB   float64   // EWMA of seconds per byte; 0 unknown
	recent    []float64 // the last three per-byte samples
	rtt       float64   // EWMA of seconds
	rttKnown  bool      // rtt is a guess or a measurement
	rttRecent []float64
	rttN, bwN int
}

// NewLinkEstimator starts from initial (the zero Link: unknown; an initial
// guess counts as one sample) with EWMA weight alpha for a new sample;
// requests smaller than minBytes update only the round trip.
func NewLinkEstimator(initial Link, alpha float64, minBytes int) *LinkEstimator {
	e := &LinkEstimator{alpha: alpha, minBytes: minBytes}
	if initial == (Link{}) {
		return e
	}
	if initial.Bandwidth > 0 {
		e.secPerB = 1 / initial.Bandwidth
	}
	e.rtt, e.rttKnown, e.guess = initial.RTT.Seconds(), true, 1
	// The guess starts the median windows too, so a first sample that is a
	// spike only moves the estimates half way.
	e.recent = []float64{e.secPerB}
	e.rttRecent = []float64{e.rtt}
	return e
}

// Link returns the estimate; Bandwidth (bytes per second) is 0 while
// unknown.
func (e *LinkEstimator) Link() Link {
	var bw float64
	if e.secPerB > 0 {
		bw = 1 / e.secPerB
	}
	return Link{Bandwidth: bw, RTT: time.Duration(e.rtt * 1e9)}
}

// ObserveRTT feeds a round-trip sample of an (almost) empty message, such
// as nats.Conn.RTT or a PING.
func (e *LinkEstimator) ObserveRTT(d time.Duration) {
	if d > 0 {
		e.observeRTT(d.Seconds())
	}
}

func (e *LinkEstimator) observeRTT(sec float64) {
	e.rttRecent = push3(e.rttRecent, sec)
	e.rttN++
	e.rttKnown = true
	e.rtt += e.weight(e.rttN) * (Median(e.rttRecent) - e.rtt)
}

// weight is the EWMA weight of the n-th sample: an initial guess counts as
// one sample, so early samples average with it before the EWMA takes over;
// without a guess the first sample is the estimate.
func (e *LinkEstimator) weight(n int) float64 {
	return math.Max(e.alpha, 1/float64(n+e.guess))
}

// Observe feeds one request and reports whether it was a bandwidth sample.
// The transfer time is the network time minus the round-trip estimate; a
// small request, or any request while the round trip is unknown, is a
// round-trip sample.
func (e *LinkEstimator) Observe(o Observation) (bandwidth bool) {
	if o.Bytes < e.minBytes || !e.rttKnown {
		if sec := o.Network.Seconds() - float64(o.Bytes)*e.secPerB; sec > 0 {
			e.observeRTT(sec)
		}
		return false
	}
	spb := (o.Network.Seconds() - e.rtt) / float64(o.Bytes)
	// A transfer hidden in the round trip's jitter says the link is fast,
	// not infinitely fast: at most 10 Gbit/s.
	spb = max(spb, minSecPerByte)
	e.recent = push3(e.recent, spb)
	e.bwN++
	if e.secPerB > 0 && shifted(e.recent, e.secPerB) {
		// Level shift: start over from the samples rather than creep
		// towards them.
		e.secPerB = Median(e.recent)
	} else {
		e.secPerB += e.weight(e.bwN) * (Median(e.recent) - e.secPerB)
	}
	return true
}

// minSecPerByte is the time per byte of a 10 Gbit/s link, the fastest the
// estimate believes in.
const minSecPerByte = 8 / 10e9

// shifted reports whether the last three samples all lie more than a
// factor 2 away from est, on the same side.
func shifted(recent []float64, est float64) bool {
	if len(recent) < 3 || est <= 0 {
		return false
	}
	above, below := 0, 0
	for _, v := range recent {
		switch {
		case v > 2*est:
			above++
		case v < est/2:
			below++
		}
	}
	return above == 3 || below == 3
}

// push3 keeps the last three samples.
func push3(s []float64, v float64) []float64 {
	if len(s) == 3 {
		s = append(s[:0], s[1:]...)
	}
	return append(s, v)
}
