package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// q8QDQTestGraph builds a float graph with QDQ around Conv (per-tensor
// weights, float bias), Relu, Add (residual), MatMul with a [K,N] weight
// quantized per column (axis 1) and an int32 DequantizeLinear bias on Gemm.
func q8QDQTestGraph(r *rand.Rand) *Graph {
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 2, 6, 6}}}},
		Outputs: []ValueInfo{{Name: "out"}},
		Consts:  map[string]*Tensor{},
		Opset:   17,
	}
	scalar := func(name string, s float32, z int8) (string, string) {
		g.Consts[name+"_s"] = &Tensor{DType: Float32, Shape: []int{}, F32: []float32{s}}
		g.Consts[name+"_z"] = &Tensor{DType: Int8, Shape: []int{}, I8: []int8{z}}
		return name + "_s", name + "_z"
	}
	i8 := func(name string, shape ...int) string {
		t := New(Int8, shape...)
		for i := range t.I8 {
			t.I8[i] = int8(r.IntN(255) - 127)
		}
		g.Consts[name] = t
		return name
	}
	qdq := func(name, in string, s float32, z int8) []*Node {
		sn, zn := scalar(name, s, z)
		return []*Node{
			{Name: name + "_q", Op: "QuantizeLinear", Inputs: []string{in, sn, zn}, Outputs: []string{name + "_qo"}},
			{Name: name + "_dq", Op: "DequantizeLinear", Inputs: []string{name + "_qo", sn, zn}, Outputs: []string{name}},
		}
	}
	var nodes []*Node
	nodes = append(nodes, qdq("xq", "x", 1.0/255, -128)...)
	// Conv, per-tensor weight.
	ws, wz := scalar("cw", 0.01, 0)
	nodes = append(nodes, &Node{Name: "cw_dq", Op: "DequantizeLinear", Inputs: []string{i8("cw_q", 2, 2, 3, 3), ws, wz}, Outputs: []string{"cw"}})
	g.Consts["cb"] = &Tensor{DType: Float32, Shape: []int{2}, F32: []float32{0.05, -0.02}}
	nodes = append(nodes, &Node{Name: "conv", Op: "Conv", Inputs: []string{"xq", "cw", "cb"}, Outputs: []string{"c"},
		Attrs: map[string]Attr{"pads": {Kind: AttrInts, Ints: []int64{1, 1, 1, 1}}}})
	nodes = append(nodes, &Node{Name: "relu", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"cr"}})
	nodes = append(nodes, qdq("crq", "cr", 0.004, -128)...)
	// Residual add with a second conv-free branch: crq + xq-like tensor.
	nodes = append(nodes, &Node{Name: "add", Op: "Add", Inputs: []string{"crq", "crq"}, Outputs: []string{"a"}})
	nodes = append(nodes, qdq("aq", "a", 0.008, -128)...)
	nodes = append(nodes, &Node{Name: "flat", Op: "Flatten", Inputs: []string{"aq"}, Outputs: []string{"f"}})
	nodes = append(nodes, qdq("fq", "f", 0.008, -128)...)
	// MatMul with a [72, 5] weight per column.
	ms := New(Float32, 5)
	for i := range ms.F32 {
		ms.F32[i] = 0.002 + 0.001*float32(i)
	}
	g.Consts["mw_s"] = ms
	g.Consts["mw_z"] = New(Int8, 5)
	nodes = append(nodes, &Node{Name: "mw_dq", Op: "DequantizeLinear", Inputs: []string{i8("mw_q", 72, 5), "mw_s", "mw_z"}, Outputs: []string{"mw"},
		Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 1}}})
	nodes = append(nodes, &Node{Name: "mm", Op: "MatMul", Inputs: []string{"fq", "mw"}, Outputs: []string{"m"}})
	nodes = append(nodes, qdq("mq", "m", 0.1, 3)...)
	// Gemm with ORT-style int32 bias DequantizeLinear.
	gs, gz := scalar("gw", 0.01, 0)
	nodes = append(nodes, &Node{Name: "gw_dq", Op: "DequantizeLinear", Inputs: []string{i8("gw_q", 3, 5), gs, gz}, Outputs: []string{"gw"}})
	g.Consts["gb_q"] = &Tensor{DType: Int32, Shape: []int{3}, I32: []int32{100, -50, 7}}
	g.Consts["gb_s"] = &Tensor{DType: Float32, Shape: []int{3}, F32: []float32{0.0002, 0.0002, 0.0002}}
	g.Consts["gb_z"] = New(Int32, 3)
	nodes = append(nodes, &Node{Name: "gb_dq", Op: "DequantizeLinear", Inputs: []string{"gb_q", "gb_s", "gb_z"}, Outputs: []string{"gb"},
		Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}})
	nodes = append(nodes, &Node{Name: "gemm", Op: "Gemm", Inputs: []string{"mq", "gw", "gb"}, Outputs: []string{"gm"},
		Attrs: map[string]Attr{"transB": {Kind: AttrInt, Int: 1}}})
	nodes = append(nodes, qdq("out", "gm", 0.05, 0)...)
	g.Nodes = nodes
	return g
}

