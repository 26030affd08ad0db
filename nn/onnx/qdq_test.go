package onnx

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
)

func qdqFigures(t *testing.T) map[string]float64 {
	t.Helper()
	b, err := os.ReadFile(testref.Path(t, "figures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]float64
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// qdqMNISTAccuracy runs g over the first n MNIST test images (n <= 0: all).
func qdqMNISTAccuracy(t *testing.T, g *nn.Graph, n int) float64 {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 || n > set.Len() {
		n = set.Len()
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(2)
	const bs = 100
	correct := 0
	for lo := 0; lo < n; lo += bs {
		hi := min(lo+bs, n)
		x, err := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		y := out[0]
		for i := 0; i < hi-lo; i++ {
			row := y.F32[i*10 : i*10+10]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == int(set.Labels[lo+i]) {
				correct++
			}
		}
	}
	return float64(correct) / float64(n)
}

func qdqOps(g *nn.Graph) map[string]int {
	m := map[string]int{}
	for _, n := range g.Nodes {
		m[n.Op]++
	}
	return m
}

func TestImportQDQReference(t *testing.T) {
	figs := qdqFigures(t)
	for _, c := range []struct {
		model, key      string
		conv, gemm, add int
	}{
		{"seednet_mnist", "seednet_mnist.ort_int8_qdq_perchannel_acc", 2, 2, 0},
		{"tinyresnet_mnist", "tinyresnet_mnist.ort_int8_qdq_perchannel_acc", 9, 1, 3},
	} {
		t.Run(c.model, func(t *testing.T) {
			g, err := LoadQDQ(testref.Path(t, c.model+"_int8_qdq_pc.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			ops := qdqOps(g)
			if ops["QLinearConvInt8"] != c.conv || ops["QLinearGemmInt8"] != c.gemm || ops["QLinearAddInt8"] != c.add || ops["Conv"]+ops["Gemm"]+ops["Add"]+ops["GlobalAveragePool"] != 0 {
				t.Fatalf("not lowered onto int8 kernels: %v", ops)
			}
			// The reference batch: int8 logits close to the float model's
			// (ONNX Runtime's float output), same predictions.
			x, err := ReadTensor(testref.Path(t, c.model, "test_data_set_0", "input_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ReadTensor(testref.Path(t, c.model, "test_data_set_0", "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := nn.Compile(g)
			if err != nil {
				t.Fatal(err)
			}
			out, err := p.NewRunner(1).Run(x)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < x.Shape[0]; i++ {
				if qdqArgmax(out[0].F32[i*10:i*10+10]) != qdqArgmax(want.F32[i*10:i*10+10]) {
					t.Errorf("image %d: int8 predicts %d, float %d", i, qdqArgmax(out[0].F32[i*10:i*10+10]), qdqArgmax(want.F32[i*10:i*10+10]))
				}
			}
			if testing.Short() {
				t.Skip("MNIST accuracy skipped in -short")
			}
			acc := qdqMNISTAccuracy(t, g, 0)
			ort := figs[c.key]
			t.Logf("%s: imported QDQ accuracy %.4f, ONNX Runtime %.4f", c.model, acc, ort)
			if math.Abs(acc-ort) > 0.0005+1e-9 {
				t.Errorf("accuracy %.4f, ONNX Runtime %.4f: more than 0.0005 apart", acc, ort)
			}
		})
	}
}

func qdqArgmax(v []float32) int {
	b := 0
	for i, x := range v {
		if x > v[b] {
			b = i
		}
	}
	return b
}

// Export then re-import: the same int8 kernels with the same parameters,
// so the outputs are bit-identical.
func TestExportQDQRoundTrip(t *testing.T) {
	for _, model := range []string{"seednet_mnist", "tinyresnet_mnist"} {
		t.Run(model, func(t *testing.T) {
			g, err := LoadQDQ(testref.Path(t, model+"_int8_qdq_pc.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "x.onnx")
			if err := SaveQDQ(path, g); err != nil {
				t.Fatal(err)
			}
			raw, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if ops := qdqOps(raw); ops["QLinearConvInt8"]+ops["QLinearGemmInt8"]+ops["QLinearAddInt8"]+ops["MaxPoolInt8"] != 0 || ops["Conv"] == 0 {
				t.Fatalf("exported graph still has splitinfer ops: %v", ops)
			}
			g2, err := ImportQDQ(raw)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := qdqOps(g), qdqOps(g2); a["QLinearConvInt8"] != b["QLinearConvInt8"] || a["QLinearGemmInt8"] != b["QLinearGemmInt8"] || a["QLinearAddInt8"] != b["QLinearAddInt8"] {
				t.Fatalf("re-import lowers differently: %v vs %v", a, b)
			}
			x, err := ReadTensor(testref.Path(t, model, "test_data_set_0", "input_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			a, b := runFloat(t, g, x), runFloat(t, g2, x)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("logit %d: %v before export, %v after", i, a[i], b[i])
				}
			}
		})
	}
}

// A LookupInt8 exports as DequantizeLinear -> its float op(s) ->
// QuantizeLinear and re-imports to the same table: DQ -> HardSigmoid -> Q
// (attributes kept), and SiLU (DQ -> Sigmoid, Mul of the two -> Q).
func TestExportQDQLookup(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    []*nn.Node
		ops  map[string]int // the float ops exported
	}{
		{"HardSigmoid", []*nn.Node{{Name: "f", Op: "HardSigmoid", Inputs: []string{"xd"}, Outputs: []string{"fy"},
			Attrs: map[string]nn.Attr{"alpha": {Kind: nn.AttrFloat, Float: 0.3}}}}, map[string]int{"HardSigmoid": 1}},
		{"SiLU", []*nn.Node{{Name: "sig", Op: "Sigmoid", Inputs: []string{"xd"}, Outputs: []string{"s"}},
			{Name: "mul", Op: "Mul", Inputs: []string{"s", "xd"}, Outputs: []string{"fy"}}}, map[string]int{"Sigmoid": 1, "Mul": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &nn.Graph{
				Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 64}}}},
				Outputs: []nn.ValueInfo{{Name: "out"}},
				Consts: map[string]*nn.Tensor{
					"xs": {DType: nn.Float32, Shape: []int{}, F32: []float32{0.1}}, "xz": {DType: nn.Int8, Shape: []int{}, I8: []int8{3}},
					"ys": {DType: nn.Float32, Shape: []int{}, F32: []float32{0.004}}, "yz": {DType: nn.Int8, Shape: []int{}, I8: []int8{-128}},
				},
				Opset: 17,
			}
			g.Nodes = append([]*nn.Node{
				{Name: "xq", Op: "QuantizeLinear", Inputs: []string{"x", "xs", "xz"}, Outputs: []string{"xq"}},
				{Name: "xdq", Op: "DequantizeLinear", Inputs: []string{"xq", "xs", "xz"}, Outputs: []string{"xd"}},
			}, append(tc.f,
				&nn.Node{Name: "yq", Op: "QuantizeLinear", Inputs: []string{"fy", "ys", "yz"}, Outputs: []string{"yq"}},
				&nn.Node{Name: "ydq", Op: "DequantizeLinear", Inputs: []string{"yq", "ys", "yz"}, Outputs: []string{"out"}})...)
			low, err := ImportQDQ(g)
			if err != nil {
				t.Fatal(err)
			}
			if ops := qdqOps(low); ops["LookupInt8"] != 1 {
				t.Fatalf("lowered ops %v", ops)
			}
			exp, err := ExportQDQ(low)
			if err != nil {
				t.Fatal(err)
			}
			ops := qdqOps(exp)
			for op, n := range tc.ops {
				if ops[op] != n || ops["LookupInt8"] != 0 {
					t.Fatalf("exported ops %v", ops)
				}
			}
			for _, n := range exp.Nodes {
				if n.Op == "HardSigmoid" && n.AttrFloat("alpha", 0) != 0.3 {
					t.Fatalf("exported attributes %v", n.Attrs)
				}
			}
			low2, err := ImportQDQ(exp)
			if err != nil {
				t.Fatal(err)
			}
			if ops := qdqOps(low2); ops["LookupInt8"] != 1 {
				t.Fatalf("re-imported ops %v", ops)
			}
			x := nn.New(nn.Float32, 1, 64)
			for i := range x.F32 {
				x.F32[i] = float32(i-32) * 0.3
			}
			a, b, f := runFloat(t, low, x), runFloat(t, low2, x), runFloat(t, g, x)
			for i := range a {
				if a[i] != b[i] || a[i] != f[i] {
					t.Fatalf("element %d: lowered %v, re-imported %v, float %v", i, a[i], b[i], f[i])
				}
			}
		})
	}
}

// runFloat compiles g, runs it on x with one thread and returns a copy of
// its first (float) output.
func runFloat(t *testing.T, g *nn.Graph, x *nn.Tensor) []float32 {
	t.Helper()
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out[0].F32...)
}

// A per-channel LookupInt8 (DQ -> BatchNormalization -> Relu -> Q) and an
// int8 Concat with a requantized input export as DequantizeLinear ->
// BatchNormalization -> Relu -> QuantizeLinear and DequantizeLinear ->
// RequantizeInt8's Q/DQ -> Concat -> QuantizeLinear, and re-import to the
// same int8 graph and outputs.
func TestExportQDQBatchNormConcat(t *testing.T) {
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 3, 4, 4}}}},
		Outputs: []nn.ValueInfo{{Name: "out"}},
		Consts:  map[string]*nn.Tensor{},
		Opset:   17,
	}
	qdq := func(x, name string, s float32, z int8) []*nn.Node {
		g.Consts[name+"_s"] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{s}}
		g.Consts[name+"_z"] = &nn.Tensor{DType: nn.Int8, Shape: []int{}, I8: []int8{z}}
		return []*nn.Node{
			{Name: name + "_q", Op: "QuantizeLinear", Inputs: []string{x, name + "_s", name + "_z"}, Outputs: []string{name + "_qo"}},
			{Name: name + "_dq", Op: "DequantizeLinear", Inputs: []string{name + "_qo", name + "_s", name + "_z"}, Outputs: []string{name}},
		}
	}
	for i, name := range []string{"scale", "b", "mean", "var"} {
		g.Consts[name] = &nn.Tensor{DType: nn.Float32, Shape: []int{3}, F32: []float32{0.5 + float32(i), -0.2, 1.3 - 0.1*float32(i)}}
	}
	g.Nodes = append(g.Nodes, qdq("x", "xd", 0.05, -10)...)
	g.Nodes = append(g.Nodes,
		&nn.Node{Name: "bn", Op: "BatchNormalization", Inputs: []string{"xd", "scale", "b", "mean", "var"}, Outputs: []string{"bny"}},
		&nn.Node{Name: "relu", Op: "Relu", Inputs: []string{"bny"}, Outputs: []string{"ry"}})
	g.Nodes = append(g.Nodes, qdq("ry", "rd", 0.03, -128)...)
	g.Nodes = append(g.Nodes, &nn.Node{Name: "cat", Op: "Concat", Inputs: []string{"xd", "rd"}, Outputs: []string{"cy"},
		Attrs: map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}})
	g.Nodes = append(g.Nodes, qdq("cy", "out", 0.05, -10)...)
	low, err := ImportQDQ(g)
	if err != nil {
		t.Fatal(err)
	}
	if ops := qdqOps(low); ops["LookupInt8"] != 1 || ops["Concat"] != 1 || ops["RequantizeInt8"] != 1 || ops["BatchNormalization"] != 0 {
		t.Fatalf("lowered ops %v", ops)
	}
	exp, err := ExportQDQ(low)
	if err != nil {
		t.Fatal(err)
	}
	if ops := qdqOps(exp); ops["BatchNormalization"] != 1 || ops["Relu"] != 1 || ops["Concat"] != 1 || ops["LookupInt8"]+ops["RequantizeInt8"] != 0 {
		t.Fatalf("exported ops %v", ops)
	}
	low2, err := ImportQDQ(exp)
	if err != nil {
		t.Fatal(err)
	}
	if ops := qdqOps(low2); ops["LookupInt8"] != 1 || ops["Concat"] != 1 || ops["RequantizeInt8"] != 1 {
		t.Fatalf("re-imported ops %v", ops)
	}
	x := nn.New(nn.Float32, 1, 3, 4, 4)
	for i := range x.F32 {
		x.F32[i] = float32(i-24) * 0.11
	}
	a, b, f := runFloat(t, low, x), runFloat(t, low2, x), runFloat(t, g, x)
	for i := range a {
		if a[i] != b[i] || math.Abs(float64(a[i]-f[i])) > 0.05+1e-6 {
			t.Fatalf("element %d: lowered %v, re-imported %v, float %v", i, a[i], b[i], f[i])
		}
	}
}

