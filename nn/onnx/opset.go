package onnx

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
)

// Version adapters. The engine has one implementation per operator, written
// against the operator's form at opset 13 or later (the version of the
// model if it is newer). A model declaring an older opset is read by the
// semantics of that opset and each node whose inputs, attributes or meaning
// changed is rewritten into the newer form, as ONNX's version converter
// does: one adapter per change. The graph then declares opset
// canonicalOpset(declared) and the declared one is kept in
// Meta[MetaSourceOpset].

// MetaSourceOpset is the graph metadata key holding the opset the model
// file declared when the importer upgraded it.
const MetaSourceOpset = "splitinfer.source_opset"

// canonicalOpset is the opset whose operator forms a model declaring opset
// v is rewritten into.
func canonicalOpset(v int) int { return max(v, 13) }

// OpProblem is one node the importer cannot run: its op, the opset the
// model declares and why.
type OpProblem struct {
	Node   string
	Op     string
	Opset  int
	Reason string
}

func (p OpProblem) String() string {
	return fmt.Sprintf("node %q (%s at opset %d): %s", p.Node, p.Op, p.Opset, p.Reason)
}

// UnsupportedOpsError lists every node of a model that cannot be imported
// or has no kernel, all at once. It wraps ErrUnsupported.
type UnsupportedOpsError struct {
	Problems []OpProblem
}

func (e *UnsupportedOpsError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %d node(s) cannot run", ErrUnsupported, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *UnsupportedOpsError) Unwrap() error { return ErrUnsupported }

// adapter holds the state of one upgrade: the graph, what is known of each
// tensor's rank, and the problems found.
type adapter struct {
	g        *nn.Graph
	from     int
	ranks    map[string]int
	used     map[string]bool
	readers  map[string]int
	problems []OpProblem
}

func (a *adapter) problem(n *nn.Node, format string, args ...any) {
	a.problems = append(a.problems, OpProblem{Node: n.Name, Op: n.Op, Opset: a.from, Reason: fmt.Sprintf(format, args...)})
}

// fresh returns a tensor or node name not used in the graph yet.
func (a *adapter) fresh(base string) string {
	name := base
	for k := 1; a.used[name]; k++ {
		name = base + "_" + strconv.Itoa(k)
	}
	a.used[name] = true
	return name
}

// constant adds t as a new constant named after base and returns its name.
func (a *adapter) constant(base string, t *nn.Tensor) string {
	name := a.fresh(base)
	a.g.Consts[name] = t
	return name
}

func int64s(v []int64) *nn.Tensor {
	return &nn.Tensor{DType: nn.Int64, Shape: []int{len(v)}, I64: append([]int64(nil), v...)}
}

func scalarF32(v float32) *nn.Tensor {
	return &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{v}}
}

// attrToInput moves int-list attribute attr of n to input position i as an
// int64 constant (padding the inputs with empty names), as opset 10/11/13
// did for Slice, Pad, Squeeze, Unsqueeze, ReduceSum and Split.
func (a *adapter) attrToInput(n *nn.Node, attr string, i int) {
	at, ok := n.Attrs[attr]
	if !ok {
		return
	}
	delete(n.Attrs, attr)
	for len(n.Inputs) <= i {
		n.Inputs = append(n.Inputs, "")
	}
	n.Inputs[i] = a.constant(n.Name+"_"+attr, int64s(at.Ints))
}

