package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
)

// runJSON runs the command with --json and decodes its summary.
func runJSON(t *testing.T, args ...string) *system.Summary {
	t.Helper()
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), append(args, "--json"), &out, &errb); code != 0 {
		t.Fatalf("%s exited %d: %s", args[0], code, errb.String())
	}
	var sum system.Summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return &sum
}

// TestRunCutAuto: with an edge 200x slower than the host and a fast
// emulated link, the partitioner sends work to the cloud; the summary
// carries the plan and every image is answered correctly through it.
func TestRunCutAuto(t *testing.T) {
	const n = 40
	sum := runJSON(t, "run", "--n", fmt.Sprint(n), "--cut", "auto", "--link", "100mbit/2ms", "--edge-slowdown", "200", "--samples", "2")
	p := sum.Plan
	if p == nil {
		t.Fatal("no plan in the summary")
	}
	if p.Choice == partition.EdgeOnly || sum.BytesPerRequest == 0 || !(p.PredictedMS > 2) || p.Adaptive {
		t.Fatalf("plan %+v, %.0f bytes per request", p, sum.BytesPerRequest)
	}
	if sum.Images != n || sum.Errors != 0 || sum.Fallbacks != 0 || sum.Accuracy < 0.9 {
		t.Fatalf("summary %+v", sum)
	}
	// loose: a loaded host may slow the requests, never make them faster
	// than the emulated round trip
	if sum.Latency.P50 < 2 || p.PredictedMS > 3*sum.Latency.P50 {
		t.Fatalf("predicted %.2f ms, measured p50 %.2f ms", p.PredictedMS, sum.Latency.P50)
	}
	if !strings.Contains(strings.Join(p.Notes, "\n"), "fetched from a cloud worker") {
		t.Fatalf("notes %q", p.Notes)
	}

	// --adapt: the adaptive edge drives the same way.
	sum = runJSON(t, "run", "--n", "20", "--cut", "auto", "--adapt", "--link", "100mbit/2ms", "--edge-slowdown", "200", "--samples", "1")
	if sum.Plan == nil || !sum.Plan.Adaptive || sum.Images != 20 || sum.Errors != 0 {
		t.Fatalf("--adapt summary %+v plan %+v", sum, sum.Plan)
	}
}

// TestRunAutoFlags: --adapt needs --cut auto; bad --link and
// --edge-slowdown are usage errors.
func TestRunAutoFlags(t *testing.T) {
	for _, args := range [][]string{
		{"run", "--cut", "h3", "--adapt"},
		{"run", "--link", "fast"},
		{"run", "--edge-slowdown", "0.5"},
		{"run", "--samples", "0"},
	} {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
}

// TestEdgeCutAuto: `splitinfer edge --cut auto` against a cloud worker
// fetches the worker's profile and chooses; against workers that publish
// none it says so and falls back to the heuristic cut.
func TestEdgeCutAuto(t *testing.T) {
	prog, name, err := loadProgram("")
	if err != nil {
		t.Fatal(err)
	}
	for _, runs := range []int{1, -1} {
		sys, err := system.StartCloud(name, prog, cloudworker.Config{Workers: 1, ProfileRuns: runs}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum := runJSON(t, "edge", "--nats", sys.URL(), "--n", "10", "--cut", "auto", "--edge-slowdown", "500", "--samples", "1")
		sys.Close()
		if sum.Images != 10 || sum.Errors != 0 {
			t.Fatalf("profile runs %d: summary %+v", runs, sum)
		}
		switch {
		case runs > 0 && (sum.Plan == nil || sum.Plan.Choice == partition.EdgeOnly):
			t.Fatalf("with a profile: plan %+v", sum.Plan)
		case runs < 0 && (sum.Plan != nil || sum.Cut != heuristicCut(t)):
			t.Fatalf("without a profile: plan %+v, cut %s", sum.Plan, sum.Cut)
		}
	}
}

// heuristicCut is pipeline.EarlyCut's cut of the default model: tests of
// the split pass it, as --cut auto may choose edge-only on loopback.
func heuristicCut(t *testing.T) string {
	t.Helper()
	prog, _, err := loadProgram("")
	if err != nil {
		t.Fatal(err)
	}
	c, err := pipeline.EarlyCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
