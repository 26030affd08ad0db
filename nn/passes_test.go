package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func randTensor(r *rand.Rand, shape ...int) *Tensor {
	t := New(Float32, shape...)
	for i := range t.F32 {
		t.F32[i] = float32(r.NormFloat64())
	}
	return t
}

func posTensor(r *rand.Rand, shape ...int) *Tensor {
	t := New(Float32, shape...)
	for i := range t.F32 {
		t.F32[i] = 0.2 + r.Float32()
	}
	return t
}

func i64(v ...int64) *Tensor { return &Tensor{DType: Int64, Shape: []int{len(v)}, I64: v} }

func runGraph(t *testing.T, g *Graph, in ...*Tensor) []*Tensor {
	t.Helper()
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewRunner(1).Run(in...)
	if err != nil {
		t.Fatal(err)
	}
	res := make([]*Tensor, len(out))
	for i, o := range out {
		res[i] = o.Clone()
	}
	return res
}

func maxDiff(t *testing.T, a, b *Tensor) float64 {
	t.Helper()
	if fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) {
		t.Fatalf("shapes %v and %v", a.Shape, b.Shape)
	}
	d := 0.0
	for i := range a.F32 {
		d = max(d, math.Abs(float64(a.F32[i]-b.F32[i])))
	}
	return d
}

func countOps(g *Graph, op string) int {
	n := 0
	for _, nd := range g.Nodes {
		if nd.Op == op {
			n++
		}
	}
	return n
}

func bnNode(r *rand.Rand, g *Graph, name, x, y string, c int) *Node {
	g.Consts[name+".scale"] = randTensor(r, c)
	g.Consts[name+".bias"] = randTensor(r, c)
	g.Consts[name+".mean"] = randTensor(r, c)
	g.Consts[name+".var"] = posTensor(r, c)
	return &Node{Name: name, Op: "BatchNormalization", Inputs: []string{x, name + ".scale", name + ".bias", name + ".mean", name + ".var"},
		Outputs: []string{y}, Attrs: map[string]Attr{"epsilon": {Kind: AttrFloat, Float: 1e-3}}}
}

func TestFoldBatchNormConv(t *testing.T) {
	for _, bias := range []bool{true, false} {
		r := rand.New(rand.NewSource(1))
		g := &Graph{
			Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 2, 5, 5}}}},
			Outputs: []ValueInfo{{Name: "y"}},
			Consts:  map[string]*Tensor{"w": randTensor(r, 3, 2, 3, 3), "b": randTensor(r, 3)},
			Opset:   17,
		}
		conv := &Node{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"},
			Attrs: map[string]Attr{"pads": {Kind: AttrInts, Ints: []int64{1, 1, 1, 1}}, "kernel_shape": {Kind: AttrInts, Ints: []int64{3, 3}}}}
		if !bias {
			conv.Inputs = conv.Inputs[:2]
			delete(g.Consts, "b")
		}
		g.Nodes = []*Node{conv, bnNode(r, g, "bn", "c", "y", 3)}
		wBefore := append([]float32(nil), g.Consts["w"].F32...)
		hash := Hash(g)

		f, err := FoldBatchNorm(g)
		if err != nil {
			t.Fatal(err)
		}
		if countOps(f, "BatchNormalization") != 0 || len(f.Nodes) != 1 || f.Nodes[0].Outputs[0] != "y" {
			t.Fatalf("bias=%v: folded graph has nodes %v", bias, f.Nodes)
		}
		if Hash(g) != hash || fmt.Sprint(g.Consts["w"].F32) != fmt.Sprint(wBefore) {
			t.Fatal("FoldBatchNorm modified its argument")
		}
		x := randTensor(r, 2, 2, 5, 5)
		want := runGraph(t, g, x)[0]
		got := runGraph(t, f, x)[0]
		if d := maxDiff(t, got, want); d > 1e-5 {
			t.Fatalf("bias=%v: folded conv differs by %g", bias, d)
		}
	}
}