// upgradeGraph rewrites every node of g (decoded from a model declaring
// opset from, in topological order) into the forms of canonicalOpset(from)
// and checks that each op has a kernel. It returns every problem found.
func upgradeGraph(g *nn.Graph, from int, valueRanks map[string]int) []OpProblem {
	a := &adapter{g: g, from: from, ranks: map[string]int{}, used: map[string]bool{}, readers: map[string]int{}}
	for k, r := range valueRanks {
		a.ranks[k] = r
	}
	for _, in := range g.Inputs {
		a.used[in.Name] = true
		if in.Type.Shape != nil {
			a.ranks[in.Name] = len(in.Type.Shape)
		}
	}
	for _, o := range g.Outputs {
		a.readers[o.Name]++
	}
	for name, c := range g.Consts {
		a.used[name] = true
		a.ranks[name] = len(c.Shape)
	}
	for _, n := range g.Nodes {
		a.used[n.Name] = true
		for _, in := range n.Inputs {
			a.readers[in]++
		}
		for _, o := range n.Outputs {
			a.used[o] = true
		}
	}
	var out []*nn.Node
	for _, n := range g.Nodes {
		if !strings.Contains(n.Op, ".") {
			out = append(out, a.upgrade(n)...)
		} else {
			out = append(out, n)
		}
	}
	g.Nodes = out
	if from != canonicalOpset(from) {
		g.Meta[MetaSourceOpset] = strconv.Itoa(from)
		g.Opset = canonicalOpset(from)
	}
	reported := map[string]bool{}
	for _, p := range a.problems {
		reported[p.Node] = true
	}
	for _, p := range missingKernels(g.Nodes, from) {
		if !reported[p.Node] {
			a.problems = append(a.problems, p)
		}
	}
	return a.problems
}

// missingKernels reports the default-domain nodes the engine has no kernel
// for. Ops of other domains pass: a graph may be decoded to be re-encoded.
func missingKernels(nodes []*nn.Node, opset int) []OpProblem {
	var ps []OpProblem
	for _, n := range nodes {
		if !strings.Contains(n.Op, ".") && !nn.Registered(n.Op) {
			ps = append(ps, OpProblem{Node: n.Name, Op: n.Op, Opset: opset, Reason: "no kernel for this operator"})
		}
	}
	return ps
}

// upgrade returns the nodes replacing n and records the rank of their outputs.
func (a *adapter) upgrade(n *nn.Node) []*nn.Node {
	delete(n.Attrs, "consumed_inputs") // opset < 6 memory hint, no meaning
	nodes := []*nn.Node{n}
	switch n.Op {
	case "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less":
		if a.from < 7 {
			nodes = a.legacyBroadcast(n)
		}
	case "Gemm":
		if a.from < 7 {
			delete(n.Attrs, "broadcast") // numpy unidirectional broadcast from 7
		}
	case "PRelu":
		if a.from < 7 {
			nodes = a.legacyPRelu(n)
		}
	case "BatchNormalization":
		nodes = a.batchNorm(n)
	case "Dropout":
		a.dropout(n)
	case "MaxPool":
		a.dropUnread(n, 1, "") // Indices (opset 8+), unread in inference graphs
	case "Pad":
		if a.from < 11 {
			a.attrToInput(n, "pads", 1)
			if v, ok := n.Attrs["value"]; ok {
				delete(n.Attrs, "value")
				for len(n.Inputs) < 3 {
					n.Inputs = append(n.Inputs, "")
				}
				n.Inputs[2] = a.constant(n.Name+"_value", scalarF32(v.Float))
			}
			delete(n.Attrs, "paddings")
		}
	case "Clip":
		if a.from < 11 {
			for i, attr := range []string{"min", "max"} {
				v, ok := n.Attrs[attr]
				if !ok {
					continue
				}
				delete(n.Attrs, attr)
				for len(n.Inputs) <= i+1 {
					n.Inputs = append(n.Inputs, "")
				}
				n.Inputs[i+1] = a.constant(n.Name+"_"+attr, scalarF32(v.Float))
			}
		}
	case "Squeeze", "Unsqueeze", "ReduceSum":
		if a.from < 13 {
			a.attrToInput(n, "axes", 1)
		}
	case "Split":
		if a.from < 13 {
			a.attrToInput(n, "split", 1)
		}
	case "Slice":
		if a.from < 10 {
			a.attrToInput(n, "starts", 1)
			a.attrToInput(n, "ends", 2)
			a.attrToInput(n, "axes", 3)
		}
	case "Softmax", "LogSoftmax", "Hardmax":
		if a.from < 13 {
			nodes = a.coerce2D(n)
		}
	case "Upsample":
		nodes = a.upsample(n)
	case "ImageScaler":
		nodes = a.imageScaler(n)
	case "Resize":
		a.resize(n)
	}
	for _, m := range nodes {
		a.inferRanks(m)
	}
	return nodes
}

