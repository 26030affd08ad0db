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

// ints64 adds an int64 constant (a shape, a split).
func (b *builder) ints64(v ...int64) string {
	t := nn.New(nn.Int64, len(v))
	copy(t.I64, v)
	name := b.name("i")
	b.g.Consts[name] = t
	return name
}

// silu adds x·sigmoid(x) (Swish, as EfficientNet writes it in ONNX).
func (b *builder) silu(x string) string {
	return b.node("Mul", nil, x, b.node("Sigmoid", nil, x))
}

// head adds the global average pool, flatten and 1000-class Gemm.
func (b *builder) head(x string, c int) *nn.Graph {
	x = b.node("GlobalAveragePool", nil, x)
	x = b.node("Flatten", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, x)
	w := b.konst(math.Sqrt(6/float64(c)), 1000, c)
	bias := b.konst(0.1, 1000)
	x = b.node("Gemm", map[string]nn.Attr{"transB": {Kind: nn.AttrInt, Int: 1}}, x, w, bias)
	return b.finish(x)
}

// maxPoolPadded adds a k x k MaxPool of stride s padded by k/2 (ResNet's).
func (b *builder) maxPoolPadded(x string, k, s int) string {
	p := int64(k / 2)
	return b.node("MaxPool", map[string]nn.Attr{"kernel_shape": ints(int64(k), int64(k)), "strides": ints(int64(s), int64(s)), "pads": ints(p, p, p, p)}, x)
}

// ResNet18 is ResNet-18 (7x7 stride-2 stem, max pool, basic blocks of two
// 3x3 convolutions with residual Adds and 1x1 stride-2 projections; batch
// norms folded) with 1000 classes on size x size RGB images (224 as
// published).
func ResNet18(size int) *nn.Graph {
	b, x := newBuilder("resnet18_style", []int{-1, 3, size, size})
	x = b.act(b.conv(x, 3, 64, 7, 2, 1), "relu")
	x = b.maxPoolPadded(x, 3, 2)
	c := 64
	for _, st := range []struct{ out, stride int }{{64, 1}, {64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2}, {512, 1}} {
		h := b.act(b.conv(x, c, st.out, 3, st.stride, 1), "relu")
		h = b.conv(h, st.out, st.out, 3, 1, 1)
		sc := x
		if st.stride != 1 || c != st.out {
			sc = b.conv(x, c, st.out, 1, st.stride, 1)
		}
		x = b.act(b.node("Add", nil, h, sc), "relu")
		c = st.out
	}
	return b.head(x, c)
}

// RegNetX is RegNetX-400MF (a 3x3 stride-2 stem, then stages of bottleneck
// blocks whose 3x3 convolutions are grouped with 16 channels a group,
// residual Adds) with 1000 classes on size x size RGB images (224 as
// published).
func RegNetX(size int) *nn.Graph {
	b, x := newBuilder("regnetx_style", []int{-1, 3, size, size})
	x = b.act(b.conv(x, 3, 32, 3, 2, 1), "relu")
	c := 32
	for _, st := range []struct{ width, depth int }{{32, 1}, {64, 2}, {160, 7}, {384, 12}} {
		for i := 0; i < st.depth; i++ {
			stride := 1
			if i == 0 {
				stride = 2
			}
			h := b.act(b.conv(x, c, st.width, 1, 1, 1), "relu")
			h = b.act(b.conv(h, st.width, st.width, 3, stride, st.width/16), "relu")
			h = b.conv(h, st.width, st.width, 1, 1, 1)
			sc := x
			if stride != 1 || c != st.width {
				sc = b.conv(x, c, st.width, 1, stride, 1)
			}
			x = b.act(b.node("Add", nil, h, sc), "relu")
			c = st.width
		}
	}
	return b.head(x, c)
}

