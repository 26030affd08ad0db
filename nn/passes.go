package nn

import (
	"fmt"
	"math"
	"strconv"
)

// Graph passes. Each public pass works on a copy of its argument (Clone,
// so constant tensors are shared but never modified) and returns the new
// graph; the argument is left as it was.

// Optimize runs the standard inference pipeline on a copy of g: removal of
// Identity and inference-mode Dropout, symbolic shape folding (the dynamic
// reshape PyTorch emits for x.view(x.size(0), -1) becomes a constant
// target), constant folding, folding of a zero Pad into the Conv it feeds,
// folding of BatchNormalization, and of a Mul, Div, Add or Sub by a constant
// per channel, into the preceding Conv or Gemm, fusion of Relu/Clip into the Conv or Gemm before
// them (FuseActivations), and finally removal of nodes and constants that no
// longer contribute to an output. The result computes the same outputs as g.
func Optimize(g *Graph) (*Graph, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: nil graph", ErrGraph)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	c := g.Clone()
	removeIdentities(c)
	if err := foldShapes(c); err != nil {
		return nil, err
	}
	foldConstants(c)
	foldPadIntoConv(c)
	foldBatchNorm(c)
	foldAffineIntoConv(c)
	c, err := fuseActivationsPass(c)
	if err != nil {
		return nil, err
	}
	passEliminateDead(c)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("nn: optimize produced an invalid graph: %w", err)
	}
	return c, nil
}

// FoldConstants returns a copy of g in which every node whose inputs are all
// constants is evaluated with its registered kernel and replaced by the
// constants it computes. Nodes that cannot be evaluated (no kernel, an
// error, a random op, QuantizeLinear/DequantizeLinear which int8 lowering
// needs to see, an output above 4M elements or above 2^28 MACs) are left in place.
func FoldConstants(g *Graph) (*Graph, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	c := g.Clone()
	foldConstants(c)
	passEliminateDead(c)
	return c, nil
}

// FoldBatchNorm returns a copy of g in which each inference-mode
// BatchNormalization whose input comes from a Conv or Gemm with constant
// float32 weights (and that BatchNormalization is the only reader of that
// output) is folded into the weights and bias of the Conv or Gemm.
func FoldBatchNorm(g *Graph) (*Graph, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	c := g.Clone()
	foldBatchNorm(c)
	passEliminateDead(c)
	return c, nil
}

// RemoveIdentities returns a copy of g without Identity nodes and
// inference-mode Dropout nodes (their readers read the source directly),
// except where the source and the result are both needed by name (an
// Identity from a graph input to a graph output).
func RemoveIdentities(g *Graph) (*Graph, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	c := g.Clone()
	removeIdentities(c)
	return c, nil
}

// FoldShapes returns a copy of g in which shape computations are evaluated
// symbolically: Shape of a tensor whose shape is known (given the graph
// input types, with dynamic dimensions as symbols) and the Gather, Slice,
// Unsqueeze, Squeeze, Concat, Cast and arithmetic nodes working on such
// values become constants, and a Reshape whose target depends only on
// dynamic dimensions it can copy (0) or infer (-1) gets a constant target.
// The shape nodes that are then unused disappear.
func FoldShapes(g *Graph) (*Graph, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	c := g.Clone()
	if err := foldShapes(c); err != nil {
		return nil, err
	}
	passEliminateDead(c)
	return c, nil
}

// maxFoldElements bounds what constant folding may materialize, so that a
// small hostile model cannot make the loader allocate gigabytes.
const maxFoldElements = 1 << 22

// maxFoldMACs bounds the arithmetic constant folding may spend on one node.
const maxFoldMACs = 1 << 28

// noFold lists ops whose constant inputs must not be folded away.
var noFold = map[string]bool{
	"QuantizeLinear":    true, // int8 lowering pattern-matches Q/DQ pairs
	"DequantizeLinear":  true,
	"RandomNormal":      true,
	"RandomUniform":     true,
	"RandomNormalLike":  true,
	"RandomUniformLike": true,
	"Multinomial":       true,
	"Bernoulli":         true,
}

