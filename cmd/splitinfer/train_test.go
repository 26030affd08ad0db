package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

func TestTrainCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m.onnx")
	var stdout, stderr bytes.Buffer
	code := runMain(context.Background(), []string{"train", "--arch", "4,4,16", "--epochs", "2", "--lr", "5e-3", "--train-limit", "512", "--batch", "32", "--prune", "0.5", "--lr-schedule", "cosine", "--warmup-steps", "4", "--json", "--out", out}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	if acc, _ := res["test_accuracy"].(float64); acc < 0.3 {
		t.Errorf("test accuracy %v after a short run", res["test_accuracy"])
	}
	if !strings.Contains(stderr.String(), "(cosine)") {
		t.Errorf("stderr does not name the cosine schedule: %q", stderr.String())
	}
	if !strings.Contains(stderr.String(), "epoch 2/2") {
		t.Errorf("no progress bar on stderr: %q", stderr.String())
	}
	if strings.Contains(stderr.String(), "\r") {
		t.Errorf("progress redrawn (\\r) on stderr that is not a terminal: %q", stderr.String())
	}
	g, err := onnx.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	n, err := train.FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	if s := n.Sparsity(); s < 0.49 {
		t.Errorf("saved model sparsity %v, want 0.5 kept through training", s)
	}
	for _, args := range [][]string{
		{"train"},
		{"train", "--out", out, "--prune", "1.5"},
		{"train", "--out", out, "--arch", "1,2"},
		{"train", "--out", out, "--optimizer", "rmsprop", "--train-limit", "64"},
		{"train", "--out", out, "--lr-schedule", "step", "--train-limit", "64"},
		{"train", "--out", out, "--lr-schedule", "cosine", "--warmup-steps", "-1", "--train-limit", "64"},
	} {
		stderr.Reset()
		if code := runMain(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
