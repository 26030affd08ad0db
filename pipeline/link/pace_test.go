package link

import (
	"testing"
	"time"
)

// TestPaceSchedule checks the token bucket's schedule on a fixed clock (no
// wall-clock timing): back-to-back chunks serialise at the bandwidth, an
// idle link keeps at most `burst` of credit, the one-way delay is RTT/2,
// and a Shaper change applies to the next chunk.
func TestPaceSchedule(t *testing.T) {
	sh := NewShaper(Spec{Bandwidth: 8e6, RTT: 20 * time.Millisecond}) // 1 byte per µs
	c := &Conn{shaper: sh}
	t0 := time.Unix(1000, 0)
	var next time.Time
	for i, tc := range []struct {
		now       time.Time
		n         int
		wantDone  time.Time
		wantDelay time.Duration
	}{
		// the first chunk may start up to `burst` early (credit for timer overshoot)
		{t0, 1000, t0.Add(-burst + 1000*time.Microsecond), 10 * time.Millisecond},
		// queued behind it, whenever it is written
		{t0, 4000, t0.Add(-burst + 5000*time.Microsecond), 10 * time.Millisecond},
		{t0.Add(time.Millisecond), 1000, t0.Add(-burst + 6000*time.Microsecond), 10 * time.Millisecond},
		// after an idle second only `burst` of credit is left
		{t0.Add(time.Second), 2000, t0.Add(time.Second - burst + 2000*time.Microsecond), 10 * time.Millisecond},
	} {
		done, delay := c.pace(&next, tc.now, tc.n)
		if !done.Equal(tc.wantDone) || delay != tc.wantDelay {
			t.Errorf("chunk %d: done %v, delay %v; want %v, %v", i, done.Sub(t0), delay, tc.wantDone.Sub(t0), tc.wantDelay)
		}
	}
	// the link gets slower: the next chunk serialises at the new rate
	sh.Set(Spec{Bandwidth: 1e6, RTT: 4 * time.Millisecond})
	now := t0.Add(2 * time.Second)
	done, delay := c.pace(&next, now, 1000)
	if want := now.Add(-burst + 8*time.Millisecond); !done.Equal(want) || delay != 2*time.Millisecond {
		t.Errorf("after Set: done %v, delay %v; want %v, 2ms", done.Sub(now), delay, want.Sub(now))
	}
	// unlimited bandwidth: only the delay
	sh.Set(Spec{RTT: 6 * time.Millisecond})
	now = t0.Add(3 * time.Second)
	if done, delay := c.pace(&next, now, 1<<20); !done.Equal(now.Add(-burst)) || delay != 3*time.Millisecond {
		t.Errorf("unlimited: done %v, delay %v", done.Sub(now), delay)
	}
}