// EfficientNetB0 is EfficientNet-B0 (MBConv blocks: 1x1 expansion, 3x3 or
// 5x5 depthwise, squeeze-and-excitation with Sigmoid, 1x1 projection,
// residual Adds; SiLU written as x·sigmoid(x); batch norms folded) with
// 1000 classes on size x size RGB images (224 as published).
func EfficientNetB0(size int) *nn.Graph {
	b, x := newBuilder("efficientnetb0_style", []int{-1, 3, size, size})
	x = b.silu(b.conv(x, 3, 32, 3, 2, 1))
	c := 32
	for _, st := range []struct{ exp, k, stride, out, repeat int }{
		{1, 3, 1, 16, 1}, {6, 3, 2, 24, 2}, {6, 5, 2, 40, 2}, {6, 3, 2, 80, 3},
		{6, 5, 1, 112, 3}, {6, 5, 2, 192, 4}, {6, 3, 1, 320, 1},
	} {
		for i := 0; i < st.repeat; i++ {
			stride := st.stride
			if i > 0 {
				stride = 1
			}
			in, h := x, x
			e := c * st.exp
			if st.exp != 1 {
				h = b.silu(b.conv(h, c, e, 1, 1, 1))
			}
			h = b.silu(b.conv(h, e, e, st.k, stride, e))
			s := b.node("GlobalAveragePool", nil, h)
			s = b.silu(b.conv(s, e, max(1, c/4), 1, 1, 1))
			s = b.node("Sigmoid", nil, b.conv(s, max(1, c/4), e, 1, 1, 1))
			h = b.node("Mul", nil, h, s)
			h = b.conv(h, e, st.out, 1, 1, 1)
			if stride == 1 && c == st.out {
				h = b.node("Add", nil, h, in)
			}
			x, c = h, st.out
		}
	}
	x = b.silu(b.conv(x, c, 1280, 1, 1, 1))
	return b.head(x, 1280)
}

// ShuffleNetV2 is ShuffleNetV2 1.0x (channel split, 1x1 and 3x3 depthwise
// branches joined by Concat, then a channel shuffle written as
// Reshape-Transpose-Reshape; batch norms folded) with 1000 classes on
// size x size RGB images (224 as published).
func ShuffleNetV2(size int) *nn.Graph {
	b, x := newBuilder("shufflenetv2_style", []int{-1, 3, size, size})
	x = b.act(b.conv(x, 3, 24, 3, 2, 1), "relu")
	x = b.maxPoolPadded(x, 3, 2)
	c, hw := 24, (size+1)/2
	hw = (hw + 1) / 2
	shuffle := func(x string, ch, hw int) string {
		x = b.node("Reshape", nil, x, b.ints64(-1, 2, int64(ch/2), int64(hw), int64(hw)))
		x = b.node("Transpose", map[string]nn.Attr{"perm": ints(0, 2, 1, 3, 4)}, x)
		return b.node("Reshape", nil, x, b.ints64(-1, int64(ch), int64(hw), int64(hw)))
	}
	branch := func(x string, cin, cout, stride int) string {
		h := b.act(b.conv(x, cin, cout, 1, 1, 1), "relu")
		h = b.conv(h, cout, cout, 3, stride, cout)
		return b.act(b.conv(h, cout, cout, 1, 1, 1), "relu")
	}
	for _, st := range []struct{ out, repeat int }{{116, 4}, {232, 8}, {464, 4}} {
		half := st.out / 2
		// The stride-2 unit: both branches see the whole input.
		left := b.act(b.conv(b.conv(x, c, c, 3, 2, c), c, half, 1, 1, 1), "relu")
		right := branch(x, c, half, 2)
		hw = (hw + 1) / 2
		x = shuffle(b.node("Concat", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, left, right), st.out, hw)
		c = st.out
		for i := 1; i < st.repeat; i++ {
			name := b.name("Split")
			b.g.Nodes = append(b.g.Nodes, &nn.Node{Name: name, Op: "Split", Inputs: []string{x, b.ints64(int64(half), int64(half))},
				Outputs: []string{name + "_a", name + "_b"}, Attrs: map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}})
			right := branch(name+"_b", half, half, 1)
			x = shuffle(b.node("Concat", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, name+"_a", right), c, hw)
		}
	}
	x = b.act(b.conv(x, c, 1024, 1, 1, 1), "relu")
	return b.head(x, 1024)
}

// batchNorm adds an inference BatchNormalization of c channels (not folded:
// DenseNet's pre-activation order puts it before the convolution).
func (b *builder) batchNorm(x string, c int) string {
	scale := b.konst(0.5, c)
	for i := range b.g.Consts[scale].F32 {
		b.g.Consts[scale].F32[i] += 1
	}
	mean := b.konst(0.1, c)
	v := b.konst(0.5, c)
	for i := range b.g.Consts[v].F32 {
		b.g.Consts[v].F32[i] += 1
	}
	return b.node("BatchNormalization", map[string]nn.Attr{"epsilon": {Kind: nn.AttrFloat, Float: 1e-5}}, x, scale, b.konst(0.1, c), mean, v)
}