// dropUnread clears n's outputs from index i on that nobody reads;
// it reports one that is read, with why.
func (a *adapter) dropUnread(n *nn.Node, i int, why string) bool {
	ok := true
	for j := i; j < len(n.Outputs); j++ {
		o := n.Outputs[j]
		if o == "" {
			continue
		}
		if a.readers[o] == 0 {
			n.Outputs[j] = ""
		} else if why != "" {
			a.problem(n, "output %d (%q) is read: %s", j, o, why)
			ok = false
		}
	}
	for len(n.Outputs) > 1 && n.Outputs[len(n.Outputs)-1] == "" {
		n.Outputs = n.Outputs[:len(n.Outputs)-1]
	}
	return ok
}

// legacyBroadcast maps opset-1/6 broadcasting (broadcast=1 with B's
// dimensions matched to A's from axis) onto numpy broadcasting: B gets
// trailing dimensions of size 1.
func (a *adapter) legacyBroadcast(n *nn.Node) []*nn.Node {
	bc := n.AttrInt("broadcast", 0)
	axAttr, hasAxis := n.Attrs["axis"]
	delete(n.Attrs, "broadcast")
	delete(n.Attrs, "axis")
	if bc == 0 || !hasAxis {
		// Same shapes, or B matched to A's trailing dimensions: numpy agrees.
		return []*nn.Node{n}
	}
	ra, rb := a.rank(n.Input(0)), a.rank(n.Input(1))
	if ra < 0 || rb < 0 {
		a.problem(n, "broadcast=1 with axis=%d needs the ranks of both inputs, which the model does not declare", axAttr.Int)
		return []*nn.Node{n}
	}
	axis := int(axAttr.Int)
	if axis < 0 {
		axis += ra
	}
	trail := ra - axis - rb
	if trail < 0 || axis < 0 {
		a.problem(n, "broadcast axis %d does not fit ranks %d and %d", axAttr.Int, ra, rb)
		return []*nn.Node{n}
	}
	if trail == 0 {
		return []*nn.Node{n}
	}
	_, pre := a.appendOnes(n, 1, rb, trail)
	return append(pre, n)
}

// appendOnes gives input i of n (rank r) trail more dimensions of size 1:
// a reshaped constant, or an Unsqueeze node returned in pre.
func (a *adapter) appendOnes(n *nn.Node, i, r, trail int) (string, []*nn.Node) {
	name := n.Inputs[i]
	if c, ok := a.g.Consts[name]; ok {
		t := *c
		t.Shape = append(append([]int(nil), c.Shape...), make([]int, trail)...)
		for j := len(c.Shape); j < len(t.Shape); j++ {
			t.Shape[j] = 1
		}
		n.Inputs[i] = a.constant(name+"_bcast", &t)
		a.ranks[n.Inputs[i]] = r + trail
		return n.Inputs[i], nil
	}
	axes := make([]int64, trail)
	for j := range axes {
		axes[j] = int64(r + j)
	}
	out := a.fresh(name + "_bcast")
	u := &nn.Node{Name: a.fresh(n.Name + "_unsqueeze"), Op: "Unsqueeze", Attrs: map[string]nn.Attr{},
		Inputs: []string{name, a.constant(n.Name+"_axes", int64s(axes))}, Outputs: []string{out}}
	a.ranks[out] = r + trail
	n.Inputs[i] = out
	return out, []*nn.Node{u}
}

// legacyPRelu: before opset 7 a slope of shape [C] applies per channel;
// from 7 it broadcasts numpy-style (to the last axis), so it gets
// trailing ones.
func (a *adapter) legacyPRelu(n *nn.Node) []*nn.Node {
	rx, rs := a.rank(n.Input(0)), a.rank(n.Input(1))
	if rs != 1 {
		return []*nn.Node{n}
	}
	if c, ok := a.g.Consts[n.Input(1)]; ok && c.Len() == 1 {
		return []*nn.Node{n}
	}
	if rx < 0 {
		a.problem(n, "a per-channel slope needs the rank of the input, which the model does not declare")
		return []*nn.Node{n}
	}
	if rx <= 2 {
		return []*nn.Node{n}
	}
	_, pre := a.appendOnes(n, 1, 1, rx-2)
	return append(pre, n)
}