func TestLowerQDQ(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	g := q8QDQTestGraph(r)
	low, ops := q8Lower(t, g)
	if ops["QLinearConvInt8"] != 1 || ops["QLinearAddInt8"] != 1 || ops["QLinearGemmInt8"] != 2 || ops["Flatten"] != 1 ||
		ops["Conv"]+ops["Add"]+ops["MatMul"]+ops["Gemm"]+ops["Relu"] != 0 || ops["QuantizeLinear"] != 1 || ops["DequantizeLinear"] != 1 {
		t.Fatalf("lowered ops %v", ops)
	}
	// The lowered graph computes what the float QDQ graph computes, up to
	// requantization rounding (a step or two of the output scale).
	x := New(Float32, 3, 2, 6, 6)
	for i := range x.F32 {
		x.F32[i] = r.Float32()
	}
	want, got := q8RunFloat(t, g, x), q8RunFloat(t, low, x)
	var maxd float64
	for i := range want {
		maxd = math.Max(maxd, math.Abs(float64(want[i]-got[i])))
	}
	distinct := map[float32]bool{}
	for _, v := range got {
		distinct[v] = true
	}
	t.Logf("max |lowered - QDQ float| = %v (output scale 0.05); outputs %v", maxd, got)
	if len(distinct) < 4 {
		t.Fatalf("outputs %v: the fixture saturates", got)
	}
	if maxd > 0.1+1e-6 {
		t.Fatalf("lowered graph differs from the QDQ float graph by %v", maxd)
	}
	// Input graph untouched.
	if g.Node("conv").Op != "Conv" {
		t.Fatal("LowerQDQ modified its argument")
	}
}

func TestLowerQDQLeavesUnsupported(t *testing.T) {
	// A Conv whose weight DQ has a non-zero zero point (asymmetric) stays float.
	r := rand.New(rand.NewPCG(1, 1))
	g := q8QDQTestGraph(r)
	g.Consts["cw_z"] = &Tensor{DType: Int8, Shape: []int{}, I8: []int8{3}}
	low, err := LowerQDQ(g)
	if err != nil {
		t.Fatal(err)
	}
	if low.Node("conv").Op != "Conv" {
		t.Fatalf("asymmetric weights lowered to %s", low.Node("conv").Op)
	}
	if _, err := Compile(low); err != nil {
		t.Fatal(err)
	}
}

