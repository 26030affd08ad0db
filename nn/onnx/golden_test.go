package onnx_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// Operator goldens: small graphs written with Encode at the opsets a model
// may declare (7, 9, 11, 12, 13 and later), with the old forms of each op
// at the old opsets, run by the importer and the engine and compared with
// ONNX Runtime's outputs. The outputs of ONNX Runtime (onnxruntime-node
// 1.30.0 in bench/node_modules) are computed once with
//
//	go test ./nn/onnx -run TestOpGoldens -update
//
// and committed in testdata/op_goldens.json, so CI needs no node. Cases at
// opset 6 take the outputs of their opset-7 form (goldenCase.ortForm).

var update = flag.Bool("update", false, "recompute testdata goldens with ONNX Runtime (needs node and bench/node_modules)")

const goldenFile = "testdata/op_goldens.json"

// goldenCase is one graph: inputs x0, x1, ... (runtime tensors), constants,
// nodes, and the outputs compared.
type goldenCase struct {
	name    string
	opset   int
	inputs  []*nn.Tensor
	consts  map[string]*nn.Tensor
	nodes   []*nn.Node
	outputs []string
	// ortForm, when set, is the same computation in the form ONNX
	// Runtime runs, whose outputs are the case's golden: ORT 1.30 has no
	// kernels for several ops at opset 6 (Add, Gemm, BatchNormalization,
	// ...), so an opset-6 case is compared with its opset-7 form.
	ortForm *goldenCase
}

type goldenTensor struct {
	DType string    `json:"dtype"`
	Shape []int     `json:"shape"`
	F32   []float32 `json:"f32,omitempty"`
	I64   []int64   `json:"i64,omitempty"`
}

// node builds a node; attrs alternate name, value (int, float32, string,
// []int64, []float32).
func node(op string, ins, outs []string, attrs ...any) *nn.Node {
	n := &nn.Node{Op: op, Inputs: ins, Outputs: outs, Attrs: map[string]nn.Attr{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		name := attrs[i].(string)
		switch v := attrs[i+1].(type) {
		case int:
			n.Attrs[name] = nn.Attr{Kind: nn.AttrInt, Int: int64(v)}
		case float32:
			n.Attrs[name] = nn.Attr{Kind: nn.AttrFloat, Float: v}
		case float64:
			n.Attrs[name] = nn.Attr{Kind: nn.AttrFloat, Float: float32(v)}
		case string:
			n.Attrs[name] = nn.Attr{Kind: nn.AttrString, Str: v}
		case []int64:
			n.Attrs[name] = nn.Attr{Kind: nn.AttrInts, Ints: v}
		case []float32:
			n.Attrs[name] = nn.Attr{Kind: nn.AttrFloats, Floats: v}
		default:
			panic(fmt.Sprintf("attr %s: %T", name, v))
		}
	}
	return n
}

// randT is a float32 tensor of shape with values in [-2, 2) from a seed.
func randT(seed string, shape ...int) *nn.Tensor {
	h := fnv.New64a()
	h.Write([]byte(seed))
	s := h.Sum64()
	t := nn.New(nn.Float32, shape...)
	for i := range t.F32 {
		s = s*6364136223846793005 + 1442695040888963407
		t.F32[i] = float32(s>>40)/float32(1<<24)*4 - 2
	}
	return t
}

// posT is randT shifted into [0.1, 4.1) (for Log, Sqrt, variances, ...).
func posT(seed string, shape ...int) *nn.Tensor {
	t := randT(seed, shape...)
	for i, v := range t.F32 {
		t.F32[i] = v + 2.1
	}
	return t
}

func i64T(shape []int, v ...int64) *nn.Tensor {
	return &nn.Tensor{DType: nn.Int64, Shape: shape, I64: v}
}

func f32T(shape []int, v ...float32) *nn.Tensor {
	return &nn.Tensor{DType: nn.Float32, Shape: shape, F32: v}
}

func ints(v ...int64) []int64 { return v }

// graph builds the case's graph at its opset.
func (c *goldenCase) graph() *nn.Graph {
	g := &nn.Graph{Name: c.name, Opset: c.opset, Consts: map[string]*nn.Tensor{}, Meta: map[string]string{}}
	for i, x := range c.inputs {
		g.Inputs = append(g.Inputs, nn.ValueInfo{Name: fmt.Sprintf("x%d", i), Type: x.Type()})
	}
	for k, v := range c.consts {
		g.Consts[k] = v
	}
	for i, n := range c.nodes {
		m := *n
		if m.Name == "" {
			m.Name = fmt.Sprintf("n%d", i)
		}
		g.Nodes = append(g.Nodes, &m)
	}
	outs := c.outputs
	if outs == nil {
		outs = []string{"y"}
	}
	for _, o := range outs {
		g.Outputs = append(g.Outputs, nn.ValueInfo{Name: o})
	}
	return g
}

// TestOpGoldens runs every operator case through Encode, Decode (with the
// version adapters and Optimize) and the engine and compares the outputs
// with ONNX Runtime's within 1e-4 relative.
func TestOpGoldens(t *testing.T) {
	cases := opCases()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("case %s repeated", c.name)
		}
		seen[c.name] = true
	}
	if *update {
		updateGoldens(t, cases)
	}
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var gold map[string][]goldenTensor
	if err := json.Unmarshal(raw, &gold); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, ok := gold[c.name]
			if !ok {
				t.Fatalf("no golden (run with -update)")
			}
			data, err := onnx.Encode(c.graph())
			if err != nil {
				t.Fatal(err)
			}
			g, err := onnx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			p, err := nn.Compile(g)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.NewRunner(1).Run(c.inputs...)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d outputs, want %d", len(got), len(want))
			}
			for i, w := range want {
				compareGolden(t, i, got[i], w)
			}
		})
	}
}

