package link

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		bw   float64
		rtt  time.Duration
		text string
	}{
		{"10mbit/20ms", 10e6, 20 * time.Millisecond, "10mbit/20ms"},
		{"1mbit/20ms", 1e6, 20 * time.Millisecond, "1mbit/20ms"},
		{"100mbit", 100e6, 0, "100mbit"},
		{"512kbit/100ms", 512e3, 100 * time.Millisecond, "512kbit/100ms"},
		{"2.5Mbit/1s", 2.5e6, time.Second, "2.5mbit/1s"},
		{"1gbit/5ms", 1e9, 5 * time.Millisecond, "1gbit/5ms"},
		{"800bit", 800, 0, "800bit"},
		{"unlimited/20ms", 0, 20 * time.Millisecond, "unlimited/20ms"},
	} {
		s, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if s.Bandwidth != tc.bw || s.RTT != tc.rtt || s.String() != tc.text {
			t.Errorf("Parse(%q) = %v %v %q, want %v %v %q", tc.in, s.Bandwidth, s.RTT, s, tc.bw, tc.rtt, tc.text)
		}
		back, err := Parse(s.String())
		if err != nil || back != s {
			t.Errorf("Parse(%q.String()) = %v, %v", tc.in, back, err)
		}
	}
	for _, bad := range []string{"", "10", "10mb", "-1mbit", "0mbit", "fastmbit", "10mbit/", "10mbit/-5ms", "10mbit/20", "NaNmbit", "infmbit"} {
		if _, err := Parse(bad); !errors.Is(err, ErrSpec) {
			t.Errorf("Parse(%q): err %v, want ErrSpec", bad, err)
		}
	}
}

// pair returns a TCP connection pair on the loopback: a is shaped with s.
func pair(t *testing.T, s Spec) (a, b net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			acc <- nil
			return
		}
		acc <- c
	}()
	a, err = (&Dialer{Spec: s}).Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b = <-acc
	if b == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// loadSlack is what a loaded machine (8 test binaries on 2 cores) may add
// to a wall-clock measurement on top of the emulated link's time.
const loadSlack = 250 * time.Millisecond

// within checks that the duration measure returns is within [lo x want,
// hi x want + loadSlack]. Being faster than the emulated link is a bug and
// fails at once (a timer never fires early, so this bound is exact); the
// upper bound only catches gross errors (a delay per write, a lost rate),
// because the exact schedule is checked on a fixed clock (TestPaceSchedule)
// and wall time on a shared machine is not; a slow measurement is retried,
// up to five tries in all.
func within(t *testing.T, what string, want time.Duration, lo, hi float64, measure func() time.Duration) {
	t.Helper()
	limit := time.Duration(hi*float64(want)) + loadSlack
	for try := 1; ; try++ {
		got := measure()
		t.Logf("%s: %v (ideal %v, ratio %.2f)", what, got, want, float64(got)/float64(want))
		if float64(got) < lo*float64(want) {
			t.Fatalf("%s took %v, faster than %.2f x %v", what, got, lo, want)
		}
		if got <= limit {
			return
		}
		if try == 5 {
			t.Fatalf("%s took %v, want at most %.2f x %v + %v", what, got, hi, want, loadSlack)
		}
	}
}

// transfer sends n bytes from one end of a fresh pair to the other and
// returns how long the receiver took to get them all.
func transfer(t *testing.T, s Spec, n int, shapedSends bool) time.Duration {
	t.Helper()
	a, b := pair(t, s)
	from, to := a, b
	if !shapedSends {
		from, to = b, a
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i)
	}
	start := time.Now()
	go func() { from.Write(data) }()
	got, err := io.ReadAll(io.LimitReader(to, int64(n)))
	el := time.Since(start)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("received %d of %d bytes (%v) or corrupted", len(got), n, err)
	}
	return el
}

// TestRateUpload sends 256 KiB through an 8 Mbit/s link: about 262 ms.
func TestRateUpload(t *testing.T) {
	const n = 256 << 10
	within(t, "upload of 256 KiB at 8 Mbit/s", time.Duration(n*8/8e6*1e9), 0.9, 1.4, func() time.Duration {
		return transfer(t, Spec{Bandwidth: 8e6}, n, true)
	})
}

// TestRateDownload shapes the other direction: the shaped side reads.
func TestRateDownload(t *testing.T) {
	const n = 128 << 10
	// serialisation plus one one-way delay
	within(t, "download of 128 KiB at 4 Mbit/s + 10 ms", time.Duration(n*8/4e6*1e9)+10*time.Millisecond, 0.9, 1.4, func() time.Duration {
		return transfer(t, Spec{Bandwidth: 4e6, RTT: 20 * time.Millisecond}, n, false)
	})
}

