package nn

import (
	"fmt"
	"strings"
)

// LookupInt8 is an elementwise op on int8 activations by a 256-entry
// table: LowerQDQ turns DequantizeLinear -> f -> QuantizeLinear, for an
// elementwise float op f of one input (HardSwish, Sigmoid, ...), into it,
// the table holding Q(f(DQ(v))) for every int8 v, computed by f's own
// kernel. The float path runs three kernels over the tensor; this one
// reads one byte per element. With a table per channel it is a per-channel
// op such as an inference BatchNormalization (and a Relu or Clip after it):
// entry [c][v] holds channel c's Q(act(f_c(DQ(v)))).
//
// Inputs: x int8; table int8 constant [256] indexed by uint8(x), or [C, 256]
// indexed by x's channel (axis 1, of size C) and uint8(x); then f's
// constant inputs after its first (BatchNormalization's scale, B, mean and
// var), kept for export only.
// Attributes: y_scale, y_zero_point (the output's quantization), x_scale,
// x_zero_point, op (the float op, for export) and that op's attributes
// under "op_" + name; relu, y_min, y_max (a Relu or Clip after f, folded
// into the table, for export).
// Output: int8 of x's shape with Quant{y_scale, y_zero_point}.

func init() { Register("LookupInt8", q8BuildLookup) }

// q8LookupOps are the float ops LowerQDQ folds into a table: elementwise,
// one input, attributes only.
var q8LookupOps = map[string]bool{
	"HardSwish": true, "HardSigmoid": true, "Sigmoid": true, "Tanh": true, "LeakyRelu": true, "Elu": true,
	"Selu": true, "Softplus": true, "Gelu": true, "Exp": true, "Neg": true, "Abs": true, "Sqrt": true,
}

// LookupSwish is the op attribute of a LookupInt8 that stands for
// x·sigmoid(x) (SiLU as PyTorch exports it: DQ(x) -> Sigmoid, and a Mul of
// the two -> Q); it exports as DequantizeLinear -> Sigmoid, Mul ->
// QuantizeLinear.
const LookupSwish = "Swish"

type q8Lookup struct {
	tables [][256]int8 // one, or one per channel
	quant  *Quant
}

func q8BuildLookup(bc *BuildContext) (Kernel, error) {
	t := bc.InputConst(1)
	if t == nil || t.DType != Int8 || t.Len() == 0 || t.Len()%256 != 0 || t.Shape[len(t.Shape)-1] != 256 || len(t.Shape) > 2 {
		return nil, fmt.Errorf("%w: LookupInt8 needs a constant int8 [256] or [C, 256] table", ErrGraph)
	}
	y, err := q8Attr(bc.Node, "y")
	if err != nil {
		return nil, err
	}
	k := &q8Lookup{quant: y.quant(), tables: make([][256]int8, t.Len()/256)}
	for c := range k.tables {
		copy(k.tables[c][:], t.I8[c*256:])
	}
	return k, nil
}

func (k *q8Lookup) OutputTypes(in []Type) ([]Type, error) {
	if in[0].DType != Int8 {
		return nil, fmt.Errorf("%w: LookupInt8 input %v", ErrDType, in[0].DType)
	}
	if c := len(k.tables); c > 1 && (len(in[0].Shape) < 2 || in[0].Shape[1] != c && in[0].Shape[1] >= 0) {
		return nil, fmt.Errorf("%w: LookupInt8 with %d channel tables on input %v", ErrShape, c, in[0].Shape)
	}
	return []Type{{DType: Int8, Shape: in[0].Shape}}, nil
}

func (k *q8Lookup) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0].I8, out[0].I8
	out[0].Quant = k.quant
	if len(k.tables) == 1 {
		q8LookupRun(y, x, &k.tables[0])
		return nil
	}
	planes := NumElements(in[0].Shape[:2])
	j := &rc.kernelJobs().q8Lookup
	*j = q8LookupJob{tables: k.tables, x: x, y: y, inner: len(x) / max(planes, 1)}
	rc.parallelFor(blocksFor(rc.Threads, planes, int64(len(x))), planes, j)
	*j = q8LookupJob{}
	return nil
}

// q8LookupJob looks up planes [lo, hi) of an NC... tensor, each in its
// channel's table.
type q8LookupJob struct {
	tables []([256]int8)
	x, y   []int8
	inner  int
}