func compareGolden(t *testing.T, i int, got *nn.Tensor, want goldenTensor) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("output %d: shape %v, want %v", i, got.Shape, want.Shape)
	}
	switch want.DType {
	case "float32":
		if got.DType != nn.Float32 {
			t.Fatalf("output %d: %v, want float32", i, got.DType)
		}
		for j, w := range want.F32 {
			g := got.F32[j]
			if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) ||
				math.Abs(float64(g-w)) > 1e-4*math.Max(math.Abs(float64(w)), 1e-1) {
				t.Fatalf("output %d[%d] = %g, want %g", i, j, g, w)
			}
		}
	default:
		var v []int64
		switch got.DType {
		case nn.Int64:
			v = got.I64
		case nn.Int32:
			for _, x := range got.I32 {
				v = append(v, int64(x))
			}
		case nn.Uint8:
			for _, x := range got.U8 {
				v = append(v, int64(x))
			}
		case nn.Int8:
			for _, x := range got.I8 {
				v = append(v, int64(x))
			}
		default:
			t.Fatalf("output %d: %v, want %s", i, got.DType, want.DType)
		}
		if fmt.Sprint(v) != fmt.Sprint(want.I64) && !(len(v) == 0 && len(want.I64) == 0) {
			t.Fatalf("output %d = %v, want %v", i, v, want.I64)
		}
	}
}

// ortGoldenScript runs each job's model in ONNX Runtime and prints the
// outputs as JSON.
const ortGoldenScript = `'use strict';
const ort = require('onnxruntime-node');
const fs = require('fs');
const types = { float32: Float32Array, int64: BigInt64Array, int32: Int32Array, uint8: Uint8Array, int8: Int8Array };
(async () => {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2]));
  const res = {};
  for (const j of jobs) {
    try {
      const s = await ort.InferenceSession.create(j.model, { executionProviders: ['cpu'] });
      const feeds = {};
      for (const x of j.inputs) {
        const data = x.dtype === 'int64' ? BigInt64Array.from(x.data.map(BigInt)) : types[x.dtype].from(x.data);
        feeds[x.name] = new ort.Tensor(x.dtype, data, x.dims);
      }
      const r = await s.run(feeds);
      res[j.name] = s.outputNames.map((n) => {
        const o = r[n];
        const t = { dtype: o.type === 'float32' ? 'float32' : 'int64', shape: o.dims.map(Number) };
        const vals = Array.from(o.data, (v) => (typeof v === 'bigint' ? Number(v) : (typeof v === 'boolean' ? (v ? 1 : 0) : v)));
        if (t.dtype === 'float32') t.f32 = vals; else t.i64 = vals;
        return t;
      });
    } catch (e) {
      res[j.name] = { error: String(e && e.message || e) };
    }
  }
  process.stdout.write(JSON.stringify(res));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`