// uint8 activations (ONNX Runtime's default) lower to the same int8
// kernels and give the same outputs as the int8 form.
func TestLowerQDQUint8Activations(t *testing.T) {
	g8 := q8QDQTestGraph(rand.New(rand.NewPCG(21, 22)))
	gu := q8QDQTestGraph(rand.New(rand.NewPCG(21, 22)))
	for _, n := range gu.Nodes {
		if n.Op != "QuantizeLinear" {
			continue
		}
		z := gu.Consts[n.Input(2)]
		gu.Consts[n.Input(2)] = &Tensor{DType: Uint8, Shape: []int{}, U8: []uint8{uint8(int32(z.I8[0]) + 128)}}
	}
	x := New(Float32, 2, 2, 6, 6)
	r := rand.New(rand.NewPCG(5, 5))
	for i := range x.F32 {
		x.F32[i] = r.Float32()
	}
	var outs [][]float32
	for _, g := range []*Graph{g8, gu} {
		low, ops := q8Lower(t, g)
		if ops["QLinearConvInt8"] != 1 || ops["QLinearGemmInt8"] != 2 || ops["QLinearAddInt8"] != 1 {
			t.Fatalf("ops %v", ops)
		}
		outs = append(outs, q8RunFloat(t, low, x))
	}
	for i := range outs[0] {
		if outs[0][i] != outs[1][i] {
			t.Fatalf("output %d: int8 form %v, uint8 form %v", i, outs[0][i], outs[1][i])
		}
	}
}

// Randomly damaged QDQ graphs: LowerQDQ returns a graph or an error, and
// the result compiles or fails cleanly; nothing panics.
func TestLowerQDQNoPanic(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	lowered := 0
	for iter := 0; iter < 1500; iter++ {
		g := q8QDQTestGraph(rand.New(rand.NewPCG(uint64(iter), 1)))
		var names []string
		for name := range g.Consts {
			names = append(names, name)
		}
		for m := 0; m < 1+r.IntN(3); m++ {
			n := g.Nodes[r.IntN(len(g.Nodes))]
			switch r.IntN(6) {
			case 0:
				if len(n.Inputs) > 0 {
					n.Inputs[r.IntN(len(n.Inputs))] = names[r.IntN(len(names))]
				}
			case 1:
				name := names[r.IntN(len(names))]
				dts := []DType{Float32, Int8, Uint8, Int32}
				shape := []int{r.IntN(4), r.IntN(4)}[:r.IntN(3)]
				g.Consts[name] = New(dts[r.IntN(len(dts))], shape...)
			case 2:
				if n.Attrs == nil {
					n.Attrs = map[string]Attr{}
				}
				n.Attrs["axis"] = Attr{Kind: AttrInt, Int: int64(r.IntN(7) - 3)}
			case 3:
				if n.Attrs == nil {
					n.Attrs = map[string]Attr{}
				}
				n.Attrs["activation"] = Attr{Kind: AttrString, Str: []string{"Relu", "Clip", "Tanh"}[r.IntN(3)]}
			case 4:
				if len(n.Inputs) > 1 {
					n.Inputs = n.Inputs[:len(n.Inputs)-1]
				}
			case 5:
				n.Attrs = map[string]Attr{"transB": {Kind: AttrInt, Int: int64(r.IntN(2))}, "pads": {Kind: AttrInts, Ints: []int64{1, 1}}}
			}
		}
		low, err := LowerQDQ(g)
		if err != nil {
			continue
		}
		lowered++
		if p, err := Compile(low); err == nil {
			x := New(Float32, 1, 2, 6, 6)
			_, _ = p.NewRunner(1).Run(x)
		}
	}
	t.Logf("1500 damaged graphs, %d lowered", lowered)
	if lowered == 0 {
		t.Fatal("no damaged graph reached the lowering")
	}
}

// q8RunFloat compiles g, runs it on x with one thread and returns a copy
// of its first (float) output.
func q8RunFloat(t *testing.T, g *Graph, x *Tensor) []float32 {
	t.Helper()
	return q8RunOutputs(t, g, 1, x)[0]
}

// q8RunOutputs compiles g, runs it on ins with the given threads and
// returns copies of its (float) outputs.
func q8RunOutputs(t *testing.T, g *Graph, threads int, ins ...*Tensor) [][]float32 {
	t.Helper()
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewRunner(threads).Run(ins...)
	if err != nil {
		t.Fatal(err)
	}
	var res [][]float32
	for _, o := range out {
		res = append(res, append([]float32(nil), o.F32...))
	}
	return res
}