func TestFoldBatchNormGemm(t *testing.T) {
	for _, transB := range []int64{0, 1} {
		r := rand.New(rand.NewSource(2))
		w := randTensor(r, 3, 4)
		if transB == 0 {
			w = randTensor(r, 4, 3)
		}
		g := &Graph{
			Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 4}}}},
			Outputs: []ValueInfo{{Name: "y"}},
			Consts:  map[string]*Tensor{"w": w, "c": randTensor(r, 3)},
			Opset:   17,
		}
		gemm := &Node{Name: "fc", Op: "Gemm", Inputs: []string{"x", "w", "c"}, Outputs: []string{"h"}, Attrs: map[string]Attr{
			"transB": {Kind: AttrInt, Int: transB}, "alpha": {Kind: AttrFloat, Float: 0.5}, "beta": {Kind: AttrFloat, Float: 2}}}
		g.Nodes = []*Node{gemm, bnNode(r, g, "bn", "h", "y", 3)}
		f, err := FoldBatchNorm(g)
		if err != nil {
			t.Fatal(err)
		}
		if countOps(f, "BatchNormalization") != 0 {
			t.Fatalf("transB=%d: BatchNormalization not folded", transB)
		}
		x := randTensor(r, 5, 4)
		if d := maxDiff(t, runGraph(t, f, x)[0], runGraph(t, g, x)[0]); d > 1e-5 {
			t.Fatalf("transB=%d: folded gemm differs by %g", transB, d)
		}
	}
}

// TestFoldBatchNormKeepsShared leaves BatchNormalization alone when the
// Conv output has another reader.
func TestFoldBatchNormKeepsShared(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{1, 2, 4, 4}}}},
		Outputs: []ValueInfo{{Name: "y"}, {Name: "z"}},
		Consts:  map[string]*Tensor{"w": randTensor(r, 3, 2, 1, 1)},
		Opset:   17,
	}
	g.Nodes = []*Node{
		{Name: "conv", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}},
		bnNode(r, g, "bn", "c", "y", 3),
		{Name: "relu", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"z"}},
	}
	f, err := FoldBatchNorm(g)
	if err != nil {
		t.Fatal(err)
	}
	if countOps(f, "BatchNormalization") != 1 {
		t.Fatal("BatchNormalization folded although the Conv output is shared")
	}
}

// flattenGraph is PyTorch's x.view(x.size(0), -1) after a Relu, with the
// target built by extra(shapeOut) from the Shape output.
func flattenGraph(target func(g *Graph) []*Node) *Graph {
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 2, 3, 4}}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Consts:  map[string]*Tensor{},
		Opset:   17,
	}
	g.Nodes = []*Node{
		{Name: "relu", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"r"}},
		{Name: "shape", Op: "Shape", Inputs: []string{"r"}, Outputs: []string{"s"}},
	}
	g.Nodes = append(g.Nodes, target(g)...)
	g.Nodes = append(g.Nodes, &Node{Name: "reshape", Op: "Reshape", Inputs: []string{"r", "target"}, Outputs: []string{"y"}})
	return g
}

