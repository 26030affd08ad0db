package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/micro"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/internal/natsauth"
	"github.com/splitinfer/splitinfer/internal/natstest"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/system"
)

// observer connects as a deployment's user (edge2: it may ask micro for
// the workers' stats) to watch a run.
func observer(t *testing.T, d *natsauth.Deployment, urls ...string) *natsconn.Conn {
	t.Helper()
	c, err := natsconn.Connect(context.Background(), d.Client("edge2", urls...), natsconn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// handled sums the requests the reachable cloud workers have received.
func handled(c *natsconn.Conn) int {
	subj, _ := micro.ControlSubject(micro.StatsVerb, "splitinfer", "")
	sub, err := c.SubscribeSync(c.NewInbox())
	if err != nil {
		return 0
	}
	defer sub.Unsubscribe()
	if err := c.PublishRequest(subj, sub.Subject, nil); err != nil {
		return 0
	}
	total := 0
	for {
		m, err := sub.NextMsg(300 * time.Millisecond)
		if err != nil {
			return total
		}
		var st micro.Stats
		if json.Unmarshal(m.Data, &st) == nil && len(st.Endpoints) > 0 {
			total += st.Endpoints[0].NumRequests
		}
	}
}

// waitHandled waits until the cloud workers have received at least n
// requests (the run is under way).
func waitHandled(t *testing.T, c *natsconn.Conn, n int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if handled(c) >= n {
			return
		}
	}
	t.Fatalf("cloud workers did not receive %d requests", n)
}

var drainedRe = regexp.MustCompile(`drained: (\d+) received, (\d+) computed, (\d+) from the retry cache`)

// stopCloud stops a cloud worker (as SIGTERM does) and returns what its
// drain line counts.
func stopCloud(t *testing.T, c *cloudWorker) (received, computed, cached int) {
	t.Helper()
	c.cancel()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("cloud did not stop")
	}
	m := drainedRe.FindStringSubmatch(c.stderr.String())
	if m == nil {
		t.Fatalf("no drain line:\n%s", c.stderr.String())
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	k, _ := strconv.Atoi(m[3])
	return a, b, k
}

// clusterServer is one server of a 3-server cluster on the shipped config.
func clusterConf(t *testing.T, d *natsauth.Deployment, name string, port, routePort int, routes []int) string {
	var rs []string
	for _, r := range routes {
		rs = append(rs, fmt.Sprintf("nats-route://127.0.0.1:%d", r))
	}
	return shippedConf(t, "nats.conf", map[string]string{
		"server_name: splitinfer-nats": "server_name: " + name,
		"listen: 0.0.0.0:4222":         fmt.Sprintf("listen: 127.0.0.1:%d", port),
		"https: 0.0.0.0:8222":          fmt.Sprintf("https: 127.0.0.1:%d", natstest.FreePort(t)),
	}) + fmt.Sprintf("\ncluster: {\n  name: splitinfer\n  listen: 127.0.0.1:%d\n  routes: [%s]\n  tls: %s\n}\n",
		routePort, strings.Join(rs, ", "), d.ClusterTLS())
}

// TestClusterFailover: a 3-server cluster (TLS and accounts on, routes over
// mutual TLS) with a cloud worker on each of two servers and an edge on the
// third. SIGKILL of the edge's server, and in a second run of one cloud
// worker's server, mid-run of 3,000 requests: every input ends with exactly
// one outcome, and none in error (the cluster keeps a path within the
// requests' deadline).
func TestClusterFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	dir := t.TempDir()
	d, err := natsauth.Generate(filepath.Join(dir, "secrets"), natsauth.Options{Edges: []string{"edge1", "edge2"}, Mount: filepath.Join(dir, "secrets")})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"nats-a", "nats-b", "nats-c"}
	ports := make([]int, 3)
	routes := make([]int, 3)
	for i := range ports {
		ports[i], routes[i] = natstest.FreePort(t), natstest.FreePort(t)
	}
	servers := make([]*natstest.Server, 3)
	urls := make([]string, 3)
	for i, name := range names {
		var others []int
		for j := range routes {
			if j != i {
				others = append(others, routes[j])
			}
		}
		file := filepath.Join(dir, name+".conf")
		if err := os.WriteFile(file, []byte(clusterConf(t, d, name, ports[i], routes[i], others)), 0o600); err != nil {
			t.Fatal(err)
		}
		servers[i] = natstest.StartFile(t, name, file, ports[i])
		urls[i] = fmt.Sprintf("tls://127.0.0.1:%d", ports[i])
	}
	cut := heuristicCut(t)
	want := evalCorrect(t, 3000)
	for _, victim := range []struct {
		test, name string
		server     int // index into servers
	}{{"edge-server", "the edge's server (nats-c)", 2}, {"cloud-server", "cloud A's server (nats-a)", 0}} {
		t.Run(victim.test, func(t *testing.T) {
			cloudA := startCloud(t, append(userFlags(d, urls[0], "cloud"), "--workers", "2")...)
			cloudB := startCloud(t, append(userFlags(d, urls[1], "cloud"), "--workers", "2")...)
			obs := observer(t, d, urls[1])
			// The edge knows only nats-c; it learns the others from the
			// cluster. Its connection has a 10 ms round trip (--link), so the run
			// takes seconds on any machine and the kill lands mid-run.
			var sum system.Summary
			var code int
			var stderr string
			done := make(chan struct{})
			before := handled(obs)
			go func() {
				defer close(done)
				sum, code, stderr = edgeRun(t, append(userFlags(d, urls[2], "edge1"), "--n", "3000", "--concurrency", "8", "--cut", cut,
					"--link", "100mbit/10ms", "--timeout", "1s", "--wait", "30s")...)
			}()
			waitHandled(t, obs, before+500)
			servers[victim.server].Kill()
			t.Logf("killed %s after %d requests", victim.name, handled(obs)-before)
			select {
			case <-done:
				t.Fatal("the edge finished at the kill: the test proves nothing")
			default:
			}
			<-done
			ra, ca, ka := stopCloud(t, cloudA)
			rb, cb, kb := stopCloud(t, cloudB)
			t.Logf("after SIGKILL of %s: %d inputs, %d ok, %d errors, %d retries; clouds received %d, computed %d, answered %d from the reply cache",
				victim.name, sum.Images, sum.Images-sum.Errors, sum.Errors, sum.Retries, ra+rb, ca+cb, ka+kb)
			if code != 0 || sum.Images != 3000 || sum.Errors != 0 || sum.Correct != want {
				t.Errorf("exit %d: %d inputs, %d errors (%v), %d correct (eval %d)\n%s", code, sum.Images, sum.Errors, sum.ErrorSamples, sum.Correct, want, stderr)
			}
			servers[victim.server].Restart()
		})
	}
}