// q8QDQNodes returns x -> Q -> DQ named name (output name) with the
// given parameters, adding them to g's constants.
func q8QDQNodes(g *Graph, x, name string, s float32, z int8) []*Node {
	g.Consts[name+"_s"] = &Tensor{DType: Float32, Shape: []int{}, F32: []float32{s}}
	g.Consts[name+"_z"] = &Tensor{DType: Int8, Shape: []int{}, I8: []int8{z}}
	return []*Node{
		{Name: name + "_q", Op: "QuantizeLinear", Inputs: []string{x, name + "_s", name + "_z"}, Outputs: []string{name + "_qo"}},
		{Name: name + "_dq", Op: "DequantizeLinear", Inputs: []string{name + "_qo", name + "_s", name + "_z"}, Outputs: []string{name}},
	}
}

// DQ -> BatchNormalization [-> Relu | Clip] -> Q lowers to a LookupInt8
// with a table per channel that equals the float path on every int8 code
// of every channel, on one thread and on two (planes shared out).
func TestLowerQDQBatchNorm(t *testing.T) {
	const c = 5
	for _, act := range []string{"", "Relu", "Clip", "Relu+DQ"} {
		t.Run("act="+act, func(t *testing.T) {
			g := &Graph{
				Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, c, -1, -1}}}},
				Outputs: []ValueInfo{{Name: "out"}},
				Consts:  map[string]*Tensor{},
				Opset:   17,
			}
			bn := []string{"xd"}
			for i, name := range []string{"scale", "b", "mean", "var"} {
				v := New(Float32, c)
				for j := range v.F32 {
					v.F32[j] = float32(j+1) * []float32{0.7, -0.3, 0.2, 0.9}[i]
					if name == "scale" && j == 2 {
						v.F32[j] = -v.F32[j] // a negative scale reverses the order
					}
				}
				g.Consts[name] = v
				bn = append(bn, name)
			}
			g.Nodes = q8QDQNodes(g, "x", "xd", 0.05, -20)
			if act == "Relu+DQ" {
				// The scale as ONNX Runtime's QDQ writes it: DequantizeLinear
				// of int8 codes, per channel.
				act = "Relu"
				g.Consts["scale_q"] = &Tensor{DType: Int8, Shape: []int{c}, I8: []int8{90, -40, 127, 7, -128}}
				g.Consts["scale_s"] = &Tensor{DType: Float32, Shape: []int{c}, F32: []float32{0.01, 0.02, 0.015, 0.1, 0.004}}
				g.Consts["scale_z"] = New(Int8, c)
				g.Nodes = append(g.Nodes, &Node{Name: "scale_dq", Op: "DequantizeLinear", Inputs: []string{"scale_q", "scale_s", "scale_z"},
					Outputs: []string{"scale_dq"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}})
				bn[1] = "scale_dq"
			}
			g.Nodes = append(g.Nodes, &Node{Name: "bn", Op: "BatchNormalization", Inputs: bn, Outputs: []string{"bny"},
				Attrs: map[string]Attr{"epsilon": {Kind: AttrFloat, Float: 1e-3}}})
			y := "bny"
			switch act {
			case "Relu":
				g.Nodes = append(g.Nodes, &Node{Name: "act", Op: "Relu", Inputs: []string{y}, Outputs: []string{"ay"}})
				y = "ay"
			case "Clip":
				g.Consts["lo"] = &Tensor{DType: Float32, Shape: []int{}, F32: []float32{-0.5}}
				g.Consts["hi"] = &Tensor{DType: Float32, Shape: []int{}, F32: []float32{2}}
				g.Nodes = append(g.Nodes, &Node{Name: "act", Op: "Clip", Inputs: []string{y, "lo", "hi"}, Outputs: []string{"ay"}})
				y = "ay"
			}
			g.Nodes = append(g.Nodes, q8QDQNodes(g, y, "out", 0.02, 7)...)
			low, ops := q8Lower(t, g)
			if ops["LookupInt8"] != 1 || ops["BatchNormalization"]+ops["Relu"]+ops["Clip"] != 0 || ops["DequantizeLinear"] != 1 {
				t.Fatalf("lowered ops %v", ops)
			}
			// Every int8 code in every channel, and planes large enough
			// for two threads to share them.
			x := New(Float32, 2, c, 256, 160)
			for i := range x.F32 {
				x.F32[i] = (float32(i%256) - 128 + 20) * 0.05
			}
			want := q8RunFloat(t, g, x)
			distinct := map[float32]bool{}
			for _, threads := range []int{1, 2} {
				for i, v := range q8RunOutputs(t, low, threads, x)[0] {
					if v != want[i] {
						t.Fatalf("%d threads, element %d (channel %d, input %v): lookup %v, float path %v",
							threads, i, i/(256*160)%c, x.F32[i], v, want[i])
					}
					distinct[v] = true
				}
			}
			if len(distinct) < 64 {
				t.Fatalf("only %d distinct outputs: the fixture saturates", len(distinct))
			}
		})
	}
}