func TestFoldShapes(t *testing.T) {
	scalar0 := &Tensor{DType: Int64, Shape: []int{}, I64: []int64{0}}
	cases := []struct {
		name   string
		build  func(g *Graph) []*Node
		target string // the constant target expected, "" when folding must not happen
		shape  []int  // output shape for a batch of 3
	}{
		{"view(size(0), -1)", func(g *Graph) []*Node {
			g.Consts["zero"], g.Consts["axes"], g.Consts["minus1"] = scalar0, i64(0), i64(-1)
			return []*Node{
				{Name: "gather", Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"b"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}},
				{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"b", "axes"}, Outputs: []string{"b1"}},
				{Name: "concat", Op: "Concat", Inputs: []string{"b1", "minus1"}, Outputs: []string{"target"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}},
			}
		}, "[0 -1]", []int{3, 24}},
		{"batch then the static dims (Shape start=1)", func(g *Graph) []*Node {
			g.Consts["zero"], g.Consts["axes"] = scalar0, i64(0)
			return []*Node{
				{Name: "gather", Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"b"}},
				{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"b", "axes"}, Outputs: []string{"b1"}},
				{Name: "rest", Op: "Shape", Inputs: []string{"r"}, Outputs: []string{"rest"}, Attrs: map[string]Attr{"start": {Kind: AttrInt, Int: 1}}},
				{Name: "concat", Op: "Concat", Inputs: []string{"b1", "rest"}, Outputs: []string{"target"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}},
			}
		}, "[0 2 3 4]", []int{3, 2, 3, 4}},
		{"batch moved: inferred with -1", func(g *Graph) []*Node {
			g.Consts["zero"], g.Consts["axes"], g.Consts["six"] = scalar0, i64(0), i64(6, 4)
			return []*Node{
				{Name: "gather", Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"b"}},
				{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"b", "axes"}, Outputs: []string{"b1"}},
				{Name: "concat", Op: "Concat", Inputs: []string{"six", "b1"}, Outputs: []string{"target"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}},
			}
		}, "[6 4 -1]", []int{6, 4, 3}},
		{"batch moved next to a -1: left alone", func(g *Graph) []*Node {
			g.Consts["zero"], g.Consts["axes"], g.Consts["minus1"] = scalar0, i64(0), i64(-1)
			return []*Node{
				{Name: "gather", Op: "Gather", Inputs: []string{"s", "zero"}, Outputs: []string{"b"}},
				{Name: "unsq", Op: "Unsqueeze", Inputs: []string{"b", "axes"}, Outputs: []string{"b1"}},
				{Name: "concat", Op: "Concat", Inputs: []string{"minus1", "b1"}, Outputs: []string{"target"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}},
			}
		}, "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := flattenGraph(c.build)
			f, err := Optimize(g)
			if err != nil {
				t.Fatal(err)
			}
			rs := f.Nodes[len(f.Nodes)-1]
			target := f.Consts[rs.Inputs[1]]
			if c.target == "" {
				if target != nil || countOps(f, "Shape") == 0 {
					t.Fatalf("target folded to %v, want it left dynamic", target)
				}
				return
			}
			if target == nil || fmt.Sprint(target.I64) != c.target {
				t.Fatalf("reshape target %v, want %s", target, c.target)
			}
			for _, op := range []string{"Shape", "Gather", "Unsqueeze", "Concat"} {
				if countOps(f, op) != 0 {
					t.Errorf("%s survived", op)
				}
			}
			if c.shape == nil {
				return
			}
			x := randTensor(rand.New(rand.NewSource(4)), 3, 2, 3, 4)
			y := runGraph(t, f, x)[0]
			if fmt.Sprint(y.Shape) != fmt.Sprint(c.shape) {
				t.Fatalf("output shape %v, want %v", y.Shape, c.shape)
			}
			for i, v := range x.F32 {
				if want := max(v, 0); y.F32[i] != want {
					t.Fatalf("value %d: %v, want %v", i, y.F32[i], want)
				}
			}
		})
	}
}

// TestFoldShapesStatic folds every shape op when the input shape is fully
// known, and the subsequent arithmetic with them.
func TestFoldShapesStatic(t *testing.T) {
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{2, 3, 4}}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Consts:  map[string]*Tensor{"idx": i64(1, 2), "two": i64(2)},
		Opset:   17,
	}
	g.Nodes = []*Node{
		{Name: "shape", Op: "Shape", Inputs: []string{"x"}, Outputs: []string{"s"}},
		{Name: "gather", Op: "Gather", Inputs: []string{"s", "idx"}, Outputs: []string{"hw"}}, // [3 4]
		{Name: "mul", Op: "Mul", Inputs: []string{"hw", "two"}, Outputs: []string{"hw2"}},     // [6 8]
		{Name: "div", Op: "Div", Inputs: []string{"hw2", "two"}, Outputs: []string{"t"}},      // [3 4]
		{Name: "concat", Op: "Concat", Inputs: []string{"two", "t"}, Outputs: []string{"target"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}},
		{Name: "reshape", Op: "Reshape", Inputs: []string{"x", "target"}, Outputs: []string{"y"}},
	}
	f, err := Optimize(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Nodes) != 1 || f.Nodes[0].Op != "Reshape" || fmt.Sprint(f.Consts[f.Nodes[0].Inputs[1]].I64) != "[2 3 4]" {
		t.Fatalf("optimized nodes %v", f.Nodes)
	}
}

