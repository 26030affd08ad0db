package pipetest

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/pipeline/natsembed"
)

// StartServer starts an in-process nats-server on 127.0.0.1 at a random
// port and shuts it down when the test ends.
func StartServer(t testing.TB) *server.Server {
	t.Helper()
	return StartServerMax(t, 0)
}

// StartServerMax is StartServer with a message size limit (0: the
// natsembed default).
func StartServerMax(t testing.TB, maxPayload int32) *server.Server {
	t.Helper()
	s, err := natsembed.Start(maxPayload)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { natsembed.Stop(s) })
	return s
}

// Connect connects to s and closes the connection when the test ends
// (before the server shuts down).
func Connect(t testing.TB, s *server.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL(), nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