// TestServerRestart: the single server SIGKILLed and restarted on the same
// port about 2 s later, mid-run of 3,000 requests: 0 errors, and every
// input computed exactly once (a retry of a request the worker had computed
// is answered from its reply cache).
func TestServerRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	d, url, srv := secureNATS(t, natsauth.Options{Edges: []string{"edge1", "edge2"}})
	cloud := startCloud(t, append(userFlags(d, url, "cloud"), "--workers", "2")...)
	obs := observer(t, d, url)
	var sum system.Summary
	var code int
	var stderr string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sum, code, stderr = edgeRun(t, append(userFlags(d, url, "edge1"), "--n", "3000", "--concurrency", "8", "--cut", heuristicCut(t),
			"--link", "100mbit/10ms", "--timeout", "1s")...)
	}()
	// The edge's connection has a 10 ms round trip (--link), so the run
	// takes seconds on any machine and the kill lands mid-run.
	waitHandled(t, obs, 500)
	srv.Kill()
	killed := time.Now()
	select {
	case <-done:
		t.Fatal("the edge finished at the kill: the test proves nothing")
	default:
	}
	time.Sleep(2 * time.Second)
	srv.Restart()
	t.Logf("server down %v", time.Since(killed).Round(10*time.Millisecond))
	<-done
	received, computed, cached := stopCloud(t, cloud)
	t.Logf("restart: %d inputs, %d ok, %d errors, %d retries; the cloud received %d, computed %d, answered %d from the reply cache",
		sum.Images, sum.Images-sum.Errors, sum.Errors, sum.Retries, received, computed, cached)
	if code != 0 || sum.Images != 3000 || sum.Errors != 0 || sum.Correct != evalCorrect(t, 3000) {
		t.Errorf("exit %d: %d inputs, %d errors %v\n%s", code, sum.Images, sum.Errors, sum.ErrorSamples, stderr)
	}
	if computed != 3000 {
		t.Errorf("%d tail runs for 3,000 inputs: an input computed twice without the reply cache, or not at all", computed)
	}
	if sum.Retries == 0 {
		t.Errorf("no retries: the restart did not hit the run")
	}
}

