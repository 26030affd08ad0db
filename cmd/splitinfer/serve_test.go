package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/natstest"
)

// TestRunServe: `run --serve` (the all-in-one system) serves the model
// under --model-name, ready at once, until its context ends (SIGTERM);
// then it exits cleanly.
func TestRunServe(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- runMain(ctx, []string{"run", "--serve", addr, "--model-name", "digits"}, &bytes.Buffer{}, &stderr)
	}()
	var status int
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v2/models/digits/ready")
		if err == nil {
			status = resp.StatusCode
			resp.Body.Close()
			break
		}
	}
	if status != 200 {
		t.Fatalf("model ready: %d", status)
	}
	resp, err := http.Post("http://"+addr+"/v2/models/digits/infer", "application/json",
		strings.NewReader(`{"inputs":[{"name":"input","shape":[1,1,32,32],"datatype":"FP32","data":[`+strings.Repeat("0,", 1023)+`0]}],"outputs":[{"name":"logits","parameters":{"classification":1}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("infer: %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("run --serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run --serve did not stop")
	}
}
