package onnx_test

import (
	"fmt"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
)

// Miniatures of the published CNN families, with the op patterns their
// ONNX files use at the opsets they were exported at (model zoo files
// from caffe2/CNTK/PyTorch converters at opsets 7 to 12).

// netBuilder appends nodes and random constants to a case.
type netBuilder struct {
	c     goldenCase
	seed  int
	opset int
}

// newNet starts a net at opset v on input x.
func newNet(v int, x *nn.Tensor) *netBuilder {
	return &netBuilder{c: goldenCase{inputs: []*nn.Tensor{x}, consts: map[string]*nn.Tensor{}}, opset: v}
}

func (b *netBuilder) name(p string) string {
	b.seed++
	return fmt.Sprintf("%s%d", p, b.seed)
}

func (b *netBuilder) op(op string, ins []string, attrs ...any) string {
	out := b.name("t")
	b.c.nodes = append(b.c.nodes, node(op, ins, []string{out}, attrs...))
	return out
}

func (b *netBuilder) konst(t *nn.Tensor) string {
	n := b.name("k")
	b.c.consts[n] = t
	return n
}

// conv adds Conv with bias (m outputs, c/group inputs, kernel k).
func (b *netBuilder) conv(x string, m, c, k int, attrs ...any) string {
	g := 1
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i] == "group" {
			g = attrs[i+1].(int)
		}
	}
	w := randT(b.name("w"), m, c/g, k, k)
	for i := range w.F32 {
		w.F32[i] *= 0.4
	}
	return b.op("Conv", []string{x, b.konst(w), b.konst(randT(b.name("b"), m))}, attrs...)
}

func (b *netBuilder) bn(x string, c int, v int) string {
	var attrs []any
	if v < 9 {
		attrs = []any{"spatial", 1}
	}
	if v < 7 {
		attrs = append(attrs, "is_test", 1)
	}
	return b.op("BatchNormalization", []string{x, b.konst(posT(b.name("s"), c)), b.konst(randT(b.name("bb"), c)),
		b.konst(randT(b.name("m"), c)), b.konst(posT(b.name("v"), c))}, append(attrs, "epsilon", 1e-5)...)
}

func (b *netBuilder) gemm(x string, n, k int) string {
	w := randT(b.name("fw"), n, k)
	for i := range w.F32 {
		w.F32[i] *= 0.2
	}
	attrs := []any{"transB", 1}
	if b.opset < 7 {
		attrs = append(attrs, "broadcast", 1)
	}
	return b.op("Gemm", []string{x, b.konst(w), b.konst(randT(b.name("fb"), n))}, attrs...)
}

func (b *netBuilder) done(name string, v int, y string) goldenCase {
	c := b.c
	c.name, c.opset = name, v
	c.nodes = append(c.nodes, node("Identity", []string{y}, []string{"y"}))
	return c
}

func (b *netBuilder) dropout(x string, v int) string {
	if v < 7 {
		return b.op("Dropout", []string{x}, "ratio", 0.5, "is_test", 1)
	}
	if v < 12 {
		return b.op("Dropout", []string{x}, "ratio", 0.5)
	}
	return b.op("Dropout", []string{x})
}

func (b *netBuilder) reshapeFlat(x string) string {
	return b.op("Reshape", []string{x, b.konst(i64T([]int{2}, 1, -1))})
}

// torchFlatten is PyTorch's x.view(x.size(0), -1): Shape, Gather,
// Unsqueeze, Concat, Reshape.
func (b *netBuilder) torchFlatten(x string, v int) string {
	sh := b.op("Shape", []string{x})
	n := b.op("Gather", []string{sh, b.konst(i64T(nil, 0))}, "axis", 0)
	var u string
	if v < 13 {
		u = b.op("Unsqueeze", []string{n}, "axes", ints(0))
	} else {
		u = b.op("Unsqueeze", []string{n, b.konst(i64T([]int{1}, 0))})
	}
	cat := b.op("Concat", []string{u, b.konst(i64T([]int{1}, -1))}, "axis", 0)
	return b.op("Reshape", []string{x, cat})
}

