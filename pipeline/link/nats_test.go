package link

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

func runServer(t *testing.T) *server.Server {
	t.Helper()
	return pipetest.StartServerMax(t, 1<<20)
}

// TestNATS shapes a NATS client through nats.SetCustomDialer: its RTT shows
// the added delay and a 64 KiB request the bandwidth; an unshaped client on
// the same server is not slowed down.
func TestNATS(t *testing.T) {
	s := runServer(t)
	spec, _ := Parse("4mbit/30ms")
	edge, err := nats.Connect(s.ClientURL(), nats.SetCustomDialer(&Dialer{Spec: spec}))
	if err != nil {
		t.Fatal(err)
	}
	defer edge.Close()
	cloud, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Close()
	sub, err := cloud.Subscribe("echo.len", func(m *nats.Msg) { m.Respond([]byte{byte(len(m.Data) >> 10)}) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	cloud.Flush()

	within(t, "edge RTT", 30*time.Millisecond, 1, 1.3, func() time.Duration {
		d, err := edge.RTT()
		if err != nil {
			t.Fatal(err)
		}
		return d
	})
	// The unshaped client is not slowed: its best of five round trips is
	// under the shaped link's 30 ms (best of five, so load does not decide).
	best := time.Hour
	for i := 0; i < 5; i++ {
		d, err := cloud.RTT()
		if err != nil {
			t.Fatal(err)
		}
		best = min(best, d)
	}
	if best >= 30*time.Millisecond {
		t.Errorf("unshaped client RTT %v, want under the shaped 30 ms", best)
	}
	payload := make([]byte, 64<<10)
	// 64 KiB at 4 Mbit/s = 131 ms, plus the round trip (the bucket may
	// start with up to 2 ms of credit)
	within(t, "64 KiB request", 131*time.Millisecond+30*time.Millisecond, 0.95, 1.4, func() time.Duration {
		start := time.Now()
		msg, err := edge.Request("echo.len", payload, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msg.Data) != 1 || msg.Data[0] != 64 {
			t.Fatalf("reply %v", msg.Data)
		}
		return time.Since(start)
	})
}