// DQ(a), DQ(b), DQ(c) -> Concat -> Q lowers to a Concat of int8 values,
// the inputs quantized differently from the output requantized first
// (within one output step of the float path), the one quantized alike
// copied exactly.
func TestLowerQDQConcat(t *testing.T) {
	g := &Graph{
		Inputs: []ValueInfo{{Name: "a", Type: Type{DType: Float32, Shape: []int{-1, 2, 4, 4}}},
			{Name: "b", Type: Type{DType: Float32, Shape: []int{-1, 3, 4, 4}}}, {Name: "c", Type: Type{DType: Float32, Shape: []int{-1, 1, 4, 4}}}},
		Outputs: []ValueInfo{{Name: "out"}},
		Consts:  map[string]*Tensor{},
		Opset:   17,
	}
	g.Nodes = append(g.Nodes, q8QDQNodes(g, "a", "ad", 0.03, -5)...)
	g.Nodes = append(g.Nodes, q8QDQNodes(g, "b", "bd", 0.011, 40)...)
	g.Nodes = append(g.Nodes, q8QDQNodes(g, "c", "cd", 0.02, 3)...)
	g.Nodes = append(g.Nodes, &Node{Name: "cat", Op: "Concat", Inputs: []string{"ad", "bd", "cd"}, Outputs: []string{"cy"},
		Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 1}}})
	g.Nodes = append(g.Nodes, q8QDQNodes(g, "cy", "out", 0.02, 3)...)
	low, ops := q8Lower(t, g)
	if ops["Concat"] != 1 || ops["RequantizeInt8"] != 2 || ops["DequantizeLinear"] != 1 || ops["QuantizeLinear"] != 3 {
		t.Fatalf("lowered ops %v", ops)
	}
	r := rand.New(rand.NewPCG(3, 4))
	var ins []*Tensor
	for _, vi := range g.Inputs {
		x := New(Float32, 2, vi.Type.Shape[1], 4, 4)
		for i := range x.F32 {
			x.F32[i] = 4*r.Float32() - 2
		}
		ins = append(ins, x)
	}
	want, got := q8RunOutputs(t, g, 1, ins...)[0], q8RunOutputs(t, low, 1, ins...)[0]
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		if ch := i / 16 % 6; ch == 5 && d != 0 || d > 0.02+1e-6 {
			t.Fatalf("element %d (channel %d): lowered %v, float path %v", i, ch, got[i], want[i])
		}
	}
}

// q8Lower lowers g (LowerQDQ, failing the test on an error) and counts the
// result's ops.
func q8Lower(t *testing.T, g *Graph) (*Graph, map[string]int) {
	t.Helper()
	low, err := LowerQDQ(g)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, n := range low.Nodes {
		ops[n.Op]++
	}
	return low, ops
}

