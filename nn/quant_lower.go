package nn

import (
	"fmt"
	"math"
)

// LowerQDQ returns a copy of g in which the QuantizeLinear/DequantizeLinear
// ("QDQ") patterns around float operators are replaced by splitinfer's int8
// kernels, so the arithmetic really runs in int8 (not fake-quant):
//
//	DQ(x) , DQ(w), [bias] -> Conv [-> Relu] -> Q      => QLinearConvInt8
//	DQ(x) , DQ(w), [bias] -> Gemm/MatMul [-> Relu] -> Q => QLinearGemmInt8
//	DQ(a) , DQ(b) -> Add [-> Relu] -> Q               => QLinearAddInt8
//	DQ(a) , DQ(b) -> Mul [-> Relu] -> Q               => QLinearMulInt8 (broadcasting: SE gates)
//	DQ(x) -> MaxPool -> Q                             => MaxPoolInt8 [+ RequantizeInt8]
//	DQ(x) -> GlobalAveragePool -> Q                   => QLinearGlobalAveragePoolInt8
//	DQ(x) -> AveragePool -> Q                         => AveragePoolInt8
//	DQ(x) -> Reshape/Flatten/Transpose -> Q           => the same op on int8 [+ RequantizeInt8]
//	DQ(x) -> Split -> Q, Q, ...                       => Split on int8 [+ RequantizeInt8 of outputs]
//	DQ(x) -> HardSwish/Sigmoid/... [-> Relu] -> Q     => LookupInt8 (a 256-entry table, int8_lookup.go)
//	DQ(x) -> BatchNormalization [-> Relu] -> Q        => LookupInt8 (a table per channel)
//	DQ(x1), DQ(x2), ... -> Concat -> Q                => Concat on int8 [+ RequantizeInt8 of inputs]
//	Q(DQ(x))                                          => x, or RequantizeInt8(x)
//
// Activations must be int8 or uint8 (ONNX Runtime's default; shifted to
// int8 with zero point − 128, which is exact) with per-tensor constant
// scale and zero point;
// weights int8 constants, symmetric (zero point 0), per output channel or
// per tensor. Bias may be a float32 constant (quantized here with scale
// x_scale·w_scale[c], round half to even, saturated to int32) or the
// DequantizeLinear of an int32 constant (ONNX Runtime's form, used as is
// when its scale is x_scale·w_scale[c]). ReLU and Clip with constant bounds
// (ReLU6) — an explicit node or FuseActivations' "activation" attribute —
// become the kernels' relu flag or quantized y_min/y_max bounds.
// Everything else is left as it is and keeps running in float32 between its
// DequantizeLinear and QuantizeLinear, which are real kernels too.
func LowerQDQ(g *Graph) (*Graph, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	c := g.Clone()
	q8Uint8ToInt8(c)
	l := &q8Lowerer{g: c}
	for guard := 0; guard < 4*len(c.Nodes)+16; guard++ {
		changed, err := l.step()
		if err != nil {
			return nil, err
		}
		if !changed {
			break
		}
	}
	q8DropDead(c)
	if err := c.TopoSort(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("nn: LowerQDQ produced an invalid graph: %w", err)
	}
	return c, nil
}

type q8Lowerer struct {
	g     *Graph
	prod  map[string]*Node
	cons  map[string][]*Node
	isOut map[string]bool
	seq   int
}

func (l *q8Lowerer) index() {
	l.prod = map[string]*Node{}
	l.cons = map[string][]*Node{}
	l.isOut = map[string]bool{}
	for _, n := range l.g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				l.prod[o] = n
			}
		}
		for _, in := range n.Inputs {
			if in != "" {
				l.cons[in] = append(l.cons[in], n)
			}
		}
	}
	for _, o := range l.g.Outputs {
		l.isOut[o.Name] = true
	}
}

