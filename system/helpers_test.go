package system_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/system"
)

func natsConn(t *testing.T, sys *system.System) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(sys.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
