package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/compress/recipe"
	"github.com/splitinfer/splitinfer/nn"
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
		rep, g, _ := compressModel(t, out, "--model", model, "--exit", "early", "--exit-fit", "3000",
			"--exit-held", "1000", "--exit-epochs", "2", "--max-accuracy-drop", "0.01", "--n", "100")
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

// TestCompressExitWithCodec: with codecs and an exit head at one cut,
// compress chooses them together: the stored codec is one of the tuned
// candidates, the stored threshold the report's, and the pipeline (the
// head where it exits, the split through the codec elsewhere) stays within
// the budget on the held-back images.
func TestCompressExitWithCodec(t *testing.T) {
	rep, g, log := compressModel(t, filepath.Join(t.TempDir(), "joint.sinf"), "--model", "seednet_mnist_pq8", "--act-bits", "1,3",
		"--act-fit", "1000", "--act-held", "1000", "--exit", "early", "--exit-fit", "3000", "--exit-held", "1000", "--exit-epochs", "2",
		"--max-accuracy-drop", "0.01", "--n", "100")
	codec, err := actcode.Lookup(g, rep.ActCut)
	if err != nil || codec == nil || rep.ActChosen == nil || codec.Bits != rep.ActChosen.Bits {
		t.Fatalf("stored codec %v (%v), chosen %+v", codec, err, rep.ActChosen)
	}
	h, err := earlyexit.Lookup(g, rep.ExitCut)
	if err != nil || h == nil || rep.Exit == nil || h.Threshold != rep.Exit.Threshold || rep.ExitCut != rep.ActCut {
		t.Fatalf("head %v (%v), report %+v", h, err, rep.Exit)
	}
	if c := rep.Exit; c.Accuracy < c.WholeAccuracy-0.01-1e-9 {
		t.Errorf("accuracy with exit %.4f, whole %.4f", c.Accuracy, c.WholeAccuracy)
	}
	if !strings.Contains(log, "chosen together") {
		t.Errorf("log does not say the codec and the threshold were chosen together:\n%s", log)
	}
}

// compressModel runs compress --json with args writing out and returns
// its report, the written model and its log.
func compressModel(t *testing.T, out string, args ...string) (recipe.Report, *nn.Graph, string) {
	t.Helper()
	args = append([]string{"compress", "--out", out, "--json"}, args...)
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
	return rep, g, stderr.String()
}
