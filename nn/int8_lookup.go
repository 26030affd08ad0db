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
// reads one byte per element.
//
// Inputs: x int8; table int8 constant [256] indexed by uint8(x).
// Attributes: y_scale, y_zero_point (the output's quantization), x_scale,
// x_zero_point, op (the float op, for export) and that op's attributes
// under "op_" + name.
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
	table [256]int8
	quant *Quant
}

func q8BuildLookup(bc *BuildContext) (Kernel, error) {
	t := bc.InputConst(1)
	if t == nil || t.DType != Int8 || t.Len() != 256 {
		return nil, fmt.Errorf("%w: LookupInt8 needs a constant int8 [256] table", ErrGraph)
	}
	y, err := q8Attr(bc.Node, "y")
	if err != nil {
		return nil, err
	}
	k := &q8Lookup{quant: y.quant()}
	copy(k.table[:], t.I8)
	return k, nil
}

func (k *q8Lookup) OutputTypes(in []Type) ([]Type, error) {
	if in[0].DType != Int8 {
		return nil, fmt.Errorf("%w: LookupInt8 input %v", ErrDType, in[0].DType)
	}
	return []Type{{DType: Int8, Shape: in[0].Shape}}, nil
}

func (k *q8Lookup) Run(_ *RunContext, in, out []*Tensor) error {
	x, y := in[0].I8, out[0].I8
	out[0].Quant = k.quant
	q8LookupRun(y, x, &k.table)
	return nil
}

// q8LookupRun writes table[uint8(x[i])] to y[i] for i < len(x): with
// AVX-512 VBMI 64 bytes a step (q8LookupFast), else this loop (the
// reference).
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

// q8LookupTable evaluates the float op n (attributes only; LookupSwish:
// a Sigmoid and a Mul) with its own kernels on the 256 dequantized int8 values (x params) and quantizes the
// results (y params): entry uint8(v) is Q(f(DQ(v))).
func q8LookupTable(n *Node, x, y q8Params) (*Tensor, error) {
	in := New(Float32, 256)
	for i := range in.F32 {
		in.F32[i] = float32(int32(int8(i))-x.Zero) * x.Scale
	}
	nodes := []*Node{{Name: "f", Op: n.Op, Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: n.Attrs}}
	if n.Op == LookupSwish {
		nodes = []*Node{{Name: "f", Op: "Sigmoid", Inputs: []string{"x"}, Outputs: []string{"s"}},
			{Name: "m", Op: "Mul", Inputs: []string{"x", "s"}, Outputs: []string{"y"}}}
	}
	g := &Graph{Inputs: []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{256}}}}, Outputs: []ValueInfo{{Name: "y"}},
		Nodes: nodes}
	p, err := Compile(g)
	if err != nil {
		return nil, err
	}
	out, err := p.NewRunner(1).Run(in)
	if err != nil {
		return nil, err
	}
	if len(out) != 1 || out[0].DType != Float32 || len(out[0].F32) != 256 {
		return nil, fmt.Errorf("%w: %s is not elementwise", ErrGraph, n.Op)
	}
	t := New(Int8, 256)
	for i, v := range out[0].F32 {
		t.I8[i] = int8(QuantizeValue(v, y.Scale, y.Zero, -128, 127))
	}
	return t, nil
}

// lookup lowers DQ(x) -> f -> Q (f in q8LookupOps), and DQ(x) -> Sigmoid
// with a Mul of x and the Sigmoid -> Q (SiLU), to LookupInt8.
func (l *q8Lowerer) lookup(n *Node) (bool, error) {
	if len(n.Inputs) != 1 || len(n.Outputs) != 1 {
		return false, nil
	}
	xq, xp, ok := l.actDQ(n.Input(0))
	if !ok {
		return false, nil
	}
	f, out, mul := n, n.Outputs[0], l.swishMul(n)
	if mul != nil {
		f, out = &Node{Name: n.Name, Op: LookupSwish}, mul.Outputs[0]
	}
	q, act, yp, ok := l.outQ(out)
	if !ok || act.any() {
		return false, nil
	}
	table, err := q8LookupTable(f, xp, yp)
	if err != nil {
		return false, nil // left in float
	}
	tname := l.name(n.Name + "/table")
	l.g.Consts[tname] = table
	attrs := map[string]Attr{"op": {Kind: AttrString, Str: f.Op}}
	for name, a := range f.Attrs {
		attrs["op_"+name] = a
	}
	Q8Attrs(attrs, "x", xp.Scale, xp.Zero)
	Q8Attrs(attrs, "y", yp.Scale, yp.Zero)
	l.replace(n, []*Node{{Name: n.Name, Op: "LookupInt8", Inputs: []string{xq, tname}, Outputs: []string{q.Outputs[0]}, Attrs: attrs}}, q, mul)
	return true, nil
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
