//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/internal/natstest"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
)

// TestRunMatchesEval: `splitinfer run --compact=false` through the split
// reports exactly the accuracy `splitinfer eval` computes for the same
// images and model; by default (compact requests through the bundled
// model's activation codec) it sends at most 248 bytes a request (the mean
// MNIST PNG) within 0.5 points of it.
func TestRunMatchesEval(t *testing.T) {
	const n = 1000
	var out, errb bytes.Buffer
	// the split (EarlyCut's cut), not the partitioner's choice (edge-only on loopback)
	if code := runMain(context.Background(), []string{"run", "--n", fmt.Sprint(n), "--concurrency", "4", "--cut", heuristicCut(t), "--compact=false", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("run exited %d: %s", code, errb.String())
	}
	var sum system.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("run --json: %v\n%s", err, out.String())
	}
	var raw map[string]any
	_ = json.Unmarshal(out.Bytes(), &raw)
	for _, k := range []string{"images", "accuracy", "errors", "cut", "latency_ms", "bytes_per_request", "input_bytes"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("run --json lacks %q", k)
		}
	}
	g, _, err := loadModel("")
	if err != nil {
		t.Fatal(err)
	}
	ev, err := evaluate.MNIST(context.Background(), g, testSet(t), n, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Images != n || sum.Errors != 0 || sum.Correct != ev.Correct || sum.Accuracy != ev.Accuracy || sum.Compact != 0 {
		t.Errorf("run: %d/%d correct (accuracy %v, %d errors, %d compact); eval: %d/%d (%v)", sum.Correct, sum.Images, sum.Accuracy, sum.Errors, sum.Compact, ev.Correct, ev.Images, ev.Accuracy)
	}

	out.Reset()
	if code := runMain(context.Background(), []string{"run", "--n", fmt.Sprint(n), "--concurrency", "4", "--json"}, &out, &errb); code != 0 {
		t.Fatalf("run exited %d: %s", code, errb.String())
	}
	raw = nil
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || json.Unmarshal(out.Bytes(), &raw) != nil {
		t.Fatalf("run --json: %v\n%s", err, out.String())
	}
	for _, k := range []string{"header_bytes", "payload_bytes", "bits_per_element", "accuracy"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("run --json lacks %q", k)
		}
	}
	if sum.Errors != 0 || sum.Compact != n || sum.BytesPerRequest > 248 || math.Abs(sum.HeaderBytes+sum.PayloadBytes-sum.BytesPerRequest) > 1e-6 || sum.Accuracy < ev.Accuracy-0.005 {
		t.Errorf("compact run: %d errors, %d compact, %.1f bytes (%.1f header + %.1f payload), accuracy %.4f (eval %.4f)",
			sum.Errors, sum.Compact, sum.BytesPerRequest, sum.HeaderBytes, sum.PayloadBytes, sum.Accuracy, ev.Accuracy)
	}
}

