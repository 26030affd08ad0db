package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
)

func TestPartitionCommand(t *testing.T) {
	model := testref.Path(t, "tinyresnet_mnist.onnx")
	png := filepath.Join(t.TempDir(), "sweep.png")
	var out, errb bytes.Buffer
	code := runMain(context.Background(), []string{"partition", "--model", model, "--bandwidth", "10mbit", "--rtt", "20ms",
		"--edge-slowdown", "4", "--samples", "2", "--runs", "2", "--json", "--plot", png}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res struct {
		Choice string
		Cuts   []struct {
			Name        string
			Bytes       int
			PredictedMS float64 `json:"predicted_ms"`
		}
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(res.Cuts) < 3 {
		t.Fatalf("%d cuts", len(res.Cuts))
	}
	best, names := -1.0, map[string]bool{}
	for _, c := range res.Cuts {
		names[c.Name] = true
		if c.PredictedMS <= 0 || (c.Name != "edge-only" && c.Bytes <= 0) {
			t.Errorf("cut %+v", c)
		}
		if c.Name == res.Choice {
			best = c.PredictedMS
		}
	}
	if !names["edge-only"] || !names["cloud-only"] || best < 0 {
		t.Fatalf("choice %q or a trivial cut missing from %v", res.Choice, names)
	}
	for _, c := range res.Cuts {
		if c.PredictedMS < best {
			t.Errorf("cut %s predicted %.3f ms beats the choice %s (%.3f ms)", c.Name, c.PredictedMS, res.Choice, best)
		}
	}
	b, err := os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) || len(b) < 10000 {
		t.Fatalf("plot: %d bytes, %v", len(b), err)
	}

	// the table names the choice
	out.Reset()
	if code := runMain(context.Background(), []string{"partition", "--model", model, "--bandwidth", "1mbit", "--samples", "1", "--runs", "1"}, &out, &errb); code != 0 {
		t.Fatalf("table: exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "choice: ") || !strings.Contains(out.String(), "predicted ms") {
		t.Fatalf("table output:\n%s", out.String())
	}
}

func TestPartitionBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"partition", "extra-argument"},
		{"partition", "--model", "x.onnx", "--bandwidth", "fast"},
		{"partition", "--model", "x.onnx", "--edge-slowdown", "0.5"},
		{"partition", "--model", "x.onnx", "--wire", "int4"},
		{"partition", "--model", "x.onnx", "--codec", "gzip"},
	} {
		var out, errb bytes.Buffer
		if code := runMain(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := runMain(context.Background(), []string{"partition", "--model", filepath.Join(t.TempDir(), "missing.onnx")}, &out, &errb); code != 1 {
		t.Errorf("missing model: exit %d, want 1", code)
	}
}