func (j *q8LookupJob) runRange(lo, hi, _ int) {
	for p := lo; p < hi; p++ {
		q8LookupRun(j.y[p*j.inner:(p+1)*j.inner], j.x[p*j.inner:(p+1)*j.inner], &j.tables[p%len(j.tables)])
	}
}

// q8LookupRun writes table[uint8(x[i])] to y[i] for i < len(x): with
// AVX-512 VBMI 64 bytes a step, with AVX2 32 (q8LookupFast), else this
// loop (the reference).
func q8LookupRun(y, x []int8, table *[256]int8) {
	if q8LookupFast(y, x, table) {
		return
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] = table[uint8(v)]
	}
}

// MACs counts one operation per element.
func (k *q8Lookup) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return int64(NumElements(out[0].Shape))
}

// q8LookupTable evaluates the float op n (LookupSwish: a Sigmoid and a
// Mul) with its own kernels on the 256 dequantized int8 values (x params)
// of each of channels channels, its inputs after the first read from
// consts, quantizes the results (y params) and clamps them to [lo, hi] (a
// Relu or Clip after n: quantization is monotonic, so clamping after it
// equals quantizing after the activation): entry [c][uint8(v)] is
// Q(f_c(DQ(v))). The table is [256] for one channel, else [channels, 256].
func q8LookupTable(n *Node, consts map[string]*Tensor, channels int, x, y q8Params, lo, hi int32) (*Tensor, error) {
	in := New(Float32, 1, channels, 256, 1)
	for i := range in.F32 {
		in.F32[i] = float32(int32(int8(i))-x.Zero) * x.Scale
	}
	f := &Node{Name: "f", Op: n.Op, Inputs: append([]string{"x"}, n.Inputs[min(1, len(n.Inputs)):]...), Outputs: []string{"y"}, Attrs: n.Attrs}
	nodes := []*Node{f}
	if n.Op == LookupSwish {
		nodes = []*Node{{Name: "f", Op: "Sigmoid", Inputs: []string{"x"}, Outputs: []string{"s"}},
			{Name: "m", Op: "Mul", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}}
	}
	g := &Graph{Inputs: []ValueInfo{{Name: "x", Type: in.Type()}}, Outputs: []ValueInfo{{Name: "y"}},
		Nodes: nodes, Consts: map[string]*Tensor{}}
	for _, name := range f.Inputs[1:] {
		if consts[name] == nil {
			return nil, fmt.Errorf("%w: %s input %q is not a constant", ErrGraph, n.Op, name)
		}
		g.Consts[name] = consts[name]
	}
	p, err := Compile(g)
	if err != nil {
		return nil, err
	}
	out, err := p.NewRunner(1).Run(in)
	if err != nil {
		return nil, err
	}
	if len(out) != 1 || out[0].DType != Float32 || len(out[0].F32) != len(in.F32) {
		return nil, fmt.Errorf("%w: %s is not elementwise", ErrGraph, n.Op)
	}
	t := New(Int8, channels, 256)
	if channels == 1 {
		t.Shape = []int{256}
	}
	for i, v := range out[0].F32 {
		t.I8[i] = int8(QuantizeValue(v, y.Scale, y.Zero, lo, hi))
	}
	return t, nil
}

