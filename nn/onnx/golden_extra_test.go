package onnx_test

import (
	"github.com/splitinfer/splitinfer/nn"
)

// extraSpecs: bool values as graph outputs and logic ops, shapes computed
// at run time from Shape, int64 arithmetic on the data path, Constant's
// scalar and list attributes, Lp pooling and normalization, and the
// element-wise ops of PyTorch's operator tests.
func extraSpecs() []opSpec {
	var specs []opSpec
	add := func(name string, min, max int, b func(v int) goldenCase) {
		specs = append(specs, opSpec{name, min, max, b})
	}
	xa, xb, xc := randT("la", 2, 3, 4), randT("lb", 2, 3, 4), randT("lc", 2, 3, 4)
	xb.F32[5], xb.F32[7] = xa.F32[5], xa.F32[7]
	// Comparisons straight to a bool output, and the logic ops on them.
	for _, op := range []string{"Less", "Greater", "Equal"} {
		min := 7
		if op == "Equal" {
			min = 11
		}
		add(op+"BoolOut", min, 0, func(int) goldenCase {
			return goldenCase{inputs: []*nn.Tensor{xa, xb}, nodes: []*nn.Node{node(op, []string{"x0", "x1"}, []string{"y"})}}
		})
	}
	add("Logic", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xa, xb, xc}, nodes: []*nn.Node{
			node("Greater", []string{"x0", "x1"}, []string{"a"}), node("Less", []string{"x0", "x2"}, []string{"b"}),
			node("And", []string{"a", "b"}, []string{"and"}), node("Or", []string{"a", "b"}, []string{"or"}),
			node("Xor", []string{"a", "b"}, []string{"xor"}), node("Not", []string{"a"}, []string{"not"}),
		}, outputs: []string{"and", "or", "xor", "not"}}
	})
	add("CastBoolOut", 7, 0, func(int) goldenCase {
		x := f32T([]int{5}, 0, -0.5, 2, 0, 1e-9)
		return goldenCase{inputs: []*nn.Tensor{x}, nodes: []*nn.Node{node("Cast", []string{"x0"}, []string{"y"}, "to", 9)}}
	})
	add("WhereBcast", 11, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xa, randT("wb", 4)}, consts: consts("z", f32T(nil, 0)), nodes: []*nn.Node{
			node("Equal", []string{"x0", "x1"}, []string{"c0"}), node("Not", []string{"c0"}, []string{"c1"}),
			node("Greater", []string{"x0", "z"}, []string{"c2"}), node("And", []string{"c1", "c2"}, []string{"c"}),
			node("Where", []string{"c", "x0", "z"}, []string{"y"})}}
	})
	add("ShapeArith", 7, 0, func(v int) goldenCase {
		// Shape -> Gather -> Mul -> Div -> Unsqueeze -> Concat -> Reshape to [N, C*W/2, 2, H].
		cs := consts("i0", i64T(nil, 0), "i1", i64T(nil, 1), "i2", i64T(nil, 2), "two", i64T([]int{1}, 2), "neg", i64T([]int{1}, -1))
		un, ua := axesForm(v, 13, []string{"n"}, "axes", ints(0), cs, nil)
		hn, ha := axesForm(v, 13, []string{"half"}, "axes", ints(0), cs, nil)
		return goldenCase{inputs: []*nn.Tensor{xa}, consts: cs,
			nodes: []*nn.Node{node("Shape", []string{"x0"}, []string{"sh"}),
				node("Gather", []string{"sh", "i0"}, []string{"n"}, "axis", 0), node("Gather", []string{"sh", "i1"}, []string{"c"}, "axis", 0),
				node("Gather", []string{"sh", "i2"}, []string{"w"}, "axis", 0), node("Mul", []string{"c", "w"}, []string{"cw"}),
				node("Div", []string{"cw", "i2"}, []string{"half"}),
				node("Unsqueeze", un, []string{"n1"}, ua...), node("Unsqueeze", hn, []string{"h1"}, ha...),
				node("Concat", []string{"n1", "h1", "two", "neg"}, []string{"s"}, "axis", 0), node("Reshape", []string{"x0", "s"}, []string{"y"})}}
	})
	// int64 arithmetic on data (Div truncates toward zero).
	add("Int64Arith", 7, 0, func(v int) goldenCase {
		a := i64T([]int{2, 3}, 7, -7, 9, 0, -3, 100)
		b := i64T([]int{3}, 2, 3, -4)
		var bc []any
		if v < 7 {
			bc = []any{"broadcast", 1}
		}
		return goldenCase{inputs: []*nn.Tensor{a, b}, nodes: []*nn.Node{
			node("Add", []string{"x0", "x1"}, []string{"s"}, bc...), node("Sub", []string{"x0", "x1"}, []string{"d"}, bc...),
			node("Mul", []string{"x0", "x1"}, []string{"m"}, bc...), node("Div", []string{"x0", "x1"}, []string{"q"}, bc...),
		}, outputs: []string{"s", "d", "m", "q"}}
	})
	add("Int64Reduce", 11, 0, func(v int) goldenCase {
		a := i64T([]int{2, 3}, 7, -7, 9, 0, -3, 100)
		cs := map[string]*nn.Tensor{}
		ins, attrs := axesForm(v, 13, []string{"x0"}, "axes", ints(1), cs, []any{"keepdims", 0})
		return goldenCase{inputs: []*nn.Tensor{a}, consts: cs, nodes: []*nn.Node{
			node("ReduceSum", ins, []string{"s"}, attrs...), node("ArgMax", []string{"x0"}, []string{"am"}, "axis", 1),
			node("ReduceMax", []string{"x0"}, []string{"mx"}, "keepdims", 0)}, outputs: []string{"s", "am", "mx"}}
	})
	add("ArgMaxCastAdd", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xa}, nodes: []*nn.Node{
			node("ArgMax", []string{"x0"}, []string{"am"}, "axis", 2), node("Cast", []string{"am"}, []string{"f"}, "to", 1),
			node("Add", []string{"x0", "f"}, []string{"y"})}}
	})
	// Constant's attribute forms.
	add("ConstantTensor", 7, 0, func(int) goldenCase {
		n := node("Constant", nil, []string{"k"})
		n.Attrs["value"] = nn.Attr{Kind: nn.AttrTensor, Tensor: randT("ck", 4)}
		return goldenCase{inputs: []*nn.Tensor{xa}, nodes: []*nn.Node{n, node("Mul", []string{"x0", "k"}, []string{"y"})}}
	})
	add("ConstantValues", 12, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xa}, nodes: []*nn.Node{
			node("Constant", nil, []string{"f"}, "value_float", 1.5), node("Constant", nil, []string{"fs"}, "value_floats", []float32{1, -2, 0.5, 3}),
			node("Constant", nil, []string{"s"}, "value_ints", ints(6, -1)), node("Constant", nil, []string{"i"}, "value_int", 3),
			node("Mul", []string{"x0", "f"}, []string{"a"}), node("Add", []string{"a", "fs"}, []string{"b"}),
			node("Reshape", []string{"b", "s"}, []string{"y"}), node("Cast", []string{"i"}, []string{"fi"}, "to", 1),
			node("Mul", []string{"y", "fi"}, []string{"z"})}, outputs: []string{"y", "z"}}
	})
	xp := randT("mpi", 2, 2, 5, 5)
	// MaxPool's indices (flattened NCHW; storage_order 1 is column-major).
	add("MaxPoolIndices", 8, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xp}, nodes: []*nn.Node{node("MaxPool", []string{"x0"}, []string{"y", "i"}, "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1))}, outputs: []string{"y", "i"}}
	})
	add("MaxPoolIndicesColMajor", 8, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("mpc", 1, 2, 4, 6)}, nodes: []*nn.Node{node("MaxPool", []string{"x0"}, []string{"y", "i"}, "kernel_shape", ints(2, 2), "strides", ints(2, 2), "storage_order", 1)}, outputs: []string{"y", "i"}}
	})
	add("MaxPoolIndices1D", 8, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("mp1", 2, 3, 9)}, nodes: []*nn.Node{node("MaxPool", []string{"x0"}, []string{"y", "i"}, "kernel_shape", ints(3), "strides", ints(2))}, outputs: []string{"y", "i"}}
	})
	// Lp pooling and normalization.
	add("GlobalLpPool", 7, 0, unaryOp("GlobalLpPool", xp, "p", 2))
	add("GlobalLpPool3", 7, 0, unaryOp("GlobalLpPool", xp, "p", 3))
	add("LpNormalization", 7, 0, unaryOp("LpNormalization", xa, "axis", 1, "p", 2))
	add("LpNormalizationL1", 7, 0, unaryOp("LpNormalization", xa, "p", 1))
	add("MeanVarianceNormalization", 9, 0, unaryOp("MeanVarianceNormalization", xp))
	for _, op := range []string{"Sin", "Cos", "Tan", "Atan"} {
		add(op, 7, 0, unaryOp(op, xa))
	}
	add("Asin", 7, 0, unaryOp("Asin", f32T([]int{5}, -0.9, -0.3, 0, 0.4, 0.99)))
	add("Acos", 7, 0, unaryOp("Acos", f32T([]int{5}, -0.9, -0.3, 0, 0.4, 0.99)))
	for _, op := range []string{"Sinh", "Cosh", "Asinh"} {
		add(op, 9, 0, unaryOp(op, xa))
	}
	add("Round", 11, 0, unaryOp("Round", f32T([]int{8}, 0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, 3)))
	add("Hardmax", 7, 0, unaryOp("Hardmax", randT("hm", 2, 3, 4), "axis", 1))
	add("Mish", 18, 0, unaryOp("Mish", xa))
	add("Mod", 10, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{i64T([]int{4}, 7, -7, 9, -9), i64T([]int{4}, 3, 3, -4, -4)}, nodes: []*nn.Node{node("Mod", []string{"x0", "x1"}, []string{"y"})}}
	})
	add("ModFloat", 10, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xa, posT("md", 4)}, nodes: []*nn.Node{node("Mod", []string{"x0", "x1"}, []string{"y"}, "fmod", 1)}}
	})
	add("CumSum", 11, 0, func(int) goldenCase {
		return one("CumSum", xa, consts("ax", i64T(nil, 2)), []string{"x0", "ax"})
	})
	add("CumSumRev", 11, 0, func(int) goldenCase {
		return one("CumSum", xa, consts("ax", i64T(nil, 1)), []string{"x0", "ax"}, "exclusive", 1, "reverse", 1)
	})
	add("TopK", 11, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xa}, consts: consts("k", i64T([]int{1}, 2)), nodes: []*nn.Node{node("TopK", []string{"x0", "k"}, []string{"v", "i"}, "axis", -1)}, outputs: []string{"v", "i"}}
	})
	add("GatherElements", 11, 0, func(int) goldenCase {
		return one("GatherElements", randT("ge", 3, 3), consts("i", i64T([]int{2, 3}, 1, 2, 0, 2, 0, -1)), []string{"x0", "i"}, "axis", 0)
	})
	add("Trilu", 14, 0, func(int) goldenCase {
		return one("Trilu", randT("tr", 2, 4, 4), consts("k", i64T(nil, 1)), []string{"x0", "k"}, "upper", 0)
	})
	add("MaxMinInt64", 12, 0, func(int) goldenCase {
		a := i64T([]int{2, 3}, 7, -7, 9, 0, -3, 100)
		return goldenCase{inputs: []*nn.Tensor{a, i64T([]int{3}, 1, 5, 3)}, nodes: []*nn.Node{
			node("Max", []string{"x0", "x1"}, []string{"mx"}), node("Min", []string{"x0", "x1"}, []string{"mn"})}, outputs: []string{"mx", "mn"}}
	})
	add("IsNaNInf", 10, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xa}, consts: consts("z", f32T(nil, 0)), nodes: []*nn.Node{
			node("Div", []string{"x0", "z"}, []string{"d"}), node("IsInf", []string{"d"}, []string{"a"}), node("IsNaN", []string{"d"}, []string{"b"}),
			node("Cast", []string{"a"}, []string{"y"}, "to", 1)}, outputs: []string{"y", "b"}}
	})
	add("Expand2", 8, 0, func(int) goldenCase {
		return one("Expand", randT("ex2", 3, 1), consts("s", i64T([]int{2}, 1, 4)), []string{"x0", "s"})
	})
	return specs
}
