package main

import (
	"bytes"
	"context"
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
	cut, err := pipeline.AutoCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := runMain(ctx, append([]string{"run", "--cut", cut}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("--n", "5", "--otlp-endpoint", j.OTLPHTTP, "--otlp-protocol", "http/protobuf"); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, out)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	traces, err := j.WaitTraces(wctx, trace.ServiceEdge, func(ts []jaegertest.Trace) bool { return len(ts) >= 5 })
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range traces {
		if s := tr.Services(); len(s) != 2 || !s[trace.ServiceCloud] {
			t.Errorf("trace %s: services %v", tr.TraceID, s)
		}
	}
	// Sampling off: run flushes at exit, so nothing more arrives later.
	if code, out := run("--n", "3", "--otlp-endpoint", j.OTLPGRPC, "--trace-sample", "0"); code != 0 {
		t.Fatalf("run exited %d:\n%s", code, out)
	}
	if traces, err = j.Traces(wctx, trace.ServiceEdge); err != nil || len(traces) != 5 {
		t.Errorf("after --trace-sample 0: %d traces (%v), want the first run's 5", len(traces), err)
	}
	for _, args := range [][]string{
		{"--otlp-protocol", "thrift"},
		{"--trace-sample", "1.5"},
	} {
		if code, out := run(append([]string{"--n", "1"}, args...)...); code != 2 || !strings.Contains(out, args[0]) {
			t.Errorf("run %v: exit %d, want 2 naming the flag:\n%s", args, code, out)
		}
	}
}