// DQ -> Transpose -> Q and DQ -> Split -> Q, Q (ShuffleNet's channel
// shuffle) lower to the same ops on int8: exact where the quantization
// passes through, within one output step where an output is requantized.
func TestLowerQDQLayoutOps(t *testing.T) {
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 4, 3, 3}}}},
		Outputs: []ValueInfo{{Name: "a"}, {Name: "b"}},
		Consts:  map[string]*Tensor{"parts": {DType: Int64, Shape: []int{2}, I64: []int64{1, 2}}},
		Opset:   17,
	}
	g.Nodes = q8QDQNodes(g, "x", "xd", 0.03, -7)
	g.Nodes = append(g.Nodes, &Node{Name: "tr", Op: "Transpose", Inputs: []string{"xd"}, Outputs: []string{"ty"},
		Attrs: map[string]Attr{"perm": {Kind: AttrInts, Ints: []int64{0, 2, 1, 3}}}})
	g.Nodes = append(g.Nodes, q8QDQNodes(g, "ty", "td", 0.03, -7)...)
	g.Nodes = append(g.Nodes, &Node{Name: "sp", Op: "Split", Inputs: []string{"td", "parts"}, Outputs: []string{"s0", "s1"},
		Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 1}}})
	g.Nodes = append(g.Nodes, q8QDQNodes(g, "s0", "a", 0.03, -7)...)
	g.Nodes = append(g.Nodes, q8QDQNodes(g, "s1", "b", 0.05, 2)...)
	low, ops := q8Lower(t, g)
	if ops["Transpose"] != 1 || ops["Split"] != 1 || ops["RequantizeInt8"] != 1 || ops["QuantizeLinear"] != 1 || ops["DequantizeLinear"] != 2 {
		t.Fatalf("lowered ops %v", ops)
	}
	x := New(Float32, 2, 4, 3, 3)
	for i := range x.F32 {
		x.F32[i] = float32(i%23)*0.17 - 2
	}
	want, got := q8RunOutputs(t, g, 1, x), q8RunOutputs(t, low, 1, x)
	for o, step := range []float64{0, 0.05 + 1e-6} {
		if len(got[o]) != len(want[o]) {
			t.Fatalf("output %d: %d values, want %d", o, len(got[o]), len(want[o]))
		}
		for i := range want[o] {
			if d := math.Abs(float64(got[o][i] - want[o][i])); d > step {
				t.Fatalf("output %d element %d: lowered %v, float path %v", o, i, got[o][i], want[o][i])
			}
		}
	}
}

// DQ(a) · DQ(b) -> Q lowers to QLinearMulInt8, which equals the float
// path exactly: same shapes, per-plane gates (squeeze-and-excitation, on
// one thread and two), and another broadcast; a Relu after it folds in.
func TestLowerQDQMul(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   []int
		relu   bool
		planes bool
	}{
		{"same", []int{2, 3, 5, 5}, []int{2, 3, 5, 5}, false, false},
		{"gates", []int{2, 8, 96, 96}, []int{2, 8, 1, 1}, false, true},
		{"gates-relu", []int{1, 4, 7, 7}, []int{1, 4, 1, 1}, true, true},
		{"row", []int{2, 3, 4, 5}, []int{5}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Graph{
				Inputs:  []ValueInfo{{Name: "a", Type: Type{DType: Float32, Shape: tc.a}}, {Name: "b", Type: Type{DType: Float32, Shape: tc.b}}},
				Outputs: []ValueInfo{{Name: "out"}},
				Consts:  map[string]*Tensor{},
				Opset:   17,
			}
			g.Nodes = append(q8QDQNodes(g, "a", "ad", 0.04, -9), q8QDQNodes(g, "b", "bd", 0.007, -128)...)
			g.Nodes = append(g.Nodes, &Node{Name: "mul", Op: "Mul", Inputs: []string{"ad", "bd"}, Outputs: []string{"m"}})
			y := "m"
			if tc.relu {
				g.Nodes = append(g.Nodes, &Node{Name: "relu", Op: "Relu", Inputs: []string{y}, Outputs: []string{"r"}})
				y = "r"
			}
			g.Nodes = append(g.Nodes, q8QDQNodes(g, y, "out", 0.03, 4)...)
			low, ops := q8Lower(t, g)
			if ops["QLinearMulInt8"] != 1 || ops["Mul"]+ops["Relu"] != 0 {
				t.Fatalf("lowered ops %v", ops)
			}
			r := rand.New(rand.NewPCG(9, 9))
			var ins []*Tensor
			for i, s := range [][]int{tc.a, tc.b} {
				x := New(Float32, s...)
				for j := range x.F32 {
					x.F32[j] = (r.Float32()*2 - 0.6) * []float32{5, 1.8}[i]
				}
				ins = append(ins, x)
			}
			want := q8RunOutputs(t, g, 1, ins...)[0]
			distinct := map[float32]bool{}
			for _, threads := range []int{1, 2} {
				got := q8RunOutputs(t, low, threads, ins...)[0]
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%d threads, element %d: lowered %v, float path %v", threads, i, got[i], want[i])
					}
					distinct[got[i]] = true
				}
			}
			if len(distinct) < 16 {
				t.Fatalf("only %d distinct outputs: the fixture saturates", len(distinct))
			}
		})
	}
}

