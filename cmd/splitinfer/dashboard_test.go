package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/natstest"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// prometheusBinary is the Prometheus scripts/prometheus-build.sh builds
// ($PROMETHEUS_BIN wins); the test skips without it, and fails under CI.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv("PROMETHEUS_BIN")
	if p == "" {
		root, err := jaegertest.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir := os.Getenv("PROMETHEUS_CACHE_DIR")
		if dir == "" {
			dir = filepath.Join(root, ".cache", "bin")
		}
		p = filepath.Join(dir, "prometheus")
	}
	if _, err := os.Stat(p); err != nil {
		if jaegertest.InCI() {
			t.Fatalf("prometheus binary missing (%v): scripts/test-deps.sh builds it", err)
		}
		t.Skipf("prometheus binary missing (%v): run scripts/prometheus-build.sh", err)
	}
	return p
}

func freeAddr(t *testing.T) string { return fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t)) }

// dashboardQueries are the PromQL expressions of every panel of the
// Grafana dashboard, with Grafana's $__rate_interval replaced by rate.
func dashboardQueries(t *testing.T, rate string) map[string]string {
	t.Helper()
	root, err := jaegertest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "deploy", "grafana", "splitinfer-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	qs := map[string]string{}
	for _, p := range d.Panels {
		for i, tg := range p.Targets {
			qs[fmt.Sprintf("%s #%d", p.Title, i)] = strings.ReplaceAll(tg.Expr, "$__rate_interval", rate)
		}
	}
	if len(qs) < 8 {
		t.Fatalf("dashboard has %d queries", len(qs))
	}
	return qs
}

// TestPrometheusDashboard runs a real Prometheus (built from its Go module)
// scraping the --metrics-addr listeners of two running splits, a healthy
// one and one whose attempts time out (so errors by code have data), and
// checks that every query of deploy/grafana/splitinfer-dashboard.json
// returns data.
func TestPrometheusDashboard(t *testing.T) {
	bin := prometheusBinary(t)
	prog, _, err := loadProgram("")
	if err != nil {
		t.Fatal(err)
	}
	cut, err := pipeline.EarlyCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	edgeAddr, cloudAddr, failAddr, promAddr := freeAddr(t), freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	runs := map[string][]string{
		"healthy": {"run", "--cut", cut, "--n", "10000", "--link", "100mbit/20ms",
			"--metrics-addr", edgeAddr, "--cloud-metrics-addr", cloudAddr},
		// Each attempt times out before the 20ms round trip: every request
		// fails with a code, at the edge.
		"failing": {"run", "--cut", cut, "--n", "10000", "--link", "10mbit/20ms", "--timeout", "5ms", "--attempts", "1",
			"--fallback=false", "--metrics-addr", failAddr},
	}
	outs := map[string]*bytes.Buffer{}
	for name, args := range runs {
		var out bytes.Buffer
		outs[name] = &out
		wg.Add(1)
		go func() {
			defer wg.Done()
			runMain(ctx, args, &out, &out)
		}()
	}
	defer func() {
		cancel()
		wg.Wait()
		if t.Failed() {
			for name, out := range outs {
				t.Logf("%s run:\n%s", name, out.String())
			}
		}
	}()

	dir := t.TempDir()
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: splitinfer-edge
    static_configs: [{targets: [%q, %q]}]
  - job_name: splitinfer-cloud
    static_configs: [{targets: [%q]}]
`, edgeAddr, failAddr, cloudAddr)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var plog bytes.Buffer
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"), "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+promAddr)
	cmd.Stdout, cmd.Stderr = &plog, &plog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("prometheus:\n%s", plog.String())
		}
	}()

	query := func(expr string) (int, error) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(expr))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var r struct {
			Status string
			Error  string
			Data   struct{ Result []json.RawMessage }
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return 0, fmt.Errorf("%s: %s", resp.Status, b)
		}
		if r.Status != "success" {
			return 0, fmt.Errorf("query error: %s", r.Error)
		}
		return len(r.Data.Result), nil
	}
	pending := dashboardQueries(t, "30s")
	pending["every target up"] = `count(up == 1) == 3`
	deadline := time.Now().Add(90 * time.Second)
	// Prometheus listens before its storage is open and answers 503 until
	// then (a second or more on a loaded machine): query once /-/ready says
	// so.
	for ready := false; !ready; {
		if time.Now().After(deadline) {
			t.Fatal("prometheus not ready within 90s")
		}
		time.Sleep(100 * time.Millisecond)
		if resp, err := http.Get("http://" + promAddr + "/-/ready"); err == nil {
			ready = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
	}
	for len(pending) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		for name, expr := range pending {
			n, err := query(expr)
			if err != nil {
				t.Fatalf("%s: %s: %v", name, expr, err)
			}
			if n > 0 {
				delete(pending, name)
			}
		}
	}
	for name, expr := range pending {
		t.Errorf("dashboard query %q returned no data within 90s: %s", name, expr)
	}
}