// lookup lowers DQ(x) -> f [-> Relu/Clip] -> Q (f in q8LookupOps), DQ(x) ->
// Sigmoid with a Mul of x and the Sigmoid -> Q (SiLU), and DQ(x) ->
// BatchNormalization (inference, constant parameters) [-> Relu/Clip] -> Q
// (a table per channel) to LookupInt8.
func (l *q8Lowerer) lookup(n *Node) (bool, error) {
	if len(n.Outputs) < 1 || len(n.Inputs) < 1 {
		return false, nil
	}
	for _, o := range n.Outputs[1:] {
		if o != "" {
			return false, nil
		}
	}
	xq, xp, ok := l.actDQ(n.Input(0))
	if !ok {
		return false, nil
	}
	channels := 1
	f := n
	switch {
	case n.Op == "BatchNormalization":
		if len(n.Inputs) != 5 || n.AttrInt("training_mode", 0) != 0 {
			return false, nil
		}
	case len(n.Inputs) != 1:
		return false, nil
	}
	out, mul := n.Outputs[0], l.swishMul(n)
	if mul != nil {
		f, out = &Node{Name: n.Name, Op: LookupSwish}, mul.Outputs[0]
	}
	q, act, yp, ok := l.outQ(out)
	if !ok {
		return false, nil
	}
	if n.Op == "BatchNormalization" {
		// Parameters as constants, or as DequantizeLinear of constants
		// (ONNX Runtime's QDQ form quantizes the scale and bias).
		f = &Node{Name: n.Name, Op: n.Op, Inputs: append([]string(nil), n.Inputs...), Outputs: n.Outputs, Attrs: n.Attrs}
		for i, in := range n.Inputs[1:] {
			name, t := l.floatConst(in)
			if t == nil || len(t.Shape) != 1 || i > 0 && t.Len() != channels {
				return false, nil
			}
			channels = t.Len()
			f.Inputs[i+1] = name
		}
	}
	attrs := map[string]Attr{"op": {Kind: AttrString, Str: f.Op}}
	for name, a := range f.Attrs {
		attrs["op_"+name] = a
	}
	Q8Attrs(attrs, "x", xp.Scale, xp.Zero)
	Q8Attrs(attrs, "y", yp.Scale, yp.Zero)
	q8SetAct(attrs, act, yp)
	lo, hi := q8Range(&Node{Attrs: attrs}, yp)
	table, err := q8LookupTable(f, l.g.Consts, channels, xp, yp, lo, hi)
	if err != nil {
		return false, nil // left in float
	}
	tname := l.name(n.Name + "/table")
	l.g.Consts[tname] = table
	ins := append([]string{xq, tname}, f.Inputs[min(1, len(f.Inputs)):]...)
	l.replace(n, []*Node{{Name: n.Name, Op: "LookupInt8", Inputs: ins, Outputs: []string{q.Outputs[0]}, Attrs: attrs}}, q, mul, act.node)
	return true, nil
}

// floatConst returns name's float32 constant, or for a DequantizeLinear
// of constants a new constant holding its value.
func (l *q8Lowerer) floatConst(name string) (string, *Tensor) {
	if t := l.constOf(name); t != nil {
		if t.DType != Float32 {
			return "", nil
		}
		return name, t
	}
	d := l.prod[name]
	if d == nil || d.Op != "DequantizeLinear" || len(d.Outputs) != 1 {
		return "", nil
	}
	g := &Graph{Outputs: []ValueInfo{{Name: name}}, Nodes: []*Node{d}, Consts: map[string]*Tensor{}}
	for _, in := range d.Inputs {
		if in == "" {
			continue
		}
		if g.Consts[in] = l.constOf(in); g.Consts[in] == nil {
			return "", nil
		}
	}
	p, err := Compile(g)
	if err != nil {
		return "", nil
	}
	out, err := p.NewRunner(1).Run()
	if err != nil || len(out) != 1 || out[0].DType != Float32 {
		return "", nil
	}
	c := l.name(name)
	l.g.Consts[c] = out[0].Clone()
	return c, l.g.Consts[c]
}

// swishMul returns the Mul of x and n's output when n is a Sigmoid of x
// and the two are SiLU (x read by n and the Mul only, n's output by the
// Mul only), else nil.
func (l *q8Lowerer) swishMul(n *Node) *Node {
	x, s := n.Input(0), n.Outputs[0]
	if n.Op != "Sigmoid" || l.isOut[x] || l.isOut[s] || len(l.cons[x]) != 2 || len(l.cons[s]) != 1 {
		return nil
	}
	m := l.cons[s][0]
	if m.Op != "Mul" || len(m.Inputs) != 2 || len(m.Outputs) != 1 ||
		!(m.Input(0) == x && m.Input(1) == s || m.Input(0) == s && m.Input(1) == x) {
		return nil
	}
	return m
}

// LookupFloatOp returns the float op a LookupInt8 node stands for, with its
// attributes (for export as DequantizeLinear -> op -> QuantizeLinear).
func LookupFloatOp(n *Node) (op string, attrs map[string]Attr) {
	attrs = map[string]Attr{}
	for name, a := range n.Attrs {
		if s, ok := strings.CutPrefix(name, "op_"); ok {
			attrs[s] = a
		}
	}
	return n.AttrString("op", ""), attrs
}
