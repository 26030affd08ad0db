// Package natsembed starts the in-process nats-server that the all-in-one
// system, the sweep and the tests run on: 127.0.0.1, a random port, no
// logging, no signal handling. pipetest.StartServer is its test form.
package natsembed

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultMaxPayload is the message size limit Start uses for 0 (NATS's
// default 1 MiB is too small for early cuts of larger models).
const DefaultMaxPayload = 8 << 20

// Start starts an in-process nats-server on 127.0.0.1 at a random port with
// the given message size limit (0: DefaultMaxPayload) and waits until it
// takes connections. Shut it down with Shutdown and WaitForShutdown.
func Start(maxPayload int32) (*server.Server, error) {
	if maxPayload == 0 {
		maxPayload = DefaultMaxPayload
	}
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true, MaxPayload: maxPayload})
	if err != nil {
		return nil, fmt.Errorf("natsembed: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("natsembed: the embedded nats-server did not start")
	}
	return s, nil
}

// Stop shuts s down and waits until it has.
func Stop(s *server.Server) {
	s.Shutdown()
	s.WaitForShutdown()
}