func TestFoldConstants(t *testing.T) {
	a, _ := FromFloat32([]float32{1, -2, 3}, 3)
	b, _ := FromFloat32([]float32{1, 1, 1}, 3)
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{3}}}},
		Outputs: []ValueInfo{{Name: "y"}, {Name: "q"}},
		Consts: map[string]*Tensor{"a": a, "b": b, "scale": {DType: Float32, Shape: []int{}, F32: []float32{0.5}},
			"zp": {DType: Int8, Shape: []int{}, I8: []int8{0}}},
		Opset: 17,
	}
	g.Nodes = []*Node{
		{Name: "add", Op: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"ab"}},
		{Name: "relu", Op: "Relu", Inputs: []string{"ab"}, Outputs: []string{"r"}},
		{Name: "mul", Op: "Mul", Inputs: []string{"x", "r"}, Outputs: []string{"y"}},
		{Name: "quant", Op: "QuantizeLinear", Inputs: []string{"a", "scale", "zp"}, Outputs: []string{"q"}},
	}
	f, err := FoldConstants(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Nodes) != 2 || f.Nodes[0].Op != "Mul" || f.Nodes[1].Op != "QuantizeLinear" {
		t.Fatalf("nodes after folding: %v", f.Nodes)
	}
	r := f.Consts[f.Nodes[0].Inputs[1]]
	if r == nil || fmt.Sprint(r.F32) != "[2 0 4]" {
		t.Fatalf("folded Relu(a+b) = %v, want [2 0 4]", r)
	}
	if _, ok := f.Consts["ab"]; ok {
		t.Error("dead intermediate constant kept")
	}
	if len(g.Nodes) != 4 {
		t.Error("FoldConstants modified its argument")
	}
}

func TestRemoveIdentities(t *testing.T) {
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{2}}}},
		Outputs: []ValueInfo{{Name: "y"}, {Name: "xi"}},
		Consts:  map[string]*Tensor{"tm": {DType: Uint8, Shape: []int{}, U8: []uint8{0}}},
		Opset:   17,
	}
	g.Nodes = []*Node{
		{Name: "id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"a"}},
		{Name: "relu", Op: "Relu", Inputs: []string{"a"}, Outputs: []string{"b"}},
		{Name: "drop", Op: "Dropout", Inputs: []string{"b", "", "tm"}, Outputs: []string{"y", ""}},
		{Name: "keep", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"xi"}}, // input straight to output
	}
	f, err := RemoveIdentities(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Nodes) != 2 || f.Nodes[0].Op != "Relu" || f.Nodes[0].Inputs[0] != "x" || f.Nodes[0].Outputs[0] != "y" || f.Nodes[1].Name != "keep" {
		for _, n := range f.Nodes {
			t.Logf("%s %s %v -> %v", n.Name, n.Op, n.Inputs, n.Outputs)
		}
		t.Fatal("unexpected graph after RemoveIdentities")
	}
	x, _ := FromFloat32([]float32{-1, 2}, 2)
	out := runGraph(t, f, x)
	if fmt.Sprint(out[0].F32, out[1].F32) != "[0 2] [-1 2]" {
		t.Fatalf("outputs %v %v", out[0].F32, out[1].F32)
	}
	// A Dropout in training mode stays.
	g.Consts["tm"] = &Tensor{DType: Uint8, Shape: []int{}, U8: []uint8{1}}
	f, err = RemoveIdentities(g)
	if err != nil {
		t.Fatal(err)
	}
	if countOps(f, "Dropout") != 1 {
		t.Fatal("training-mode Dropout removed")
	}
}

func TestOptimizeInvalid(t *testing.T) {
	g := &Graph{Outputs: []ValueInfo{{Name: "y"}}, Consts: map[string]*Tensor{}}
	if _, err := Optimize(g); !errors.Is(err, ErrGraph) {
		t.Fatalf("error %v, want ErrGraph", err)
	}
	if _, err := Optimize(nil); !errors.Is(err, ErrGraph) {
		t.Fatalf("nil graph: error %v, want ErrGraph", err)
	}
}

