package edgeworker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

// TestWaitForCloud: no service answers within the wait; a canceled wait
// ends with the context's error; a micro service of the name answers.
func TestWaitForCloud(t *testing.T) {
	s := pipetest.StartServer(t)
	nc := pipetest.Connect(t, s)
	if err := edgeworker.WaitForCloud(context.Background(), nc, 0); err == nil || !strings.Contains(err.Error(), "no splitinfer cloud worker answered") {
		t.Fatalf("no cloud: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := edgeworker.WaitForCloud(ctx, nc, time.Hour); err != context.Canceled {
		t.Fatalf("canceled wait: %v", err)
	}
	svc, err := micro.AddService(pipetest.Connect(t, s), micro.Config{Name: pipeline.ServiceName, Version: "0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	if err := edgeworker.WaitForCloud(context.Background(), nc, time.Minute); err != nil {
		t.Fatalf("with a service: %v", err)
	}
}