func passBuilder(op string) (Builder, bool) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	b, ok := registry[op]
	return b, ok
}

// foldBudget is how many elements constant folding may materialize in one
// graph: twice what its constants hold, plus 1M, so that the memory a
// loaded model takes stays proportional to its file.
func foldBudget(g *Graph) int {
	n := 1 << 20
	for _, c := range g.Consts {
		n += 2 * c.Len()
	}
	return n
}

func foldConstants(g *Graph) {
	budget := foldBudget(g)
	keep := make([]*Node, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		if !passFoldable(g, n) {
			keep = append(keep, n)
			continue
		}
		outs, err := passEvalNode(g, n, min(budget, maxFoldElements))
		if err != nil {
			keep = append(keep, n)
			continue
		}
		for _, o := range outs {
			budget -= o.Len()
		}
		for i, o := range n.Outputs {
			if o != "" {
				g.Consts[o] = outs[i]
			}
		}
	}
	g.Nodes = keep
}

func passFoldable(g *Graph, n *Node) bool {
	if noFold[n.Op] || !Registered(n.Op) {
		return false
	}
	any := false
	for _, in := range n.Inputs {
		if in == "" {
			continue
		}
		if _, ok := g.Consts[in]; !ok {
			return false
		}
		any = true
	}
	return any
}

// passEvalNode runs one node whose inputs are constants and returns its outputs.
// At most limit output elements are allocated.
func passEvalNode(g *Graph, n *Node, limit int) (outs []*Tensor, err error) {
	defer func() {
		// A kernel bug must not take the loader down: folding is optional.
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("%w: folding %s panicked: %v", ErrGraph, n, r)
		}
	}()
	b, ok := passBuilder(n.Op)
	if !ok {
		return nil, &UnsupportedError{Op: n.Op, Node: n.Name}
	}
	k, err := b(&BuildContext{Graph: g, Node: n})
	if err != nil {
		return nil, err
	}
	in := make([]*Tensor, len(n.Inputs))
	types := make([]Type, len(n.Inputs))
	for i, name := range n.Inputs {
		if name != "" {
			in[i] = g.Consts[name]
			types[i] = in[i].Type()
		}
	}
	outT, err := k.OutputTypes(types)
	if err != nil {
		return nil, err
	}
	if len(outT) < len(n.Outputs) {
		return nil, fmt.Errorf("%w: %s yields %d outputs", ErrGraph, n, len(outT))
	}
	total := 0
	for _, t := range outT[:len(n.Outputs)] {
		e := NumElements(t.Shape)
		if e < 0 || t.DType.Size() == 0 {
			return nil, fmt.Errorf("%w: %s output type %v", ErrShape, n, t)
		}
		total += e
		if total > limit {
			return nil, fmt.Errorf("%w: %s output too large to fold", ErrShape, n)
		}
	}
	if NodeMACs(k, types, outT) > maxFoldMACs {
		return nil, fmt.Errorf("%w: %s too costly to fold", ErrShape, n)
	}
	outs = make([]*Tensor, len(n.Outputs))
	for i := range outs {
		outs[i] = New(outT[i].DType, outT[i].Shape...)
	}
	if a, ok := k.(Aliaser); ok {
		src := in[a.AliasInput()]
		if src == nil || src.Len() != outs[0].Len() || src.DType != outs[0].DType {
			return nil, fmt.Errorf("%w: %s alias of a different size", ErrShape, n)
		}
		copy(outs[0].Bytes(), src.Bytes())
		return outs, nil
	}
	if err := k.Run(&RunContext{Threads: 1}, in, outs); err != nil {
		return nil, err
	}
	return outs, nil
}