// TestFoldConstantsBudget: folding does not materialize much more than the
// graph's constants hold (a small hostile model cannot blow up the loader).
func TestFoldConstantsBudget(t *testing.T) {
	a := New(Float32, 1000)
	ins := make([]string, 3000) // Concat of 3000 copies: 3M elements from 1000
	for i := range ins {
		ins[i] = "a"
	}
	g := &Graph{
		Outputs: []ValueInfo{{Name: "y"}},
		Consts:  map[string]*Tensor{"a": a},
		Nodes:   []*Node{{Name: "cat", Op: "Concat", Inputs: ins, Outputs: []string{"y"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 0}}}},
		Opset:   17,
	}
	f, err := FoldConstants(g)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Nodes) != 1 {
		t.Fatal("a 3M-element Concat of a 1000-element constant was folded")
	}
	g.Nodes[0].Inputs = ins[:10]
	if f, err = FoldConstants(g); err != nil || len(f.Nodes) != 0 || f.Consts["y"].Len() != 10000 {
		t.Fatalf("a small Concat was not folded: %v", err)
	}
}

// TestFoldPadIntoConv: a zero Pad of the spatial dimensions that alone
// feeds a Conv becomes part of the Conv's pads (pads as an input with
// axes, as an input for all dimensions, or as an attribute before opset
// 11), with the same outputs; a Pad that is not zero, pads the batch,
// reflects or has another reader stays.
func TestFoldPadIntoConv(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	type tc struct {
		name   string
		opset  int
		pad    *Node
		consts map[string]*Tensor
		extra  bool // a second reader of the padded value
		fold   bool
	}
	i64 := func(v ...int64) *Tensor {
		t := New(Int64, len(v))
		copy(t.I64, v)
		return t
	}
	zero := New(Float32)
	one := New(Float32)
	one.F32[0] = 1
	cases := []tc{
		{"input pads", 13, &Node{Op: "Pad", Inputs: []string{"x", "p"}}, map[string]*Tensor{"p": i64(0, 0, 1, 0, 0, 0, 0, 2)}, false, true},
		{"zero value", 13, &Node{Op: "Pad", Inputs: []string{"x", "p", "v"}}, map[string]*Tensor{"p": i64(0, 0, 0, 1, 0, 0, 1, 1), "v": zero}, false, true},
		{"axes", 18, &Node{Op: "Pad", Inputs: []string{"x", "p", "", "a"}}, map[string]*Tensor{"p": i64(1, 1, 0, 1), "a": i64(-2, -1)}, false, true},
		{"attribute", 9, &Node{Op: "Pad", Inputs: []string{"x"}, Attrs: map[string]Attr{"pads": {Kind: AttrInts, Ints: []int64{0, 0, 2, 2, 0, 0, 2, 2}}}}, nil, false, true},
		{"value one", 13, &Node{Op: "Pad", Inputs: []string{"x", "p", "v"}}, map[string]*Tensor{"p": i64(0, 0, 1, 1, 0, 0, 1, 1), "v": one}, false, false},
		{"batch", 13, &Node{Op: "Pad", Inputs: []string{"x", "p"}}, map[string]*Tensor{"p": i64(1, 0, 1, 1, 0, 0, 1, 1)}, false, false},
		{"reflect", 13, &Node{Op: "Pad", Inputs: []string{"x", "p"}, Attrs: map[string]Attr{"mode": {Kind: AttrString, Str: "reflect"}}}, map[string]*Tensor{"p": i64(0, 0, 1, 1, 0, 0, 1, 1)}, false, false},
		{"shared", 13, &Node{Op: "Pad", Inputs: []string{"x", "p"}}, map[string]*Tensor{"p": i64(0, 0, 1, 1, 0, 0, 1, 1)}, true, false},
	}
	for _, c := range cases {
		w := randTensor(r, 4, 2, 3, 3)
		g := &Graph{
			Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 2, 6, 7}}}},
			Outputs: []ValueInfo{{Name: "y"}},
			Consts:  map[string]*Tensor{"w": w, "b": randTensor(r, 4)},
			Opset:   c.opset,
		}
		for k, v := range c.consts {
			g.Consts[k] = v
		}
		c.pad.Name, c.pad.Outputs = "pad", []string{"xp"}
		conv := &Node{Name: "conv", Op: "Conv", Inputs: []string{"xp", "w", "b"}, Outputs: []string{"y"},
			Attrs: map[string]Attr{"pads": {Kind: AttrInts, Ints: []int64{1, 0, 1, 0}}, "strides": {Kind: AttrInts, Ints: []int64{2, 1}}}}
		g.Nodes = []*Node{c.pad, conv}
		if c.extra {
			g.Nodes = append(g.Nodes, &Node{Name: "relu", Op: "Relu", Inputs: []string{"xp"}, Outputs: []string{"z"}})
			g.Outputs = append(g.Outputs, ValueInfo{Name: "z"})
		}
		o, err := Optimize(g)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := countOps(o, "Pad") == 0; got != c.fold {
			t.Fatalf("%s: Pad folded = %v, want %v", c.name, got, c.fold)
		}
		x := randTensor(r, 2, 2, 6, 7)
		want := runGraph(t, g, x)[0]
		got := runGraph(t, o, x)[0]
		if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
			t.Fatalf("%s: shape %v, want %v", c.name, got.Shape, want.Shape)
		}
		if d := maxDiff(t, got, want); d > 1e-5 {
			t.Fatalf("%s: optimized output differs by %g", c.name, d)
		}
	}
}

