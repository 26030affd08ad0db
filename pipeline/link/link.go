// Package link emulates a slower network on a net.Conn: a token bucket for
// the bandwidth in each direction and an added one-way delay, so that a
// laptop can show how split inference behaves on a 4G uplink. A Dialer
// plugs into nats.SetCustomDialer to shape a NATS connection.
package link

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrSpec reports a malformed link specification.
var ErrSpec = errors.New("link: invalid specification")

// Spec describes an emulated link.
type Spec struct {
	// Bandwidth in bits per second in each direction; 0 means unlimited.
	Bandwidth float64
	// RTT is the added round trip: each direction is delayed by RTT/2.
	RTT time.Duration
}

// Parse reads a link specification "BANDWIDTH[/RTT]", for example
// "10mbit/20ms", "512kbit/100ms", "1gbit", "unlimited/5ms". Bandwidth units
// are bit, kbit, mbit, gbit (powers of 1000, bits per second, as in tc);
// the round trip is a Go duration.
func Parse(s string) (Spec, error) {
	var sp Spec
	bw, rtt, hasRTT := strings.Cut(strings.TrimSpace(s), "/")
	b, err := ParseBandwidth(bw)
	if err != nil {
		return Spec{}, err
	}
	sp.Bandwidth = b
	if hasRTT {
		d, err := time.ParseDuration(strings.TrimSpace(rtt))
		if err != nil || d < 0 {
			return Spec{}, fmt.Errorf("%w: round trip %q in %q", ErrSpec, rtt, s)
		}
		sp.RTT = d
	}
	return sp, nil
}

// ParseBandwidth reads a bandwidth such as "10mbit" into bits per second
// ("unlimited" is 0).
func ParseBandwidth(s string) (float64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "unlimited" || t == "inf" {
		return 0, nil
	}
	units := []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%w: bandwidth %q", ErrSpec, s)
			}
			return v * u.mult, nil
		}
	}
	return 0, fmt.Errorf("%w: bandwidth %q (want e.g. 10mbit, 512kbit, 1gbit)", ErrSpec, s)
}

// String formats the spec the way Parse reads it.
func (s Spec) String() string {
	bw := "unlimited"
	switch b := s.Bandwidth; {
	case b == 0:
	case b >= 1e9 && math.Mod(b, 1e9) == 0:
		bw = strconv.FormatFloat(b/1e9, 'f', -1, 64) + "gbit"
	case b >= 1e6:
		bw = strconv.FormatFloat(b/1e6, 'f', -1, 64) + "mbit"
	case b >= 1e3:
		bw = strconv.FormatFloat(b/1e3, 'f', -1, 64) + "kbit"
	default:
		bw = strconv.FormatFloat(b, 'f', -1, 64) + "bit"
	}
	if s.RTT == 0 {
		return bw
	}
	return bw + "/" + s.RTT.String()
}

// BytesPerSecond is the bandwidth in bytes per second (+Inf when unlimited).
func (s Spec) BytesPerSecond() float64 {
	if s.Bandwidth == 0 {
		return math.Inf(1)
	}
	return s.Bandwidth / 8
}

// Unshaped reports whether the spec changes nothing.
func (s Spec) Unshaped() bool { return s.Bandwidth == 0 && s.RTT == 0 }

// Shaper holds a link specification that its connections consult for every
// chunk they move, so the link can change while connections are open (a
// demo or a test of adaptation: 100 Mbit/s, then 1 Mbit/s). It is safe for
// concurrent use.
type Shaper struct {
	mu   sync.RWMutex
	spec Spec
}

// NewShaper returns a shaper starting with s.
func NewShaper(s Spec) *Shaper { return &Shaper{spec: s} }

// Spec returns the current specification.
func (sh *Shaper) Spec() Spec {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.spec
}

// Set changes the link for every connection of the shaper; bytes already
// paced keep their times.
func (sh *Shaper) Set(s Spec) {
	sh.mu.Lock()
	sh.spec = s
	sh.mu.Unlock()
}