type ortInput struct {
	Name  string    `json:"name"`
	DType string    `json:"dtype"`
	Dims  []int     `json:"dims"`
	Data  []float64 `json:"data"`
}

type ortJob struct {
	Name   string     `json:"name"`
	Model  string     `json:"model"`
	Inputs []ortInput `json:"inputs"`
}

func updateGoldens(t *testing.T, cases []goldenCase) {
	gold := ortOutputs(t, cases)
	// One case per line: small diffs when a case changes.
	names := make([]string, 0, len(gold))
	for name := range gold {
		names = append(names, name)
	}
	sort.Strings(names)
	var out bytes.Buffer
	out.WriteString("{\n")
	for i, name := range names {
		k, _ := json.Marshal(name)
		v, err := json.Marshal(gold[name])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out.Write(k)
		out.WriteString(": ")
		out.Write(v)
		if i < len(names)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("}")
	if err := os.MkdirAll(filepath.Dir(goldenFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(goldenFile, append(out.Bytes(), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ortOutputs runs every case in ONNX Runtime (node and onnxruntime-node
// in bench/node_modules) and returns the outputs by case name; a case ORT
// refuses is a test error.
func ortOutputs(t *testing.T, cases []goldenCase) map[string][]goldenTensor {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("-update needs node")
	}
	mods := filepath.Join(testref.RepoRoot(t), "bench", "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "onnxruntime-node")); err != nil {
		t.Fatal("-update needs onnxruntime-node in bench/node_modules (cd bench && ONNXRUNTIME_NODE_INSTALL=skip npm ci)")
	}
	dir := t.TempDir()
	var jobs []ortJob
	for _, c := range cases {
		form := &c
		if c.ortForm != nil {
			form = c.ortForm
		}
		data, err := onnx.Encode(form.graph())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		path := filepath.Join(dir, c.name+".onnx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		j := ortJob{Name: c.name, Model: path}
		for i, x := range form.inputs {
			in := ortInput{Name: fmt.Sprintf("x%d", i), DType: x.DType.String(), Dims: x.Shape}
			for k := 0; k < x.Len(); k++ {
				switch x.DType {
				case nn.Float32:
					in.Data = append(in.Data, float64(x.F32[k]))
				case nn.Int64:
					in.Data = append(in.Data, float64(x.I64[k]))
				case nn.Int32:
					in.Data = append(in.Data, float64(x.I32[k]))
				case nn.Uint8:
					in.Data = append(in.Data, float64(x.U8[k]))
				}
			}
			if in.Data == nil {
				in.Data = []float64{}
			}
			j.Inputs = append(j.Inputs, in)
		}
		jobs = append(jobs, j)
	}
	jobFile := filepath.Join(dir, "jobs.json")
	b, _ := json.Marshal(jobs)
	if err := os.WriteFile(jobFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "run.js")
	if err := os.WriteFile(script, []byte(ortGoldenScript), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, jobFile)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	gold := map[string][]goldenTensor{}
	var failed []string
	for name, r := range res {
		var outs []goldenTensor
		if err := json.Unmarshal(r, &outs); err != nil {
			failed = append(failed, fmt.Sprintf("%s: %s", name, r))
			continue
		}
		gold[name] = outs
	}
	sort.Strings(failed)
	for _, f := range failed {
		t.Errorf("ONNX Runtime: %s", f)
	}
	return gold
}

// TestWriteFamilyModels writes the model-family miniatures as ONNX files
// with their inputs (input_0.pb ...) into $SPLITINFER_WRITE_FAMILIES, for
// trying them with the splitinfer commands.
func TestWriteFamilyModels(t *testing.T) {
	dir := os.Getenv("SPLITINFER_WRITE_FAMILIES")
	if dir == "" {
		t.Skip("SPLITINFER_WRITE_FAMILIES not set")
	}
	for _, c := range familyCases() {
		d := filepath.Join(dir, c.name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := onnx.Save(filepath.Join(d, "model.onnx"), c.graph()); err != nil {
			t.Fatal(err)
		}
		for i, x := range c.inputs {
			if err := onnx.WriteTensor(filepath.Join(d, fmt.Sprintf("input_%d.pb", i)), x); err != nil {
				t.Fatal(err)
			}
		}
	}
}
