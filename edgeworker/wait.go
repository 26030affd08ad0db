package edgeworker

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
)

// WaitForCloud pings the cloud workers' micro service (pipeline.ServiceName)
// on nc until one answers, for at most d. It fails at once when the
// server's permissions forbid the ping (waiting would not help), and
// returns ctx's error when ctx ends first.
func WaitForCloud(ctx context.Context, nc *nats.Conn, d time.Duration) error {
	subj := "$SRV.PING." + pipeline.ServiceName
	deadline := time.Now().Add(d)
	for {
		if _, err := nc.Request(subj, nil, 500*time.Millisecond); err == nil {
			return nil
		}
		if err := natsconn.PermissionError(nc); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s cloud worker answered a ping within %v", pipeline.ServiceName, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
