// Package cnnzoo builds CNNs of families the reference models lack, with
// seeded random weights (every call returns the same graph): a
// SqueezeNet-style and a MobileNetV3-style network. bench/mkmodels writes
// them for the benchmark; tests build them at small image sizes.
package cnnzoo

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/splitinfer/splitinfer/nn"
)

// builder appends nodes to a graph with generated names and random weights.
type builder struct {
	g *nn.Graph
	r *rand.Rand
	n int
}

func newBuilder(name string, in []int) (*builder, string) {
	g := &nn.Graph{
		Name:   name,
		Inputs: []nn.ValueInfo{{Name: "input", Type: nn.Type{DType: nn.Float32, Shape: in}}},
		Consts: map[string]*nn.Tensor{},
		Opset:  17,
	}
	return &builder{g: g, r: rand.New(rand.NewPCG(1, uint64(len(name))))}, "input"
}

func (b *builder) name(op string) string {
	b.n++
	return fmt.Sprintf("%s_%d", op, b.n)
}

func (b *builder) node(op string, attrs map[string]nn.Attr, inputs ...string) string {
	name := b.name(op)
	b.g.Nodes = append(b.g.Nodes, &nn.Node{Name: name, Op: op, Inputs: inputs, Outputs: []string{name + "_out"}, Attrs: attrs})
	return name + "_out"
}

// konst adds a constant with values drawn uniformly from [-scale, scale).
func (b *builder) konst(scale float64, shape ...int) string {
	t := nn.New(nn.Float32, shape...)
	for i := range t.F32 {
		t.F32[i] = float32((b.r.Float64()*2 - 1) * scale)
	}
	name := b.name("w")
	b.g.Consts[name] = t
	return name
}

func ints(v ...int64) nn.Attr { return nn.Attr{Kind: nn.AttrInts, Ints: v} }

// conv adds a k x k convolution from cin to cout channels with bias; its
// weights keep the activations' scale about constant (He-style).
func (b *builder) conv(x string, cin, cout, k, stride, group int) string {
	p := int64(k / 2)
	fanIn := cin / group * k * k
	w := b.konst(math.Sqrt(6/float64(fanIn)), cout, cin/group, k, k)
	bias := b.konst(0.1, cout)
	return b.node("Conv", map[string]nn.Attr{
		"kernel_shape": ints(int64(k), int64(k)),
		"strides":      ints(int64(stride), int64(stride)),
		"pads":         ints(p, p, p, p),
		"group":        {Kind: nn.AttrInt, Int: int64(group)},
	}, x, w, bias)
}

func (b *builder) act(x, kind string) string {
	switch kind {
	case "relu":
		return b.node("Relu", nil, x)
	case "hswish":
		return b.node("HardSwish", nil, x)
	}
	return x
}

func (b *builder) pool(op string, x string, k, s int) string {
	return b.node(op, map[string]nn.Attr{"kernel_shape": ints(int64(k), int64(k)), "strides": ints(int64(s), int64(s))}, x)
}

func (b *builder) finish(x string) *nn.Graph {
	b.g.Outputs = []nn.ValueInfo{{Name: x, Type: nn.Type{DType: nn.Float32}}}
	return b.g
}

// SqueezeNet is SqueezeNet 1.1 with 1000 classes on size x size RGB
// images (224 as published; at least 32).
func SqueezeNet(size int) *nn.Graph {
	b, x := newBuilder("squeezenet_style", []int{-1, 3, size, size})
	x = b.act(b.conv(x, 3, 64, 3, 2, 1), "relu")
	x = b.pool("MaxPool", x, 3, 2)
	c := 64
	fire := func(sq, ex int) {
		s := b.act(b.conv(x, c, sq, 1, 1, 1), "relu")
		e1 := b.act(b.conv(s, sq, ex, 1, 1, 1), "relu")
		e3 := b.act(b.conv(s, sq, ex, 3, 1, 1), "relu")
		x = b.node("Concat", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, e1, e3)
		c = 2 * ex
	}
	fire(16, 64)
	fire(16, 64)
	x = b.pool("MaxPool", x, 3, 2)
	fire(32, 128)
	fire(32, 128)
	x = b.pool("MaxPool", x, 3, 2)
	fire(48, 192)
	fire(48, 192)
	fire(64, 256)
	fire(64, 256)
	x = b.act(b.conv(x, c, 1000, 1, 1, 1), "relu")
	x = b.node("GlobalAveragePool", nil, x)
	x = b.node("Flatten", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, x)
	return b.finish(x)
}

// MobileNetV3 is MobileNetV3-Small with 1000 classes (batch norms folded
// into the convolutions' biases) on size x size RGB images (224 as
// published).
func MobileNetV3(size int) *nn.Graph {
	b, x := newBuilder("mobilenetv3_style", []int{-1, 3, size, size})
	x = b.act(b.conv(x, 3, 16, 3, 2, 1), "hswish")
	c := 16
	se := func(x string, ch int) string {
		s := b.node("GlobalAveragePool", nil, x)
		s = b.act(b.conv(s, ch, ch/4, 1, 1, 1), "relu")
		s = b.conv(s, ch/4, ch, 1, 1, 1)
		s = b.node("HardSigmoid", map[string]nn.Attr{
			"alpha": {Kind: nn.AttrFloat, Float: 1.0 / 6},
			"beta":  {Kind: nn.AttrFloat, Float: 0.5},
		}, s)
		return b.node("Mul", nil, x, s)
	}
	for _, l := range []struct {
		k, exp, out int
		se          bool
		act         string
		stride      int
	}{
		{3, 16, 16, true, "relu", 2},
		{3, 72, 24, false, "relu", 2},
		{3, 88, 24, false, "relu", 1},
		{5, 96, 40, true, "hswish", 2},
		{5, 240, 40, true, "hswish", 1},
		{5, 240, 40, true, "hswish", 1},
		{5, 120, 48, true, "hswish", 1},
		{5, 144, 48, true, "hswish", 1},
		{5, 288, 96, true, "hswish", 2},
		{5, 576, 96, true, "hswish", 1},
		{5, 576, 96, true, "hswish", 1},
	} {
		in := x
		h := x
		if l.exp != c {
			h = b.act(b.conv(h, c, l.exp, 1, 1, 1), l.act)
		}
		h = b.act(b.conv(h, l.exp, l.exp, l.k, l.stride, l.exp), l.act)
		if l.se {
			h = se(h, l.exp)
		}
		h = b.conv(h, l.exp, l.out, 1, 1, 1)
		if l.stride == 1 && c == l.out {
			h = b.node("Add", nil, h, in)
		}
		x, c = h, l.out
	}
	x = b.act(b.conv(x, c, 576, 1, 1, 1), "hswish")
	x = b.node("GlobalAveragePool", nil, x)
	x = b.act(b.conv(x, 576, 1024, 1, 1, 1), "hswish")
	x = b.conv(x, 1024, 1000, 1, 1, 1)
	x = b.node("Flatten", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, x)
	return b.finish(x)
}
