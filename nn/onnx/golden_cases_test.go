package onnx_test

import (
	"fmt"
	"math"

	"github.com/splitinfer/splitinfer/nn"
)

// ladder is the opsets each op is written at (those in its range).
var ladder = []int{7, 9, 11, 12, 13, 18, 21}

// notAt6 are the specs of opset 7 that have no opset-6 form (the others
// are also written at opset 6, in its form where it differs).
var notAt6 = map[string]string{
	"PRelu":             "PRelu-6 takes a slope of size 1 only",
	"AveragePoolPad1":   "count_include_pad is from opset 7",
	"AveragePool3DPad1": "count_include_pad is from opset 7",
	"Upsamplenearest":   "Upsample is from opset 7",
	"Upsamplelinear":    "Upsample is from opset 7",
	"GemmTransA":        "Gemm-6 broadcasts C of shape (N) or (1) only",
}

// opSpec builds one op's graph at opset v, in the form that opset defines.
type opSpec struct {
	name     string
	min, max int // opset range; max 0 means any
	build    func(v int) goldenCase
}

// one is a single-node case reading x0 (and constants) into y.
func one(op string, x *nn.Tensor, consts map[string]*nn.Tensor, ins []string, attrs ...any) goldenCase {
	return goldenCase{inputs: []*nn.Tensor{x}, consts: consts, nodes: []*nn.Node{node(op, ins, []string{"y"}, attrs...)}}
}

func unaryOp(op string, x *nn.Tensor, attrs ...any) func(int) goldenCase {
	return func(int) goldenCase { return one(op, x, nil, []string{"x0"}, attrs...) }
}

func consts(kv ...any) map[string]*nn.Tensor {
	m := map[string]*nn.Tensor{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(*nn.Tensor)
	}
	return m
}

// axesForm is a list of ints given as attribute name before opset from
// and as input i from it: it returns the node inputs and attributes.
func axesForm(v, from int, ins []string, name string, vals []int64, cs map[string]*nn.Tensor, attrs []any) ([]string, []any) {
	if v < from {
		return ins, append(attrs, name, vals)
	}
	cs["c_"+name] = i64T([]int{len(vals)}, vals...)
	return append(ins, "c_"+name), attrs
}

// avgPool is AveragePool with count_include_pad inc (the attribute left
// out where it is 0, as opset 6 has no such attribute).
func avgPool(x *nn.Tensor, inc int, attrs ...any) func(int) goldenCase {
	if inc != 0 {
		attrs = append(attrs, "count_include_pad", inc)
	}
	return unaryOp("AveragePool", x, attrs...)
}