// DQ -> AveragePool -> Q lowers to AveragePoolInt8, equal to the float
// path, for windows with and without padding (counted in the
// divisor or not), ceil mode, strides and dilations, on one and two threads.
func TestLowerQDQAveragePool(t *testing.T) {
	ints := func(v ...int64) Attr { return Attr{Kind: AttrInts, Ints: v} }
	for _, tc := range []struct {
		name  string
		attrs map[string]Attr
	}{
		{"2x2s2", map[string]Attr{"kernel_shape": ints(2, 2), "strides": ints(2, 2)}},
		{"3x3pad", map[string]Attr{"kernel_shape": ints(3, 3), "pads": ints(1, 1, 1, 1)}},
		{"3x3pad-count", map[string]Attr{"kernel_shape": ints(3, 3), "pads": ints(1, 1, 1, 1), "count_include_pad": {Kind: AttrInt, Int: 1}}},
		{"3x2s2-ceil", map[string]Attr{"kernel_shape": ints(3, 2), "strides": ints(2, 2), "ceil_mode": {Kind: AttrInt, Int: 1}}},
		{"2x2d2", map[string]Attr{"kernel_shape": ints(2, 2), "dilations": ints(2, 2), "pads": ints(0, 1, 1, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &Graph{
				Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 6, 33, 31}}}},
				Outputs: []ValueInfo{{Name: "out"}},
				Consts:  map[string]*Tensor{},
				Opset:   19,
			}
			g.Nodes = q8QDQNodes(g, "x", "xd", 0.02, -30)
			g.Nodes = append(g.Nodes, &Node{Name: "pool", Op: "AveragePool", Inputs: []string{"xd"}, Outputs: []string{"p"}, Attrs: tc.attrs})
			g.Nodes = append(g.Nodes, q8QDQNodes(g, "p", "out", 0.011, 5)...)
			low, ops := q8Lower(t, g)
			if ops["AveragePoolInt8"] != 1 || ops["AveragePool"] != 0 {
				t.Fatalf("lowered ops %v", ops)
			}
			x := New(Float32, 16, 6, 33, 31)
			r := rand.New(rand.NewPCG(2, 2))
			for i := range x.F32 {
				x.F32[i] = 3*r.Float32() - 0.8
			}
			want := q8RunFloat(t, g, x)
			for _, threads := range []int{1, 2} {
				got := q8RunOutputs(t, low, threads, x)[0]
				if len(got) != len(want) {
					t.Fatalf("%d values, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%d threads, element %d: lowered %v, float path %v", threads, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// q8SumI8 (eight bytes a step) equals a plain sum at every length to 2,100
// (lane folds every 128 words) and at the extremes -128 and 127.
func TestSumI8(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	x := make([]int8, 2100)
	for fill := range 3 {
		for i := range x {
			x[i] = []int8{int8(r.IntN(256) - 128), -128, 127}[fill]
		}
		for n := 0; n <= len(x); n += 1 + n/64 {
			var want int64
			for _, v := range x[:n] {
				want += int64(v)
			}
			if got := q8SumI8(x[:n]); got != want {
				t.Fatalf("fill %d, n=%d: %d, want %d", fill, n, got, want)
			}
		}
	}
}
