package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// TestSweepCommand measures tinyresnet's cuts over the live pipeline on
// one emulated link (few requests: it checks the plumbing and the report,
// not the accuracy figures, which need quiet hosts and more requests).
func TestSweepCommand(t *testing.T) {
	model := testref.Path(t, "tinyresnet_mnist.onnx")
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"sweep", "--model", model, "--link", "50mbit/10ms", "--edge-slowdown", "4",
		"--samples", "2", "--runs", "2", "--requests", "2", "--warmup", "0", "--max-predicted", "1.5", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Choice string
		Cuts   []struct {
			Name        string
			PredictedMS float64  `json:"predicted_ms"`
			MeasuredMS  *float64 `json:"measured_ms"`
		}
		Links []struct {
			Choice                  string
			ChoiceMS                float64 `json:"choice_measured_ms"`
			EdgeOnlyMS, CloudOnlyMS *float64
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	measured := map[string]float64{}
	for _, c := range res.Cuts {
		if c.MeasuredMS != nil {
			if *c.MeasuredMS <= 0 {
				t.Errorf("cut %s measured %v ms", c.Name, *c.MeasuredMS)
			}
			measured[c.Name] = *c.MeasuredMS
		}
	}
	for _, want := range []string{"edge-only", "cloud-only", res.Choice} {
		if _, ok := measured[want]; !ok {
			t.Errorf("cut %s not measured (%v)", want, measured)
		}
	}
	// cloud-only crosses a 10 ms round trip: it cannot be faster
	if measured["cloud-only"] < 10 {
		t.Errorf("cloud-only measured %.2f ms on a 10 ms RTT link", measured["cloud-only"])
	}
	if len(res.Links) != 1 || res.Links[0].Choice != res.Choice || res.Links[0].ChoiceMS != measured[res.Choice] {
		t.Errorf("links summary %+v", res.Links)
	}
}

// TestSweepCloudOnlyTooBig: when cloud-only's request exceeds --max-bytes
// the summary says it is not possible (no 0 ms figure).
func TestSweepCloudOnlyTooBig(t *testing.T) {
	model := testref.Path(t, "seednet_mnist.onnx")
	args := []string{"sweep", "--model", model, "--link", "100mbit/1ms", "--samples", "1", "--runs", "1",
		"--requests", "1", "--warmup", "0", "--max-bytes", "3000"}
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), append(args, "--json"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Links []struct {
			CloudOnlyMS      *float64 `json:"cloud_only_ms"`
			CloudOnlySkipped string   `json:"cloud_only_skipped"`
			EdgeOnlyMS       *float64 `json:"edge_only_ms"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res.Links) != 1 || res.Links[0].CloudOnlyMS != nil || !strings.Contains(res.Links[0].CloudOnlySkipped, "not possible") || res.Links[0].EdgeOnlyMS == nil {
		t.Fatalf("links %+v", res.Links)
	}
	out.Reset()
	if code := runMain(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "cloud-only not possible") || strings.Contains(out.String(), "cloud-only 0.0 ms") {
		t.Fatalf("summary:\n%s", out.String())
	}
}

// TestSweepAdapt runs the adaptive partitioner over a link that drops
// from 100 to 1 Mbit/s: it reports phases and every request.
func TestSweepAdapt(t *testing.T) {
	model := testref.Path(t, "seednet_mnist.onnx")
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"sweep", "--model", model, "--adapt", "100mbit/5ms,1mbit/5ms",
		"--phase", "4", "--samples", "1", "--runs", "1", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Phases []struct {
			Link       string
			Best       string `json:"best_cut"`
			MovedAfter int    `json:"moved_after_requests"`
		}
		Requests []struct {
			Cut string
			MS  float64
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res.Phases) != 2 || len(res.Requests) != 8 {
		t.Fatalf("%d phases, %d requests", len(res.Phases), len(res.Requests))
	}
	for _, r := range res.Requests {
		if r.MS <= 0 || r.Cut == "" {
			t.Errorf("request %+v", r)
		}
	}
}

// TestSweepTraceLinks: with --otlp-endpoint and --jaeger-ui, a sweep sends
// one traced request per measured cut and links its trace, which Jaeger
// has: a split cut's crosses to the cloud, edge-only's stays on the edge.
func TestSweepTraceLinks(t *testing.T) {
	j := jaegertest.Start(t)
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"sweep", "--link", "100mbit/1ms", "--samples", "1", "--runs", "1",
		"--requests", "1", "--warmup", "0", "--max-predicted", "0", "--otlp-endpoint", j.OTLPGRPC, "--jaeger-ui", j.QueryURL, "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Links []struct {
			Cuts []struct {
				Name       string
				MeasuredMS *float64 `json:"measured_ms"`
			}
			// the bundled model has codings: every cut with each
			Candidates []struct {
				Cut, Coding string
				MeasuredMS  *float64 `json:"measured_ms"`
			}
			Traces []system.TraceLink
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res.Links) != 1 {
		t.Fatalf("%d links", len(res.Links))
	}
	var measured []string
	for _, c := range res.Links[0].Cuts {
		if c.MeasuredMS != nil {
			measured = append(measured, c.Name)
		}
	}
	for _, c := range res.Links[0].Candidates {
		switch {
		case c.MeasuredMS == nil:
		case c.Cut == partition.EdgeOnly:
			measured = append(measured, c.Cut)
		default:
			measured = append(measured, c.Cut+" / "+c.Coding)
		}
	}
	links := res.Links[0].Traces
	if len(measured) < 3 || len(links) != len(measured) {
		t.Fatalf("%d trace links for the %d measured cuts %v: %+v", len(links), len(measured), measured, links)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	byID := map[string]jaegertest.Trace{}
	if _, err := j.WaitTraces(ctx, trace.ServiceEdge, func(ts []jaegertest.Trace) bool {
		for _, tr := range ts {
			byID[tr.TraceID] = tr
		}
		for _, l := range links {
			// the cloud's spans reach Jaeger on their own: wait for them too
			tr, ok := byID[l.TraceID]
			if !ok || (l.Label != partition.EdgeOnly && !tr.Services()[trace.ServiceCloud]) {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for i, l := range links {
		tr := byID[l.TraceID]
		if l.Label != measured[i] || l.URL != system.TraceURL(j.QueryURL, l.TraceID) {
			t.Errorf("link %d %+v, want cut %s", i, l, measured[i])
		}
		wantServices := 2
		if l.Label == partition.EdgeOnly {
			wantServices = 1
		}
		if s := tr.Services(); len(s) != wantServices || !s[trace.ServiceEdge] {
			t.Errorf("cut %s: trace %s has services %v", l.Label, l.TraceID, s)
		}
		if o := tr.Overhangs(); len(o) != 0 {
			t.Errorf("cut %s: spans outside their parents %v", l.Label, o)
		}
	}
}