// batchNorm drops is_test (< 7) and spatial (< 9, rewriting spatial=0
// into per-element Mul and Add) and the training outputs nobody reads.
func (a *adapter) batchNorm(n *nn.Node) []*nn.Node {
	if a.from < 7 {
		if n.AttrInt("is_test", 0) == 0 && len(n.Outputs) > 1 {
			a.dropUnread(n, 1, "is_test=0 (training mode) is not supported")
		}
		delete(n.Attrs, "is_test")
	}
	a.dropUnread(n, 1, "running statistics are only computed in training mode")
	if a.from < 9 {
		spatial := n.AttrInt("spatial", 1)
		delete(n.Attrs, "spatial")
		if spatial == 0 {
			return a.perElementBN(n)
		}
	}
	return []*nn.Node{n}
}

// perElementBN rewrites BatchNormalization with spatial=0 (statistics of
// shape C x D1 x ...) as y = x·a + b with constant a and b.
func (a *adapter) perElementBN(n *nn.Node) []*nn.Node {
	var p [4]*nn.Tensor
	for i := range p {
		p[i] = a.g.Consts[n.Input(i+1)]
		if p[i] == nil || p[i].DType != nn.Float32 || p[i].Len() != p[0].Len() {
			a.problem(n, "spatial=0 needs constant float scale, B, mean and var of one shape")
			return []*nn.Node{n}
		}
	}
	eps := float64(n.AttrFloat("epsilon", 1e-5))
	mul, add := nn.New(nn.Float32, p[0].Shape...), nn.New(nn.Float32, p[0].Shape...)
	for i := range mul.F32 {
		s := float64(p[0].F32[i]) / math.Sqrt(float64(p[3].F32[i])+eps)
		mul.F32[i] = float32(s)
		add.F32[i] = float32(float64(p[1].F32[i]) - float64(p[2].F32[i])*s)
	}
	if rx := a.rank(n.Input(0)); rx > len(p[0].Shape)+1 {
		// A flat [C·D1·...] layout is not numpy-compatible: keep it an error.
		a.problem(n, "spatial=0 statistics of shape %v do not match an input of rank %d", p[0].Shape, rx)
		return []*nn.Node{n}
	}
	mid := a.fresh(n.Outputs[0] + "_scaled")
	m := &nn.Node{Name: a.fresh(n.Name + "_mul"), Op: "Mul", Attrs: map[string]nn.Attr{},
		Inputs: []string{n.Input(0), a.constant(n.Name+"_a", mul)}, Outputs: []string{mid}}
	s := &nn.Node{Name: n.Name, Op: "Add", Attrs: map[string]nn.Attr{},
		Inputs: []string{mid, a.constant(n.Name+"_b", add)}, Outputs: []string{n.Outputs[0]}}
	return []*nn.Node{m, s}
}

// dropout: is_test (< 7) and ratio (< 12) are attributes of no effect in
// inference; the mask output is dropped when nobody reads it.
func (a *adapter) dropout(n *nn.Node) {
	if a.from < 7 && n.AttrInt("is_test", 0) == 0 && hasAttrNode(n, "is_test") {
		a.problem(n, "is_test=0 (training mode) is not supported")
	}
	delete(n.Attrs, "is_test")
	if a.from < 12 {
		delete(n.Attrs, "ratio")
	}
	a.dropUnread(n, 1, "the mask is only produced in training mode")
}

func hasAttrNode(n *nn.Node, name string) bool { _, ok := n.Attrs[name]; return ok }