func familyCases() []goldenCase {
	var cs []goldenCase
	// AlexNet / CaffeNet (zoo: opsets 3 to 9) and ZFNet: Conv+bias, Relu,
	// LRN, MaxPool, Reshape, Gemm, Dropout, Softmax.
	for _, v := range []int{6, 7, 8, 9, 12} {
		b := newNet(v, randT("alex", 1, 3, 27, 27))
		t := b.op("Relu", []string{b.conv("x0", 8, 3, 5, "strides", ints(2, 2), "pads", ints(2, 2, 2, 2))})
		t = b.op("LRN", []string{t}, "size", 5, "alpha", 1e-4, "beta", 0.75, "bias", 1.0)
		t = b.op("MaxPool", []string{t}, "kernel_shape", ints(3, 3), "strides", ints(2, 2))
		t = b.op("Relu", []string{b.conv(t, 8, 8, 3, "pads", ints(1, 1, 1, 1), "group", 2)})
		t = b.op("LRN", []string{t}, "size", 5, "alpha", 1e-4, "beta", 0.75, "bias", 1.0)
		t = b.op("MaxPool", []string{t}, "kernel_shape", ints(3, 3), "strides", ints(2, 2))
		t = b.reshapeFlat(t)
		t = b.dropout(b.op("Relu", []string{b.gemm(t, 16, 32)}), v)
		t = b.op("Softmax", []string{b.gemm(t, 10, 16)})
		cs = append(cs, b.done(fmt.Sprintf("family_AlexNet_v%d", v), v, t))

		b = newNet(v, randT("zf", 1, 3, 29, 29))
		t = b.op("Relu", []string{b.conv("x0", 6, 3, 7, "strides", ints(2, 2), "pads", ints(1, 1, 1, 1))})
		t = b.op("MaxPool", []string{t}, "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(0, 0, 1, 1))
		t = b.op("LRN", []string{t}, "size", 3, "alpha", 5e-5, "beta", 0.75, "bias", 1.0)
		t = b.op("Relu", []string{b.conv(t, 6, 6, 3, "strides", ints(2, 2))})
		t = b.op("Flatten", []string{t})
		t = b.op("Softmax", []string{b.gemm(b.dropout(t, v), 5, 24)})
		cs = append(cs, b.done(fmt.Sprintf("family_ZFNet_v%d", v), v, t))
	}
	// VGG (zoo 7 to 9; vgg-bn with BatchNormalization) with PyTorch's flatten.
	for _, v := range []int{6, 7, 9, 12, 13} {
		b := newNet(v, randT("vgg", 1, 3, 8, 8))
		t := b.op("Relu", []string{b.bn(b.conv("x0", 4, 3, 3, "pads", ints(1, 1, 1, 1)), 4, v)})
		t = b.op("Relu", []string{b.conv(t, 4, 4, 3, "pads", ints(1, 1, 1, 1))})
		t = b.op("MaxPool", []string{t}, "kernel_shape", ints(2, 2), "strides", ints(2, 2))
		t = b.torchFlatten(t, v)
		t = b.gemm(b.dropout(b.op("Relu", []string{b.gemm(t, 8, 64)}), v), 3, 8)
		cs = append(cs, b.done(fmt.Sprintf("family_VGG_v%d", v), v, t))
	}
	// GoogLeNet / Inception v1-v2: LRN, an inception block (1x1, 3x3, 5x5,
	// pool branches) joined by Concat, AveragePool, Dropout, Softmax.
	for _, v := range []int{6, 7, 8, 9, 11} {
		b := newNet(v, randT("goog", 1, 3, 16, 16))
		t := b.op("Relu", []string{b.conv("x0", 8, 3, 7, "strides", ints(2, 2), "pads", ints(3, 3, 3, 3))})
		t = b.op("MaxPool", []string{t}, "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(0, 0, 1, 1))
		t = b.op("LRN", []string{t}, "size", 5, "alpha", 1e-4, "beta", 0.75, "bias", 1.0)
		b1 := b.op("Relu", []string{b.conv(t, 4, 8, 1)})
		b2 := b.op("Relu", []string{b.conv(b.op("Relu", []string{b.conv(t, 4, 8, 1)}), 6, 4, 3, "pads", ints(1, 1, 1, 1))})
		b3 := b.op("Relu", []string{b.conv(b.op("Relu", []string{b.conv(t, 2, 8, 1)}), 3, 2, 5, "pads", ints(2, 2, 2, 2))})
		b4 := b.op("Relu", []string{b.conv(b.op("MaxPool", []string{t}, "kernel_shape", ints(3, 3), "strides", ints(1, 1), "pads", ints(1, 1, 1, 1)), 3, 8, 1)})
		t = b.op("Concat", []string{b1, b2, b3, b4}, "axis", 1)
		t = b.op("AveragePool", []string{t}, "kernel_shape", ints(4, 4), "strides", ints(1, 1))
		t = b.reshapeFlat(b.dropout(t, v))
		t = b.op("Softmax", []string{b.gemm(t, 5, 16)})
		cs = append(cs, b.done(fmt.Sprintf("family_GoogLeNet_v%d", v), v, t))
	}
	// Inception v3 (PyTorch, opset 9+): AveragePool 3x3 s1 p1 with
	// count_include_pad, asymmetric 1x7/7x1 convs.
	for _, v := range []int{9, 11} {
		b := newNet(v, randT("incv3", 1, 4, 9, 9))
		t := b.op("Relu", []string{b.bn(b.conv("x0", 4, 4, 3), 4, v)})
		a := b.op("AveragePool", []string{t}, "kernel_shape", ints(3, 3), "strides", ints(1, 1), "pads", ints(1, 1, 1, 1), "count_include_pad", 1)
		w17 := randT(b.name("w"), 4, 4, 1, 7)
		c := b.op("Conv", []string{t, b.konst(w17)}, "pads", ints(0, 3, 0, 3))
		w71 := randT(b.name("w"), 4, 4, 7, 1)
		c = b.op("Conv", []string{c, b.konst(w71)}, "pads", ints(3, 0, 3, 0))
		t = b.op("Concat", []string{a, c}, "axis", 1)
		t = b.op("Relu", []string{t})
		cs = append(cs, b.done(fmt.Sprintf("family_InceptionV3_v%d", v), v, t))
	}
	// ResNet (v1 zoo at opset 7/8 with BatchNormalization spatial, Sum or
	// Add residuals; v2 PyTorch at 9+): stem, basic and downsampling
	// blocks, GlobalAveragePool, Flatten, Gemm.
	for _, v := range []int{6, 7, 8, 9, 12, 13} {
		b := newNet(v, randT("res", 1, 3, 16, 16))
		t := b.op("Relu", []string{b.bn(b.conv("x0", 4, 3, 7, "strides", ints(2, 2), "pads", ints(3, 3, 3, 3)), 4, v)})
		t = b.op("MaxPool", []string{t}, "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1))
		r := b.op("Relu", []string{b.bn(b.conv(t, 4, 4, 3, "pads", ints(1, 1, 1, 1)), 4, v)})
		r = b.bn(b.conv(r, 4, 4, 3, "pads", ints(1, 1, 1, 1)), 4, v)
		join := "Add"
		if v < 9 {
			join = "Sum"
		}
		t = b.op("Relu", []string{b.op(join, []string{t, r})})
		d := b.bn(b.conv(t, 8, 4, 1, "strides", ints(2, 2)), 8, v)
		r = b.op("Relu", []string{b.bn(b.conv(t, 8, 4, 3, "strides", ints(2, 2), "pads", ints(1, 1, 1, 1)), 8, v)})
		r = b.bn(b.conv(r, 8, 8, 3, "pads", ints(1, 1, 1, 1)), 8, v)
		t = b.op("Relu", []string{b.op(join, []string{d, r})})
		t = b.op("Flatten", []string{b.op("GlobalAveragePool", []string{t})})
		cs = append(cs, b.done(fmt.Sprintf("family_ResNet_v%d", v), v, b.gemm(t, 5, 8)))
	}
	// DenseNet (zoo opset 7 to 9): BN-Relu-Conv dense layers joined by
	// Concat, transition with AveragePool, classifier as a 1x1 Conv.
	for _, v := range []int{6, 7, 9, 12} {
		b := newNet(v, randT("dense", 1, 3, 12, 12))
		t := b.conv("x0", 6, 3, 3, "strides", ints(2, 2), "pads", ints(1, 1, 1, 1))
		for i := 0; i < 2; i++ {
			c := 6 + 3*i
			l := b.conv(b.op("Relu", []string{b.bn(t, c, v)}), 4, c, 1)
			l = b.conv(b.op("Relu", []string{b.bn(l, 4, v)}), 3, 4, 3, "pads", ints(1, 1, 1, 1))
			t = b.op("Concat", []string{t, l}, "axis", 1)
		}
		t = b.conv(b.op("Relu", []string{b.bn(t, 12, v)}), 6, 12, 1)
		t = b.op("AveragePool", []string{t}, "kernel_shape", ints(2, 2), "strides", ints(2, 2))
		t = b.op("GlobalAveragePool", []string{b.op("Relu", []string{b.bn(t, 6, v)})})
		t = b.conv(t, 4, 6, 1)
		t = b.op("Softmax", []string{t})
		cs = append(cs, b.done(fmt.Sprintf("family_DenseNet_v%d", v), v, t))
	}
	// ShuffleNet (zoo v1 opset 7-9, v2 PyTorch 10+): grouped 1x1 convs,
	// channel shuffle by Reshape-Transpose-Reshape, depthwise 3x3, an
	// AveragePool shortcut joined by Concat.
	for _, v := range []int{6, 7, 9, 11, 13} {
		b := newNet(v, randT("shuf", 1, 8, 8, 8))
		t := b.op("Relu", []string{b.bn(b.conv("x0", 8, 8, 1, "group", 2), 8, v)})
		t = b.op("Reshape", []string{t, b.konst(i64T([]int{5}, 1, 2, 4, 8, 8))})
		t = b.op("Transpose", []string{t}, "perm", ints(0, 2, 1, 3, 4))
		t = b.op("Reshape", []string{t, b.konst(i64T([]int{4}, 1, 8, 8, 8))})
		t = b.bn(b.conv(t, 8, 8, 3, "group", 8, "strides", ints(2, 2), "pads", ints(1, 1, 1, 1)), 8, v)
		t = b.bn(b.conv(t, 8, 8, 1, "group", 2), 8, v)
		s := b.op("AveragePool", []string{"x0"}, "kernel_shape", ints(3, 3), "strides", ints(2, 2), "pads", ints(1, 1, 1, 1))
		t = b.op("Relu", []string{b.op("Concat", []string{s, t}, "axis", 1)})
		t = b.op("Softmax", []string{b.gemm(b.op("Flatten", []string{b.op("GlobalAveragePool", []string{t})}), 4, 16)})
		cs = append(cs, b.done(fmt.Sprintf("family_ShuffleNet_v%d", v), v, t))
	}
	// SqueezeNet 1.0/1.1 (zoo opset 7-9, PyTorch 12+ with ceil_mode
	// MaxPool): fire modules, Dropout, 1x1 Conv classifier,
	// GlobalAveragePool, Softmax over [1, C, 1, 1] (2-D coercion at axis 1).
	for _, v := range []int{6, 7, 9, 11, 12, 13} {
		b := newNet(v, randT("sq", 1, 3, 17, 17))
		t := b.op("Relu", []string{b.conv("x0", 8, 3, 3, "strides", ints(2, 2))})
		pool := []any{"kernel_shape", ints(3, 3), "strides", ints(2, 2)}
		if v >= 10 {
			pool = append(pool, "ceil_mode", 1)
		}
		t = b.op("MaxPool", []string{t}, pool...)
		sqz := b.op("Relu", []string{b.conv(t, 4, 8, 1)})
		e1 := b.op("Relu", []string{b.conv(sqz, 6, 4, 1)})
		e3 := b.op("Relu", []string{b.conv(sqz, 6, 4, 3, "pads", ints(1, 1, 1, 1))})
		t = b.op("Concat", []string{e1, e3}, "axis", 1)
		t = b.op("Relu", []string{b.conv(b.dropout(t, v), 5, 12, 1)})
		t = b.op("Softmax", []string{b.op("GlobalAveragePool", []string{t})})
		cs = append(cs, b.done(fmt.Sprintf("family_SqueezeNet_v%d", v), v, t))
	}
	// MobileNetV2 (PyTorch, opset 9+ with Clip as ReLU6: attributes before
	// 11, inputs after): inverted residuals with depthwise convs and Adds.
	for _, v := range []int{9, 11, 12, 13} {
		b := newNet(v, randT("mb", 1, 3, 12, 12))
		relu6 := func(x string) string {
			if v < 11 {
				return b.op("Clip", []string{x}, "min", 0.0, "max", 6.0)
			}
			return b.op("Clip", []string{x, b.konst(f32T(nil, 0)), b.konst(f32T(nil, 6))})
		}
		t := relu6(b.bn(b.conv("x0", 8, 3, 3, "strides", ints(2, 2), "pads", ints(1, 1, 1, 1)), 8, v))
		e := relu6(b.bn(b.conv(t, 16, 8, 1), 16, v))
		e = relu6(b.bn(b.conv(e, 16, 16, 3, "group", 16, "pads", ints(1, 1, 1, 1)), 16, v))
		e = b.bn(b.conv(e, 8, 16, 1), 8, v)
		t = b.op("Add", []string{t, e})
		t = b.op("GlobalAveragePool", []string{t})
		t = b.torchFlatten(t, v)
		cs = append(cs, b.done(fmt.Sprintf("family_MobileNetV2_v%d", v), v, b.gemm(b.dropout(t, v), 4, 8)))
	}
	// FCN / U-Net style decoders: ConvTranspose, Upsample/Resize, Concat skip.
	for _, v := range []int{9, 11, 13} {
		b := newNet(v, randT("fcn", 1, 3, 8, 8))
		e := b.op("Relu", []string{b.conv("x0", 4, 3, 3, "pads", ints(1, 1, 1, 1))})
		d := b.op("MaxPool", []string{e}, "kernel_shape", ints(2, 2), "strides", ints(2, 2))
		d = b.op("Relu", []string{b.conv(d, 4, 4, 3, "pads", ints(1, 1, 1, 1))})
		wt := randT(b.name("wt"), 4, 2, 2, 2)
		u := b.op("ConvTranspose", []string{d, b.konst(wt)}, "strides", ints(2, 2))
		var r string
		if v < 11 {
			r = b.op("Upsample", []string{d, b.konst(f32T([]int{4}, 1, 1, 2, 2))}, "mode", "nearest")
		} else {
			roi := b.konst(f32T([]int{0}))
			if v >= 13 {
				roi = ""
			}
			r = b.op("Resize", []string{d, roi, b.konst(f32T([]int{4}, 1, 1, 2, 2))}, "mode", "linear", "coordinate_transformation_mode", "align_corners")
		}
		t := b.op("Concat", []string{e, u, r}, "axis", 1)
		t = b.conv(t, 2, 10, 1)
		cs = append(cs, b.done(fmt.Sprintf("family_FCN_v%d", v), v, t))
	}
	// The zoo's opset-6 files (caffe2 exports) take ORT's outputs for the
	// same net at opset 7 (see goldenCase.ortForm).
	byName := map[string]int{}
	for i, c := range cs {
		byName[c.name] = i
	}
	for i, c := range cs {
		if c.opset == 6 {
			twin, ok := byName[strings.TrimSuffix(c.name, "_v6")+"_v7"]
			if !ok {
				panic(c.name + " has no opset-7 twin")
			}
			cs[i].ortForm = &cs[twin]
		}
	}
	return cs
}