// Wrap shapes c with the shaper's (changing) link.
func (sh *Shaper) Wrap(c net.Conn) *Conn {
	sc := &Conn{
		Conn:   c,
		shaper: sh,
		wq:     make(chan packet, 1024),
		werr:   make(chan struct{}),
		rq:     make(chan packet, 1024),
		rdone:  make(chan struct{}),
		closed: make(chan struct{}),
	}
	go sc.writer()
	go sc.reader()
	return sc
}

// Dialer dials TCP connections and shapes them. It implements nats.go's
// CustomDialer (Dial(network, address)).
type Dialer struct {
	// Spec is the link, unless Shaper is set.
	Spec Spec
	// Shaper, if set, shapes the connections with a link that can change.
	Shaper *Shaper
	// Net dials the underlying connection (a zero net.Dialer if nil).
	Net *net.Dialer
}

// Dial connects to address and returns the shaped connection.
func (d *Dialer) Dial(network, address string) (net.Conn, error) {
	nd := d.Net
	if nd == nil {
		nd = &net.Dialer{}
	}
	c, err := nd.Dial(network, address)
	if err != nil {
		return nil, err
	}
	if d.Shaper != nil {
		return d.Shaper.Wrap(c), nil
	}
	return Wrap(c, d.Spec), nil
}

// chunk bounds how many bytes move through the emulated link at once, so
// that large writes are paced smoothly.
const chunk = 16 << 10

// Conn is a shaped connection. Writes are paced by a token bucket at the
// link bandwidth (Write returns when its last byte has "left"), then
// delivered to the underlying connection RTT/2 later by a goroutine, so
// the delay adds latency without cutting throughput. Reads are shaped the
// same way on the way in. Concurrent writes are serialised. Close stops
// both goroutines and closes the underlying connection.
type Conn struct {
	net.Conn
	shaper *Shaper

	wmu   sync.Mutex // serialises Write
	wnext time.Time  // when the bucket can send the next byte
	wq    chan packet
	werr  chan struct{} // closed when the writer stops
	wfail error         // the writer's error, set before werr closes

	rq      chan packet
	pending packet        // a packet received but not yet (fully) read
	rdone   chan struct{} // closed when the reader stops
	rfail   error
	rmu     sync.Mutex
	closeMu sync.Once
	closed  chan struct{}

	dmu          sync.Mutex
	rdead, wdead time.Time
}

type packet struct {
	data []byte
	at   time.Time // when it may be delivered
}

// Wrap shapes c with s. An unshaped spec returns c itself.
func Wrap(c net.Conn, s Spec) net.Conn {
	if s.Unshaped() {
		return c
	}
	return NewShaper(s).Wrap(c)
}

// Spec returns the emulated link.
func (c *Conn) Spec() Spec { return c.shaper.Spec() }

// burst is how far the bucket may lag behind the clock: the credit that
// absorbs timer overshoot, so that many small writes still reach the rate.
const burst = 2 * time.Millisecond

// pace returns when n bytes entering now at next finish serialising.
// It also returns the one-way delay to add.
func (c *Conn) pace(next *time.Time, now time.Time, n int) (time.Time, time.Duration) {
	sp := c.shaper.Spec()
	if earliest := now.Add(-burst); next.Before(earliest) {
		*next = earliest
	}
	if sp.Bandwidth > 0 {
		*next = next.Add(time.Duration(float64(n) * 8 / sp.Bandwidth * 1e9))
	}
	return *next, sp.RTT / 2
}

