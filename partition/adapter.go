package partition

import (
	"fmt"
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

// Adapter keeps the cut right while the link changes. It estimates the
// link with a LinkEstimator started from the initial link, a guess that
// counts as one sample. After each observation the adapter re-chooses the
// cut when the best cut's predicted gain over the current one passes both
// hysteresis thresholds and the current cut has been used for the minimum
// dwell. A move back to the cut just left doubles the dwell (flap damping).
// While the cut sends too little to measure the link, NeedProbe asks for
// probes. It is safe for concurrent use.
type Adapter struct {
	m   *Model
	cfg adapterConfig

	mu       sync.Mutex
	est      *LinkEstimator
	cur      Estimate
	since    int // requests since the last move
	requests int
	moves    int
	unseen   int    // requests since the last bandwidth sample
	nexts    int    // Next calls since the last Observe
	left     string // the cut the last move left
	dwell    int    // current minimum dwell (grows on reversals)
}

// NewAdapter starts with the best cut for the initial link estimate.
func NewAdapter(m *Model, initial Link, opts ...AdapterOption) (*Adapter, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil model", ErrProfile)
	}
	if err := initial.Validate(); err != nil {
		return nil, err
	}
	cfg := adapterConfig{alpha: DefaultAlpha, relGain: 0.10, absGain: time.Millisecond, dwell: 5, minBytes: DefaultMinBytes, probe: 10, probeB: 64 << 10}
	for _, o := range opts {
		o(&cfg)
	}
	if !(cfg.alpha > 0 && cfg.alpha <= 1) || cfg.relGain < 0 || cfg.absGain < 0 || cfg.dwell < 0 || cfg.minBytes < 0 || cfg.probe < 1 || cfg.probeB < cfg.minBytes {
		return nil, fmt.Errorf("partition: invalid adapter options %+v", cfg)
	}
	a := &Adapter{m: m, cfg: cfg, est: NewLinkEstimator(initial, cfg.alpha, cfg.minBytes), dwell: max(cfg.dwell, 1)}
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
	l := a.est.Link()
	if l.Bandwidth <= 0 {
		l.Bandwidth = 1e15
	}
	return l
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
	a.mu.Lock()
	a.est.ObserveRTT(d)
	a.mu.Unlock()
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
	if a.est.Observe(o) {
		a.unseen = 0
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