// passEliminateDead removes nodes none of whose outputs is read (by a kept node
// or as a graph output) and constants nobody reads.
func passEliminateDead(g *Graph) {
	live := make(map[string]bool)
	for _, o := range g.Outputs {
		live[o.Name] = true
	}
	keep := make([]bool, len(g.Nodes))
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if o != "" && live[o] {
				keep[i] = true
				break
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				if in != "" {
					live[in] = true
				}
			}
		}
	}
	nodes := g.Nodes[:0:0]
	for i, n := range g.Nodes {
		if keep[i] {
			nodes = append(nodes, n)
		}
	}
	g.Nodes = nodes
	for name := range g.Consts {
		if !live[name] {
			delete(g.Consts, name)
		}
	}
}

// passRenameInput makes every node reading from read to instead.
func passRenameInput(g *Graph, from, to string) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == from {
				n.Inputs[i] = to
			}
		}
	}
}

func passIsOutput(g *Graph, name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// passUniqueName returns base, or base with a numeric suffix, such that no
// tensor or node of g has that name.
func passUniqueName(g *Graph, base string) string {
	taken := func(s string) bool {
		if _, ok := g.Consts[s]; ok {
			return true
		}
		for _, in := range g.Inputs {
			if in.Name == s {
				return true
			}
		}
		for _, n := range g.Nodes {
			if n.Name == s {
				return true
			}
			for _, o := range n.Outputs {
				if o == s {
					return true
				}
			}
		}
		return false
	}
	name := base
	for k := 1; taken(name); k++ {
		name = base + "_" + strconv.Itoa(k)
	}
	return name
}

func removeIdentities(g *Graph) {
	for i := 0; i < len(g.Nodes); i++ {
		n := g.Nodes[i]
		if !passIdentityLike(g, n) {
			continue
		}
		src, dst := n.Inputs[0], n.Outputs[0]
		prod := g.Producers()
		switch {
		case !passIsOutput(g, dst):
			passRenameInput(g, dst, src)
		case !passIsOutput(g, src) && !g.isInput(src) && g.Consts[src] == nil:
			p, ok := prod[src]
			if !ok {
				continue
			}
			// The graph output keeps its name: the producer writes it directly.
			for j, o := range g.Nodes[p].Outputs {
				if o == src {
					g.Nodes[p].Outputs[j] = dst
				}
			}
			passRenameInput(g, src, dst)
		default:
			continue
		}
		g.Nodes = append(g.Nodes[:i], g.Nodes[i+1:]...)
		i--
	}
}

// passIdentityLike reports an Identity, or a Dropout in inference mode whose
// mask output is unused.
func passIdentityLike(g *Graph, n *Node) bool {
	if len(n.Inputs) == 0 || n.Inputs[0] == "" || len(n.Outputs) == 0 || n.Outputs[0] == "" {
		return false
	}
	switch n.Op {
	case "Identity":
		return len(n.Outputs) == 1
	case "Dropout":
		for _, o := range n.Outputs[1:] {
			if o != "" && (len(g.Consumers()[o]) > 0 || passIsOutput(g, o)) {
				return false
			}
		}
		if tm := n.Input(2); tm != "" {
			c := g.Consts[tm]
			if c == nil || c.Len() != 1 || !passAllZero(c) {
				return false
			}
		}
		return true
	}
	return false
}

func passAllZero(t *Tensor) bool {
	for _, b := range t.Bytes() {
		if b != 0 {
			return false
		}
	}
	return true
}

// foldBatchNorm folds BatchNormalization into a preceding Conv or Gemm.
func foldBatchNorm(g *Graph) {
	foldIntoConvGemm(g, func(bn, _ *Node, xi int) (f, shift []float64, ok bool) {
		if bn.Op != "BatchNormalization" || xi != 0 || len(bn.Inputs) != 5 || bn.AttrInt("training_mode", 0) != 0 {
			return nil, nil, false
		}
		for _, o := range bn.Outputs[1:] {
			if o != "" {
				return nil, nil, false
			}
		}
		return bnCoefficients(g, bn)
	})
}

// foldIntoConvGemm folds each node n whose input xi is a Conv's or Gemm's
// output p that n alone reads, and for which coeffs gives n as y = x·f +
// shift per output channel, into p's weights and bias: n's output becomes
// p's.
func foldIntoConvGemm(g *Graph, coeffs func(n, p *Node, xi int) (f, shift []float64, ok bool)) {
	for {
		cons := g.Consumers()
		prod := g.Producers()
		done := true
	nodes:
		for ni, n := range g.Nodes {
			if len(n.Outputs) == 0 || n.Outputs[0] == "" {
				continue
			}
			for xi, x := range n.Inputs {
				pi, ok := prod[x]
				if !ok || len(cons[x]) != 1 || passIsOutput(g, x) {
					continue
				}
				p := g.Nodes[pi]
				if p.Op != "Conv" && p.Op != "Gemm" {
					continue
				}
				f, shift, ok := coeffs(n, p, xi)
				if !ok {
					continue
				}
				folded := false
				if p.Op == "Conv" {
					folded = foldBNConv(g, p, f, shift)
				} else {
					folded = foldBNGemm(g, p, f, shift)
				}
				if !folded {
					continue
				}
				p.Outputs[0] = n.Outputs[0]
				g.Nodes = append(g.Nodes[:ni], g.Nodes[ni+1:]...)
				done = false
				break nodes
			}
		}
		if done {
			return
		}
	}
}

// bnCoefficients returns f = scale/sqrt(var+eps) and shift = B - mean*f.
func bnCoefficients(g *Graph, bn *Node) (f, shift []float64, ok bool) {
	var p [4]*Tensor
	for i := range p {
		p[i] = g.Consts[bn.Inputs[i+1]]
		if p[i] == nil || p[i].DType != Float32 || len(p[i].Shape) != 1 {
			return nil, nil, false
		}
	}
	c := len(p[0].F32)
	for _, t := range p[1:] {
		if len(t.F32) != c {
			return nil, nil, false
		}
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	f = make([]float64, c)
	shift = make([]float64, c)
	for i := 0; i < c; i++ {
		v := float64(p[3].F32[i]) + eps
		if !(v > 0) {
			return nil, nil, false
		}
		f[i] = float64(p[0].F32[i]) / math.Sqrt(v)
		shift[i] = float64(p[1].F32[i]) - float64(p[2].F32[i])*f[i]
	}
	return f, shift, true
}

func foldBNConv(g *Graph, conv *Node, f, shift []float64) bool {
	w := g.Consts[conv.Input(1)]
	if w == nil || w.DType != Float32 || len(w.Shape) < 3 || w.Shape[0] != len(f) || w.Quant != nil {
		return false
	}
	var b *Tensor
	if conv.Input(2) != "" {
		b = g.Consts[conv.Input(2)]
		if b == nil || b.DType != Float32 || len(b.F32) != len(f) {
			return false
		}
	}
	nw := New(Float32, w.Shape...)
	per := len(w.F32) / len(f)
	for m := range f {
		for j := m * per; j < (m+1)*per; j++ {
			nw.F32[j] = float32(float64(w.F32[j]) * f[m])
		}
	}
	nb := New(Float32, len(f))
	for m := range f {
		bias := 0.0
		if b != nil {
			bias = float64(b.F32[m])
		}
		nb.F32[m] = float32(bias*f[m] + shift[m])
	}
	wn := passUniqueName(g, conv.Name+"_W_bn")
	g.Consts[wn] = nw
	bnName := passUniqueName(g, conv.Name+"_B_bn")
	g.Consts[bnName] = nb
	for len(conv.Inputs) < 3 {
		conv.Inputs = append(conv.Inputs, "")
	}
	conv.Inputs[1], conv.Inputs[2] = wn, bnName
	return true
}

func foldBNGemm(g *Graph, gemm *Node, f, shift []float64) bool {
	w := g.Consts[gemm.Input(1)]
	if w == nil || w.DType != Float32 || len(w.Shape) != 2 || w.Quant != nil {
		return false
	}
	m := len(f)
	transB := gemm.AttrInt("transB", 0) != 0
	if (transB && w.Shape[0] != m) || (!transB && w.Shape[1] != m) {
		return false
	}
	var c *Tensor
	if gemm.Input(2) != "" {
		c = g.Consts[gemm.Input(2)]
		if c == nil || c.DType != Float32 {
			return false
		}
		switch {
		case len(c.F32) == 1 && len(c.Shape) <= 1:
		case len(c.F32) == m && (len(c.Shape) == 1 || (len(c.Shape) == 2 && c.Shape[0] == 1)):
		default:
			return false
		}
	}
	beta := float64(gemm.AttrFloat("beta", 1))
	nw := New(Float32, w.Shape...)
	k := len(w.F32) / m
	for i := range w.F32 {
		var col int
		if transB {
			col = i / k
		} else {
			col = i % m
		}
		nw.F32[i] = float32(float64(w.F32[i]) * f[col])
	}
	nc := New(Float32, m)
	for j := 0; j < m; j++ {
		cv := 0.0
		if c != nil {
			if len(c.F32) == 1 {
				cv = float64(c.F32[0])
			} else {
				cv = float64(c.F32[j])
			}
		}
		nc.F32[j] = float32(beta*cv*f[j] + shift[j])
	}
	wn := passUniqueName(g, gemm.Name+"_B_bn")
	g.Consts[wn] = nw
	cn := passUniqueName(g, gemm.Name+"_C_bn")
	g.Consts[cn] = nc
	for len(gemm.Inputs) < 3 {
		gemm.Inputs = append(gemm.Inputs, "")
	}
	gemm.Inputs[1], gemm.Inputs[2] = wn, cn
	gemm.Attrs["beta"] = Attr{Kind: AttrFloat, Float: 1}
	return true
}

// foldPadIntoConv folds each zero-valued constant Pad of the spatial
// dimensions that alone feeds a Conv into the Conv's pads (TensorFlow
// exports write "SAME" padding as a Pad before a Conv with none): the Conv
// then pads in its kernels, with no padded copy of the input in memory.
// ONNX Runtime's optimizer does the same (PadFusion).
func foldPadIntoConv(g *Graph) {
	for {
		prod := g.Producers()
		cons := g.Consumers()
		done := true
		for _, c := range g.Nodes {
			if c.Op != "Conv" || len(c.Inputs) < 2 || c.AttrString("auto_pad", "NOTSET") != "NOTSET" {
				continue
			}
			x := c.Inputs[0]
			pi, ok := prod[x]
			if !ok || len(cons[x]) != 1 || passIsOutput(g, x) {
				continue
			}
			p := g.Nodes[pi]
			w := g.Consts[c.Inputs[1]]
			if p.Op != "Pad" || w == nil || len(w.Shape) < 3 {
				continue
			}
			begin, end, ok := zeroSpatialPads(g, p, len(w.Shape))
			if !ok {
				continue
			}
			sr := len(w.Shape) - 2
			pads := c.AttrInts("pads", nil)
			if len(pads) == 0 {
				pads = make([]int, 2*sr)
			}
			if len(pads) != 2*sr {
				continue
			}
			merged := make([]int64, 2*sr)
			for i := 0; i < sr; i++ {
				merged[i] = int64(pads[i] + begin[i])
				merged[i+sr] = int64(pads[i+sr] + end[i])
			}
			if c.Attrs == nil {
				c.Attrs = map[string]Attr{}
			}
			c.Attrs["pads"] = Attr{Kind: AttrInts, Ints: merged}
			c.Inputs[0] = p.Inputs[0]
			g.Nodes = append(g.Nodes[:pi], g.Nodes[pi+1:]...)
			done = false
			break
		}
		if done {
			return
		}
	}
}

// zeroSpatialPads returns the begin and end pads of the spatial dimensions
// of a Pad node on a tensor of rank r when it pads with constant zeros,
// only those dimensions and by non-negative amounts (from its pads and
// axes inputs, opset 11+, or its attributes before).
func zeroSpatialPads(g *Graph, p *Node, r int) (begin, end []int, ok bool) {
	if p.AttrString("mode", "constant") != "constant" || len(p.Outputs) != 1 || attrFloatAny(p, "value", 0) != 0 {
		return nil, nil, false
	}
	// ints reads constant input i (absent: nil, true).
	ints := func(i int) ([]int, bool) {
		if p.Input(i) == "" {
			return nil, true
		}
		t := g.Consts[p.Input(i)]
		if t == nil {
			return nil, false
		}
		v, err := constInts(t)
		return v, err == nil
	}
	pads, ok1 := ints(1)
	axes, ok3 := ints(3)
	if p.Input(1) == "" {
		pads = p.AttrInts("pads", nil)
	}
	if v := p.Input(2); v != "" {
		t := g.Consts[v]
		if t == nil || t.DType != Float32 || len(t.F32) != 1 || t.F32[0] != 0 {
			return nil, nil, false
		}
	}
	if !ok1 || !ok3 {
		return nil, nil, false
	}
	b, e, err := padSpans(pads, axes, p.Input(3) != "", r)
	if err != nil {
		return nil, nil, false
	}
	for i := range b {
		if b[i] < 0 || e[i] < 0 || (i < 2 && (b[i] != 0 || e[i] != 0)) {
			return nil, nil, false
		}
	}
	return b[2:], e[2:], true
}

// foldAffineIntoConv folds a Mul, Div, Add or Sub by a constant per output
// channel (or a scalar) that alone reads a Conv's or Gemm's output into
// its weights and bias, as foldBatchNorm folds a BatchNormalization
// (exporters write a separate bias or scale this way; ONNX Runtime's
// ConvAddFusion and ConvMulFusion do the same).
func foldAffineIntoConv(g *Graph) {
	foldIntoConvGemm(g, func(n, p *Node, xi int) (f, shift []float64, ok bool) {
		if len(n.Inputs) != 2 || len(n.Outputs) != 1 {
			return nil, nil, false
		}
		return affineCoefficients(g, p, n.Op, xi, g.Consts[n.Inputs[1-xi]])
	})
}

// affineCoefficients returns the per-channel f and shift of y = x·f + shift
// for op (Mul, Div, Add or Sub, x its operand xi) with constant k on the
// output of p: k a scalar or one value per output channel that broadcasts
// over the rest (a Conv's [M, 1, 1] or [1, M, 1, 1], a Gemm's [M] or
// [1, M]).
func affineCoefficients(g *Graph, p *Node, op string, xi int, k *Tensor) (f, shift []float64, ok bool) {
	w := g.Consts[p.Input(1)]
	if k == nil || k.DType != Float32 || w == nil || w.DType != Float32 || len(w.Shape) < 2 {
		return nil, nil, false
	}
	m := w.Shape[0]
	rank := len(w.Shape) // a Conv's output rank
	if p.Op == "Gemm" {
		if p.AttrInt("transB", 0) == 0 {
			m = w.Shape[1]
		}
		rank = 2
	}
	if len(k.F32) != 1 {
		// [.., M, 1, ..., 1]: M at the channel axis of the output.
		s := k.Shape
		if len(k.F32) != m || len(s) > rank || len(s) < rank-1 || s[len(s)-(rank-1)] != m {
			return nil, nil, false
		}
	}
	at := func(c int) float64 { return float64(k.F32[min(c, len(k.F32)-1)]) }
	f, shift = make([]float64, m), make([]float64, m)
	for c := range f {
		v := at(c)
		switch {
		case op == "Mul":
			f[c] = v
		case op == "Div" && xi == 0 && v != 0:
			f[c] = 1 / v
		case op == "Add":
			f[c], shift[c] = 1, v
		case op == "Sub" && xi == 0:
			f[c], shift[c] = 1, -v
		default:
			return nil, nil, false
		}
	}
	return f, shift, true
}