// Write paces p through the token bucket and queues it for delivery.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	written := 0
	for len(p) > 0 {
		select {
		case <-c.closed:
			return written, net.ErrClosed
		case <-c.werr:
			return written, c.wfail
		default:
		}
		n := min(len(p), chunk)
		buf := append([]byte(nil), p[:n]...)
		done, half := c.pace(&c.wnext, time.Now(), n)
		dl := c.deadline(false)
		if err := c.wait(done, dl); err != nil {
			return written, err
		}
		timeout, stop := timer(dl)
		select {
		case c.wq <- packet{data: buf, at: later(done, time.Now()).Add(half)}:
			stop()
		case <-c.closed:
			stop()
			return written, net.ErrClosed
		case <-c.werr:
			stop()
			return written, c.wfail
		case <-timeout:
			return written, os.ErrDeadlineExceeded
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// writer delivers queued packets to the underlying connection when due.
func (c *Conn) writer() {
	defer close(c.werr)
	for {
		select {
		case <-c.closed:
			c.wfail = net.ErrClosed
			return
		case pk := <-c.wq:
			if err := c.wait(pk.at, time.Time{}); err != nil {
				c.wfail = err
				return
			}
			if _, err := c.Conn.Write(pk.data); err != nil {
				c.wfail = err
				return
			}
		}
	}
}

// reader reads from the underlying connection and queues what arrives for
// delivery after serialisation and the one-way delay.
func (c *Conn) reader() {
	defer close(c.rdone)
	var next time.Time
	for {
		buf := make([]byte, chunk)
		n, err := c.Conn.Read(buf)
		if n > 0 {
			now := time.Now()
			done, half := c.pace(&next, now, n)
			at := later(done, now).Add(half)
			select {
			case c.rq <- packet{data: buf[:n], at: at}:
			case <-c.closed:
				c.rfail = net.ErrClosed
				return
			}
		}
		if err != nil {
			c.rfail = err
			return
		}
	}
}

// Read returns shaped incoming bytes. It honours SetReadDeadline.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	dl := c.deadline(true)
	if len(c.pending.data) == 0 {
		timeout, stop := timer(dl)
		select {
		case c.pending = <-c.rq:
			stop()
		case <-c.closed:
			stop()
			return 0, net.ErrClosed
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		case <-c.rdone:
			stop()
			// deliver what arrived before the reader stopped
			select {
			case c.pending = <-c.rq:
			default:
				return 0, c.rfail
			}
		}
	}
	if err := c.wait(c.pending.at, dl); err != nil {
		return 0, err
	}
	n := copy(p, c.pending.data)
	c.pending.data = c.pending.data[n:]
	return n, nil
}

// SetDeadline sets the read and write deadlines of the shaped connection
// (the underlying connection has none: its goroutines must keep running).
func (c *Conn) SetDeadline(t time.Time) error {
	c.dmu.Lock()
	c.rdead, c.wdead = t, t
	c.dmu.Unlock()
	return nil
}

// SetReadDeadline sets the deadline for Read.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	c.rdead = t
	c.dmu.Unlock()
	return nil
}

// SetWriteDeadline sets the deadline for Write.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.dmu.Lock()
	c.wdead = t
	c.dmu.Unlock()
	return nil
}

func (c *Conn) deadline(read bool) time.Time {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if read {
		return c.rdead
	}
	return c.wdead
}

// wait sleeps until t; it fails when the connection closes or the
// deadline dl (if set) passes first.
func (c *Conn) wait(t, dl time.Time) error {
	if !dl.IsZero() && dl.Before(t) {
		if !sleepUntil(dl, c.closed) {
			return net.ErrClosed
		}
		return os.ErrDeadlineExceeded
	}
	if !sleepUntil(t, c.closed) {
		return net.ErrClosed
	}
	return nil
}

// timer returns a channel that fires at dl (never if dl is zero) and its stop.
func timer(dl time.Time) (<-chan time.Time, func()) {
	if dl.IsZero() {
		return nil, func() {}
	}
	t := time.NewTimer(time.Until(dl))
	return t.C, func() { t.Stop() }
}

// Close closes the connection and stops the goroutines; safe to call twice.
// Bytes written but not yet delivered are dropped, as a link would on reset.
func (c *Conn) Close() error {
	err := net.ErrClosed
	c.closeMu.Do(func() {
		close(c.closed)
		err = c.Conn.Close()
		<-c.werr
		<-c.rdone
	})
	return err
}

// later returns the later of a and b. The bucket's credit may put a
// departure in the past; the delay still counts from now.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// sleepUntil waits until t or until stop closes (false).
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-stop:
		return false
	}
}