// TestLeafNodeSplit: an edge site's nats-server on deploy/leaf.conf, a leaf
// node of the cloud's server over mutual TLS; the edge connects to the leaf
// and the cloud worker to the hub: the split gives eval's predictions.
func TestLeafNodeSplit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	d, hubURL, _ := secureNATS(t, natsauth.Options{Edges: []string{"edge1", "edge2"}, Leaves: []string{"site1"}})
	startCloud(t, append(userFlags(d, hubURL, "cloud"), "--workers", "2")...)
	site, _ := d.User("site1")
	leafDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(leafDir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	auth, err := os.ReadFile(d.Path(d.LeafAuthConf(site)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(leafDir, "secrets", "leaf-auth.conf"), auth, 0o600); err != nil {
		t.Fatal(err)
	}
	leafPort := natstest.FreePort(t)
	conf := filepath.Join(leafDir, "leaf.conf")
	if err := os.WriteFile(conf, []byte(shippedConf(t, "leaf.conf", map[string]string{"listen: 0.0.0.0:4222": fmt.Sprintf("listen: 127.0.0.1:%d", leafPort)})), 0o600); err != nil {
		t.Fatal(err)
	}
	natstest.StartFile(t, "leaf", conf, leafPort)
	leafURL := fmt.Sprintf("tls://127.0.0.1:%d", leafPort)

	c, err := natsconn.Connect(context.Background(), d.Client("edge1", leafURL), natsconn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := edgeworker.WaitForCloud(context.Background(), c.Conn, 30*time.Second); err != nil {
		t.Fatalf("through the leaf node: %v", err)
	}
	prog, cut := earlyCut(t)
	e, err := edgeworker.New(c.Conn, prog, edgeworker.Config{Cut: cut, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	set := testSet(t)
	sum, err := system.Drive(context.Background(), e, set, n, 4)
	if err != nil {
		t.Fatal(err)
	}
	g, _, err := loadModel("")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evaluate.MNIST(context.Background(), g, set, n, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	diff := 0
	for i := range n {
		if sum.Predictions[i] != int(ev.Predictions[i]) {
			diff++
		}
	}
	t.Logf("through the leaf node: %d inputs, %d errors, %d correct (eval %d), %d predictions differ from eval's", sum.Images, sum.Errors, sum.Correct, ev.Correct, diff)
	if sum.Images != n || sum.Errors != 0 || diff != 0 {
		t.Errorf("through the leaf node: %d inputs, %d errors %v, %d predictions differ from eval's", sum.Images, sum.Errors, sum.ErrorSamples, diff)
	}
	// The leaf's link is no wider than its edges': edge2, at the site,
	// still cannot read the requests.
	o := observer(t, d, leafURL)
	if _, err := o.SubscribeSync("splitinfer.infer"); err != nil {
		t.Fatal(err)
	}
	if err := o.CheckPermissions(5 * time.Second); err == nil {
		t.Error("edge2 subscribed to the requests at the leaf site")
	}
}

// BenchmarkTLSLatency compares the split's request latency over plain NATS
// and over the shipped secure configuration (mutual TLS, nkeys, accounts
// and permissions), each against its own nats-server process and cloud
// worker, in alternating runs of 1,000 sequential requests:
//
//	go test ./cmd/splitinfer -run '^$' -bench TLSLatency -benchtime 1x
func BenchmarkTLSLatency(b *testing.B) {
	plainPort := natstest.FreePort(b)
	natstest.Start(b, "plain", fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 8MB\n", plainPort), plainPort)
	plainURL := fmt.Sprintf("nats://127.0.0.1:%d", plainPort)
	d, secureURL := benchSecureNATS(b)
	stop := []func(){}
	for _, args := range [][]string{{"--nats", plainURL}, userFlags(d, secureURL, "cloud")} {
		ctx, cancel := context.WithCancel(context.Background())
		var errb syncBuf
		exited := make(chan struct{})
		go func() {
			defer close(exited)
			runMain(ctx, append([]string{"cloud", "--workers", "1"}, args...), &strings.Builder{}, &errb)
		}()
		stop = append(stop, func() { cancel(); <-exited })
		for !strings.Contains(errb.String(), " serving ") {
			time.Sleep(20 * time.Millisecond)
		}
	}
	defer func() {
		for _, s := range stop {
			s()
		}
	}()
	prog, cut := earlyCut(b)
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	confs := map[string]natsconn.Config{"plain": {URLs: []string{plainURL}}, "tls": d.Client("edge1", secureURL)}
	edges := map[string]*edgeworker.Worker{}
	for name, cfg := range confs {
		c, err := natsconn.Connect(context.Background(), cfg, natsconn.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := edgeworker.WaitForCloud(context.Background(), c.Conn, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		if edges[name], err = edgeworker.New(c.Conn, prog, edgeworker.Config{Cut: cut, Concurrency: 1}); err != nil {
			b.Fatal(err)
		}
	}
	p50 := map[string][]float64{}
	for range b.N {
		for round := 0; round < 5; round++ {
			for _, name := range []string{"plain", "tls"} {
				sum, err := system.Drive(context.Background(), edges[name], set, 1000, 1)
				if err != nil || sum.Errors > 0 {
					b.Fatalf("%s: %v, %d errors", name, err, sum.Errors)
				}
				p50[name] = append(p50[name], sum.Latency.P50)
			}
		}
	}
	med := func(xs []float64) float64 {
		s := slices.Clone(xs)
		slices.Sort(s)
		return s[len(s)/2]
	}
	plain, tls := med(p50["plain"]), med(p50["tls"])
	b.Logf("p50 per round (ms): plain %v, TLS %v", p50["plain"], p50["tls"])
	b.ReportMetric(plain*1000, "plain-p50-µs")
	b.ReportMetric(tls*1000, "tls-p50-µs")
	b.ReportMetric(tls/plain, "tls/plain")
}

// benchSecureNATS is secureNATS for a benchmark.
func benchSecureNATS(b *testing.B) (*natsauth.Deployment, string) {
	dir := b.TempDir()
	d, err := natsauth.Generate(filepath.Join(dir, "secrets"), natsauth.Options{Mount: filepath.Join(dir, "secrets")})
	if err != nil {
		b.Fatal(err)
	}
	port := natstest.FreePort(b)
	conf := fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: 8MB\ninclude \"secrets/auth.conf\"\n", port)
	file := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		b.Fatal(err)
	}
	natstest.StartFile(b, "secure", file, port)
	return d, fmt.Sprintf("tls://127.0.0.1:%d", port)
}

// earlyCut is the built-in model and its "early" cut.
func earlyCut(tb testing.TB) (*nn.Program, []string) {
	tb.Helper()
	prog, _, err := loadProgram("")
	if err != nil {
		tb.Fatal(err)
	}
	cut, err := resolveCut(prog, "early")
	if err != nil {
		tb.Fatal(err)
	}
	return prog, cut
}