// A QLinearMulInt8 exports as DequantizeLinear of both operands -> Mul ->
// QuantizeLinear and re-imports to the same kernel and outputs.
func TestExportQDQMul(t *testing.T) {
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "a", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 3, 4, 4}}}, {Name: "b", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 3, 1, 1}}}},
		Outputs: []nn.ValueInfo{{Name: "out"}},
		Consts: map[string]*nn.Tensor{
			"as": {DType: nn.Float32, Shape: []int{}, F32: []float32{0.05}}, "az": {DType: nn.Int8, Shape: []int{}, I8: []int8{-3}},
			"bs": {DType: nn.Float32, Shape: []int{}, F32: []float32{0.004}}, "bz": {DType: nn.Int8, Shape: []int{}, I8: []int8{-128}},
			"ys": {DType: nn.Float32, Shape: []int{}, F32: []float32{0.03}}, "yz": {DType: nn.Int8, Shape: []int{}, I8: []int8{0}},
		},
		Opset: 17,
		Nodes: []*nn.Node{
			{Name: "aq", Op: "QuantizeLinear", Inputs: []string{"a", "as", "az"}, Outputs: []string{"aq"}},
			{Name: "adq", Op: "DequantizeLinear", Inputs: []string{"aq", "as", "az"}, Outputs: []string{"ad"}},
			{Name: "bq", Op: "QuantizeLinear", Inputs: []string{"b", "bs", "bz"}, Outputs: []string{"bq"}},
			{Name: "bdq", Op: "DequantizeLinear", Inputs: []string{"bq", "bs", "bz"}, Outputs: []string{"bd"}},
			{Name: "mul", Op: "Mul", Inputs: []string{"ad", "bd"}, Outputs: []string{"m"}},
			{Name: "yq", Op: "QuantizeLinear", Inputs: []string{"m", "ys", "yz"}, Outputs: []string{"yq"}},
			{Name: "ydq", Op: "DequantizeLinear", Inputs: []string{"yq", "ys", "yz"}, Outputs: []string{"out"}},
		},
	}
	low, exp, low2 := qdqRoundTrip(t, g)
	if ops := qdqOps(exp); ops["Mul"] != 1 || ops["QLinearMulInt8"] != 0 {
		t.Fatalf("exported ops %v", ops)
	}
	if ops := qdqOps(low2); ops["QLinearMulInt8"] != 1 || ops["Mul"] != 0 {
		t.Fatalf("re-imported ops %v", ops)
	}
	a, b := nn.New(nn.Float32, 1, 3, 4, 4), nn.New(nn.Float32, 1, 3, 1, 1)
	for i := range a.F32 {
		a.F32[i] = float32(i-20) * 0.07
	}
	copy(b.F32, []float32{0.9, 0.3, 0.6})
	run := func(g *nn.Graph) []float32 {
		p, err := nn.Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.NewRunner(1).Run(a, b)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out[0].F32...)
	}
	x, y, f := run(low), run(low2), run(g)
	for i := range x {
		if x[i] != y[i] || x[i] != f[i] {
			t.Fatalf("element %d: lowered %v, re-imported %v, float %v", i, x[i], y[i], f[i])
		}
	}
}

