package partition

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Observation is what the edge learns from one request.
type Observation struct {
	// Bytes is the size of the request sent (and of the reply, if it is
	// not negligible).
	Bytes int
	// Network is the request's round trip minus the time the cloud spent
	// on it (decode, queue, compute: the cloud reports it in its reply).
	Network time.Duration
}

type adapterConfig struct {
	alpha    float64
	relGain  float64
	absGain  time.Duration
	dwell    int
	minBytes int
	probe    int
	probeB   int
}

// AdapterOption configures NewAdapter.
type AdapterOption func(*adapterConfig)

// WithAlpha sets the EWMA weight of a new observation (default 0.2).
func WithAlpha(a float64) AdapterOption { return func(c *adapterConfig) { c.alpha = a } }

// WithHysteresis sets the gain a new cut must promise over the current one,
// both relative (default 0.10: 10% of the current cut's predicted latency)
// and absolute (default 1ms), before the adapter moves.
func WithHysteresis(rel float64, abs time.Duration) AdapterOption {
	return func(c *adapterConfig) { c.relGain, c.absGain = rel, abs }
}

// WithDwell sets the minimum number of requests between two moves
// (default 5).
func WithDwell(n int) AdapterOption { return func(c *adapterConfig) { c.dwell = n } }

// WithMinBytes sets the smallest request that updates the bandwidth
// estimate (default 1024): smaller ones say more about jitter than about
// bandwidth.
func WithMinBytes(n int) AdapterOption { return func(c *adapterConfig) { c.minBytes = n } }

// WithProbe sets after how many requests without a bandwidth sample
// NeedProbe asks for a probe (default 10), and the probe's size in bytes
// (default 64 KiB: big enough that its transfer time stands out of the
// round trip's jitter on links up to about 100 Mbit/s).
func WithProbe(every, bytes int) AdapterOption {
	return func(c *adapterConfig) { c.probe, c.probeB = every, bytes }
}

// Adapter keeps the cut right while the link changes. The initial link is a
// guess that counts as one sample. It holds EWMA estimates of the link's
// time per byte (the inverse bandwidth, which is what latency is linear in,
// so a sudden drop shows at once) and of the round trip. Each sample is the
// median of the last three, so a lone slow request does not count; three
// samples in a row more than twice off the estimate on the same side reset
// it (the link changed). After each observation the adapter re-chooses the
// cut when the best cut's predicted gain over the current one passes both
// hysteresis thresholds and the current cut has been used for the minimum
// dwell. A move back to the cut just left doubles the dwell (flap damping).
// While the cut sends too little to measure the link, NeedProbe asks for
// probes. It is safe for concurrent use.
type Adapter struct {
	m   *Model
	cfg adapterConfig

	mu        sync.Mutex
	secPerB   float64   // EWMA of seconds per byte
	recent    []float64 // the last three per-byte samples
	rtt       float64   // EWMA of seconds
	cur       Estimate
	since     int // requests since the last move
	requests  int
	moves     int
	unseen    int // requests since the last bandwidth sample
	nexts     int // Next calls since the last Observe
	rttN      int
	rttRecent []float64
	bwN       int
	left      string // the cut the last move left
	dwell     int    // current minimum dwell (grows on reversals)
}

// NewAdapter starts with the best cut for the initial link estimate.
func NewAdapter(m *Model, initial Link, opts ...AdapterOption) (*Adapter, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil model", ErrProfile)
	}
	if err := initial.Validate(); err != nil {
		return nil, err
	}
	cfg := adapterConfig{alpha: 0.2, relGain: 0.10, absGain: time.Millisecond, dwell: 5, minBytes: 1024, probe: 10, probeB: 64 << 10}
	for _, o := range opts {
		o(&cfg)
	}
	if !(cfg.alpha > 0 && cfg.alpha <= 1) || cfg.relGain < 0 || cfg.absGain < 0 || cfg.dwell < 0 || cfg.minBytes < 0 || cfg.probe < 1 || cfg.probeB < cfg.minBytes {
		return nil, fmt.Errorf("partition: invalid adapter options %+v", cfg)
	}
	a := &Adapter{m: m, cfg: cfg, secPerB: 1 / initial.Bandwidth, rtt: initial.RTT.Seconds(), dwell: max(cfg.dwell, 1)}
	// The guess starts the median windows too, so a first sample that is a
	// spike only moves the estimates half way.
	a.recent = []float64{a.secPerB}
	a.rttRecent = []float64{a.rtt}
	best, err := m.Best(initial)
	if err != nil {
		return nil, err
	}
	a.cur = best
	return a, nil
}

// Link returns the current link estimate.
func (a *Adapter) Link() Link {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.link()
}

