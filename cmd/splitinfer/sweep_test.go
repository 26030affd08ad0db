package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
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