// An AveragePoolInt8 exports as DequantizeLinear -> AveragePool (its window
// attributes only) -> QuantizeLinear and re-imports to the same outputs.
func TestExportQDQAveragePool(t *testing.T) {
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 2, 5, 5}}}},
		Outputs: []nn.ValueInfo{{Name: "out"}},
		Consts: map[string]*nn.Tensor{
			"xs": {DType: nn.Float32, Shape: []int{}, F32: []float32{0.05}}, "xz": {DType: nn.Int8, Shape: []int{}, I8: []int8{-3}},
			"ys": {DType: nn.Float32, Shape: []int{}, F32: []float32{0.02}}, "yz": {DType: nn.Int8, Shape: []int{}, I8: []int8{9}},
		},
		Opset: 17,
		Nodes: []*nn.Node{
			{Name: "xq", Op: "QuantizeLinear", Inputs: []string{"x", "xs", "xz"}, Outputs: []string{"xq"}},
			{Name: "xdq", Op: "DequantizeLinear", Inputs: []string{"xq", "xs", "xz"}, Outputs: []string{"xd"}},
			{Name: "pool", Op: "AveragePool", Inputs: []string{"xd"}, Outputs: []string{"p"}, Attrs: map[string]nn.Attr{
				"kernel_shape": {Kind: nn.AttrInts, Ints: []int64{3, 3}}, "pads": {Kind: nn.AttrInts, Ints: []int64{1, 1, 1, 1}}}},
			{Name: "yq", Op: "QuantizeLinear", Inputs: []string{"p", "ys", "yz"}, Outputs: []string{"yq"}},
			{Name: "ydq", Op: "DequantizeLinear", Inputs: []string{"yq", "ys", "yz"}, Outputs: []string{"out"}},
		},
	}
	low, exp, low2 := qdqRoundTrip(t, g)
	for _, n := range exp.Nodes {
		if n.Op == "AveragePool" && (len(n.Attrs) != 2 || len(n.AttrInts("pads", nil)) != 4) {
			t.Fatalf("exported attributes %v", n.Attrs)
		}
	}
	if a, b := qdqOps(low), qdqOps(low2); a["AveragePoolInt8"] != 1 || b["AveragePoolInt8"] != 1 || qdqOps(exp)["AveragePool"] != 1 {
		t.Fatalf("lowered %v, exported %v, re-imported %v", a, qdqOps(exp), b)
	}
	x := nn.New(nn.Float32, 1, 2, 5, 5)
	for i := range x.F32 {
		x.F32[i] = float32(i%7) * 0.4
	}
	a, b, f := runFloat(t, low, x), runFloat(t, low2, x), runFloat(t, g, x)
	for i := range a {
		if a[i] != b[i] || math.Abs(float64(a[i]-f[i])) > 0.02+1e-6 {
			t.Fatalf("element %d: lowered %v, re-imported %v, float %v", i, a[i], b[i], f[i])
		}
	}
}

// qdqRoundTrip imports g (ImportQDQ), exports the int8 graph (ExportQDQ)
// and imports that again, failing the test on an error.
func qdqRoundTrip(t *testing.T, g *nn.Graph) (low, exp, low2 *nn.Graph) {
	t.Helper()
	var err error
	if low, err = ImportQDQ(g); err != nil {
		t.Fatal(err)
	}
	if exp, err = ExportQDQ(low); err != nil {
		t.Fatal(err)
	}
	if low2, err = ImportQDQ(exp); err != nil {
		t.Fatal(err)
	}
	return low, exp, low2
}
