package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// TestHelpExitsZero: -h prints a command's usage and exits 0, for every
// command.
func TestHelpExitsZero(t *testing.T) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), []string{n, "-h"}, &out, &errb); code != 0 {
			t.Errorf("%s -h: exit %d\n%s", n, code, errb.String())
		} else if !strings.Contains(out.String()+errb.String(), "-") {
			t.Errorf("%s -h printed no flags: %q", n, out.String()+errb.String())
		}
	}
	if code := runMain(context.Background(), []string{"-h"}, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Errorf("splitinfer -h: exit %d", code)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := runMain(context.Background(), []string{"version"}, &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), runtime.Version()) || !strings.Contains(out.String(), "revision:") {
		t.Errorf("version printed %q", out.String())
	}
	out.Reset()
	if code := runMain(context.Background(), []string{"version", "--json"}, &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("--json: exit %d", code)
	}
	var v struct{ Version, GoVersion string }
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.GoVersion != runtime.Version() || v.Version == "" {
		t.Errorf("version --json: %q (%v)", out.String(), err)
	}
}

// TestHealth probes a provider's metrics listener as a container's
// healthcheck would.
func TestHealth(t *testing.T) {
	ctx := context.Background()
	p, err := trace.New(ctx, trace.WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	health := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runMain(ctx, append([]string{"health"}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := health("--live", p.MetricsAddr()); code != 0 {
		t.Errorf("health --live: exit %d %s", code, out)
	}
	if code, out := health(p.MetricsAddr()); code != 1 || !strings.Contains(out, "starting") {
		t.Errorf("health before ready: exit %d %s", code, out)
	}
	var ready atomic.Bool
	p.SetReadiness(func() error {
		if !ready.Load() {
			return errors.New("draining")
		}
		return nil
	})
	if code, out := health(p.MetricsAddr()); code != 1 || !strings.Contains(out, "draining") {
		t.Errorf("health not ready: exit %d %s", code, out)
	}
	ready.Store(true)
	if code, out := health(p.MetricsAddr()); code != 0 {
		t.Errorf("health ready: exit %d %s", code, out)
	}
	if code, _ := health("127.0.0.1:1"); code != 1 {
		t.Errorf("health of a closed port: exit %d", code)
	}
	if code, _ := health(); code != 2 {
		t.Errorf("health without ADDR: exit %d", code)
	}
}

// TestJSONLogTraceIDs: run --log-format json --log-level debug logs one
// record per request inside its span; each record's trace_id is a trace
// Jaeger has, with the edge's and the cloud's spans.
func TestJSONLogTraceIDs(t *testing.T) {
	j := jaegertest.Start(t)
	ctx := context.Background()
	prog, _, err := loadProgram("")
	if err != nil {
		t.Fatal(err)
	}
	cut, err := pipeline.EarlyCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := runMain(ctx, []string{"run", "--cut", cut, "--n", "4", "--otlp-endpoint", j.OTLPGRPC,
		"--log-format", "json", "--log-level", "debug"}, &out, &errb)
	if code != 0 {
		t.Fatalf("run exited %d:\n%s", code, errb.String())
	}
	logged := map[string]bool{}
	sc := bufio.NewScanner(&errb)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue // the human summary lines
		}
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if rec["msg"] == "edge request" {
			id, _ := rec[trace.LogTraceID].(string)
			if len(id) != 32 || rec[trace.LogSpanID] == nil {
				t.Errorf("edge request record without trace_id/span_id: %s", line)
			}
			logged[id] = true
		}
	}
	if len(logged) != 4 {
		t.Fatalf("%d distinct trace_ids in the edge request records, want 4:\n%s", len(logged), errb.String())
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	traces, err := j.WaitTraces(wctx, trace.ServiceEdge, func(ts []jaegertest.Trace) bool { return len(ts) >= 4 })
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range traces {
		if !logged[tr.TraceID] {
			t.Errorf("Jaeger's trace %s is in no log record", tr.TraceID)
		}
		if s := tr.Services(); !s[trace.ServiceCloud] {
			t.Errorf("trace %s lacks the cloud's spans", tr.TraceID)
		}
		delete(logged, tr.TraceID)
	}
	if len(logged) > 0 {
		t.Errorf("logged trace_ids Jaeger does not have: %v", logged)
	}
}
