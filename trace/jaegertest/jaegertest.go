// Package jaegertest runs the real Jaeger binary (built by
// scripts/jaeger-build.sh from the tools module) on free loopback ports for
// tests, with its web UI when the built assets are available (UIAssets),
// and reads traces back through Jaeger's query API.
package jaegertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ErrNotFound is returned by Binary when no Jaeger binary is available.
var ErrNotFound = errors.New("jaegertest: jaeger binary not found (run scripts/jaeger-build.sh or make test-deps)")

// configPath is the Jaeger config inside the repository.
const configPath = "tools/jaeger.yaml"

// RepoRoot walks up from the working directory to the splitinfer checkout
// (the directory holding tools/jaeger.yaml).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, configPath)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("jaegertest: %s not found above the working directory", configPath)
		}
		dir = parent
	}
}

// Binary locates the jaeger binary: $JAEGER_BIN, then the build cache
// ($JAEGER_CACHE_DIR or <repo>/.cache/bin, as scripts/jaeger-build.sh
// writes), then $PATH.
func Binary() (string, error) {
	if p := os.Getenv("JAEGER_BIN"); p != "" {
		if isExec(p) {
			return p, nil
		}
		return "", fmt.Errorf("%w: JAEGER_BIN=%s is not an executable", ErrNotFound, p)
	}
	dir := os.Getenv("JAEGER_CACHE_DIR")
	if dir == "" {
		if root, err := RepoRoot(); err == nil {
			dir = filepath.Join(root, ".cache", "bin")
		}
	}
	if dir != "" {
		if p := filepath.Join(dir, "jaeger"); isExec(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("jaeger"); err == nil {
		return p, nil
	}
	return "", ErrNotFound
}

// UIAssets locates the Jaeger web UI's built assets (a directory holding
// index.html): $JAEGER_UI_ASSETS, else ../shared/jaeger-ui/build beside the
// checkout when present. It returns "" without an error when neither is
// set up, and an error when JAEGER_UI_ASSETS names no such directory.
func UIAssets() (string, error) {
	if dir := os.Getenv("JAEGER_UI_ASSETS"); dir != "" {
		if !isFile(filepath.Join(dir, "index.html")) {
			return "", fmt.Errorf("jaegertest: JAEGER_UI_ASSETS=%s holds no index.html", dir)
		}
		return filepath.Abs(dir)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", nil
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "jaeger-ui", "build")
	if !isFile(filepath.Join(dir, "index.html")) {
		return "", nil
	}
	return dir, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// InCI reports whether the CI environment variable is set (and not
// "false" or "0").
func InCI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// Jaeger is a running Jaeger process.
type Jaeger struct {
	// OTLPGRPC and OTLPHTTP are the OTLP receivers' base URLs
	// (http://127.0.0.1:port), for trace.WithEndpoint.
	OTLPGRPC, OTLPHTTP string
	// QueryURL is the query service's base URL (the /api/... endpoints,
	// and the web UI's pages when UIAssets is set).
	QueryURL string
	// UIAssets is the directory of the web UI's assets Jaeger serves, ""
	// when it serves only the API (and a placeholder page).
	UIAssets string

	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{}
	err  error // Wait's result, valid after done is closed
}

// Start runs Jaeger for the test and stops it at cleanup. Without a binary
// the test is skipped with a message, except in CI, where it fails.
func Start(t testing.TB) *Jaeger {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		if InCI() {
			t.Fatalf("%v; CI is set, so the Jaeger test must run", err)
		}
		t.Skipf("%v; skipping (CI unset)", err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ui, err := UIAssets()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ { // a freed port can be taken meanwhile: retry
		j, err := start(ctx, bin, filepath.Join(root, configPath), ui)
		if err == nil {
			t.Cleanup(func() {
				if err := j.Stop(); err != nil {
					t.Errorf("jaegertest: stop: %v", err)
				}
				if t.Failed() {
					t.Logf("jaeger output:\n%s", j.Logs())
				}
			})
			return j
		}
		lastErr = err
	}
	t.Fatalf("jaegertest: starting %s: %v", bin, lastErr)
	return nil
}

func start(ctx context.Context, bin, config, ui string) (*Jaeger, error) {
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(),
		"JAEGER_OTLP_GRPC_PORT="+strconv.Itoa(ports[0]),
		"JAEGER_OTLP_HTTP_PORT="+strconv.Itoa(ports[1]),
		"JAEGER_QUERY_HTTP_PORT="+strconv.Itoa(ports[2]),
		"JAEGER_QUERY_GRPC_PORT="+strconv.Itoa(ports[3]),
		"JAEGER_HEALTH_PORT="+strconv.Itoa(ports[4]),
		"JAEGER_LOG_LEVEL=warn",
		"JAEGER_UI_ASSETS="+ui,
	)
	j := &Jaeger{
		OTLPGRPC: fmt.Sprintf("http://127.0.0.1:%d", ports[0]),
		OTLPHTTP: fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		QueryURL: fmt.Sprintf("http://127.0.0.1:%d", ports[2]),
		UIAssets: ui,
		logs:     &syncBuffer{},
		done:     make(chan struct{}),
	}
	j.cmd = exec.Command(bin, "--config", config)
	j.cmd.Env = env
	j.cmd.Stdout, j.cmd.Stderr = j.logs, j.logs
	if err := j.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		j.err = j.cmd.Wait()
		close(j.done)
	}()
	if err := j.waitReady(ctx, ports[0], ports[1]); err != nil {
		_ = j.Stop()
		return nil, fmt.Errorf("%w\n%s", err, j.Logs())
	}
	return j, nil
}

// freePorts reserves n distinct loopback ports and releases them.
func freePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitReady polls the query API and the OTLP ports until they answer.
func (j *Jaeger) waitReady(ctx context.Context, otlpPorts ...int) error {
	for {
		select {
		case <-j.done:
			return fmt.Errorf("jaeger exited early: %v", j.err)
		case <-ctx.Done():
			return fmt.Errorf("jaeger not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		if j.ready(ctx, otlpPorts) {
			return nil
		}
	}
}

func (j *Jaeger) ready(ctx context.Context, otlpPorts []int) bool {
	for _, p := range otlpPorts {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	var services struct{ Data []string }
	return j.get(ctx, "/api/services", nil, &services) == nil
}

// Stop ends Jaeger (SIGTERM, then SIGKILL after 10s). Safe to call twice.
func (j *Jaeger) Stop() error {
	select {
	case <-j.done:
		return nil
	default:
	}
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = j.cmd.Process.Kill()
		<-j.done
		return errors.New("jaeger did not stop on SIGTERM; killed")
	}
}

// Logs returns what Jaeger printed so far.
func (j *Jaeger) Logs() string { return j.logs.String() }

// Services lists the service names Jaeger has traces for.
func (j *Jaeger) Services(ctx context.Context) ([]string, error) {
	var resp struct{ Data []string }
	if err := j.get(ctx, "/api/services", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

// Traces returns the traces (with all their spans, from every service) in
// which service has a span: GET /api/traces?service=...
func (j *Jaeger) Traces(ctx context.Context, service string) ([]Trace, error) {
	q := url.Values{"service": {service}, "limit": {"1000"}, "lookback": {"1h"}}
	var resp struct {
		Data   []Trace
		Errors []struct {
			Code int
			Msg  string
		}
	}
	if err := j.get(ctx, "/api/traces", q, &resp); err != nil {
		return nil, err
	}
	if len(resp.Errors) > 0 {
		return nil, fmt.Errorf("jaegertest: /api/traces: %d %s", resp.Errors[0].Code, resp.Errors[0].Msg)
	}
	return resp.Data, nil
}

// WaitTraces polls Traces until ok accepts the result (e.g. enough traces,
// each with the cloud's spans) or ctx ends; it returns the last result.
func (j *Jaeger) WaitTraces(ctx context.Context, service string, ok func([]Trace) bool) ([]Trace, error) {
	for {
		traces, err := j.Traces(ctx, service)
		if err == nil && ok(traces) {
			return traces, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return traces, fmt.Errorf("jaegertest: waiting for traces of %s: %w", service, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Page returns the body of GET path from the query service (a web UI page).
func (j *Jaeger) Page(ctx context.Context, path string) (string, error) {
	body, err := j.fetch(ctx, path)
	return string(body), err
}

func (j *Jaeger) fetch(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jaegertest: GET %s: %s: %.200s", path, resp.Status, body)
	}
	return body, nil
}

func (j *Jaeger) get(ctx context.Context, path string, q url.Values, into any) error {
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	body, err := j.fetch(ctx, path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("jaegertest: GET %s: %w", path, err)
	}
	return nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 1<<20 { // keep the head; enough to see why it failed
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