// TestFoldAffineIntoConv: Mul, Div, Add and Sub by constants per output
// channel or scalars after a Conv or Gemm fold into its weights and bias
// with the same outputs; a constant that varies over the plane, a Sub of
// the Conv from a constant and a Div of a constant by it stay.
func TestFoldAffineIntoConv(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	type step struct {
		op    string
		shape []int
		first bool // the constant is the first operand
	}
	cases := []struct {
		name  string
		gemm  bool
		steps []step
		left  int // nodes left besides the Conv or Gemm
	}{
		{"mul add", false, []step{{"Mul", []int{1, 4, 1, 1}, false}, {"Add", []int{4, 1, 1}, true}}, 0},
		{"div sub scalars", false, []step{{"Div", []int{}, false}, {"Sub", []int{1}, false}}, 0},
		{"gemm add mul", true, []step{{"Add", []int{4}, false}, {"Mul", []int{1, 4}, true}}, 0},
		{"per pixel", false, []step{{"Add", []int{4, 3, 6}, false}}, 1},
		{"sub from const", false, []step{{"Sub", []int{4, 1, 1}, true}}, 1},
		{"div const by", false, []step{{"Div", []int{1}, true}}, 1},
	}
	for _, c := range cases {
		g := &Graph{Outputs: []ValueInfo{{Name: "y"}}, Consts: map[string]*Tensor{"b": randTensor(r, 4)}, Opset: 17}
		var x *Tensor
		if c.gemm {
			g.Inputs = []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 5}}}}
			g.Consts["w"] = randTensor(r, 4, 5)
			g.Nodes = []*Node{{Name: "p", Op: "Gemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"v0"}, Attrs: map[string]Attr{"transB": {Kind: AttrInt, Int: 1}}}}
			x = randTensor(r, 3, 5)
		} else {
			g.Inputs = []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 2, 5, 6}}}}
			g.Consts["w"] = randTensor(r, 4, 2, 3, 3)
			g.Nodes = []*Node{{Name: "p", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"v0"}, Attrs: map[string]Attr{"pads": {Kind: AttrInts, Ints: []int64{0, 1, 0, 1}}}}}
			x = randTensor(r, 2, 2, 5, 6)
		}
		for i, s := range c.steps {
			k := fmt.Sprintf("k%d", i)
			g.Consts[k] = randTensor(r, s.shape...)
			for j := range g.Consts[k].F32 {
				g.Consts[k].F32[j] += 2 // keep divisors away from 0
			}
			in := []string{fmt.Sprintf("v%d", i), k}
			if s.first {
				in[0], in[1] = in[1], in[0]
			}
			out := fmt.Sprintf("v%d", i+1)
			if i == len(c.steps)-1 {
				out = "y"
			}
			g.Nodes = append(g.Nodes, &Node{Name: fmt.Sprint("n", i), Op: s.op, Inputs: in, Outputs: []string{out}})
		}
		o, err := Optimize(g)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(o.Nodes) != 1+c.left {
			t.Fatalf("%s: %d nodes after Optimize, want %d", c.name, len(o.Nodes), 1+c.left)
		}
		want := runGraph(t, g, x)[0]
		got := runGraph(t, o, x)[0]
		if d := maxDiff(t, got, want); d > 1e-5 {
			t.Fatalf("%s: optimized output differs by %g", c.name, d)
		}
	}
}