// coerce2D maps Softmax/LogSoftmax/Hardmax before opset 13 (the input
// coerced to 2-D at axis, default 1) onto the opset-13 op (one axis):
// Flatten at axis, the op on the last axis, Reshape back. When the axis is
// the last one the two forms agree and the node only gets axis=-1.
func (a *adapter) coerce2D(n *nn.Node) []*nn.Node {
	axis := int(n.AttrInt("axis", 1))
	r := a.rank(n.Input(0))
	if r >= 0 && (axis == r-1 || axis == -1) {
		n.Attrs["axis"] = nn.Attr{Kind: nn.AttrInt, Int: -1}
		return []*nn.Node{n}
	}
	x, y := n.Input(0), n.Outputs[0]
	flat, inner, shape := a.fresh(x+"_2d"), a.fresh(y+"_2d"), a.fresh(x+"_shape")
	f := &nn.Node{Name: a.fresh(n.Name + "_flatten"), Op: "Flatten", Inputs: []string{x}, Outputs: []string{flat},
		Attrs: map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: int64(axis)}}}
	sh := &nn.Node{Name: a.fresh(n.Name + "_shape"), Op: "Shape", Inputs: []string{x}, Outputs: []string{shape}, Attrs: map[string]nn.Attr{}}
	n.Inputs = []string{flat}
	n.Outputs = []string{inner}
	n.Attrs["axis"] = nn.Attr{Kind: nn.AttrInt, Int: -1}
	rs := &nn.Node{Name: a.fresh(n.Name + "_reshape"), Op: "Reshape", Inputs: []string{inner, shape}, Outputs: []string{y}, Attrs: map[string]nn.Attr{}}
	a.ranks[flat], a.ranks[inner] = 2, 2
	return []*nn.Node{f, sh, n, rs}
}

// imageScaler maps ImageScaler (experimental, opsets 1 to 9: y = scale·x
// + bias[c] on N, C, H, W) onto Mul and Add.
func (a *adapter) imageScaler(n *nn.Node) []*nn.Node {
	bias := n.Attrs["bias"].Floats
	if len(bias) == 0 {
		a.problem(n, "attribute bias is missing")
		return []*nn.Node{n}
	}
	b := &nn.Tensor{DType: nn.Float32, Shape: []int{len(bias), 1, 1}, F32: append([]float32(nil), bias...)}
	mid := a.fresh(n.Outputs[0] + "_scaled")
	m := &nn.Node{Name: a.fresh(n.Name + "_mul"), Op: "Mul", Attrs: map[string]nn.Attr{},
		Inputs: []string{n.Input(0), a.constant(n.Name+"_scale", scalarF32(n.AttrFloat("scale", 1)))}, Outputs: []string{mid}}
	s := &nn.Node{Name: n.Name, Op: "Add", Attrs: map[string]nn.Attr{},
		Inputs: []string{mid, a.constant(n.Name+"_bias", b)}, Outputs: []string{n.Outputs[0]}}
	return []*nn.Node{m, s}
}

// upsample maps Upsample (scales as attribute at 7, input at 9; nearest or
// linear on asymmetric coordinates) onto Resize.
func (a *adapter) upsample(n *nn.Node) []*nn.Node {
	if a.from < 7 {
		a.problem(n, "Upsample before opset 7 is experimental (height_scale/width_scale); re-export at opset 7 or later")
		return []*nn.Node{n}
	}
	mode := n.AttrString("mode", "nearest")
	scales := n.Input(1)
	if a.from < 9 {
		at, ok := n.Attrs["scales"]
		if !ok {
			a.problem(n, "attribute scales is missing")
			return []*nn.Node{n}
		}
		scales = a.constant(n.Name+"_scales", &nn.Tensor{DType: nn.Float32, Shape: []int{len(at.Floats)}, F32: append([]float32(nil), at.Floats...)})
	}
	if mode == "bilinear" {
		mode = "linear"
	}
	n.Op = "Resize"
	n.Inputs = []string{n.Input(0), "", scales}
	n.Attrs = map[string]nn.Attr{"mode": {Kind: nn.AttrString, Str: mode}}
	a.legacyResizeAttrs(n)
	return []*nn.Node{n}
}

// resize: Resize-10 (X, scales) is Upsample's asymmetric arithmetic;
// Resize-11/12 pass an empty scales tensor next to sizes.
func (a *adapter) resize(n *nn.Node) {
	if a.from < 11 {
		n.Inputs = []string{n.Input(0), "", n.Input(1)}
		mode := n.AttrString("mode", "nearest")
		n.Attrs = map[string]nn.Attr{"mode": {Kind: nn.AttrString, Str: mode}}
		a.legacyResizeAttrs(n)
		return
	}
	for _, i := range []int{1, 2} {
		if c, ok := a.g.Consts[n.Input(i)]; ok && c.Len() == 0 {
			n.Inputs[i] = ""
		}
	}
}