func (a *Adapter) link() Link {
	bw := 1 / a.secPerB
	if a.secPerB <= 0 {
		bw = 1e15
	}
	return Link{Bandwidth: bw, RTT: time.Duration(a.rtt * 1e9)}
}

// Cut returns the cut to use for the next request.
func (a *Adapter) Cut() Cut {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cur.Cut
}

// Next returns the cut for the next request and counts the request (for
// NeedProbe). Edge workers call it once per request; Cut only looks.
func (a *Adapter) Next() Cut {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.unseen++
	a.since++ // the dwell counts requests, also those that send nothing
	a.nexts++
	return a.cur.Cut
}

// NeedProbe reports that the current cut sends too little (edge-only, a
// late cut) for the adapter to have measured the bandwidth in the last
// requests, and how many bytes the probe should carry: the caller should
// send a probe of that size off the request path (an echo) and feed it to
// Observe, or the adapter cannot notice that the link got faster.
func (a *Adapter) NeedProbe() (bytes int, need bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg.probeB, a.unseen >= a.cfg.probe
}

// CutID is the name of the current cut, what each request carries.
func (a *Adapter) CutID() string { return a.Cut().Name }

// Moves is how many times the adapter changed the cut.
func (a *Adapter) Moves() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.moves
}

// ObserveRTT feeds a round-trip sample of an (almost) empty message, such
// as nats.Conn.RTT.
func (a *Adapter) ObserveRTT(d time.Duration) {
	if d <= 0 {
		return
	}
	a.mu.Lock()
	a.observeRTT(d.Seconds())
	a.mu.Unlock()
}

// observeRTT updates the round-trip EWMA; the first sample replaces the
// initial guess.
func (a *Adapter) observeRTT(sec float64) {
	a.rttRecent = push3(a.rttRecent, sec)
	a.rttN++
	a.rtt += warm(a.cfg.alpha, a.rttN) * (Median(a.rttRecent) - a.rtt)
}

// warm is the EWMA weight of the n-th sample: the initial guess counts as
// one sample, so early samples average with it before the EWMA takes over.
func warm(alpha float64, n int) float64 {
	return math.Max(alpha, 1/float64(n+1))
}

// minSecPerByte is the time per byte of a 10 Gbit/s link, the fastest the
// adapter believes in.
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

// Observe feeds one request and reports whether the cut changed. The
// transfer time is the network time minus the round-trip estimate.
func (a *Adapter) Observe(o Observation) (moved bool, err error) {
	if o.Bytes < 0 || o.Network < 0 {
		return false, fmt.Errorf("partition: invalid observation %+v", o)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests++
	if a.nexts == 0 {
		a.since++ // a caller that does not use Next: one observation, one request
	}
	a.nexts = 0
	if o.Bytes < a.cfg.minBytes {
		// A small request is a round-trip sample.
		if sec := o.Network.Seconds() - float64(o.Bytes)*a.secPerB; sec > 0 {
			a.observeRTT(sec)
		}
	} else {
		spb := (o.Network.Seconds() - a.rtt) / float64(o.Bytes)
		// A transfer hidden in the round trip's jitter says the link is
		// fast, not infinitely fast: at most 10 Gbit/s.
		spb = max(spb, minSecPerByte)
		// A median of three before the EWMA: one delayed request (a GC
		// pause, a retransmission) moves nothing, a real change shows after
		// two requests.
		a.recent = push3(a.recent, spb)
		a.unseen = 0
		a.bwN++
		if shifted(a.recent, a.secPerB) {
			// Level shift: three samples in a row more than twice off the
			// estimate on the same side. The link changed; start over from
			// them rather than creep towards them.
			a.secPerB = Median(a.recent)
		} else {
			a.secPerB += warm(a.cfg.alpha, a.bwN) * (Median(a.recent) - a.secPerB)
		}
	}
	if a.since < a.dwell {
		return false, nil
	}
	l := a.link()
	best, err := a.m.Best(l)
	if err != nil {
		return false, err
	}
	if best.Cut.Name == a.cur.Cut.Name {
		a.cur = best
		return false, nil
	}
	cur, err := a.m.Predict(a.cur.Cut, l)
	if err != nil {
		return false, err
	}
	gain := cur.TotalMS - best.TotalMS
	if gain <= a.cfg.relGain*cur.TotalMS || gain <= float64(a.cfg.absGain)/1e6 {
		a.cur = cur
		return false, nil
	}
	// Flap damping: going back to the cut the last move left doubles the
	// dwell (up to 64 times the configured one); any other move resets it.
	if best.Cut.Name == a.left {
		if a.dwell < 64*a.cfg.dwell {
			a.dwell *= 2
		}
	} else {
		a.dwell = a.cfg.dwell
	}
	a.left = a.cur.Cut.Name
	a.cur = best
	a.since = 0
	a.moves++
	return true, nil
}
