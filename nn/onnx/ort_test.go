package onnx_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// ortScript runs an ONNX model in ONNX Runtime (onnxruntime-node) on one
// raw float32 input and writes the first output as raw float32.
const ortScript = `'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const [model, inFile, shapeJSON, outFile] = process.argv.slice(2);
  const data = new Float32Array(new Uint8Array(fs.readFileSync(inFile)).buffer);
  const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  const r = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', data, JSON.parse(shapeJSON)) });
  const out = r[s.outputNames[0]];
  fs.writeFileSync(outFile, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
  process.stdout.write(JSON.stringify(out.dims));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`

// runORT runs model on x in ONNX Runtime through node and the bench
// directory's onnxruntime-node; it skips the test when they are missing.
func runORT(t *testing.T, model string, x *nn.Tensor) *nn.Tensor {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	mods := filepath.Join(testref.RepoRoot(t), "bench", "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "onnxruntime-node")); err != nil {
		t.Skip("onnxruntime-node not installed in bench/node_modules (npm ci in bench/)")
	}
	dir := t.TempDir()
	script, in, out := filepath.Join(dir, "run.js"), filepath.Join(dir, "in.bin"), filepath.Join(dir, "out.bin")
	if err := os.WriteFile(script, []byte(ortScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, x.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shape, _ := json.Marshal(x.Shape)
	cmd := exec.Command(node, script, model, in, string(shape), out)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ONNX Runtime rejected %s: %v\n%s", model, err, stderr.String())
	}
	var dims []int
	if err := json.Unmarshal(stdout.Bytes(), &dims); err != nil {
		t.Fatalf("%v: %q", err, stdout.String())
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	y, err := nn.FromBytes(nn.Float32, dims, raw)
	if err != nil {
		t.Fatal(err)
	}
	return y
}

// TestExportRunsInORT saves each optimized reference model (constants
// folded, activations fused) with Save, runs it in ONNX Runtime and
// compares with ONNX Runtime's output for the original file.
func TestExportRunsInORT(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node")
	}
	for _, m := range refModels {
		t.Run(m, func(t *testing.T) {
			g, err := onnx.Load(testref.Path(t, m+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), m+".onnx")
			if err := onnx.Save(path, g); err != nil {
				t.Fatal(err)
			}
			dir := testref.Path(t, m, "test_data_set_0")
			x, err := onnx.ReadTensor(filepath.Join(dir, "input_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := onnx.ReadTensor(filepath.Join(dir, "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			got := runORT(t, path, x)
			if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
				t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
			}
			d := maxAbsDiff(t, got, want)
			t.Logf("%s exported, in ONNX Runtime: max abs diff %.3g", m, d)
			if !(d <= 1e-5) {
				t.Fatalf("exported model differs by %g in ONNX Runtime", d)
			}
		})
	}
}

// TestExportUntypedOutputInORT: a graph built in Go, whose output has no
// declared type and whose BatchNormalization was folded, runs in ONNX
// Runtime after Save.
func TestExportUntypedOutputInORT(t *testing.T) {
	if testing.Short() {
		t.Skip("starts node")
	}
	w := nn.New(nn.Float32, 4, 2, 3, 3)
	for i := range w.F32 {
		w.F32[i] = float32(i%7) - 3
	}
	ones := func(v float32) *nn.Tensor {
		x := nn.New(nn.Float32, 4)
		for i := range x.F32 {
			x.F32[i] = v + float32(i)
		}
		return x
	}
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 2, 6, 6}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts:  map[string]*nn.Tensor{"w": w, "s": ones(1), "b": ones(-1), "m": ones(0.5), "v": ones(2)},
		Nodes: []*nn.Node{
			{Name: "conv", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}, Attrs: map[string]nn.Attr{}},
			{Name: "bn", Op: "BatchNormalization", Inputs: []string{"c", "s", "b", "m", "v"}, Outputs: []string{"n"}, Attrs: map[string]nn.Attr{}},
			{Name: "relu", Op: "Relu", Inputs: []string{"n"}, Outputs: []string{"y"}, Attrs: map[string]nn.Attr{}},
		},
	}
	opt, err := nn.Optimize(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.Nodes) != 1 {
		t.Fatalf("optimized to %d nodes, want one Conv with BatchNorm and Relu folded in", len(opt.Nodes))
	}
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := onnx.Save(path, opt); err != nil {
		t.Fatal(err)
	}
	x := nn.New(nn.Float32, 2, 2, 6, 6)
	for i := range x.F32 {
		x.F32[i] = float32(i%11)/5 - 1
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	got := runORT(t, path, x)
	if d := maxAbsDiff(t, got, want[0]); d > 1e-4 {
		t.Fatalf("ONNX Runtime differs from the unoptimized graph by %g", d)
	}
}