// buildBinaries builds splitinfer and a nats-server from the module's
// dependency into a temporary directory.
func buildBinaries(t *testing.T) (splitinfer, natsServer string) {
	t.Helper()
	dir := t.TempDir()
	splitinfer, natsServer = filepath.Join(dir, "splitinfer"), filepath.Join(dir, "nats-server")
	for _, b := range [][]string{{splitinfer, "."}, {natsServer, "github.com/nats-io/nats-server/v2"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	return splitinfer, natsServer
}

func freePort(t *testing.T) int { return natstest.FreePort(t) }

// proc is a child process whose output is collected.
type proc struct {
	natstest.Buffer // its output
	name            string
	cmd             *exec.Cmd
	done            chan struct{} // closed when the process has exited
	err             error         // its exit status, once done is closed
}

func (p *proc) output() string { return p.String() }

func start(t *testing.T, name string, stdout *bytes.Buffer, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	// Children die with the test binary, also when it is killed on a timeout.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.cmd.Stderr = p
	if stdout != nil {
		p.cmd.Stdout = stdout
	} else {
		p.cmd.Stdout = p
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	return p
}

// TestProcesses runs a real nats-server, two cloud workers and one edge
// worker as separate processes, kills one cloud worker (SIGKILL) in the
// middle of the run, and checks that no request was lost and that the
// accuracy is the whole model's; then SIGTERM drains the other worker.
func TestProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and runs processes")
	}
	si, ns := buildBinaries(t)
	url, nc := startNATS(t, ns)

	cloudA := start(t, "cloud A", nil, si, "cloud", "--nats", url, "--workers", "1")
	cloudB := start(t, "cloud B", nil, si, "cloud", "--nats", url, "--workers", "1")
	infos := waitServices(t, nc, 2)
	g, model, err := loadModel("")
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Name != pipeline.ServiceName || info.Metadata["model"] != model || info.Metadata["model_hash"] != pipeline.ModelHash(g) {
			t.Errorf("service info %+v", info)
		}
	}

	// The edge is slowed down (each head run takes 10x its CPU time) so the
	// run lasts seconds, not a fraction of one: the kill must land mid-run.
	const n = 10000
	var edgeOut bytes.Buffer
	edge := start(t, "edge", &edgeOut, si, "edge", "--nats", url, "--n", fmt.Sprint(n), "--concurrency", "8", "--cut", heuristicCut(t),
		"--edge-slowdown", "10", "--timeout", "1s", "--json")
	// Kill cloud A once both workers have answered some requests.
	waitComputed(t, nc, 2, 100)
	if err := cloudA.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-cloudA.done
	select {
	case <-edge.done:
		t.Fatal("the edge finished before a cloud worker was killed: the test proves nothing")
	default:
	}
	select {
	case <-edge.done:
		if edge.err != nil {
			t.Fatalf("edge: %v\n%s", edge.err, edgeOut.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatal("edge did not finish")
	}
	var sum system.Summary
	if err := json.Unmarshal(edgeOut.Bytes(), &sum); err != nil {
		t.Fatalf("edge --json: %v\n%s", err, edgeOut.String())
	}
	ev, err := evaluate.MNIST(context.Background(), g, testSet(t), n, 100, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("edge: %d images, %d errors, %d retries, accuracy %.4f (eval %.4f), p50 %.2f ms p99 %.2f ms",
		sum.Images, sum.Errors, sum.Retries, sum.Accuracy, ev.Accuracy, sum.Latency.P50, sum.Latency.P99)
	if sum.Images != n || sum.Errors != 0 || sum.Fallbacks != 0 || sum.Correct != ev.Correct {
		t.Errorf("after killing a cloud worker: %d images, %d errors, %d fallbacks, %d correct (eval %d)",
			sum.Images, sum.Errors, sum.Fallbacks, sum.Correct, ev.Correct)
	}

	// SIGTERM stops an edge: it exits 0 and summarises the images it sent,
	// every one answered.
	before := requestsHandled(t, nc)
	var edge2Out bytes.Buffer
	edge2 := start(t, "edge 2", &edge2Out, si, "edge", "--nats", url, "--n", "10000", "--concurrency", "4", "--cut", heuristicCut(t), "--json")
	waitComputed(t, nc, 1, before+300) // cloud B has answered some of edge 2's requests
	if err := edge2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-edge2.done:
		if edge2.err != nil {
			t.Errorf("edge 2 after SIGTERM: %v", edge2.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("edge 2 did not stop on SIGTERM")
	}
	var sum2 system.Summary
	if err := json.Unmarshal(edge2Out.Bytes(), &sum2); err != nil {
		t.Fatalf("edge 2 --json: %v\n%s", err, edge2Out.String())
	}
	if sum2.Images == 0 || sum2.Images >= 10000 || sum2.Errors != 0 {
		t.Errorf("edge 2 stopped by SIGTERM: %d images, %d errors", sum2.Images, sum2.Errors)
	}
	t.Logf("edge 2 stopped by SIGTERM after %d images, %d errors", sum2.Images, sum2.Errors)

	// SIGTERM drains cloud B: it exits 0 and says so.
	if err := cloudB.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cloudB.done:
		if cloudB.err != nil {
			t.Errorf("cloud B after SIGTERM: %v", cloudB.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("cloud B did not stop on SIGTERM")
	}
	if !strings.Contains(cloudB.output(), "drained") {
		t.Errorf("cloud B output lacks the drain report:\n%s", cloudB.output())
	}
}

// pingAll collects the INFO replies of the splitinfer services.
func pingAll(t *testing.T, nc *nats.Conn, verb micro.Verb) [][]byte {
	t.Helper()
	subj, _ := micro.ControlSubject(verb, pipeline.ServiceName, "")
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest(subj, inbox, nil); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for {
		m, err := sub.NextMsg(300 * time.Millisecond)
		if err != nil {
			return out
		}
		out = append(out, m.Data)
	}
}

func waitServices(t *testing.T, nc *nats.Conn, want int) []micro.Info {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var infos []micro.Info
		for _, b := range pingAll(t, nc, micro.InfoVerb) {
			var info micro.Info
			if err := json.Unmarshal(b, &info); err == nil {
				infos = append(infos, info)
			}
		}
		if len(infos) >= want {
			return infos
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d cloud workers registered", len(infos), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// requestsHandled sums the requests the live cloud workers have handled.
func requestsHandled(t *testing.T, nc *nats.Conn) int {
	t.Helper()
	total := 0
	for _, b := range pingAll(t, nc, micro.StatsVerb) {
		var st micro.Stats
		if err := json.Unmarshal(b, &st); err == nil && len(st.Endpoints) > 0 {
			total += st.Endpoints[0].NumRequests
		}
	}
	return total
}

// waitComputed waits until want workers have each handled at least min requests.
func waitComputed(t *testing.T, nc *nats.Conn, want, min int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ok := 0
		for _, b := range pingAll(t, nc, micro.StatsVerb) {
			var st micro.Stats
			if err := json.Unmarshal(b, &st); err == nil && len(st.Endpoints) > 0 && st.Endpoints[0].NumRequests >= min {
				ok++
			}
		}
		if ok >= want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("cloud workers did not each handle %d requests", min)
}

// startNATS starts a nats-server process on a free port and connects to it.
func startNATS(t *testing.T, bin string) (string, *nats.Conn) {
	t.Helper()
	port := freePort(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	start(t, "nats-server", nil, bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port))
	for deadline := time.Now().Add(10 * time.Second); ; {
		nc, err := nats.Connect(url)
		if err == nil {
			t.Cleanup(nc.Close)
			return url, nc
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return kb << 10
		}
	}
	t.Fatalf("VmHWM not in /proc/%d/status", pid)
	return 0
}

// TestMaliciousRequests sends malformed and hostile requests to a cloud
// worker process: each gets an error reply within a second, the worker's
// peak RSS stays under 200 MiB, and the next valid request succeeds.
func TestMaliciousRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and runs processes")
	}
	si, ns := buildBinaries(t)
	url, nc := startNATS(t, ns)
	cloud := start(t, "cloud", nil, si, "cloud", "--nats", url, "--workers", "2")
	waitServices(t, nc, 1)

	prog, cut := earlyCut(t)
	split, err := pipeline.NewSplit(prog, cut)
	if err != nil {
		t.Fatal(err)
	}
	set := testSet(t)
	valid := func(id string, mut func(*pipeline.Request)) []byte {
		x, _ := nn.FromFloat32(set.Image(0), 1, 1, 32, 32)
		mid, err := split.Head.NewRunner(1).Run(x)
		if err != nil {
			t.Fatal(err)
		}
		wt, _ := pipeline.FromNN(split.Cut[0], mid[0])
		r := &pipeline.Request{Version: pipeline.Version, ID: id, Model: pipeline.ModelHash(prog.Graph()), Cut: split.ID,
			Tensors: []pipeline.Tensor{wt}, Deadline: time.Now().Add(10 * time.Second).UnixNano()}
		if mut != nil {
			mut(r)
		}
		b, err := msgpack.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	nest := append(bytes.Repeat([]byte{0x91}, 1<<20-1), 0xc0)
	tests := []struct {
		name string
		msg  []byte
		code pipeline.Code
	}{
		{"5-byte bomb", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, pipeline.CodeBadRequest},
		{"bin32 bomb", []byte{0x81, 0xa4, 'd', 'a', 't', 'a', 0xc6, 0xff, 0xff, 0xff, 0xf0}, pipeline.CodeBadRequest},
		{"1 MiB nest of arrays", nest, pipeline.CodeBadRequest},
		{"shape disagrees with data", valid("m1", func(r *pipeline.Request) { r.Tensors[0].Shape[1]++ }), pipeline.CodeBadRequest},
		{"wrong hash", valid("m2", func(r *pipeline.Request) { r.Model = strings.Repeat("0", 64) }), pipeline.CodeModelMismatch},
		{"huge declared shape", valid("m3", func(r *pipeline.Request) { r.Tensors[0].Shape = []int64{1 << 20, 1 << 20, 1 << 10} }), pipeline.CodeTooLarge},
		{"garbage", bytes.Repeat([]byte("garbage!"), 1000), pipeline.CodeBadRequest},
	}
	for _, tc := range tests {
		startReq := time.Now()
		msg, err := nc.Request(pipeline.DefaultSubject, tc.msg, time.Second)
		if err != nil {
			t.Errorf("%s: no reply within a second: %v", tc.name, err)
			continue
		}
		e := pipeline.ErrorFromHeaders(msg.Header)
		if e == nil || e.Code != tc.code {
			t.Errorf("%s: reply error %v, want code %d", tc.name, e, tc.code)
		}
		t.Logf("%-26s -> %v in %v", tc.name, e, time.Since(startReq).Round(time.Microsecond))
		msg, err = nc.Request(pipeline.DefaultSubject, valid("ok-"+tc.name, nil), time.Second)
		if err != nil {
			t.Fatalf("valid request after %s: %v", tc.name, err)
		}
		r, err := pipeline.DecodeReply(msg.Data, pipeline.Limits{})
		if err != nil || r.Err() != nil || len(r.Outputs) != 1 {
			t.Fatalf("valid request after %s: %v %+v", tc.name, err, r)
		}
	}
	rss := peakRSS(t, cloud.cmd.Process.Pid)
	t.Logf("cloud worker peak RSS %.1f MiB", float64(rss)/(1<<20))
	if rss >= 200<<20 {
		t.Errorf("cloud worker peak RSS %d MiB, want < 200 MiB", rss>>20)
	}
}