func opSpecs() []opSpec {
	x234 := randT("x234", 2, 3, 4)
	x4d := randT("x4d", 2, 3, 4, 5)
	pos := posT("pos", 2, 3, 4)
	var specs []opSpec
	add := func(name string, min, max int, b func(v int) goldenCase) {
		specs = append(specs, opSpec{name, min, max, b})
	}
	// Element-wise unary.
	for _, u := range []struct {
		op    string
		min   int
		x     *nn.Tensor
		attrs []any
	}{
		{"Relu", 7, x234, nil}, {"Tanh", 7, x234, nil}, {"Sigmoid", 7, x234, nil}, {"Exp", 7, x234, nil},
		{"Neg", 7, x234, nil}, {"Abs", 7, x234, nil}, {"Floor", 7, x234, nil}, {"Ceil", 7, x234, nil},
		{"Log", 7, pos, nil}, {"Sqrt", 7, pos, nil}, {"Reciprocal", 7, pos, nil},
		{"Softplus", 7, x234, nil}, {"Softsign", 7, x234, nil},
		{"LeakyRelu", 7, x234, []any{"alpha", 0.1}}, {"Elu", 7, x234, []any{"alpha", 0.5}},
		{"Selu", 7, x234, nil}, {"HardSigmoid", 7, x234, []any{"alpha", 0.3, "beta", 0.4}},
		{"HardSwish", 14, x234, nil}, {"Erf", 9, x234, nil}, {"Sign", 9, x234, nil}, {"Celu", 12, x234, []any{"alpha", 0.7}},
		{"ThresholdedRelu", 10, x234, []any{"alpha", 0.5}}, {"Identity", 7, x234, nil},
	} {
		add(u.op, u.min, 0, unaryOp(u.op, u.x, u.attrs...))
	}
	add("SeluAttrs", 7, 0, unaryOp("Selu", x234, "alpha", 1.5, "gamma", 2.0))
	add("PRelu", 7, 0, func(int) goldenCase {
		return one("PRelu", x4d, consts("s", randT("slope", 3, 1, 1)), []string{"x0", "s"})
	})
	add("PReluScalar", 7, 0, func(int) goldenCase { return one("PRelu", x4d, consts("s", f32T([]int{1}, 0.2)), []string{"x0", "s"}) })
	add("Pow", 7, 0, func(v int) goldenCase {
		var attrs []any
		if v < 7 {
			attrs = []any{"broadcast", 1}
		}
		return one("Pow", pos, consts("e", f32T([]int{4}, 2, 0.5, -1, 1.5)), []string{"x0", "e"}, attrs...)
	})
	add("PowInt", 12, 0, func(int) goldenCase { return one("Pow", pos, consts("e", i64T([]int{}, 3)), []string{"x0", "e"}) })
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		add(op+"Bcast", 7, 0, func(v int) goldenCase {
			if v < 7 { // legacy broadcast: B's shape at A's axis 1
				return goldenCase{inputs: []*nn.Tensor{x234, posT("b31", 3)}, nodes: []*nn.Node{node(op, []string{"x0", "x1"}, []string{"y"}, "broadcast", 1, "axis", 1)}}
			}
			return goldenCase{inputs: []*nn.Tensor{x234, posT("b31", 3, 1)}, nodes: []*nn.Node{node(op, []string{"x0", "x1"}, []string{"y"})}}
		})
		add(op+"BcastTail", 7, 0, func(v int) goldenCase {
			var attrs []any
			if v < 7 { // legacy broadcast of a suffix
				attrs = []any{"broadcast", 1}
			}
			return goldenCase{inputs: []*nn.Tensor{x234, posT("b4", 4)}, nodes: []*nn.Node{node(op, []string{"x0", "x1"}, []string{"y"}, attrs...)}}
		})
	}
	// Comparisons, Where (bool values go through Cast).
	for _, op := range []string{"Less", "Greater", "Equal"} {
		min := 7
		if op == "Equal" {
			min = 11 // Equal on float
		}
		add(op, min, 0, func(v int) goldenCase {
			b := randT("cmp", 3, 1)
			b.F32[1] = x234.F32[4]
			var attrs []any
			if v < 7 {
				b.Shape, attrs = []int{3}, []any{"broadcast", 1, "axis", 1}
			}
			return goldenCase{inputs: []*nn.Tensor{x234, b}, nodes: []*nn.Node{
				node(op, []string{"x0", "x1"}, []string{"c"}, attrs...), node("Cast", []string{"c"}, []string{"y"}, "to", 1)}}
		})
	}
	add("EqualInt64", 7, 0, func(v int) goldenCase {
		var attrs []any
		if v < 7 {
			attrs = []any{"broadcast", 1}
		}
		return goldenCase{inputs: []*nn.Tensor{i64T([]int{2, 3}, 1, 2, 3, 4, 5, 6), i64T([]int{3}, 1, 5, 3)}, nodes: []*nn.Node{
			node("Equal", []string{"x0", "x1"}, []string{"c"}, attrs...), node("Cast", []string{"c"}, []string{"y"}, "to", 7)}}
	})
	add("Where", 9, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{x234, randT("w2", 3, 4)}, nodes: []*nn.Node{
			node("Greater", []string{"x0", "x1"}, []string{"c"}), node("Where", []string{"c", "x0", "x1"}, []string{"y"})}}
	})
	// Variadic, broadcasting from opset 8.
	for _, op := range []string{"Sum", "Mean", "Max", "Min"} {
		add(op, 7, 0, func(v int) goldenCase {
			ins := []*nn.Tensor{x234, randT(op+"b", 2, 3, 4), randT(op+"c", 2, 3, 4)}
			if v >= 8 {
				ins = []*nn.Tensor{x234, randT(op+"b", 3, 1), randT(op+"c", 4)}
			}
			return goldenCase{inputs: ins, nodes: []*nn.Node{node(op, []string{"x0", "x1", "x2"}, []string{"y"})}}
		})
		add(op+"One", 7, 0, unaryOp(op, x234))
	}
	add("Clip", 7, 0, func(v int) goldenCase {
		if v < 11 {
			return one("Clip", x234, nil, []string{"x0"}, "min", -0.5, "max", 0.7)
		}
		return one("Clip", x234, consts("lo", f32T([]int{}, -0.5), "hi", f32T([]int{}, 0.7)), []string{"x0", "lo", "hi"})
	})
	add("ClipMaxOnly", 7, 0, func(v int) goldenCase {
		if v < 11 {
			return one("Clip", x234, nil, []string{"x0"}, "max", 0.3)
		}
		return one("Clip", x234, consts("hi", f32T([]int{}, 0.3)), []string{"x0", "", "hi"})
	})
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		add(op+"Axis1", 7, 0, unaryOp(op, x4d, "axis", 1))
		add(op+"Default", 7, 0, unaryOp(op, x4d))
		add(op+"Last", 7, 0, unaryOp(op, x4d, "axis", 3))
		add(op+"2D", 7, 0, unaryOp(op, randT("sm2", 3, 7)))
	}
	add("Concat", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("c1", 2, 3, 2), randT("c2", 2, 1, 2)}, nodes: []*nn.Node{node("Concat", []string{"x0", "x1"}, []string{"y"}, "axis", 1)}}
	})
	add("ConcatNeg", 11, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("c1", 2, 3, 2), randT("c3", 2, 3, 1)}, nodes: []*nn.Node{node("Concat", []string{"x0", "x1"}, []string{"y"}, "axis", -1)}}
	})
	bnConsts := func() map[string]*nn.Tensor {
		return consts("s", randT("bns", 3), "b", randT("bnb", 3), "m", randT("bnm", 3), "var", posT("bnv", 3))
	}
	add("BatchNormalization", 7, 0, func(v int) goldenCase {
		attrs := []any{"epsilon", 1e-3}
		if v < 9 {
			attrs = append(attrs, "spatial", 1, "momentum", 0.9)
		}
		if v < 7 {
			attrs = append(attrs, "is_test", 1)
		}
		return one("BatchNormalization", x4d, bnConsts(), []string{"x0", "s", "b", "m", "var"}, attrs...)
	})
	add("Dropout", 7, 0, func(v int) goldenCase {
		c := goldenCase{inputs: []*nn.Tensor{x234}, consts: map[string]*nn.Tensor{}}
		if v < 7 {
			c.nodes = []*nn.Node{node("Dropout", []string{"x0"}, []string{"d", "mask"}, "ratio", 0.3, "is_test", 1)}
		} else if v < 12 {
			c.nodes = []*nn.Node{node("Dropout", []string{"x0"}, []string{"d", "mask"}, "ratio", 0.3)}
		} else {
			c.consts["r"] = f32T([]int{}, 0.3)
			c.nodes = []*nn.Node{node("Dropout", []string{"x0", "r"}, []string{"d", "mask"})}
		}
		c.nodes = append(c.nodes, node("Relu", []string{"d"}, []string{"y"}))
		return c
	})
	add("LRN", 7, 0, unaryOp("LRN", randT("lrn", 1, 5, 3, 3), "size", 3, "alpha", 0.2, "beta", 0.75, "bias", 1.0))
	add("LRNDefault", 7, 0, unaryOp("LRN", randT("lrn", 1, 5, 3, 3), "size", 5))
	add("LRNBeta", 7, 0, unaryOp("LRN", randT("lrn", 1, 5, 3, 3), "size", 3, "alpha", 0.5, "beta", 0.5, "bias", 2.0))
	add("InstanceNormalization", 7, 0, func(int) goldenCase {
		return one("InstanceNormalization", x234, consts("s", randT("ins", 3), "b", randT("inb", 3)), []string{"x0", "s", "b"}, "epsilon", 1e-4)
	})
	// Windowed ops.
	xc := randT("conv", 1, 2, 5, 6)
	add("Conv", 7, 0, func(int) goldenCase {
		return one("Conv", xc, consts("w", randT("cw", 4, 2, 3, 3), "b", randT("cb", 4)), []string{"x0", "w", "b"},
			"pads", ints(1, 0, 2, 1), "strides", ints(2, 1), "dilations", ints(1, 2))
	})
	for _, ap := range []string{"SAME_UPPER", "SAME_LOWER", "VALID"} {
		add("Conv"+ap, 7, 0, func(int) goldenCase {
			return one("Conv", xc, consts("w", randT("cw", 4, 2, 2, 3)), []string{"x0", "w"}, "auto_pad", ap, "strides", ints(2, 2))
		})
		add("MaxPool"+ap, 7, 0, unaryOp("MaxPool", xc, "auto_pad", ap, "kernel_shape", ints(3, 2), "strides", ints(2, 2)))
		add("AveragePool"+ap, 7, 0, unaryOp("AveragePool", xc, "auto_pad", ap, "kernel_shape", ints(3, 2), "strides", ints(2, 2)))
	}
	add("ConvGroup", 7, 0, func(int) goldenCase {
		return one("Conv", randT("cg", 1, 4, 5, 5), consts("w", randT("cgw", 6, 2, 3, 3)), []string{"x0", "w"}, "group", 2, "pads", ints(1, 1, 1, 1))
	})
	add("ConvDepthwise", 7, 0, func(int) goldenCase {
		return one("Conv", randT("cg", 1, 4, 5, 5), consts("w", randT("cdw", 4, 1, 3, 3)), []string{"x0", "w"}, "group", 4, "pads", ints(1, 1, 1, 1), "strides", ints(2, 2))
	})
	add("Conv1D", 7, 0, func(int) goldenCase {
		return one("Conv", randT("c1d", 2, 2, 7), consts("w", randT("c1w", 3, 2, 3), "b", randT("c1b", 3)), []string{"x0", "w", "b"}, "pads", ints(2, 1), "dilations", ints(2))
	})
	x3d := randT("c3d", 1, 2, 4, 5, 5)
	add("Conv3D", 7, 0, func(int) goldenCase {
		return one("Conv", x3d, consts("w", randT("c3w", 3, 2, 2, 3, 3), "b", randT("c3b", 3)), []string{"x0", "w", "b"},
			"pads", ints(0, 1, 1, 1, 0, 1), "strides", ints(1, 2, 1))
	})
	add("Conv3DSame", 7, 0, func(int) goldenCase {
		return one("Conv", x3d, consts("w", randT("c3w", 4, 1, 3, 3, 3)), []string{"x0", "w"}, "auto_pad", "SAME_UPPER", "group", 2, "strides", ints(2, 2, 2))
	})
	add("ConvTranspose", 7, 0, func(int) goldenCase {
		return one("ConvTranspose", randT("ct", 1, 2, 3, 3), consts("w", randT("ctw", 2, 3, 3, 3), "b", randT("ctb", 3)), []string{"x0", "w", "b"},
			"strides", ints(2, 2), "pads", ints(1, 1, 0, 0), "output_padding", ints(1, 0))
	})
	add("ConvTransposeGroup", 7, 0, func(int) goldenCase {
		return one("ConvTranspose", randT("ct", 1, 4, 3, 3), consts("w", randT("ctgw", 4, 2, 2, 2)), []string{"x0", "w"}, "group", 2, "strides", ints(2, 2), "dilations", ints(2, 1))
	})
	for _, ap := range []string{"SAME_UPPER", "SAME_LOWER"} {
		add("ConvTranspose"+ap, 7, 0, func(int) goldenCase {
			return one("ConvTranspose", randT("ct", 1, 2, 3, 3), consts("w", randT("ctw", 2, 3, 3, 3)), []string{"x0", "w"}, "strides", ints(2, 2), "auto_pad", ap)
		})
	}
	add("ConvTransposeOutShape", 7, 0, func(int) goldenCase {
		return one("ConvTranspose", randT("ct", 1, 2, 3, 3), consts("w", randT("ctw", 2, 3, 3, 3)), []string{"x0", "w"}, "strides", ints(2, 2), "output_shape", ints(6, 7))
	})
	add("ConvTranspose1D", 7, 0, func(int) goldenCase {
		return one("ConvTranspose", randT("ct1", 1, 2, 5), consts("w", randT("ct1w", 2, 2, 3)), []string{"x0", "w"}, "strides", ints(3), "pads", ints(1, 2))
	})
	add("ConvTranspose3D", 7, 0, func(int) goldenCase {
		return one("ConvTranspose", randT("ct3", 1, 2, 2, 3, 3), consts("w", randT("ct3w", 2, 2, 2, 2, 2)), []string{"x0", "w"}, "strides", ints(2, 1, 2))
	})
	xp := randT("pool", 1, 2, 7, 7)
	add("MaxPool", 7, 0, unaryOp("MaxPool", xp, "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1)))
	add("MaxPoolAsym", 7, 0, unaryOp("MaxPool", xp, "kernel_shape", ints(3, 2), "strides", ints(2, 3), "pads", ints(0, 1, 2, 0)))
	add("MaxPoolCeil", 10, 0, unaryOp("MaxPool", xp, "kernel_shape", ints(2, 2), "strides", ints(2, 2), "ceil_mode", 1))
	add("MaxPoolCeilPad", 10, 0, unaryOp("MaxPool", randT("pool6", 1, 2, 6, 6), "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1), "ceil_mode", 1))
	add("MaxPoolDilated", 10, 0, unaryOp("MaxPool", xp, "kernel_shape", ints(2, 2), "dilations", ints(2, 3)))
	add("MaxPool1D", 7, 0, unaryOp("MaxPool", randT("p1", 1, 3, 9), "kernel_shape", ints(3), "strides", ints(2), "pads", ints(1, 0)))
	add("MaxPool3D", 7, 0, unaryOp("MaxPool", x3d, "kernel_shape", ints(2, 3, 2), "strides", ints(2, 1, 2), "pads", ints(0, 1, 0, 1, 1, 1)))
	add("MaxPoolIndicesUnread", 8, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xp}, nodes: []*nn.Node{node("MaxPool", []string{"x0"}, []string{"y", "idx"}, "kernel_shape", ints(2, 2), "strides", ints(2, 2))}, outputs: []string{"y"}}
	})
	for _, inc := range []int{0, 1} {
		sfx := fmt.Sprintf("Pad%d", inc)
		add("AveragePool"+sfx, 7, 0, avgPool(xp, inc, "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1)))
		add("AveragePoolCeil"+sfx, 10, 0, unaryOp("AveragePool", randT("pool6", 1, 2, 6, 6), "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 0, 1, 0), "ceil_mode", 1, "count_include_pad", inc))
		add("AveragePool3D"+sfx, 7, 0, avgPool(x3d, inc, "kernel_shape", ints(2, 3, 3), "strides", ints(2, 2, 2), "pads", ints(1, 1, 1, 0, 1, 1)))
	}
	add("AveragePool1D", 7, 0, unaryOp("AveragePool", randT("p1", 1, 3, 9), "kernel_shape", ints(4), "strides", ints(3), "pads", ints(2, 1)))
	add("GlobalAveragePool", 7, 0, unaryOp("GlobalAveragePool", x4d))
	add("GlobalMaxPool", 7, 0, unaryOp("GlobalMaxPool", x4d))
	add("GlobalAveragePool3D", 7, 0, unaryOp("GlobalAveragePool", x3d))
	// Linear algebra and shapes.
	add("Gemm", 7, 0, func(v int) goldenCase {
		attrs := []any{"transB", 1, "alpha", 0.5, "beta", 2.0}
		if v < 7 {
			attrs = append(attrs, "broadcast", 1)
		}
		return one("Gemm", randT("ga", 2, 4), consts("w", randT("gw", 3, 4), "c", randT("gc", 3)), []string{"x0", "w", "c"}, attrs...)
	})
	add("GemmTransA", 7, 0, func(int) goldenCase {
		return one("Gemm", randT("gta", 4, 2), consts("w", randT("gw2", 4, 3), "c", randT("gc2", 2, 1)), []string{"x0", "w", "c"}, "transA", 1)
	})
	add("MatMul", 7, 0, func(int) goldenCase {
		return one("MatMul", x234, consts("w", randT("mm", 4, 5)), []string{"x0", "w"})
	})
	add("Reshape", 7, 0, func(int) goldenCase {
		return one("Reshape", x234, consts("s", i64T([]int{3}, 0, -1, 2)), []string{"x0", "s"})
	})
	add("Flatten", 7, 0, unaryOp("Flatten", x4d, "axis", 2))
	add("Flatten0", 7, 0, unaryOp("Flatten", x4d, "axis", 0))
	add("Transpose", 7, 0, unaryOp("Transpose", x4d, "perm", ints(0, 2, 3, 1)))
	add("TransposeDefault", 7, 0, unaryOp("Transpose", x234))
	add("Squeeze", 7, 0, func(v int) goldenCase {
		cs := map[string]*nn.Tensor{}
		ins, attrs := axesForm(v, 13, []string{"x0"}, "axes", ints(0, 2), cs, nil)
		return one("Squeeze", randT("sq", 1, 3, 1, 2), cs, ins, attrs...)
	})
	add("SqueezeAll", 7, 0, unaryOp("Squeeze", randT("sq", 1, 3, 1, 2)))
	add("Unsqueeze", 7, 0, func(v int) goldenCase {
		cs := map[string]*nn.Tensor{}
		ins, attrs := axesForm(v, 13, []string{"x0"}, "axes", ints(0, 3), cs, nil)
		return one("Unsqueeze", x234, cs, ins, attrs...)
	})
	add("UnsqueezeNeg", 11, 0, func(v int) goldenCase {
		cs := map[string]*nn.Tensor{}
		ins, attrs := axesForm(v, 13, []string{"x0"}, "axes", ints(-1), cs, nil)
		return one("Unsqueeze", x234, cs, ins, attrs...)
	})
	add("Split", 7, 0, func(v int) goldenCase {
		cs := map[string]*nn.Tensor{}
		ins, attrs := axesForm(v, 13, []string{"x0"}, "split", ints(2, 4), cs, []any{"axis", 1})
		return goldenCase{inputs: []*nn.Tensor{randT("sp", 2, 6)}, consts: cs,
			nodes: []*nn.Node{node("Split", ins, []string{"a", "b"}, attrs...)}, outputs: []string{"a", "b"}}
	})
	add("SplitEqual", 7, 17, func(v int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("sp", 2, 6)},
			nodes: []*nn.Node{node("Split", []string{"x0"}, []string{"a", "b", "c"}, "axis", -1)}, outputs: []string{"a", "b", "c"}}
	})
	add("SplitNumOutputs", 18, 0, func(v int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("sp7", 2, 7)},
			nodes: []*nn.Node{node("Split", []string{"x0"}, []string{"a", "b", "c"}, "axis", 1, "num_outputs", 3)}, outputs: []string{"a", "b", "c"}}
	})
	xs := randT("slice", 3, 4, 5)
	add("Slice", 7, 0, func(v int) goldenCase {
		if v < 10 {
			return one("Slice", xs, nil, []string{"x0"}, "starts", ints(1, -4), "ends", ints(3, 1000), "axes", ints(0, 2))
		}
		return one("Slice", xs, consts("s", i64T([]int{2}, 1, -4), "e", i64T([]int{2}, 3, 1000), "a", i64T([]int{2}, 0, 2)), []string{"x0", "s", "e", "a"})
	})
	add("SliceSteps", 10, 0, func(int) goldenCase {
		return one("Slice", xs, consts("s", i64T([]int{3}, -1, 0, 4), "e", i64T([]int{3}, -1000, 4, math.MinInt64), "a", i64T([]int{3}, 0, 1, -1), "st", i64T([]int{3}, -2, 3, -2)),
			[]string{"x0", "s", "e", "a", "st"})
	})
	add("Gather", 7, 0, func(int) goldenCase {
		return one("Gather", randT("ga", 3, 4), consts("i", i64T([]int{2, 2}, 0, 2, 1, 1)), []string{"x0", "i"})
	})
	add("GatherNeg", 11, 0, func(int) goldenCase {
		return one("Gather", randT("ga", 3, 4), consts("i", i64T([]int{3}, -1, 0, 2)), []string{"x0", "i"}, "axis", 1)
	})
	add("GatherRuntimeIdx", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("ga", 3, 4), i64T([]int{2}, 2, 0)}, nodes: []*nn.Node{node("Gather", []string{"x0", "x1"}, []string{"y"})}}
	})
	xcast := f32T([]int{6}, 1.7, -1.7, 0.2, -0.0, 3, 2.5)
	add("CastInt64", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xcast}, nodes: []*nn.Node{node("Cast", []string{"x0"}, []string{"i"}, "to", 7), node("Cast", []string{"i"}, []string{"y"}, "to", 1)}}
	})
	add("CastInt32Bool", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{xcast}, nodes: []*nn.Node{
			node("Cast", []string{"x0"}, []string{"i"}, "to", 6), node("Cast", []string{"i"}, []string{"b"}, "to", 9),
			node("Cast", []string{"b"}, []string{"y"}, "to", 1), node("Cast", []string{"i"}, []string{"z"}, "to", 7)}, outputs: []string{"y", "z"}}
	})
	add("CastFromInt64", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{i64T([]int{3}, -5, 0, 1<<40)}, nodes: []*nn.Node{node("Cast", []string{"x0"}, []string{"y"}, "to", 1)}}
	})
	add("Expand", 8, 0, func(int) goldenCase {
		return one("Expand", randT("ex", 3, 1), consts("s", i64T([]int{3}, 2, 1, 4)), []string{"x0", "s"})
	})
	add("ConstantOfShape", 9, 0, func(int) goldenCase {
		cv := nn.Attr{Kind: nn.AttrTensor, Tensor: f32T([]int{1}, 2.5)}
		n := node("ConstantOfShape", []string{"sh"}, []string{"c"})
		n.Attrs["value"] = cv
		return goldenCase{inputs: []*nn.Tensor{x234}, nodes: []*nn.Node{
			node("Shape", []string{"x0"}, []string{"sh"}), n, node("Add", []string{"x0", "c"}, []string{"y"})}}
	})
	add("ConstantOfShapeInt", 9, 0, func(int) goldenCase {
		cv := nn.Attr{Kind: nn.AttrTensor, Tensor: i64T([]int{1}, 7)}
		n := node("ConstantOfShape", []string{"sh"}, []string{"c"})
		n.Attrs["value"] = cv
		return goldenCase{inputs: []*nn.Tensor{i64T([]int{2, 3}, 1, 2, 3, 4, 5, 6)}, consts: consts("sh", i64T([]int{2}, 2, 3)), nodes: []*nn.Node{
			n, node("Mul", []string{"x0", "c"}, []string{"y"})}}
	})
	add("Range", 11, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("rg", 4)}, consts: consts("a", f32T(nil, 0.5), "b", f32T(nil, 10), "d", f32T(nil, 3)),
			nodes: []*nn.Node{node("Range", []string{"a", "b", "d"}, []string{"r"}), node("Add", []string{"x0", "r"}, []string{"y"})}}
	})
	add("RangeInt", 11, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{i64T([]int{3}, 1, 2, 3)}, consts: consts("a", i64T(nil, 5), "b", i64T(nil, -1), "d", i64T(nil, -2)),
			nodes: []*nn.Node{node("Range", []string{"a", "b", "d"}, []string{"r"}), node("Add", []string{"x0", "r"}, []string{"y"})}}
	})
	add("Tile", 7, 0, func(int) goldenCase {
		return one("Tile", randT("tl", 2, 3), consts("r", i64T([]int{2}, 2, 3)), []string{"x0", "r"})
	})
	xpad := randT("pad", 1, 2, 3, 4)
	for _, mode := range []string{"constant", "reflect", "edge"} {
		add("Pad"+mode, 7, 0, func(v int) goldenCase {
			pads := ints(0, 0, 1, 2, 0, 0, 2, 1)
			if v < 11 {
				return one("Pad", xpad, nil, []string{"x0"}, "mode", mode, "pads", pads, "value", 1.5)
			}
			cs := consts("p", i64T([]int{8}, pads...))
			ins := []string{"x0", "p"}
			if mode == "constant" {
				cs["v"] = f32T(nil, 1.5)
				ins = append(ins, "v")
			}
			return one("Pad", xpad, cs, ins, "mode", mode)
		})
	}
	add("PadAxes", 18, 0, func(int) goldenCase {
		return one("Pad", xpad, consts("p", i64T([]int{4}, 1, 0, 0, 2), "a", i64T([]int{2}, -1, 1)), []string{"x0", "p", "", "a"}, "mode", "edge")
	})
	add("PadWrap", 19, 0, func(int) goldenCase {
		return one("Pad", xpad, consts("p", i64T([]int{8}, 0, 0, 1, 2, 0, 0, 2, 1)), []string{"x0", "p"}, "mode", "wrap")
	})
	// Upsample (7 to 9) and Resize.
	xr := randT("rs", 1, 2, 3, 4)
	for _, mode := range []string{"nearest", "linear"} {
		add("Upsample"+mode, 7, 9, func(v int) goldenCase {
			sc := []float32{1, 1, 2, 1.5}
			if v < 9 {
				return one("Upsample", xr, nil, []string{"x0"}, "mode", mode, "scales", sc)
			}
			return one("Upsample", xr, consts("s", f32T([]int{4}, sc...)), []string{"x0", "s"}, "mode", mode)
		})
		add("Resize10"+mode, 10, 10, func(v int) goldenCase {
			return one("Resize", xr, consts("s", f32T([]int{4}, 1, 1, 2, 1.5)), []string{"x0", "s"}, "mode", mode)
		})
		add("Resize10Down"+mode, 10, 10, func(v int) goldenCase {
			return one("Resize", randT("rsd", 1, 1, 5, 7), consts("s", f32T([]int{4}, 1, 1, 0.5, 0.6)), []string{"x0", "s"}, "mode", mode)
		})
	}
	resize := func(x *nn.Tensor, scales []float32, sizes []int64, attrs ...any) func(v int) goldenCase {
		return func(v int) goldenCase {
			cs := map[string]*nn.Tensor{}
			roi, sc, sz := "", "", ""
			if v < 13 {
				cs["roi"] = f32T([]int{0})
				roi = "roi"
			}
			if scales != nil {
				cs["sc"] = f32T([]int{len(scales)}, scales...)
				sc = "sc"
			} else {
				if v < 13 {
					cs["sc"] = f32T([]int{0})
					sc = "sc"
				}
				cs["sz"] = i64T([]int{len(sizes)}, sizes...)
				sz = "sz"
			}
			ins := []string{"x0", roi, sc}
			if sz != "" {
				ins = append(ins, sz)
			}
			return one("Resize", x, cs, ins, attrs...)
		}
	}
	up := []float32{1, 1, 2, 1.5}
	for _, c := range []struct {
		name  string
		mode  string
		attrs []any
	}{
		{"NearestDefault", "nearest", nil},
		{"NearestCeilAsym", "nearest", []any{"nearest_mode", "round_prefer_ceil", "coordinate_transformation_mode", "asymmetric"}},
		{"NearestFloorAlign", "nearest", []any{"nearest_mode", "floor", "coordinate_transformation_mode", "align_corners"}},
		{"NearestCeilPytorch", "nearest", []any{"nearest_mode", "ceil", "coordinate_transformation_mode", "pytorch_half_pixel"}},
		{"NearestTFHalf", "nearest", []any{"nearest_mode", "floor", "coordinate_transformation_mode", "tf_half_pixel_for_nn"}},
		{"LinearHalf", "linear", nil},
		{"LinearAlign", "linear", []any{"coordinate_transformation_mode", "align_corners"}},
		{"LinearAsym", "linear", []any{"coordinate_transformation_mode", "asymmetric"}},
		{"LinearPytorch", "linear", []any{"coordinate_transformation_mode", "pytorch_half_pixel"}},
		{"Cubic", "cubic", nil},
		{"CubicExclude", "cubic", []any{"exclude_outside", 1, "cubic_coeff_a", -0.5}},
	} {
		attrs := append([]any{"mode", c.mode}, c.attrs...)
		min, max := 11, 0
		if c.name == "NearestTFHalf" {
			max = 12 // removed at 13
		}
		add("Resize"+c.name, min, max, resize(xr, up, nil, attrs...))
		add("ResizeDown"+c.name, min, max, resize(randT("rsd", 1, 1, 5, 7), []float32{1, 1, 0.5, 0.6}, nil, attrs...))
		add("ResizeSizes"+c.name, min, max, resize(xr, nil, []int64{1, 2, 7, 5}, attrs...))
	}
	// Reductions.
	for _, op := range []string{"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"} {
		inputFrom := 18
		if op == "ReduceSum" {
			inputFrom = 13
		}
		add(op, 7, 0, func(v int) goldenCase {
			cs := map[string]*nn.Tensor{}
			ins, attrs := axesForm(v, inputFrom, []string{"x0"}, "axes", ints(1), cs, nil)
			return one(op, x234, cs, ins, attrs...)
		})
		add(op+"NoKeep", 11, 0, func(v int) goldenCase {
			cs := map[string]*nn.Tensor{}
			ins, attrs := axesForm(v, inputFrom, []string{"x0"}, "axes", ints(-1, 0), cs, []any{"keepdims", 0})
			return one(op, x234, cs, ins, attrs...)
		})
		add(op+"All", 7, 0, unaryOp(op, x234, "keepdims", 0))
	}
	ties := f32T([]int{2, 3, 2}, 1, 5, 5, 2, 5, 1, 0, 0, 3, 3, 3, 0)
	for _, op := range []string{"ArgMax", "ArgMin"} {
		add(op, 7, 0, unaryOp(op, ties, "axis", 1))
		add(op+"NoKeep", 11, 0, unaryOp(op, ties, "axis", -1, "keepdims", 0))
		add(op+"Last", 12, 0, unaryOp(op, ties, "axis", 1, "select_last_index", 1))
	}
	// Patterns of PyTorch's converted operator tests.
	add("ConvDepthwiseMultiplier", 7, 0, func(int) goldenCase {
		return one("Conv", randT("cg", 1, 4, 5, 5), consts("w", randT("cdm", 8, 1, 3, 3), "b", randT("cdmb", 8)), []string{"x0", "w", "b"}, "group", 4, "strides", ints(2, 1))
	})
	add("Conv1DGroups", 7, 0, func(int) goldenCase {
		return one("Conv", randT("c1g", 2, 4, 9), consts("w", randT("c1gw", 6, 2, 3)), []string{"x0", "w"}, "group", 2, "strides", ints(2), "pads", ints(1, 1))
	})
	add("Conv3DDilated", 7, 0, func(int) goldenCase {
		return one("Conv", randT("c3dd", 1, 2, 5, 6, 6), consts("w", randT("c3dw", 2, 2, 2, 2, 2)), []string{"x0", "w"}, "dilations", ints(2, 1, 2), "strides", ints(1, 2, 1))
	})
	add("PixelShuffle", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("ps", 1, 8, 2, 3)}, consts: consts("s1", i64T([]int{6}, 1, 2, 2, 2, 2, 3), "s2", i64T([]int{4}, 1, 2, 4, 6)),
			nodes: []*nn.Node{node("Reshape", []string{"x0", "s1"}, []string{"a"}), node("Transpose", []string{"a"}, []string{"b"}, "perm", ints(0, 1, 4, 2, 5, 3)),
				node("Reshape", []string{"b", "s2"}, []string{"y"})}}
	})
	add("GLU", 7, 17, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{randT("glu", 2, 6, 3)}, nodes: []*nn.Node{
			node("Split", []string{"x0"}, []string{"a", "b"}, "axis", 1), node("Sigmoid", []string{"b"}, []string{"sb"}), node("Mul", []string{"a", "sb"}, []string{"y"})}}
	})
	add("Softmin", 7, 0, func(int) goldenCase {
		return goldenCase{inputs: []*nn.Tensor{x4d}, nodes: []*nn.Node{node("Neg", []string{"x0"}, []string{"n"}), node("Softmax", []string{"n"}, []string{"y"}, "axis", 1)}}
	})
	// F.interpolate(scale_factor=2) as PyTorch exports it from opset 11:
	// sizes from the input's shape (Shape, Slice, Concat), empty scales.
	add("ResizeTorchSizes", 11, 0, func(v int) goldenCase {
		cs := consts("st", i64T([]int{1}, 0), "en", i64T([]int{1}, 2), "hw", i64T([]int{2}, 6, 8))
		ins := []string{"x0", "", "", "sz"}
		if v < 13 {
			cs["roi"], cs["sc"] = f32T([]int{0}), f32T([]int{0})
			ins = []string{"x0", "roi", "sc", "sz"}
		}
		return goldenCase{inputs: []*nn.Tensor{xr}, consts: cs, nodes: []*nn.Node{
			node("Shape", []string{"x0"}, []string{"sh"}), node("Slice", []string{"sh", "st", "en"}, []string{"nc"}),
			node("Concat", []string{"nc", "hw"}, []string{"sz"}, "axis", 0),
			node("Resize", ins, []string{"y"}, "mode", "nearest", "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor")}}
	})
	add("Gelu", 20, 0, unaryOp("Gelu", x234))
	add("GeluTanh", 20, 0, unaryOp("Gelu", x234, "approximate", "tanh"))
	add("LayerNormalization", 17, 0, func(int) goldenCase {
		return one("LayerNormalization", x234, consts("s", randT("lns", 4), "b", randT("lnb", 4)), []string{"x0", "s", "b"}, "epsilon", 1e-3)
	})
	add("LayerNormalizationAxis1", 17, 0, func(int) goldenCase {
		return one("LayerNormalization", x234, consts("s", randT("lns2", 3, 4)), []string{"x0", "s"}, "axis", 1)
	})
	xd := randT("d2s", 1, 8, 2, 3)
	add("DepthToSpace", 7, 0, unaryOp("DepthToSpace", xd, "blocksize", 2))
	add("DepthToSpaceCRD", 11, 0, unaryOp("DepthToSpace", xd, "blocksize", 2, "mode", "CRD"))
	add("SpaceToDepth", 7, 0, unaryOp("SpaceToDepth", randT("s2d", 1, 2, 4, 6), "blocksize", 2))
	add("Shape", 7, 0, unaryOp("Shape", x4d))
	add("ShapeStart", 15, 0, unaryOp("Shape", x4d, "start", 1, "end", -1))
	return append(specs, extraSpecs()...)
}

// opCases expands every spec over the ladder and adds the model patterns.
func opCases() []goldenCase {
	var cases []goldenCase
	for _, s := range opSpecs() {
		vs := ladder
		if _, no := notAt6[s.name]; s.min == 7 && !no {
			vs = append([]int{6}, ladder...)
		}
		if s.min == 8 || s.min == 10 || s.min == 14 || s.min == 15 || s.min == 17 || s.min == 19 || s.min == 20 {
			vs = append([]int{s.min}, ladder...)
		}
		for _, v := range vs {
			if (v < s.min && v != 6) || (s.max > 0 && v > s.max) {
				continue
			}
			c := s.build(v)
			c.name, c.opset = fmt.Sprintf("%s_v%d", s.name, v), v
			if v == 6 {
				f := s.build(7)
				f.opset = 7
				c.ortForm = &f
			}
			cases = append(cases, c)
		}
	}
	return append(cases, familyCases()...)
}
