package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/compress/recipe"
	"github.com/splitinfer/splitinfer/system"
)

// TestCompressExit: compress --exit writes the head into the .sinf and the
// ONNX file; run answers the confident requests at the edge (exited,
// exit_rate, fewer bytes per request) and --early-exit=false sends all.
func TestCompressExit(t *testing.T) {
	dir := t.TempDir()
	sinfOut, onnxOut := filepath.Join(dir, "exit.sinf"), filepath.Join(dir, "exit.onnx")
	// The ONNX file from the float model (the bundled int8 one carries a
	// binary activation codec in its metadata, which ONNX text cannot hold).
	for _, out := range []string{sinfOut, onnxOut} {
		model := "seednet_mnist_pq8"
		if out == onnxOut {
			model = "seednet_mnist"
		}
		args := []string{"compress", "--model", model, "--out", out, "--exit", "early", "--exit-fit", "3000",
			"--exit-held", "1000", "--exit-epochs", "2", "--max-accuracy-drop", "0.01", "--n", "100", "--json"}
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		var rep recipe.Report
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatal(err)
		}
		g, _, err := loadModel(out)
		if err != nil {
			t.Fatal(err)
		}
		h, err := earlyexit.Lookup(g, rep.ExitCut)
		if err != nil || h == nil || rep.Exit == nil || h.Threshold != rep.Exit.Threshold || rep.Exit.Images != 1000 {
			t.Fatalf("%s: head %v (%v), report %+v", out, h, err, rep.Exit)
		}
	}
	run := func(extra ...string) system.Summary {
		args := append([]string{"run", "--model", sinfOut, "--n", "300", "--json"}, extra...)
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		var s system.Summary
		if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	on, off := run(), run("--early-exit=false")
	if on.Exited == 0 || on.ExitRate != float64(on.Exited)/300 || on.BytesPerRequest >= off.BytesPerRequest || off.Exited != 0 {
		t.Errorf("early exit: %d exited (rate %v), %.0f bytes/request; off: %d exited, %.0f bytes/request", on.Exited, on.ExitRate, on.BytesPerRequest, off.Exited, off.BytesPerRequest)
	}
	if on.Accuracy < off.Accuracy-0.03 {
		t.Errorf("accuracy with early exit %.4f, without %.4f", on.Accuracy, off.Accuracy)
	}
}
