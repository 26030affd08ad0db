package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn/preprocess"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// TestCompressInt8: compress the seed network to int8 in both output
// formats on a small test subset; the JSON carries the before/after
// figures and the written files reload with int8 kernels.
func TestCompressInt8(t *testing.T) {
	in := testref.Path(t, "seednet_mnist.onnx")
	dir := t.TempDir()
	for _, out := range []string{filepath.Join(dir, "s.sinf"), filepath.Join(dir, "s.onnx")} {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), []string{"compress", "--model", in, "--out", out, "--quantize", "int8",
			"--calib", "64", "--calib-method", "percentile", "--n", "500", "--json"}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", out, code, stderr.String())
		}
		var rep map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%s: %v in %q", out, err, stdout.String())
		}
		for _, k := range []string{"accuracy_before", "accuracy_after", "bytes_before", "bytes_after", "macs_before", "macs_after", "params_before", "params_after"} {
			v, ok := rep[k].(float64)
			if !ok || v <= 0 {
				t.Fatalf("%s: %s = %v", out, k, rep[k])
			}
		}
		if rep["bytes_after"].(float64) > rep["bytes_before"].(float64)/3 {
			t.Errorf("%s: %v bytes after, %v before: int8 weights should shrink the file ~4x", out, rep["bytes_after"], rep["bytes_before"])
		}
		if a, b := rep["accuracy_after"].(float64), rep["accuracy_before"].(float64); b-a > 0.01 {
			t.Errorf("%s: accuracy %.4f -> %.4f", out, b, a)
		}
		if n := rep["int8_nodes"].([]any); len(n) != 4 {
			t.Errorf("%s: int8 nodes %v", out, n)
		}
		g, _, err := loadModel(out)
		if err != nil {
			t.Fatal(err)
		}
		convs := 0
		for _, n := range g.Nodes {
			if n.Op == "QLinearConvInt8" {
				convs++
			}
		}
		if convs != 2 {
			t.Errorf("%s reloads with %d int8 convs", out, convs)
		}
	}
	m, err := sinf.Load(filepath.Join(dir, "s.sinf"))
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Calibration; c == nil || c.Method != "percentile" || c.Samples != 64 || len(c.Ranges) == 0 {
		t.Fatalf("calibration record %+v", m.Calibration)
	}
}

func TestCompressErrors(t *testing.T) {
	in := testref.Path(t, "seednet_mnist.onnx")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.sinf")
	if err := os.WriteFile(bad, []byte(sinf.Magic+"junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", in}, ""},
		{[]string{"--model", in, "--out", filepath.Join(dir, "x.bin"), "--quantize", "int8"}, ".sinf or .onnx"},
		{[]string{"--model", in, "--out", filepath.Join(dir, "x.sinf"), "--quantize", "int4"}, "only int8"},
		{[]string{"--model", in, "--out", filepath.Join(dir, "x.sinf"), "--quantize", "int8", "--calib-method", "median"}, "calibration method"},
		{[]string{"--model", in, "--out", filepath.Join(dir, "x.sinf")}, "nothing to do"},
		{[]string{"--model", bad, "--out", filepath.Join(dir, "x.sinf"), "--quantize", "int8"}, "truncated"},
	} {
		var stdout, stderr bytes.Buffer
		code := runMain(context.Background(), append([]string{"compress"}, c.args...), &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, stderr.String(), c.want)
		}
	}
}

func TestCompressDistillDefaults(t *testing.T) {
	for _, c := range []struct {
		args   []string
		sched  string
		lr     float64
		epochs int
	}{
		{nil, "constant", 1e-3, 0}, // fine-tuning: the plain defaults
		{[]string{"--prune", "0.5"}, "constant", 1e-3, 0},
		{[]string{"--student", "8,16,64"}, "cosine", 5e-3, 5},
		{[]string{"--student", "8,16,64", "--lr-schedule", "constant"}, "constant", 5e-3, 5},
		{[]string{"--student", "8,16,64", "--lr", "1e-3"}, "cosine", 1e-3, 5},
		{[]string{"--student", "8,16,64", "--lr", "1e-3", "--lr-schedule", "constant", "--finetune-epochs", "3"}, "constant", 1e-3, 3},
		{[]string{"--prune-channels", "0.5"}, "constant", 1e-3, 0}, // no fine-tuning
		{[]string{"--prune-channels", "0.5", "--epochs", "1"}, "cosine", 5e-3, 1},
		{[]string{"--prune-channels", "0.5", "--epochs", "1", "--lr", "1e-3"}, "cosine", 1e-3, 1},
	} {
		fs := flag.NewFlagSet("compress", flag.ContinueOnError)
		var tf trainFlags
		tf.register(fs, "", 0)
		fs.StringVar(&tf.opts.Student, "student", "", "")
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		o := &tf.opts
		o.ApplyDefaults(func(name string) bool { return given[name] })
		if o.Schedule != c.sched || o.LR != c.lr || o.Epochs != c.epochs {
			t.Errorf("%v: --lr-schedule %s --lr %g --epochs %d, want %s %g %d", c.args, o.Schedule, o.LR, o.Epochs, c.sched, c.lr, c.epochs)
		}
	}
}

// TestCompressRecordsPreprocessing: --preprocess and --labels travel in the
// written .sinf and in ONNX metadata.
func TestCompressRecordsPreprocessing(t *testing.T) {
	dir := t.TempDir()
	labels := filepath.Join(dir, "labels.txt")
	if err := os.WriteFile(labels, []byte("zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	first, second := filepath.Join(dir, "a.sinf"), filepath.Join(dir, "b.onnx")
	for _, out := range []string{first, second} {
		args := []string{"compress", "--model", "seednet_mnist", "--out", out, "--quantize", "int8", "--calib", "16", "--n", "100",
			"--preprocess", "color=gray resize=28x28 pad=2 scale=1/255 interp=nearest", "--labels", labels}
		var stdout, stderr bytes.Buffer
		if code := runMain(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
	}
	for _, path := range []string{first, second} {
		g, _, err := loadModel(path)
		if err != nil {
			t.Fatal(err)
		}
		spec, lab, err := preprocess.FromGraph(g)
		if err != nil || spec == nil || spec.Interp != "nearest" || len(lab) != 10 || lab[7] != "seven" {
			t.Errorf("%s: preprocessing %v, labels %v, %v", path, spec, lab, err)
		}
	}
}