// DenseNet is a DenseNet-BC (growth rate 32, blocks of 6, 12 and 24
// layers with 4x bottlenecks, compression 0.5; each layer is BN-ReLU-1x1
// conv-BN-ReLU-3x3 conv, its output concatenated to its input; transitions
// are BN-ReLU-1x1 conv-2x2 average pool) with 1000 classes on size x size
// RGB images (224 as published for DenseNet-121, whose last block is cut
// here to keep the benchmark short).
func DenseNet(size int) *nn.Graph {
	b, x := newBuilder("densenet_style", []int{-1, 3, size, size})
	x = b.act(b.conv(x, 3, 64, 7, 2, 1), "relu")
	x = b.maxPoolPadded(x, 3, 2)
	c := 64
	for i, layers := range []int{6, 12, 24} {
		for l := 0; l < layers; l++ {
			h := b.act(b.batchNorm(x, c), "relu")
			h = b.conv(h, c, 128, 1, 1, 1)
			h = b.act(b.batchNorm(h, 128), "relu")
			h = b.conv(h, 128, 32, 3, 1, 1)
			x = b.node("Concat", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, x, h)
			c += 32
		}
		if i < 2 {
			x = b.act(b.batchNorm(x, c), "relu")
			x = b.conv(x, c, c/2, 1, 1, 1)
			x = b.pool("AveragePool", x, 2, 2)
			c /= 2
		}
	}
	x = b.act(b.batchNorm(x, c), "relu")
	return b.head(x, c)
}

// Inception is GoogLeNet (Inception v1: branches of 1x1, 1x1-3x3, 1x1-5x5
// and 3x3 max pool-1x1 convolutions joined by Concat, ReLU after every
// convolution) with 1000 classes on size x size RGB images (224 as
// published).
func Inception(size int) *nn.Graph {
	b, x := newBuilder("inception_style", []int{-1, 3, size, size})
	x = b.act(b.conv(x, 3, 64, 7, 2, 1), "relu")
	x = b.maxPoolPadded(x, 3, 2)
	x = b.act(b.conv(x, 64, 64, 1, 1, 1), "relu")
	x = b.act(b.conv(x, 64, 192, 3, 1, 1), "relu")
	x = b.maxPoolPadded(x, 3, 2)
	c := 192
	module := func(c1, r3, c3, r5, c5, pp int) {
		a := b.act(b.conv(x, c, c1, 1, 1, 1), "relu")
		t := b.act(b.conv(b.act(b.conv(x, c, r3, 1, 1, 1), "relu"), r3, c3, 3, 1, 1), "relu")
		f := b.act(b.conv(b.act(b.conv(x, c, r5, 1, 1, 1), "relu"), r5, c5, 5, 1, 1), "relu")
		p := b.act(b.conv(b.maxPoolPadded(x, 3, 1), c, pp, 1, 1, 1), "relu")
		x = b.node("Concat", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, a, t, f, p)
		c = c1 + c3 + c5 + pp
	}
	module(64, 96, 128, 16, 32, 32)
	module(128, 128, 192, 32, 96, 64)
	x = b.maxPoolPadded(x, 3, 2)
	module(192, 96, 208, 16, 48, 64)
	module(160, 112, 224, 24, 64, 64)
	module(128, 128, 256, 24, 64, 64)
	module(112, 144, 288, 32, 64, 64)
	module(256, 160, 320, 32, 128, 128)
	x = b.maxPoolPadded(x, 3, 2)
	module(256, 160, 320, 32, 128, 128)
	module(384, 192, 384, 48, 128, 128)
	return b.head(x, c)
}

// VGG is VGG-11 with batch norms folded, for 32x32 images (CIFAR: 3x3
// convolutions of 64 to 512 channels, 2x2 max pools, a 512-wide classifier
// with 10 classes) on size x size RGB images.
func VGG(size int) *nn.Graph {
	b, x := newBuilder("vgg_style", []int{-1, 3, size, size})
	c := 3
	for _, v := range []int{64, -1, 128, -1, 256, 256, -1, 512, 512, -1, 512, 512, -1} {
		if v < 0 {
			x = b.pool("MaxPool", x, 2, 2)
			continue
		}
		x = b.act(b.conv(x, c, v, 3, 1, 1), "relu")
		c = v
	}
	x = b.node("Flatten", map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 1}}, x)
	n := c * (size / 32) * (size / 32)
	w := b.konst(math.Sqrt(6/float64(n)), 512, n)
	x = b.act(b.node("Gemm", map[string]nn.Attr{"transB": {Kind: nn.AttrInt, Int: 1}}, x, w, b.konst(0.1, 512)), "relu")
	w2 := b.konst(math.Sqrt(6/512.0), 10, 512)
	x = b.node("Gemm", map[string]nn.Attr{"transB": {Kind: nn.AttrInt, Int: 1}}, x, w2, b.konst(0.1, 10))
	return b.finish(x)
}
