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

func TestParseArch(t *testing.T) {
	for arch, params := range map[string]int{"seednet": 268362, "8,16,64": 67498, "4,8,32": 17082} {
		n, err := parseArch(arch, 1)
		if err != nil {
			t.Fatal(err)
		}
		if n.NumParams() != params {
			t.Errorf("%s: %d params, want %d", arch, n.NumParams(), params)
		}
	}
	for _, bad := range []string{"", "8,16", "8,x,64", "0,1,2", "resnet50"} {
		if _, err := parseArch(bad, 1); err == nil {
			t.Errorf("--arch %q: no error", bad)
		}
	}
}

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

func TestCompressGraph(t *testing.T) {
	teacher, err := parseArch("4,4,16", 1)
	if err != nil {
		t.Fatal(err)
	}
	g, err := teacher.ToGraph("teacher")
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	base := compressTrain{trainFlags: trainFlags{lr: 1e-3, batch: 64, seed: 1, optimizer: "adam", limit: 256, quiet: true}, temperature: 4, alpha: 0.7}

	// Pruning with fine-tuning keeps the architecture and the sparsity.
	o := base
	o.prune, o.pruneChannels, o.epochs = 0.8, 0.5, 1
	pg, err := o.compressGraph(context.Background(), g, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := train.FromGraph(pg)
	if err != nil {
		t.Fatal(err)
	}
	if n.MACs() >= teacher.MACs()/2 || n.Sparsity() < 0.79 {
		t.Errorf("pruned: %d MACs (from %d), sparsity %v", n.MACs(), teacher.MACs(), n.Sparsity())
	}
	if !strings.Contains(stderr.String(), "before fine-tuning") {
		t.Errorf("no pruning report: %q", stderr.String())
	}

	// A student distilled from the input model.
	o = base
	o.student, o.epochs = "2,2,8", 1
	sg, err := o.compressGraph(context.Background(), g, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	s, err := train.FromGraph(sg)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := parseArch("2,2,8", 1); s.NumParams() != want.NumParams() {
		t.Errorf("student has %d params, want %d", s.NumParams(), want.NumParams())
	}

	o = base
	o.student = "2,2,8" // no epochs
	if _, err := o.compressGraph(context.Background(), g, &stderr); err == nil {
		t.Error("distillation without epochs: no error")
	}
}
