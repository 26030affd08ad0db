// Package train is splitinfer's training engine: trainable CNN layers with
// forward and backward passes (Conv, Gemm, ReLU, MaxPool, AveragePool,
// GlobalAveragePool, Add, Flatten), softmax cross-entropy and knowledge
// distillation losses, SGD with momentum and Adam, seeded and reproducible
// mini-batch training split across goroutines, global magnitude pruning with
// a mask kept through fine-tuning, structured channel pruning, and the
// conversion between a trainable Net and an nn.Graph in both directions.
//
// Tensors are float32, NCHW, one contiguous C*H*W block per sample. Convs are
// im2col + GEMM through nn/internal/blas.
package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Errors returned by the package.
var (
	ErrModel = errors.New("train: unsupported model")
	ErrData  = errors.New("train: bad data")
	ErrArg   = errors.New("train: bad argument")
)

// Kind is a layer type.
type Kind uint8

// Layer kinds.
const (
	Conv Kind = iota + 1
	Gemm
	Relu
	MaxPool
	AvgPool
	GlobalAvgPool
	Add
	Flatten
	BatchNorm
)

func (k Kind) String() string {
	switch k {
	case Conv:
		return "Conv"
	case Gemm:
		return "Gemm"
	case Relu:
		return "Relu"
	case MaxPool:
		return "MaxPool"
	case AvgPool:
		return "AveragePool"
	case GlobalAvgPool:
		return "GlobalAveragePool"
	case Add:
		return "Add"
	case Flatten:
		return "Flatten"
	case BatchNorm:
		return "BatchNormalization"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Shape is the per-sample shape of a value: C channels of H x W. A flat
// vector of n features is {n, 1, 1}.
type Shape struct{ C, H, W int }

// Size is C*H*W.
func (s Shape) Size() int { return s.C * s.H * s.W }

// Param is a trainable tensor. Mask, when set, holds 0 or 1 per element and
// is applied after every optimizer step (pruned weights stay zero).
type Param struct {
	Name  string
	Shape []int
	Data  []float32
	Grad  []float32
	Mask  []float32
	index int
}

// Layer is one operation of a Net. Inputs and Out are value indices (value
// 0 is the network input).
type Layer struct {
	Name string
	Kind Kind
	In   []int
	Out  int
	// Geometry of Conv, MaxPool and AvgPool: kernel, stride, pads
	// (top, left, bottom, right).
	KH, KW, SH, SW         int
	PadT, PadL, PadB, PadR int
	CountIncludePad        bool
	// Depthwise marks a Conv with one group per channel (W is C x 1 x KH
	// x KW), as MobileNets use.
	Depthwise bool
	// Max bounds a Relu from above (ReLU6: 6); 0 means unbounded.
	Max float32
	// BatchNorm: W is the scale and B the shift per channel; RunMean and
	// RunVar are the statistics inference uses (Fit updates them), Eps
	// is added to the variance.
	RunMean, RunVar   []float32
	Eps               float32
	W, B              *Param // Conv: W is OC x C x KH x KW; Gemm: W is out x in
	inShape, outShape Shape
	colRows, outHW    int // conv: C*KH*KW and OH*OW
	wt                []float32
}

// Net is a trainable network: a DAG of layers in topological order over
// values, with one input and one output (the logits).
type Net struct {
	Input  Shape
	Layers []*Layer
	Values []Shape // value 0 is the input
	Output int
	Params []*Param
}

// Builder helps construct a Net layer by layer, inferring shapes.
type Builder struct {
	net *Net
	err error
	rng *rand.Rand
}

// NewBuilder starts a net with the given input shape. Weights are
// initialised as PyTorch does by default (kaiming-uniform with a=sqrt(5),
// i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases) from a
// generator seeded with seed.
func NewBuilder(in Shape, seed uint64) *Builder {
	b := &Builder{net: &Net{Input: in, Values: []Shape{in}}, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
	if in.C <= 0 || in.H <= 0 || in.W <= 0 {
		b.err = fmt.Errorf("%w: input shape %v", ErrArg, in)
	}
	return b
}

// Input is the index of the network input value.
func (b *Builder) Input() int { return 0 }

func (b *Builder) check(v int) bool {
	if b.err != nil {
		return false
	}
	if v < 0 || v >= len(b.net.Values) {
		b.err = fmt.Errorf("%w: value %d does not exist", ErrArg, v)
		return false
	}
	return true
}

func (b *Builder) param(name string, shape []int, fanIn int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	p := &Param{Name: name, Shape: shape, Data: make([]float32, n), Grad: make([]float32, n), index: len(b.net.Params)}
	bound := 1 / math.Sqrt(float64(fanIn))
	for i := range p.Data {
		p.Data[i] = float32((b.rng.Float64()*2 - 1) * bound)
	}
	b.net.Params = append(b.net.Params, p)
	return p
}

func (b *Builder) add(l *Layer, out Shape) int {
	if out.C <= 0 || out.H <= 0 || out.W <= 0 {
		b.err = fmt.Errorf("%w: layer %s (%v) has output shape %v", ErrArg, l.Name, l.Kind, out)
		return -1
	}
	if l.Name == "" {
		l.Name = fmt.Sprintf("%s_%d", l.Kind, len(b.net.Layers))
	}
	l.Out = len(b.net.Values)
	l.inShape = b.net.Values[l.In[0]]
	l.outShape = out
	b.net.Values = append(b.net.Values, out)
	b.net.Layers = append(b.net.Layers, l)
	return l.Out
}

// Conv adds a 2-D convolution (groups 1) with a k x k kernel, stride and
// symmetric padding pad.
func (b *Builder) Conv(x, outC, k, stride, pad int) int {
	return b.ConvFull(x, outC, k, k, stride, stride, pad, pad, pad, pad)
}

// ConvFull adds a convolution with explicit geometry.
func (b *Builder) ConvFull(x, outC, kh, kw, sh, sw, pt, pl, pb, pr int) int {
	if !b.check(x) {
		return -1
	}
	in := b.net.Values[x]
	if outC <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || pt < 0 || pl < 0 || pb < 0 || pr < 0 {
		b.err = fmt.Errorf("%w: conv geometry out=%d k=%dx%d s=%dx%d", ErrArg, outC, kh, kw, sh, sw)
		return -1
	}
	idx := len(b.net.Layers)
	fan := in.C * kh * kw
	l := &Layer{Kind: Conv, In: []int{x}, KH: kh, KW: kw, SH: sh, SW: sw, PadT: pt, PadL: pl, PadB: pb, PadR: pr}
	l.Name = fmt.Sprintf("conv%d", idx)
	l.W = b.param(l.Name+".weight", []int{outC, in.C, kh, kw}, fan)
	l.B = b.param(l.Name+".bias", []int{outC}, fan)
	oh := (in.H+pt+pb-kh)/sh + 1
	ow := (in.W+pl+pr-kw)/sw + 1
	return b.add(l, Shape{outC, oh, ow})
}

// DepthwiseConv adds a depthwise convolution (one k x k filter per
// channel) with stride and symmetric padding pad.
func (b *Builder) DepthwiseConv(x, k, stride, pad int) int {
	if !b.check(x) {
		return -1
	}
	in := b.net.Values[x]
	if k <= 0 || stride <= 0 || pad < 0 {
		b.err = fmt.Errorf("%w: depthwise conv k=%d s=%d p=%d", ErrArg, k, stride, pad)
		return -1
	}
	idx := len(b.net.Layers)
	l := &Layer{Kind: Conv, Depthwise: true, In: []int{x}, KH: k, KW: k, SH: stride, SW: stride, PadT: pad, PadL: pad, PadB: pad, PadR: pad}
	l.Name = fmt.Sprintf("dwconv%d", idx)
	l.W = b.param(l.Name+".weight", []int{in.C, 1, k, k}, k*k)
	l.B = b.param(l.Name+".bias", []int{in.C}, k*k)
	oh := (in.H+2*pad-k)/stride + 1
	ow := (in.W+2*pad-k)/stride + 1
	return b.add(l, Shape{in.C, oh, ow})
}

// Relu6 adds min(max(x, 0), 6) (Clip 0, 6 in ONNX).
func (b *Builder) Relu6(x int) int {
	if !b.check(x) {
		return -1
	}
	return b.add(&Layer{Kind: Relu, In: []int{x}, Max: 6}, b.net.Values[x])
}

// Gemm adds a fully connected layer y = x·Wᵀ + b with out features. Its
// input must be flat (use Flatten first).
func (b *Builder) Gemm(x, out int) int {
	if !b.check(x) {
		return -1
	}
	in := b.net.Values[x]
	if in.H != 1 || in.W != 1 {
		b.err = fmt.Errorf("%w: Gemm input %v is not flat", ErrArg, in)
		return -1
	}
	if out <= 0 {
		b.err = fmt.Errorf("%w: Gemm with %d outputs", ErrArg, out)
		return -1
	}
	idx := len(b.net.Layers)
	l := &Layer{Kind: Gemm, In: []int{x}, Name: fmt.Sprintf("fc%d", idx)}
	l.W = b.param(l.Name+".weight", []int{out, in.C}, in.C)
	l.B = b.param(l.Name+".bias", []int{out}, in.C)
	return b.add(l, Shape{out, 1, 1})
}

// Relu adds max(x, 0).
func (b *Builder) Relu(x int) int {
	if !b.check(x) {
		return -1
	}
	return b.add(&Layer{Kind: Relu, In: []int{x}}, b.net.Values[x])
}

// MaxPool adds a k x k max pooling with the given stride and no padding.
func (b *Builder) MaxPool(x, k, stride int) int {
	return b.Pool(MaxPool, x, k, k, stride, stride, 0, 0, 0, 0, false)
}

// Pool adds a MaxPool or AvgPool with explicit geometry.
func (b *Builder) Pool(kind Kind, x, kh, kw, sh, sw, pt, pl, pb, pr int, countPad bool) int {
	if !b.check(x) {
		return -1
	}
	if kind != MaxPool && kind != AvgPool {
		b.err = fmt.Errorf("%w: %v is not a pooling kind", ErrArg, kind)
		return -1
	}
	if kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0 || pt < 0 || pl < 0 || pb < 0 || pr < 0 || pt >= kh || pb >= kh || pl >= kw || pr >= kw {
		b.err = fmt.Errorf("%w: pool geometry k=%dx%d s=%dx%d pads %d,%d,%d,%d", ErrArg, kh, kw, sh, sw, pt, pl, pb, pr)
		return -1
	}
	in := b.net.Values[x]
	l := &Layer{Kind: kind, In: []int{x}, KH: kh, KW: kw, SH: sh, SW: sw, PadT: pt, PadL: pl, PadB: pb, PadR: pr, CountIncludePad: countPad}
	oh := (in.H+pt+pb-kh)/sh + 1
	ow := (in.W+pl+pr-kw)/sw + 1
	return b.add(l, Shape{in.C, oh, ow})
}

// GlobalAvgPool adds a mean over H and W.
func (b *Builder) GlobalAvgPool(x int) int {
	if !b.check(x) {
		return -1
	}
	return b.add(&Layer{Kind: GlobalAvgPool, In: []int{x}}, Shape{b.net.Values[x].C, 1, 1})
}

// Add adds the element-wise sum of two values of the same shape.
func (b *Builder) Add(x, y int) int {
	if !b.check(x) || !b.check(y) {
		return -1
	}
	if b.net.Values[x] != b.net.Values[y] {
		b.err = fmt.Errorf("%w: Add of %v and %v", ErrArg, b.net.Values[x], b.net.Values[y])
		return -1
	}
	return b.add(&Layer{Kind: Add, In: []int{x, y}}, b.net.Values[x])
}

// Flatten makes a value flat (C*H*W features).
func (b *Builder) Flatten(x int) int {
	if !b.check(x) {
		return -1
	}
	return b.add(&Layer{Kind: Flatten, In: []int{x}}, Shape{b.net.Values[x].Size(), 1, 1})
}

// Append adds n's layers (its weights copied) with n's input fed by value
// x, which must have n's input shape, and returns the value of n's output:
// a trained net continues a new one (a bottleneck before a model's tail).
func (b *Builder) Append(x int, n *Net) int {
	if !b.check(x) {
		return -1
	}
	if b.net.Values[x] != n.Input {
		b.err = fmt.Errorf("%w: appending a net of input %v to a value of shape %v", ErrArg, n.Input, b.net.Values[x])
		return -1
	}
	c := n.Clone()
	for _, p := range c.Params {
		p.index = len(b.net.Params)
		b.net.Params = append(b.net.Params, p)
	}
	val := make([]int, len(c.Values))
	val[0] = x
	for _, l := range c.Layers {
		for i, in := range l.In {
			l.In[i] = val[in]
		}
		old := l.Out // add renumbers it
		if val[old] = b.add(l, c.Values[old]); val[old] < 0 {
			return -1
		}
	}
	return val[c.Output]
}

// Build finishes the net with output value out.
func (b *Builder) Build(out int) (*Net, error) {
	if b.err != nil {
		return nil, b.err
	}
	if out <= 0 || out >= len(b.net.Values) {
		return nil, fmt.Errorf("%w: output value %d", ErrArg, out)
	}
	n := b.net
	n.Output = out
	if err := n.prepare(); err != nil {
		return nil, err
	}
	return n, nil
}

// prepare (re)computes derived geometry; called after building and after
// structural changes such as channel pruning.
func (n *Net) prepare() error {
	for i, p := range n.Params {
		p.index = i
		if len(p.Grad) != len(p.Data) {
			p.Grad = make([]float32, len(p.Data))
		}
		if p.Mask != nil && len(p.Mask) != len(p.Data) {
			return fmt.Errorf("%w: mask of %s has %d values for %d weights", ErrModel, p.Name, len(p.Mask), len(p.Data))
		}
	}
	for _, l := range n.Layers {
		l.inShape = n.Values[l.In[0]]
		l.outShape = n.Values[l.Out]
		if l.Kind == Conv {
			l.colRows = l.inShape.C * l.KH * l.KW
			if l.Depthwise {
				l.colRows = l.KH * l.KW
				if l.inShape.C != l.outShape.C {
					return fmt.Errorf("%w: depthwise conv %s maps %d channels to %d", ErrModel, l.Name, l.inShape.C, l.outShape.C)
				}
			}
			l.outHW = l.outShape.H * l.outShape.W
			if len(l.W.Data) != l.outShape.C*l.colRows {
				return fmt.Errorf("%w: conv %s weight size %d, want %d", ErrModel, l.Name, len(l.W.Data), l.outShape.C*l.colRows)
			}
		}
		if l.Kind == BatchNorm {
			if c := l.outShape.C; len(l.W.Data) != c || len(l.B.Data) != c || len(l.RunMean) != c || len(l.RunVar) != c || l.inShape != l.outShape {
				return fmt.Errorf("%w: batch norm %s has %d/%d/%d/%d parameters for %d channels", ErrModel, l.Name, len(l.W.Data), len(l.B.Data), len(l.RunMean), len(l.RunVar), c)
			}
		}
		if l.Kind == Gemm && len(l.W.Data) != l.outShape.C*l.inShape.Size() {
			return fmt.Errorf("%w: gemm %s weight size %d, want %d", ErrModel, l.Name, len(l.W.Data), l.outShape.C*l.inShape.Size())
		}
	}
	if n.Values[n.Output].H != 1 || n.Values[n.Output].W != 1 {
		return fmt.Errorf("%w: output shape %v is not a vector of logits", ErrModel, n.Values[n.Output])
	}
	return nil
}

// Classes is the number of logits.
func (n *Net) Classes() int { return n.Values[n.Output].C }

// NumParams counts the trainable scalars.
func (n *Net) NumParams() int {
	s := 0
	for _, p := range n.Params {
		s += len(p.Data)
	}
	return s
}

// NonZeroParams counts the non-zero trainable scalars.
func (n *Net) NonZeroParams() int {
	s := 0
	for _, p := range n.Params {
		for _, v := range p.Data {
			if v != 0 {
				s++
			}
		}
	}
	return s
}

// MACs is the number of multiply-accumulates of one forward pass of one
// sample through the convolutions and fully connected layers (dense).
func (n *Net) MACs() int64 {
	var s int64
	for _, l := range n.Layers {
		switch l.Kind {
		case Conv:
			s += int64(l.outShape.Size()) * int64(l.colRows) // colRows is KH*KW for depthwise
		case Gemm:
			s += int64(l.outShape.C) * int64(l.inShape.Size())
		}
	}
	return s
}

// Clone returns a deep copy of n (weights, masks, structure).
func (n *Net) Clone() *Net {
	c := &Net{Input: n.Input, Values: append([]Shape(nil), n.Values...), Output: n.Output}
	pm := map[*Param]*Param{}
	for _, p := range n.Params {
		q := &Param{Name: p.Name, Shape: append([]int(nil), p.Shape...), Data: append([]float32(nil), p.Data...), Grad: make([]float32, len(p.Data)), index: p.index}
		if p.Mask != nil {
			q.Mask = append([]float32(nil), p.Mask...)
		}
		pm[p] = q
		c.Params = append(c.Params, q)
	}
	for _, l := range n.Layers {
		m := *l
		m.In = append([]int(nil), l.In...)
		m.wt = nil
		m.RunMean = append([]float32(nil), l.RunMean...)
		m.RunVar = append([]float32(nil), l.RunVar...)
		if l.W != nil {
			m.W = pm[l.W]
		}
		if l.B != nil {
			m.B = pm[l.B]
		}
		c.Layers = append(c.Layers, &m)
	}
	return c
}

// SeedNet builds the seed network family: conv 1→c1 3x3 pad 1, ReLU,
// maxpool 2; conv c1→c2 3x3 pad 1, ReLU, maxpool 2; fc c2*8*8→h, ReLU;
// fc h→10, on 32x32x1 input. SeedNet(16, 32, 128, seed) is the seed network.
func SeedNet(c1, c2, h int, seed uint64) (*Net, error) {
	b := NewBuilder(Shape{1, 32, 32}, seed)
	x := b.Conv(b.Input(), c1, 3, 1, 1)
	x = b.MaxPool(b.Relu(x), 2, 2)
	x = b.Conv(x, c2, 3, 1, 1)
	x = b.MaxPool(b.Relu(x), 2, 2)
	x = b.Relu(b.Gemm(b.Flatten(x), h))
	return b.Build(b.Gemm(x, 10))
}

// TinyResNet builds a small residual network for 32x32x1 input: a 3x3 stem
// of 16 channels, basic blocks 16→16, 16→32 stride 2 and 32→64 stride 2
// (1x1 projection shortcuts where the shape changes), global average pool
// and fc 64→10.
func TinyResNet(seed uint64) (*Net, error) {
	b := NewBuilder(Shape{1, 32, 32}, seed)
	x := b.Relu(b.Conv(b.Input(), 16, 3, 1, 1))
	block := func(x, in, out, stride int) int {
		y := b.Relu(b.Conv(x, out, 3, stride, 1))
		y = b.Conv(y, out, 3, 1, 1)
		sc := x
		if in != out || stride != 1 {
			sc = b.Conv(x, out, 1, stride, 0)
		}
		return b.Relu(b.Add(y, sc))
	}
	x = block(x, 16, 16, 1)
	x = block(x, 16, 32, 2)
	x = block(x, 32, 64, 2)
	x = b.Flatten(b.GlobalAvgPool(x))
	return b.Build(b.Gemm(x, 10))
}

// MobileNetV2 builds a MobileNetV2-style network for 32x32x1 input:
// a stem conv 1→16 3x3 stride 2, inverted residual blocks (1x1 expansion
// by 4, 3x3 depthwise, linear 1x1 projection, residual Add when the shape
// is kept) 16→16, 16→24 stride 2, 24→24, 24→32 stride 2, then
// GlobalAveragePool and fc →10. As in MobileNetV2, every conv is followed
// by BatchNorm, and all but the projections by ReLU6; the BatchNorms are
// exported as such and fold into the convs when the engine loads the model.
func MobileNetV2(seed uint64) (*Net, error) {
	b := NewBuilder(Shape{1, 32, 32}, seed)
	x := b.Relu6(b.BatchNorm(b.Conv(b.Input(), 16, 3, 2, 1)))
	block := func(x, in, out, stride int) int {
		e := b.Relu6(b.BatchNorm(b.Conv(x, 4*in, 1, 1, 0)))
		d := b.Relu6(b.BatchNorm(b.DepthwiseConv(e, 3, stride, 1)))
		p := b.BatchNorm(b.Conv(d, out, 1, 1, 0))
		if stride == 1 && in == out {
			return b.Add(x, p)
		}
		return p
	}
	x = block(x, 16, 16, 1)
	x = block(x, 16, 24, 2)
	x = block(x, 24, 24, 1)
	x = block(x, 24, 32, 2)
	return b.Build(b.Gemm(b.Flatten(b.GlobalAvgPool(x)), 10))
}
