package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/internal/natsauth"
	"github.com/splitinfer/splitinfer/internal/natstest"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/system"
)

// syncBuf is a buffer safe for concurrent writes and reads.
type syncBuf = natstest.Buffer

// cloudWorker is `splitinfer cloud` running in the test process.
type cloudWorker struct {
	stderr syncBuf
	cancel context.CancelFunc
	exited chan struct{} // closed when it has exited, with code
	code   int
}

// startCloud runs `splitinfer cloud args...` until the test ends (or
// stop), and waits until it serves; it fails the test if it exits first.
func startCloud(t *testing.T, args ...string) *cloudWorker {
	t.Helper()
	c := startCloudNoWait(t, args...)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(c.stderr.String(), " serving ") {
		select {
		case <-c.exited:
			t.Fatalf("cloud exited %d at start:\n%s", c.code, c.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("cloud not serving after 30s:\n%s", c.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

func startCloudNoWait(t *testing.T, args ...string) *cloudWorker {
	ctx, cancel := context.WithCancel(context.Background())
	c := &cloudWorker{cancel: cancel, exited: make(chan struct{})}
	go func() {
		defer close(c.exited)
		c.code = runMain(ctx, append([]string{"cloud"}, args...), &bytes.Buffer{}, &c.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			t.Errorf("cloud did not stop")
		}
		if t.Failed() {
			t.Logf("cloud stderr:\n%s", c.stderr.String())
		}
	})
	return c
}

// edgeRun runs `splitinfer edge args... --json` and returns its summary
// and exit code.
func edgeRun(t *testing.T, args ...string) (system.Summary, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMain(context.Background(), append(append([]string{"edge"}, args...), "--json"), &out, &errb)
	var sum system.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil && code != 2 {
		t.Errorf("edge --json: %v\n%s\nstderr:\n%s", err, out.String(), errb.String())
	}
	return sum, code, errb.String()
}

// evalCorrect is how many of the first n test images the whole model
// classifies correctly (what `eval` reports).
func evalCorrect(t *testing.T, n int) int {
	t.Helper()
	g, _, err := loadModel("")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evaluate.MNIST(context.Background(), g, testSet(t), n, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	return ev.Correct
}

// TestDeployPermissions runs the split on the shipped deploy/nats.conf
// with generated secrets (TLS and accounts on): edge1 completes 1,000
// requests while a client with edge2's credentials tries to read edge1's
// replies, read the requests, join the cloud's queue group and forge
// replies to edge1: the server refuses each (a permission violation the
// client sees, naming the subject), it receives nothing, and edge1's
// results are eval's. A cloud worker started with an edge's credentials
// fails at start, naming the subject it may not subscribe to.
func TestDeployPermissions(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	d, url, _ := secureNATS(t, natsauth.Options{Edges: []string{"edge1", "edge2"}})
	startCloud(t, append(userFlags(d, url, "cloud"), "--workers", "2")...)
	edge1, _ := d.User("edge1")

	// edge2's attempts, each on its own connection (a refused SUB or PUB
	// is reported once per connection).
	type attempt struct {
		name, subject string
		do            func(nc *nats.Conn) (*nats.Subscription, error)
	}
	attempts := []attempt{
		{"read edge1's replies", `subscribe "` + edge1.InboxPrefix() + `.>"`, func(nc *nats.Conn) (*nats.Subscription, error) {
			return nc.SubscribeSync(edge1.InboxPrefix() + ".>")
		}},
		{"read the requests", `subscribe "splitinfer.infer"`, func(nc *nats.Conn) (*nats.Subscription, error) {
			return nc.SubscribeSync("splitinfer.infer")
		}},
		{"join the cloud's queue group", `subscribe "splitinfer.infer" (queue "splitinfer")`, func(nc *nats.Conn) (*nats.Subscription, error) {
			return nc.QueueSubscribeSync("splitinfer.infer", "splitinfer")
		}},
		{"forge replies to edge1", `publish "` + edge1.InboxPrefix(), func(nc *nats.Conn) (*nats.Subscription, error) {
			// nats.go's reply subjects are <prefix>.<token>.<token>
			for i := 0; i < 3; i++ {
				if err := nc.Publish(fmt.Sprintf("%s.forged%d.%d", edge1.InboxPrefix(), i, i), []byte("forged")); err != nil {
					return nil, err
				}
			}
			return nil, nil
		}},
	}
	type held struct {
		name string
		sub  *nats.Subscription
	}
	var subs []held
	var edgeSum system.Summary
	var edgeCode int
	var edgeErr string
	done := make(chan struct{})
	go func() {
		defer close(done)
		edgeSum, edgeCode, edgeErr = edgeRun(t, append(userFlags(d, url, "edge1"), "--n", "1000", "--concurrency", "4", "--cut", heuristicCut(t))...)
	}()
	for _, a := range attempts {
		c, err := natsconn.Connect(context.Background(), d.Client("edge2", url), natsconn.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		sub, err := a.do(c.Conn)
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		err = c.CheckPermissions(5 * time.Second)
		if !errors.Is(err, natsconn.ErrPermission) || !strings.Contains(err.Error(), a.subject) {
			t.Errorf("edge2 tries to %s: %v, want a permission violation naming %s", a.name, err, a.subject)
		} else {
			t.Logf("edge2 tries to %s: refused: %v", a.name, err)
		}
		if sub != nil {
			subs = append(subs, held{a.name, sub})
		}
	}
	<-done
	want := evalCorrect(t, 1000)
	t.Logf("edge1: %d images, %d errors, %d retries, %d correct (eval %d)", edgeSum.Images, edgeSum.Errors, edgeSum.Retries, edgeSum.Correct, want)
	if edgeCode != 0 || edgeSum.Images != 1000 || edgeSum.Errors != 0 || edgeSum.Correct != want {
		t.Errorf("edge1: exit %d, %d images, %d errors, %d correct (eval %d)\n%s", edgeCode, edgeSum.Images, edgeSum.Errors, edgeSum.Correct, want, edgeErr)
	}
	for _, h := range subs {
		if n, _, _ := h.sub.Pending(); n != 0 {
			t.Errorf("edge2 (%s) received %d messages", h.name, n)
		}
	}

	// A cloud worker with an edge's credentials cannot serve.
	bad := startCloudNoWait(t, userFlags(d, url, "edge2")...)
	select {
	case <-bad.exited:
		if msg, code := bad.stderr.String(), bad.code; code == 0 || !strings.Contains(msg, "permission violation") || !strings.Contains(msg, `subscribe "splitinfer.infer" (queue "splitinfer")`) {
			t.Errorf("cloud with edge credentials: exit %d:\n%s", code, msg)
		} else {
			t.Logf("cloud with edge credentials: exit %d: %s", code, lastLine(msg))
		}
	case <-time.After(15 * time.Second):
		t.Errorf("cloud with edge credentials still running:\n%s", bad.stderr.String())
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestDeployConcurrentEdges: 32 requests in flight from edges against 2
// cloud workers with their default queues (2 goroutines, 8 waiting each)
// on the shipped secure configuration: 3,000 requests, 0 errors (the 503s
// are retried within the deadline, after the workers' hint).
func TestDeployConcurrentEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	d, url, _ := secureNATS(t, natsauth.Options{Edges: []string{"edge1", "edge2", "edge3", "edge4"}})
	startCloud(t, append(userFlags(d, url, "cloud"), "--workers", "2")...)
	startCloud(t, append(userFlags(d, url, "cloud"), "--workers", "2")...)
	// Four edge processes' worth (each its own user, connection and
	// private inbox), 8 requests in flight each: 32 concurrent edges.
	const edges, per = 4, 750
	sums := make([]system.Summary, edges)
	codes := make([]int, edges)
	var wg sync.WaitGroup
	for i := range edges {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i], codes[i], _ = edgeRun(t, append(userFlags(d, url, fmt.Sprintf("edge%d", i+1)), "--n", fmt.Sprint(per), "--concurrency", "8", "--cut", heuristicCut(t))...)
		}()
	}
	wg.Wait()
	want := evalCorrect(t, per)
	images, errs, retries := 0, 0, 0
	for i, s := range sums {
		images += s.Images
		errs += s.Errors
		retries += s.Retries
		if codes[i] != 0 || s.Correct != want {
			t.Errorf("edge%d: exit %d, %d correct (eval %d), errors %v", i+1, codes[i], s.Correct, want, s.ErrorSamples)
		}
	}
	t.Logf("32 concurrent requests from 4 edges on 2 cloud workers: %d images, %d errors, %d retries", images, errs, retries)
	if images != edges*per || errs != 0 {
		t.Errorf("%d images, %d errors; want %d and 0", images, errs, edges*per)
	}
}

// TestDeployConfigsParse: nats-server accepts deploy/nats.conf, the copy in
// the Kubernetes ConfigMap and deploy/leaf.conf with generated secrets.
func TestDeployConfigsParse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	dir := t.TempDir()
	d, err := natsauth.Generate(filepath.Join(dir, "secrets"), natsauth.Options{
		Edges: []string{"edge1"}, Leaves: []string{"site1"}, Mount: filepath.Join(dir, "secrets")})
	if err != nil {
		t.Fatal(err)
	}
	site, _ := d.User("site1")
	leafAuth, err := os.ReadFile(d.Path(d.LeafAuthConf(site)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(d.Path("leaf-auth.conf"), leafAuth, 0o600); err != nil {
		t.Fatal(err)
	}
	k8s, err := os.ReadFile(filepath.Join("..", "..", "deploy", "k8s", "splitinfer.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, cm, ok := strings.Cut(string(k8s), "  nats.conf: |\n")
	if !ok {
		t.Fatal("no nats.conf in the ConfigMap")
	}
	cm, _, _ = strings.Cut(cm, "\n---")
	cm = strings.ReplaceAll(cm, "\n    ", "\n")
	confs := map[string]string{
		"nats.conf":      shippedConf(t, "nats.conf", nil),
		"leaf.conf":      shippedConf(t, "leaf.conf", nil),
		"configmap.conf": strings.TrimPrefix(cm, "    "),
	}
	for name, text := range confs {
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(natstest.Binary(t), "-c", file, "-t").CombinedOutput()
		if err != nil {
			t.Errorf("nats-server -t %s: %v\n%s\n%s", name, err, out, text)
		}
	}
	if !strings.Contains(confs["configmap.conf"], `include "secrets/auth.conf"`) {
		t.Errorf("the ConfigMap's nats.conf does not include the secrets")
	}
}
