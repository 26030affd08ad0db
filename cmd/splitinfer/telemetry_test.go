package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// TestRunOTLPFlags: `splitinfer run --otlp-endpoint --otlp-protocol` sends
// one trace per image to a real Jaeger, spanning both services;
// --trace-sample 0 sends none; bad values are usage errors.
func TestRunOTLPFlags(t *testing.T) {
	j := jaegertest.Start(t)
	ctx := context.Background()
	// A fixed split (--cut auto may keep everything on the edge here).
	prog, _, err := loadProgram("")
	if err != nil {
		t.Fatal(err)
	}
	cut, err := pipeline.EarlyCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runMain(ctx, append([]string{"run", "--cut", cut}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	code, out := run("--n", "5", "--otlp-endpoint", j.OTLPHTTP, "--otlp-protocol", "http/protobuf", "--jaeger-ui", j.QueryURL)
	if code != 0 {
		t.Fatalf("run exited %d:\n%s", code, out)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	traces, err := j.WaitTraces(wctx, trace.ServiceEdge, func(ts []jaegertest.Trace) bool { return len(ts) >= 5 })
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, tr := range traces {
		if s := tr.Services(); len(s) != 2 || !s[trace.ServiceCloud] {
			t.Errorf("trace %s: services %v", tr.TraceID, s)
		}
		ids[tr.TraceID] = true
	}
	// --jaeger-ui: the slowest and the median request's trace pages.
	links := regexp.MustCompile(`(?m)^trace +(slowest|median|slowest and median) [0-9.]+ ms +`+regexp.QuoteMeta(j.QueryURL)+`/trace/([0-9a-f]{32})$`).FindAllStringSubmatch(out, -1)
	if len(links) == 0 || len(links) > 2 {
		t.Errorf("run --jaeger-ui printed %d trace links, want the slowest and the median:\n%s", len(links), out)
	}
	for _, l := range links {
		if !ids[l[2]] {
			t.Errorf("run --jaeger-ui links trace %s (%s), which Jaeger does not have", l[2], l[1])
		}
	}
	// Sampling off: run flushes at exit, so nothing more arrives later.
	if code, out := run("--n", "3", "--otlp-endpoint", j.OTLPGRPC, "--trace-sample", "0", "--jaeger-ui", j.QueryURL); code != 0 || !strings.Contains(out, "no request was traced") {
		t.Fatalf("run exited %d, want 0 and no trace links:\n%s", code, out)
	}
	if traces, err = j.Traces(wctx, trace.ServiceEdge); err != nil || len(traces) != 5 {
		t.Errorf("after --trace-sample 0: %d traces (%v), want the first run's 5", len(traces), err)
	}
	for _, args := range [][]string{
		{"--otlp-protocol", "thrift"},
		{"--trace-sample", "1.5"},
		{"--jaeger-ui", "127.0.0.1:16686"},
	} {
		if code, out := run(append([]string{"--n", "1"}, args...)...); code != 2 || !strings.Contains(out, args[0]) {
			t.Errorf("run %v: exit %d, want 2 naming the flag:\n%s", args, code, out)
		}
	}
}