// step applies the first rewrite it finds and reports whether it did.
func (l *q8Lowerer) step() (bool, error) {
	l.index()
	for _, n := range l.g.Nodes {
		var ok bool
		var err error
		switch n.Op {
		case "Conv":
			ok, err = l.conv(n)
		case "Gemm", "MatMul":
			ok, err = l.gemm(n)
		case "Add", "Mul":
			ok, err = l.binary(n)
		case "MaxPool", "Reshape", "Flatten", "Transpose":
			ok, err = l.passThrough(n)
		case "Split":
			ok, err = l.split(n)
		case "GlobalAveragePool", "AveragePool":
			ok, err = l.avgPool(n)
		case "BatchNormalization":
			ok, err = l.lookup(n)
		case "Concat":
			ok, err = l.concat(n)
		case "QuantizeLinear":
			ok, err = l.requant(n)
		default:
			if q8LookupOps[n.Op] {
				ok, err = l.lookup(n)
			}
		}
		if err != nil {
			return false, fmt.Errorf("nn: lowering %s: %w", n, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func (l *q8Lowerer) constOf(name string) *Tensor {
	if name == "" {
		return nil
	}
	return l.g.Consts[name]
}

// scalarParams reads a constant per-tensor scale and int8 zero point.
func (l *q8Lowerer) scalarParams(n *Node) (q8Params, bool) {
	s, z := l.constOf(n.Input(1)), l.constOf(n.Input(2))
	if s == nil || s.DType != Float32 || len(s.F32) != 1 || z == nil || z.DType != Int8 || len(z.I8) != 1 {
		return q8Params{}, false
	}
	p := q8Params{Scale: s.F32[0], Zero: int32(z.I8[0])}
	return p, p.check("activation") == nil
}

// actDQ matches name = DequantizeLinear(xq) of an int8 activation.
func (l *q8Lowerer) actDQ(name string) (string, q8Params, bool) {
	d := l.prod[name]
	if d == nil || d.Op != "DequantizeLinear" || l.constOf(d.Input(0)) != nil {
		return "", q8Params{}, false
	}
	p, ok := l.scalarParams(d)
	return d.Input(0), p, ok
}

// weightDQ matches name = DequantizeLinear(w) of a symmetric int8 constant.
func (l *q8Lowerer) weightDQ(name string) (w *Tensor, wname string, scales []float32, axis int, ok bool) {
	d := l.prod[name]
	if d == nil || d.Op != "DequantizeLinear" {
		return nil, "", nil, 0, false
	}
	w = l.constOf(d.Input(0))
	s := l.constOf(d.Input(1))
	if w == nil || w.DType != Int8 || s == nil || s.DType != Float32 || len(s.F32) == 0 {
		return nil, "", nil, 0, false
	}
	for _, v := range s.F32 {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return nil, "", nil, 0, false
		}
	}
	if z := l.constOf(d.Input(2)); z != nil {
		if z.DType != Int8 || z.Len() != len(s.F32) {
			return nil, "", nil, 0, false
		}
		for _, v := range z.I8 {
			if v != 0 {
				return nil, "", nil, 0, false
			}
		}
	} else if d.Input(2) != "" {
		return nil, "", nil, 0, false
	}
	axis = int(d.AttrInt("axis", 1))
	if axis < 0 {
		axis += len(w.Shape)
	}
	if len(s.F32) > 1 && (axis < 0 || axis >= len(w.Shape) || w.Shape[axis] != len(s.F32)) {
		return nil, "", nil, 0, false
	}
	return w, d.Input(0), s.F32, axis, true
}

// q8Act is an activation folded into an int8 kernel: ReLU, or a Clip
// with float bounds.
type q8Act struct {
	node     *Node // the explicit Relu/Clip node (nil when fused or none)
	relu     bool
	clip     bool
	min, max float32
}

func (a q8Act) any() bool { return a.relu || a.clip }

// actNode reads an explicit Relu or Clip with constant bounds.
func (l *q8Lowerer) actNode(c *Node) (q8Act, bool) {
	switch c.Op {
	case "Relu":
		return q8Act{node: c, relu: true}, true
	case "Clip":
		a := q8Act{node: c, clip: true, min: float32(math.Inf(-1)), max: float32(math.Inf(1))}
		if len(c.Inputs) > 1 {
			for i, dst := range []*float32{&a.min, &a.max} {
				name := c.Input(i + 1)
				if name == "" {
					continue
				}
				t := l.constOf(name)
				if t == nil || t.DType != Float32 || len(t.F32) != 1 {
					return q8Act{}, false
				}
				*dst = t.F32[0]
			}
		} else {
			a.min = c.AttrFloat("min", a.min)
			a.max = c.AttrFloat("max", a.max)
		}
		return a, true
	}
	return q8Act{}, false
}

// q8FusedAct reads the "activation" attribute set by FuseActivations.
func q8FusedAct(n *Node) (q8Act, bool) {
	switch n.AttrString("activation", "") {
	case "":
		return q8Act{}, true
	case "Relu":
		return q8Act{relu: true}, true
	case "Clip":
		return q8Act{clip: true, min: n.AttrFloat("activation_min", float32(math.Inf(-1))),
			max: n.AttrFloat("activation_max", float32(math.Inf(1)))}, true
	}
	return q8Act{}, false
}

// q8SetAct writes the activation as kernel attributes for output params yp.
func q8SetAct(attrs map[string]Attr, a q8Act, yp q8Params) {
	if a.relu {
		attrs["relu"] = Attr{Kind: AttrInt, Int: 1}
	}
	if a.clip {
		attrs["y_min"] = Attr{Kind: AttrInt, Int: int64(QuantizeValue(a.min, yp.Scale, yp.Zero, -128, 127))}
		attrs["y_max"] = Attr{Kind: AttrInt, Int: int64(QuantizeValue(a.max, yp.Scale, yp.Zero, -128, 127))}
	}
}

// outQ follows name through an optional Relu or Clip to its sole
// QuantizeLinear.
func (l *q8Lowerer) outQ(name string) (q *Node, act q8Act, p q8Params, ok bool) {
	cur := name
	for step := 0; step < 2; step++ {
		if l.isOut[cur] || len(l.cons[cur]) != 1 {
			return nil, q8Act{}, q8Params{}, false
		}
		c := l.cons[cur][0]
		if len(c.Outputs) != 1 {
			return nil, q8Act{}, q8Params{}, false
		}
		if step == 0 && (c.Op == "Relu" || c.Op == "Clip") && c.Input(0) == cur {
			a, ok := l.actNode(c)
			if !ok {
				return nil, q8Act{}, q8Params{}, false
			}
			act = a
			cur = c.Outputs[0]
			continue
		}
		if c.Op == "QuantizeLinear" && c.Input(0) == cur {
			p, ok = l.scalarParams(c)
			return c, act, p, ok
		}
		return nil, q8Act{}, q8Params{}, false
	}
	return nil, q8Act{}, q8Params{}, false
}

func (l *q8Lowerer) name(base string) string {
	for {
		l.seq++
		s := fmt.Sprintf("%s/q8_%d", base, l.seq)
		if _, c := l.g.Consts[s]; !c && l.prod[s] == nil && l.g.Node(s) == nil && !l.isInput(s) {
			return s
		}
	}
}

func (l *q8Lowerer) isInput(name string) bool {
	for _, in := range l.g.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

// replace puts nn in place of old and deletes the listed nodes.
func (l *q8Lowerer) replace(old *Node, repl []*Node, del ...*Node) {
	drop := map[*Node]bool{}
	for _, d := range del {
		if d != nil {
			drop[d] = true
		}
	}
	out := make([]*Node, 0, len(l.g.Nodes)+len(repl))
	for _, n := range l.g.Nodes {
		if n == old {
			out = append(out, repl...)
			continue
		}
		if !drop[n] {
			out = append(out, n)
		}
	}
	l.g.Nodes = out
}

// biasInt32 returns the int32 bias for per-channel accumulator scales
// xs·ws[c], from a float constant or an int32 DequantizeLinear.
func (l *q8Lowerer) biasInt32(name string, n int, xs float32, ws []float32) (string, bool) {
	if name == "" {
		return "", true
	}
	accScale := func(c int) float64 {
		s := ws[0]
		if len(ws) > 1 {
			s = ws[c]
		}
		return float64(xs) * float64(s)
	}
	var real []float64
	if b := l.constOf(name); b != nil {
		if b.DType != Float32 || b.Len() != n {
			return "", false
		}
		for _, v := range b.F32 {
			real = append(real, float64(v))
		}
	} else if d := l.prod[name]; d != nil && d.Op == "DequantizeLinear" {
		b, s := l.constOf(d.Input(0)), l.constOf(d.Input(1))
		if b == nil || b.DType != Int32 || b.Len() != n || s == nil || s.DType != Float32 || (len(s.F32) != 1 && len(s.F32) != n) {
			return "", false
		}
		var zp []int32
		if z := l.constOf(d.Input(2)); z != nil {
			if z.DType != Int32 || z.Len() != len(s.F32) {
				return "", false
			}
			zp = z.I32
		}
		exact := true
		for c := 0; c < n; c++ {
			sc, z := s.F32[0], int32(0)
			if len(s.F32) > 1 {
				sc = s.F32[c]
			}
			if zp != nil {
				z = zp[min(c, len(zp)-1)]
			}
			real = append(real, float64(int64(b.I32[c])-int64(z))*float64(sc))
			if z != 0 || math.Abs(float64(sc)-accScale(c)) > 1e-6*accScale(c) {
				exact = false
			}
		}
		if exact {
			return d.Input(0), true
		}
	} else {
		return "", false
	}
	t := New(Int32, n)
	for c, v := range real {
		q := math.RoundToEven(v / accScale(c))
		t.I32[c] = int32(math.Max(math.MinInt32, math.Min(math.MaxInt32, q)))
	}
	nm := l.name(name + "/int32")
	l.g.Consts[nm] = t
	return nm, true
}

func q8Floats(v []float32) Attr {
	return Attr{Kind: AttrFloats, Floats: append([]float32(nil), v...)}
}

func (l *q8Lowerer) conv(n *Node) (bool, error) {
	if n.AttrString("auto_pad", "NOTSET") != "NOTSET" || len(n.Outputs) != 1 {
		return false, nil
	}
	fused, ok := q8FusedAct(n)
	if !ok {
		return false, nil
	}
	xq, xp, ok := l.actDQ(n.Input(0))
	if !ok {
		return false, nil
	}
	w, wname, ws, axis, ok := l.weightDQ(n.Input(1))
	if !ok || len(w.Shape) != 4 || (len(ws) > 1 && axis != 0) {
		return false, nil
	}
	q, act, yp, ok := l.outQ(n.Outputs[0])
	if !ok || (fused.any() && act.any()) {
		return false, nil
	}
	if fused.any() {
		act = fused
	}
	bname, ok := l.biasInt32(n.Input(2), w.Shape[0], xp.Scale, ws)
	if !ok {
		return false, nil
	}
	attrs := map[string]Attr{"w_scale": q8Floats(ws)}
	for _, k := range []string{"strides", "pads", "dilations", "group", "kernel_shape"} {
		if a, ok := n.Attrs[k]; ok {
			attrs[k] = a
		}
	}
	if ps := n.AttrInts("pads", nil); ps != nil && len(ps) != 4 {
		return false, nil
	}
	Q8Attrs(attrs, "x", xp.Scale, xp.Zero)
	Q8Attrs(attrs, "y", yp.Scale, yp.Zero)
	q8SetAct(attrs, act, yp)
	ins := []string{xq, wname}
	if bname != "" {
		ins = append(ins, bname)
	}
	nn := &Node{Name: n.Name, Op: "QLinearConvInt8", Inputs: ins, Outputs: []string{q.Outputs[0]}, Attrs: attrs}
	l.replace(n, []*Node{nn}, q, act.node)
	return true, nil
}

func (l *q8Lowerer) gemm(n *Node) (bool, error) {
	if len(n.Outputs) != 1 {
		return false, nil
	}
	fused, ok := q8FusedAct(n)
	if !ok {
		return false, nil
	}
	if n.Op == "Gemm" && (n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 || n.AttrInt("transA", 0) != 0) {
		return false, nil
	}
	xq, xp, ok := l.actDQ(n.Input(0))
	if !ok {
		return false, nil
	}
	w, wname, ws, axis, ok := l.weightDQ(n.Input(1))
	if !ok || len(w.Shape) != 2 {
		return false, nil
	}
	transB := n.Op == "Gemm" && n.AttrInt("transB", 0) != 0
	outAxis := 1
	if transB {
		outAxis = 0
	}
	if len(ws) > 1 && axis != outAxis {
		return false, nil
	}
	q, act, yp, ok := l.outQ(n.Outputs[0])
	if !ok || (fused.any() && act.any()) {
		return false, nil
	}
	if fused.any() {
		act = fused
	}
	nOut := w.Shape[outAxis]
	bias := ""
	if n.Op == "Gemm" {
		bias = n.Input(2)
		if b := l.constOf(bias); b != nil && b.Len() != nOut {
			return false, nil // broadcast bias shapes other than [N] stay float
		}
	}
	bname, ok := l.biasInt32(bias, nOut, xp.Scale, ws)
	if !ok {
		return false, nil
	}
	if !transB {
		k := w.Shape[0]
		t := New(Int8, nOut, k)
		for i := 0; i < k; i++ {
			for j := 0; j < nOut; j++ {
				t.I8[j*k+i] = w.I8[i*nOut+j]
			}
		}
		wname = l.name(wname + "/T")
		l.g.Consts[wname] = t
	}
	attrs := map[string]Attr{"w_scale": q8Floats(ws)}
	Q8Attrs(attrs, "x", xp.Scale, xp.Zero)
	Q8Attrs(attrs, "y", yp.Scale, yp.Zero)
	q8SetAct(attrs, act, yp)
	ins := []string{xq, wname}
	if bname != "" {
		ins = append(ins, bname)
	}
	nn := &Node{Name: n.Name, Op: "QLinearGemmInt8", Inputs: ins, Outputs: []string{q.Outputs[0]}, Attrs: attrs}
	l.replace(n, []*Node{nn}, q, act.node)
	return true, nil
}

// binary lowers DQ(a) op DQ(b) [-> Relu/Clip] -> Q, for Add and Mul, to
// QLinearAddInt8 or QLinearMulInt8 (SiLU, x · sigmoid(x), is a LookupInt8
// instead: see lookup).
func (l *q8Lowerer) binary(n *Node) (bool, error) {
	if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
		return false, nil
	}
	aq, ap, ok := l.actDQ(n.Input(0))
	if !ok {
		return false, nil
	}
	bq, bp, ok := l.actDQ(n.Input(1))
	if !ok {
		return false, nil
	}
	q, act, yp, ok := l.outQ(n.Outputs[0])
	if !ok {
		return false, nil
	}
	op := "QLinearMulInt8"
	if n.Op == "Add" {
		op = "QLinearAddInt8"
		if _, _, _, err := q8AddMultipliers(ap.Scale, bp.Scale, yp.Scale); err != nil {
			return false, nil
		}
	}
	attrs := map[string]Attr{}
	Q8Attrs(attrs, "a", ap.Scale, ap.Zero)
	Q8Attrs(attrs, "b", bp.Scale, bp.Zero)
	Q8Attrs(attrs, "y", yp.Scale, yp.Zero)
	q8SetAct(attrs, act, yp)
	nn := &Node{Name: n.Name, Op: op, Inputs: []string{aq, bq}, Outputs: []string{q.Outputs[0]}, Attrs: attrs}
	l.replace(n, []*Node{nn}, q, act.node)
	return true, nil
}

// passThrough lowers MaxPool, Reshape, Flatten and Transpose to int8.
func (l *q8Lowerer) passThrough(n *Node) (bool, error) {
	if len(n.Outputs) < 1 || (len(n.Outputs) > 1 && n.Outputs[1] != "") {
		return false, nil
	}
	xq, xp, ok := l.actDQ(n.Input(0))
	if !ok {
		return false, nil
	}
	if l.isOut[n.Outputs[0]] || len(l.cons[n.Outputs[0]]) != 1 {
		return false, nil
	}
	q := l.cons[n.Outputs[0]][0]
	if q.Op != "QuantizeLinear" || q.Input(0) != n.Outputs[0] || len(q.Outputs) != 1 {
		return false, nil
	}
	yp, ok := l.scalarParams(q)
	if !ok {
		return false, nil
	}
	op := n.Op
	var attrs map[string]Attr
	switch n.Op {
	case "MaxPool":
		if n.AttrString("auto_pad", "NOTSET") != "NOTSET" || n.AttrInt("storage_order", 0) != 0 || len(n.AttrInts("kernel_shape", nil)) != 2 {
			return false, nil
		}
		op = "MaxPoolInt8"
		attrs = q8WindowAttrs(n)
	case "Reshape":
		if l.constOf(n.Input(1)) == nil {
			return false, nil
		}
		attrs = n.Attrs
	default:
		attrs = n.Attrs
	}
	ins := append([]string{xq}, n.Inputs[1:]...)
	out := q.Outputs[0]
	var repl []*Node
	if xp != yp {
		mid := l.name(out)
		repl = append(repl,
			&Node{Name: n.Name, Op: op, Inputs: ins, Outputs: []string{mid}, Attrs: attrs},
			q8RequantNode(l.name(n.Name), mid, out, xp, yp))
	} else {
		repl = append(repl, &Node{Name: n.Name, Op: op, Inputs: ins, Outputs: []string{out}, Attrs: attrs})
	}
	l.replace(n, repl, q)
	return true, nil
}

// requant removes Q(DQ(x)) with equal parameters (readers read x) or turns
// it into RequantizeInt8.
func (l *q8Lowerer) requant(q *Node) (bool, error) {
	if len(q.Outputs) != 1 {
		return false, nil
	}
	xq, xp, ok := l.actDQ(q.Input(0))
	if !ok {
		return false, nil
	}
	yp, ok := l.scalarParams(q)
	if !ok {
		return false, nil
	}
	out := q.Outputs[0]
	if xp == yp && !l.isOut[out] {
		for _, c := range l.cons[out] {
			for i, in := range c.Inputs {
				if in == out {
					c.Inputs[i] = xq
				}
			}
		}
		l.replace(q, nil)
		return true, nil
	}
	if xp == yp {
		return false, nil
	}
	l.replace(q, []*Node{q8RequantNode(q.Name, xq, out, xp, yp)})
	return true, nil
}

// q8RequantNode returns a RequantizeInt8 node named name from in (xp) to
// out (yp).
func q8RequantNode(name, in, out string, xp, yp q8Params) *Node {
	rq := map[string]Attr{}
	Q8Attrs(rq, "x", xp.Scale, xp.Zero)
	Q8Attrs(rq, "y", yp.Scale, yp.Zero)
	return &Node{Name: name, Op: "RequantizeInt8", Inputs: []string{in}, Outputs: []string{out}, Attrs: rq}
}

// split lowers DQ(x) -> Split -> a Q of each output to a Split of the int8
// value, each output whose quantization differs from x's requantized after.
func (l *q8Lowerer) split(n *Node) (bool, error) {
	xq, xp, ok := l.actDQ(n.Input(0))
	if !ok || len(n.Outputs) == 0 {
		return false, nil
	}
	outs := make([]string, len(n.Outputs))
	var qs, rqs []*Node
	for i, o := range n.Outputs {
		if o == "" {
			continue
		}
		q, act, yp, ok := l.outQ(o)
		if !ok || act.any() {
			return false, nil
		}
		qs = append(qs, q)
		outs[i] = q.Outputs[0]
		if yp != xp {
			outs[i] = l.name(q.Outputs[0])
			rqs = append(rqs, q8RequantNode(l.name(n.Name), outs[i], q.Outputs[0], xp, yp))
		}
	}
	sp := &Node{Name: n.Name, Op: "Split", Inputs: append([]string{xq}, n.Inputs[1:]...), Outputs: outs, Attrs: n.Attrs}
	l.replace(n, append([]*Node{sp}, rqs...), qs...)
	return true, nil
}

// concat lowers DQ(x1), DQ(x2), ... -> Concat -> Q to a Concat of the int8
// values (a byte copy), each input whose quantization differs from the
// output's requantized first (RequantizeInt8).
func (l *q8Lowerer) concat(n *Node) (bool, error) {
	if len(n.Inputs) == 0 || len(n.Outputs) != 1 {
		return false, nil
	}
	q, act, yp, ok := l.outQ(n.Outputs[0])
	if !ok || act.any() {
		return false, nil
	}
	var repl []*Node
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		xq, xp, ok := l.actDQ(in)
		if !ok {
			return false, nil
		}
		ins[i] = xq
		if xp != yp {
			ins[i] = l.name(q.Outputs[0])
			repl = append(repl, q8RequantNode(l.name(n.Name), xq, ins[i], xp, yp))
		}
	}
	repl = append(repl, &Node{Name: n.Name, Op: "Concat", Inputs: ins, Outputs: []string{q.Outputs[0]}, Attrs: n.Attrs})
	l.replace(n, repl, q)
	return true, nil
}

// q8WindowAttrs copies a 2-D pool's window attributes.
func q8WindowAttrs(n *Node) map[string]Attr {
	attrs := map[string]Attr{}
	for _, k := range []string{"kernel_shape", "strides", "pads", "dilations", "ceil_mode", "count_include_pad"} {
		if a, ok := n.Attrs[k]; ok {
			attrs[k] = a
		}
	}
	return attrs
}

// avgPool lowers DQ -> GlobalAveragePool -> Q and DQ -> AveragePool (2-D)
// -> Q.
func (l *q8Lowerer) avgPool(n *Node) (bool, error) {
	xq, xp, ok := l.actDQ(n.Input(0))
	if !ok || len(n.Outputs) != 1 {
		return false, nil
	}
	q, act, yp, ok := l.outQ(n.Outputs[0])
	if !ok || act.any() {
		return false, nil
	}
	op, attrs := "QLinearGlobalAveragePoolInt8", map[string]Attr{}
	if n.Op == "AveragePool" {
		if n.AttrString("auto_pad", "NOTSET") != "NOTSET" || len(n.AttrInts("kernel_shape", nil)) != 2 {
			return false, nil
		}
		op, attrs = "AveragePoolInt8", q8WindowAttrs(n)
	}
	Q8Attrs(attrs, "x", xp.Scale, xp.Zero)
	Q8Attrs(attrs, "y", yp.Scale, yp.Zero)
	l.replace(n, []*Node{{Name: n.Name, Op: op, Inputs: []string{xq}, Outputs: []string{q.Outputs[0]}, Attrs: attrs}}, q)
	return true, nil
}

// q8Uint8ToInt8 rewrites uint8 activation quantization to int8: a
// QuantizeLinear with a uint8 zero point z whose output is read only by
// DequantizeLinear nodes with the same zero point gets the int8 zero point
// z − 128, and so do those readers. q_int8 = q_uint8 − 128 for every value
// (the saturation bounds shift too), so the dequantized values are equal.
func q8Uint8ToInt8(g *Graph) {
	cons := map[string][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			cons[in] = append(cons[in], n)
		}
	}
	isOut := map[string]bool{}
	for _, o := range g.Outputs {
		isOut[o.Name] = true
	}
	u8zp := func(n *Node) (uint8, bool) {
		if n.Input(2) == "" {
			return 0, len(n.Inputs) >= 2 // ONNX default: uint8, zero point 0
		}
		z := g.Consts[n.Input(2)]
		if z == nil || z.DType != Uint8 || len(z.U8) != 1 {
			return 0, false
		}
		return z.U8[0], true
	}
	seq := 0
	for _, q := range g.Nodes {
		if q.Op != "QuantizeLinear" || len(q.Outputs) != 1 || isOut[q.Outputs[0]] {
			continue
		}
		z, ok := u8zp(q)
		s := g.Consts[q.Input(1)]
		if !ok || s == nil || s.DType != Float32 || len(s.F32) != 1 {
			continue
		}
		readers := cons[q.Outputs[0]]
		for _, d := range readers {
			dz, ok := u8zp(d)
			ds := g.Consts[d.Input(1)]
			if d.Op != "DequantizeLinear" || d.Input(0) != q.Outputs[0] || !ok || dz != z || ds == nil || len(ds.F32) != 1 || ds.F32[0] != s.F32[0] {
				readers = nil
				break
			}
		}
		if len(readers) == 0 {
			continue
		}
		var name string
		for {
			seq++
			name = fmt.Sprintf("%s/int8_zero_point_%d", q.Outputs[0], seq)
			if _, used := g.Consts[name]; !used {
				break
			}
		}
		g.Consts[name] = &Tensor{DType: Int8, Shape: []int{}, I8: []int8{int8(int32(z) - 128)}}
		for _, n := range append([]*Node{q}, readers...) {
			for len(n.Inputs) < 3 {
				n.Inputs = append(n.Inputs, "")
			}
			n.Inputs[2] = name
		}
	}
}

// q8DropDead removes nodes none of whose outputs is read or is a graph
// output, and constants nothing reads.
func q8DropDead(g *Graph) {
	for {
		used := map[string]bool{}
		for _, o := range g.Outputs {
			used[o.Name] = true
		}
		for _, n := range g.Nodes {
			for _, in := range n.Inputs {
				used[in] = true
			}
		}
		kept := g.Nodes[:0]
		removed := false
		for _, n := range g.Nodes {
			live := false
			for _, o := range n.Outputs {
				if o != "" && used[o] {
					live = true
				}
			}
			if live {
				kept = append(kept, n)
			} else {
				removed = true
			}
		}
		g.Nodes = kept
		if !removed {
			for name := range g.Consts {
				if !used[name] {
					delete(g.Consts, name)
				}
			}
			return
		}
	}
}