// legacyResizeAttrs sets the coordinate arithmetic of Upsample and
// Resize-10: asymmetric coordinates and, for nearest, the floor of the
// source coordinate when enlarging and its ceiling when shrinking (what
// ONNX Runtime computes for these versions).
func (a *adapter) legacyResizeAttrs(n *nn.Node) {
	n.Attrs["coordinate_transformation_mode"] = nn.Attr{Kind: nn.AttrString, Str: "asymmetric"}
	if n.AttrString("mode", "") != "nearest" {
		return
	}
	nearest := "floor"
	if c := a.g.Consts[n.Input(2)]; c != nil && c.DType == nn.Float32 {
		down := false
		for _, s := range c.F32 {
			if s < 1 {
				down = true
			}
		}
		if down {
			nearest = "ceil"
		}
	}
	n.Attrs["nearest_mode"] = nn.Attr{Kind: nn.AttrString, Str: nearest}
}

// rank is the rank of tensor name, or -1 when unknown.
func (a *adapter) rank(name string) int {
	if r, ok := a.ranks[name]; ok {
		return r
	}
	return -1
}

// inferRanks records the ranks of n's outputs where the op determines
// them from its inputs' ranks (what the legacy adapters need).
func (a *adapter) inferRanks(n *nn.Node) {
	if len(n.Outputs) == 0 {
		return
	}
	r0 := a.rank(n.Input(0))
	set := func(r int) {
		if r < 0 {
			return
		}
		for _, o := range n.Outputs {
			if _, ok := a.ranks[o]; !ok && o != "" {
				a.ranks[o] = r
			}
		}
	}
	maxIn := func() int {
		m := -1
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			r := a.rank(in)
			if r < 0 {
				return -1
			}
			m = max(m, r)
		}
		return m
	}
	constLen := func(i int) int {
		if c, ok := a.g.Consts[n.Input(i)]; ok {
			return c.Len()
		}
		return -1
	}
	switch n.Op {
	case "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less", "Where",
		"Sum", "Max", "Min", "Mean", "PRelu", "MatMul", "GreaterOrEqual", "LessOrEqual", "Mod", "BitShift":
		set(maxIn())
	case "Gemm", "Flatten":
		set(2)
	case "Shape", "Range", "NonZero":
		set(1)
	case "Reshape":
		set(constLen(1))
	case "ConstantOfShape":
		set(constLen(0))
	case "Expand":
		if l := constLen(1); l >= 0 && r0 >= 0 {
			set(max(l, r0))
		}
	case "Unsqueeze":
		if l := constLen(1); l >= 0 && r0 >= 0 {
			set(r0 + l)
		}
	case "Squeeze":
		if l := constLen(1); l >= 0 && r0 >= 0 {
			set(r0 - l)
		}
	case "Gather":
		if ri := a.rank(n.Input(1)); ri >= 0 && r0 >= 0 {
			set(r0 - 1 + ri)
		}
	case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
		"ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin":
		if r0 < 0 {
			return
		}
		if n.AttrInt("keepdims", 1) != 0 {
			set(r0)
			return
		}
		switch {
		case n.Op == "ArgMax" || n.Op == "ArgMin":
			set(r0 - 1)
		case hasAttrNode(n, "axes"):
			set(r0 - len(n.Attrs["axes"].Ints))
		case constLen(1) >= 0:
			set(r0 - constLen(1))
		case n.Input(1) == "":
			set(0)
		}
	case "Constant", "If", "Loop", "Scan", "TopK":
	default:
		// Conv, pools, normalizations, activations, Concat, Transpose,
		// Slice, Pad, Resize, Tile, Cast, Split, Dropout, Clip, ...: the
		// rank of the first input.
		set(r0)
	}
}

// valueInfoRanks collects the ranks the model declares for intermediate
// tensors (graph.value_info), used by the legacy adapters.
func valueInfoRanks(vis []nn.ValueInfo) map[string]int {
	m := make(map[string]int, len(vis))
	for _, v := range vis {
		if v.Type.Shape != nil {
			m[v.Name] = len(v.Type.Shape)
		}
	}
	return m
}