// TestDelay: a small ping-pong through the shaped side costs the RTT, and
// the delay does not cut throughput (a stream is not delayed per write).
func TestDelay(t *testing.T) {
	a, b := pair(t, Spec{RTT: 40 * time.Millisecond})
	go func() { io.Copy(b, b) }() // echo
	ping := func() time.Duration {
		start := time.Now()
		if _, err := a.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(a, make([]byte, 4)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	within(t, "ping", 40*time.Millisecond, 1, 1.3, ping)
	within(t, "ping", 40*time.Millisecond, 1, 1.3, ping)
	// 100 writes of 10 bytes, pipelined: one delay, not 100.
	within(t, "100 pipelined writes", 40*time.Millisecond, 1, 1.8, func() time.Duration {
		start := time.Now()
		go func() {
			for i := 0; i < 100; i++ {
				a.Write([]byte("0123456789"))
			}
		}()
		if _, err := io.ReadFull(a, make([]byte, 1000)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	})
}

// TestConcurrentWrites: writes from several goroutines arrive whole and the
// total obeys the rate.
func TestConcurrentWrites(t *testing.T) {
	const writers, per, size = 4, 8, 4000
	within(t, "128 KB from 4 writers at 16 Mbit/s", time.Duration(writers*per*size*8/16e6*1e9)+time.Millisecond, 0.9, 1.4, func() time.Duration {
		a, b := pair(t, Spec{Bandwidth: 16e6, RTT: 2 * time.Millisecond})
		var wg sync.WaitGroup
		start := time.Now()
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				msg := bytes.Repeat([]byte{byte('a' + w)}, size)
				for i := 0; i < per; i++ {
					if _, err := a.Write(msg); err != nil {
						t.Error(err)
						return
					}
				}
			}(w)
		}
		got, err := io.ReadAll(io.LimitReader(b, writers*per*size))
		if err != nil || len(got) != writers*per*size {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
		el := time.Since(start)
		wg.Wait()
		counts := map[byte]int{}
		for i := 0; i < len(got); i += size {
			blk := got[i : i+size]
			if !bytes.Equal(blk, bytes.Repeat(blk[:1], size)) {
				t.Fatalf("block at %d interleaves writes", i)
			}
			counts[blk[0]]++
		}
		for w := 0; w < writers; w++ {
			if counts[byte('a'+w)] != per {
				t.Fatalf("writer %d: %d blocks, want %d", w, counts[byte('a'+w)], per)
			}
		}
		return el
	})
}

func TestDeadlineAndClose(t *testing.T) {
	a, b := pair(t, Spec{Bandwidth: 1e6, RTT: 10 * time.Millisecond})
	a.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past deadline: %v", err)
	}
	var ne net.Error
	a.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	// 64 KiB at 1 Mbit/s takes half a second: the deadline stops it.
	if _, err := a.Write(make([]byte, 64<<10)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("write past deadline: %v", err)
	}
	a.SetDeadline(time.Time{})
	if _, err := b.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := io.ReadFull(a, buf); err != nil || buf[0] != 'x' {
		t.Fatalf("read after clearing the deadline: %q %v", buf, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	if _, err := a.Write([]byte("y")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if _, err := a.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	// the peer sees EOF
	b.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadAll(b); err != nil {
		t.Fatalf("peer: %v", err)
	}
}

func TestUnshapedIsIdentity(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	if Wrap(c1, Spec{}) != c1 {
		t.Fatal("unshaped spec wrapped the connection")
	}
}

// TestShaperChange: a live connection follows a change of the link.
func TestShaperChange(t *testing.T) {
	sh := NewShaper(Spec{Bandwidth: 16e6, RTT: 10 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() { c, _ := ln.Accept(); acc <- c }()
	a, err := (&Dialer{Shaper: sh}).Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b := <-acc
	if b == nil {
		t.Fatal("accept failed")
	}
	defer b.Close()
	const n = 64 << 10
	send := func() time.Duration {
		start := time.Now()
		go a.Write(make([]byte, n))
		if _, err := io.ReadFull(b, make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	within(t, "64 KiB at 16 Mbit/s", time.Duration(n*8/16e6*1e9)+5*time.Millisecond, 0.9, 1.5, send)
	sh.Set(Spec{Bandwidth: 2e6, RTT: 10 * time.Millisecond})
	if got := a.(*Conn).Spec(); got.Bandwidth != 2e6 {
		t.Fatalf("conn spec %v after Set", got)
	}
	within(t, "64 KiB at 2 Mbit/s", time.Duration(n*8/2e6*1e9)+5*time.Millisecond, 0.9, 1.4, send)
}
