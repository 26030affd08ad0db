package nn

import (
	"fmt"
	"math"
)

// Symbolic shape folding. Dynamic dimensions of the graph inputs (negative
// in the declared types, typically the batch) become symbols. Tensor shapes
// are inferred with the kernels' OutputTypes twice, with two different
// stand-in values for every symbol: a dimension equal in both runs is known,
// a dimension equal to the stand-ins of symbol k in both runs is that
// symbol, anything else (2*batch, ...) is unknown. Small integer tensors
// computed from shapes (Shape, Gather, Concat, ...) carry symbolic values;
// when every element is known they become constants, and a Reshape target
// whose symbolic elements are dimensions of its input copied in place (0)
// or inferable (-1) becomes a constant target.

type dimKind uint8

const (
	dimUnknown dimKind = iota
	dimKnown
	dimSym
)

// sdim is one symbolic integer: a known value, symbol number v, or unknown.
type sdim struct {
	kind dimKind
	v    int64
}

// symValue is a small integer tensor whose elements are symbolic.
type symValue struct {
	dt    DType
	shape []int
	vals  []sdim
}

func (s *symValue) known() bool {
	for _, d := range s.vals {
		if d.kind != dimKnown {
			return false
		}
	}
	return true
}

func (s *symValue) tensor() *Tensor {
	t := New(s.dt, s.shape...)
	for i, d := range s.vals {
		if s.dt == Int32 {
			t.I32[i] = int32(d.v)
		} else {
			t.I64[i] = d.v
		}
	}
	return t
}

// Stand-in values for symbols in the two inference runs.
var (
	symStandInA = []int{1009, 1427, 1871, 2333, 2767, 3217, 3643, 4099}
	symStandInB = []int{5003, 5501, 6007, 6521, 7013, 7517, 8009, 8513}
)

const maxSymValueLen = 1024

func foldShapes(g *Graph) error {
	prod := g.Producers()
	var roots []string
	for _, n := range g.Nodes {
		switch n.Op {
		case "Shape":
			roots = append(roots, n.Input(0))
		case "Reshape":
			if g.Consts[n.Input(1)] == nil {
				roots = append(roots, n.Input(0))
			}
		}
	}
	if len(roots) == 0 {
		return nil
	}
	need := make(map[int]bool)
	for len(roots) > 0 {
		t := roots[len(roots)-1]
		roots = roots[:len(roots)-1]
		if p, ok := prod[t]; ok && !need[p] {
			need[p] = true
			roots = append(roots, g.Nodes[p].Inputs...)
		}
	}

	typesA := map[string]Type{}
	typesB := map[string]Type{}
	nsym := 0
	for _, in := range g.Inputs {
		if in.Type.DType == Undefined || in.Type.Shape == nil {
			continue
		}
		a := append([]int(nil), in.Type.Shape...)
		b := append([]int(nil), in.Type.Shape...)
		ok := true
		for j, d := range a {
			if d >= 0 {
				continue
			}
			if nsym == len(symStandInA) {
				ok = false
				break
			}
			a[j], b[j] = symStandInA[nsym], symStandInB[nsym]
			nsym++
		}
		if ok {
			typesA[in.Name] = Type{DType: in.Type.DType, Shape: a}
			typesB[in.Name] = Type{DType: in.Type.DType, Shape: b}
		}
	}
	vals := map[string]*symValue{}
	constVal := func(name string) *symValue {
		if v, ok := vals[name]; ok {
			return v
		}
		c := g.Consts[name]
		if c == nil || (c.DType != Int64 && c.DType != Int32) || c.Len() > maxSymValueLen {
			return nil
		}
		v := &symValue{dt: c.DType, shape: append([]int{}, c.Shape...), vals: make([]sdim, c.Len())}
		for i := range v.vals {
			if c.DType == Int64 {
				v.vals[i] = sdim{dimKnown, c.I64[i]}
			} else {
				v.vals[i] = sdim{dimKnown, int64(c.I32[i])}
			}
		}
		vals[name] = v
		return v
	}
	typeOf := func(m map[string]Type, name string) (Type, bool) {
		if c := g.Consts[name]; c != nil {
			return c.Type(), true
		}
		t, ok := m[name]
		return t, ok
	}
	symShape := func(name string) []sdim {
		a, okA := typeOf(typesA, name)
		b, okB := typeOf(typesB, name)
		if !okA || !okB || len(a.Shape) != len(b.Shape) {
			return nil
		}
		out := make([]sdim, len(a.Shape))
		for i := range a.Shape {
			switch {
			case a.Shape[i] == b.Shape[i]:
				out[i] = sdim{dimKnown, int64(a.Shape[i])}
			default:
				for k := 0; k < nsym; k++ {
					if a.Shape[i] == symStandInA[k] && b.Shape[i] == symStandInB[k] {
						out[i] = sdim{dimSym, int64(k)}
					}
				}
			}
		}
		return out
	}

	removed := make(map[*Node]bool)
	for ni, n := range g.Nodes {
		if v := evalSym(g, n, symShape, constVal); v != nil && len(n.Outputs) >= 1 && n.Outputs[0] != "" {
			out := n.Outputs[0]
			if v.known() && len(n.Outputs) == 1 {
				t := v.tensor()
				g.Consts[out] = t
				removed[n] = true
				vals[out] = v
				continue
			}
			vals[out] = v
			ty := Type{DType: v.dt, Shape: v.shape}
			typesA[out], typesB[out] = ty, ty
			continue
		}
		if n.Op == "Reshape" && n.Input(1) != "" && g.Consts[n.Input(1)] == nil {
			if v := vals[n.Input(1)]; v != nil {
				if target := symReshapeTarget(n, v, symShape(n.Input(0))); target != nil {
					name := passUniqueName(g, n.Name+"_shape")
					g.Consts[name] = target
					n.Inputs[1] = name
				}
			}
		}
		if !need[ni] {
			continue
		}
		symInferTypes(g, n, typesA, typesB)
	}
	if len(removed) > 0 {
		keep := g.Nodes[:0:0]
		for _, n := range g.Nodes {
			if !removed[n] {
				keep = append(keep, n)
			}
		}
		g.Nodes = keep
	}
	return nil
}

// symInferTypes records n's output types in each of maps, given its input
// types in that map. The kernel is built once (builders may pre-pack
// weights); on any failure the outputs stay unknown.
func symInferTypes(g *Graph, n *Node, maps ...map[string]Type) {
	b, ok := passBuilder(n.Op)
	if !ok {
		return
	}
	var k Kernel
	for _, types := range maps {
		in := make([]Type, len(n.Inputs))
		for i, name := range n.Inputs {
			if name == "" {
				continue
			}
			if c := g.Consts[name]; c != nil {
				in[i] = c.Type()
				continue
			}
			t, ok := types[name]
			if !ok {
				return
			}
			in[i] = t
		}
		if k == nil {
			var err error
			if k, err = symBuild(g, n, b); err != nil {
				return
			}
		}
		out, err := symOutputTypes(k, in)
		if err != nil || len(out) < len(n.Outputs) {
			return
		}
		for i, o := range n.Outputs {
			if o != "" {
				types[o] = Type{DType: out[i].DType, Shape: append([]int(nil), out[i].Shape...)}
			}
		}
	}
}

// symBuild and symOutputTypes turn a kernel panic into an error: shape
// folding is best effort and must not take the loader down.
func symBuild(g *Graph, n *Node, b Builder) (k Kernel, err error) {
	defer func() {
		if r := recover(); r != nil {
			k, err = nil, fmt.Errorf("%w: building %s panicked: %v", ErrGraph, n, r)
		}
	}()
	k, err = b(&BuildContext{Graph: g, Node: n})
	if err == nil && k == nil {
		err = fmt.Errorf("%w: %s built no kernel", ErrGraph, n)
	}
	return k, err
}

func symOutputTypes(k Kernel, in []Type) (out []Type, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: OutputTypes panicked: %v", ErrGraph, r)
		}
	}()
	return k.OutputTypes(in)
}

// evalSym computes the symbolic value of n's first output for the shape
// ops it understands, or returns nil.
func evalSym(g *Graph, n *Node, symShape func(string) []sdim, constVal func(string) *symValue) *symValue {
	switch n.Op {
	case "Shape":
		s := symShape(n.Input(0))
		if s == nil {
			return nil
		}
		r := int64(len(s))
		start, end := n.AttrInt("start", 0), n.AttrInt("end", r)
		start, end = symClamp(start, r), symClamp(end, r)
		if end < start {
			end = start
		}
		v := append([]sdim{}, s[start:end]...)
		return &symValue{dt: Int64, shape: []int{len(v)}, vals: v}
	case "Identity":
		return copySym(constVal(n.Input(0)))
	case "Cast":
		x := constVal(n.Input(0))
		if x == nil {
			return nil
		}
		to := n.AttrInt("to", 0)
		var dt DType
		switch to {
		case 6:
			dt = Int32
		case 7:
			dt = Int64
		default:
			return nil
		}
		c := copySym(x)
		c.dt = dt
		return c
	case "Gather":
		x, idx := constVal(n.Input(0)), g.Consts[n.Input(1)]
		if x == nil || idx == nil || len(x.shape) != 1 {
			return nil
		}
		if ax := n.AttrInt("axis", 0); ax != 0 && ax != -1 {
			return nil
		}
		iv := constVal(n.Input(1))
		if iv == nil || !iv.known() {
			return nil
		}
		out := &symValue{dt: x.dt, shape: append([]int{}, iv.shape...)}
		d := int64(len(x.vals))
		for _, e := range iv.vals {
			i := e.v
			if i < 0 {
				i += d
			}
			if i < 0 || i >= d {
				return nil
			}
			out.vals = append(out.vals, x.vals[i])
		}
		return out
	case "Unsqueeze":
		x := constVal(n.Input(0))
		axes := constVal(n.Input(1))
		if x == nil || axes == nil || !axes.known() {
			return nil
		}
		r := int64(len(x.shape) + len(axes.vals))
		shape := make([]int, r)
		mark := make([]bool, r)
		for _, a := range axes.vals {
			ax := a.v
			if ax < 0 {
				ax += r
			}
			if ax < 0 || ax >= r || mark[ax] {
				return nil
			}
			mark[ax] = true
		}
		j := 0
		for i := range shape {
			if mark[i] {
				shape[i] = 1
			} else {
				shape[i] = x.shape[j]
				j++
			}
		}
		c := copySym(x)
		c.shape = shape
		return c
	case "Squeeze":
		x := constVal(n.Input(0))
		if x == nil {
			return nil
		}
		var shape []int
		if n.Input(1) == "" {
			for _, d := range x.shape {
				if d != 1 {
					shape = append(shape, d)
				}
			}
		} else {
			axes := constVal(n.Input(1))
			if axes == nil || !axes.known() {
				return nil
			}
			r := int64(len(x.shape))
			drop := make([]bool, r)
			for _, a := range axes.vals {
				ax := a.v
				if ax < 0 {
					ax += r
				}
				if ax < 0 || ax >= r || x.shape[ax] != 1 {
					return nil
				}
				drop[ax] = true
			}
			for i, d := range x.shape {
				if !drop[i] {
					shape = append(shape, d)
				}
			}
		}
		c := copySym(x)
		c.shape = append([]int{}, shape...)
		return c
	case "Concat":
		if ax := n.AttrInt("axis", 0); ax != 0 && ax != -1 {
			return nil
		}
		out := &symValue{}
		for i, in := range n.Inputs {
			x := constVal(in)
			if x == nil || len(x.shape) != 1 || (i > 0 && x.dt != out.dt) {
				return nil
			}
			out.dt = x.dt
			out.vals = append(out.vals, x.vals...)
		}
		if len(n.Inputs) == 0 || len(out.vals) > maxSymValueLen {
			return nil
		}
		out.shape = []int{len(out.vals)}
		return out
	case "Slice":
		return sliceSym(n, constVal)
	case "Add", "Sub", "Mul", "Div":
		return arithSym(n.Op, constVal(n.Input(0)), constVal(n.Input(1)))
	}
	return nil
}

func copySym(x *symValue) *symValue {
	if x == nil {
		return nil
	}
	return &symValue{dt: x.dt, shape: append([]int{}, x.shape...), vals: append([]sdim(nil), x.vals...)}
}

func symClamp(i, r int64) int64 {
	if i < 0 {
		i += r
	}
	return max(0, min(i, r))
}

func sliceSym(n *Node, constVal func(string) *symValue) *symValue {
	x := constVal(n.Input(0))
	if x == nil || len(x.shape) != 1 {
		return nil
	}
	get := func(i int, def int64) (int64, bool) {
		if n.Input(i) == "" {
			return def, true
		}
		v := constVal(n.Input(i))
		if v == nil || !v.known() || len(v.vals) != 1 {
			return 0, false
		}
		return v.vals[0].v, true
	}
	start, ok1 := get(1, 0)
	end, ok2 := get(2, math.MaxInt64)
	axis, ok3 := get(3, 0)
	step, ok4 := get(4, 1)
	if !ok1 || !ok2 || !ok3 || !ok4 || (axis != 0 && axis != -1) || step == 0 {
		return nil
	}
	d := int64(len(x.vals))
	if start < 0 {
		start += d
	}
	if end < 0 {
		end += d
	}
	out := &symValue{dt: x.dt}
	if step > 0 {
		start, end = max(0, min(start, d)), max(0, min(end, d))
		for i := start; i < end; i += step {
			out.vals = append(out.vals, x.vals[i])
		}
	} else {
		start, end = max(-1, min(start, d-1)), max(-1, min(end, d-1))
		for i := start; i > end; i += step {
			out.vals = append(out.vals, x.vals[i])
		}
	}
	out.shape = []int{len(out.vals)}
	return out
}

func arithSym(op string, a, b *symValue) *symValue {
	if a == nil || b == nil || a.dt != b.dt {
		return nil
	}
	la, lb := len(a.vals), len(b.vals)
	if la != lb && la != 1 && lb != 1 {
		return nil
	}
	out := &symValue{dt: a.dt, shape: a.shape}
	if lb > la || (lb == la && len(b.shape) > len(a.shape)) {
		out.shape = b.shape
	}
	out.shape = append([]int{}, out.shape...)
	n := max(la, lb)
	for i := 0; i < n; i++ {
		x, y := a.vals[min(i, la-1)], b.vals[min(i, lb-1)]
		var r sdim
		switch {
		case x.kind == dimKnown && y.kind == dimKnown:
			switch op {
			case "Add":
				r = sdim{dimKnown, x.v + y.v}
			case "Sub":
				r = sdim{dimKnown, x.v - y.v}
			case "Mul":
				r = sdim{dimKnown, x.v * y.v}
			case "Div":
				if y.v == 0 {
					return nil
				}
				r = sdim{dimKnown, x.v / y.v}
			}
		case y.kind == dimKnown && ((op == "Mul" || op == "Div") && y.v == 1 || (op == "Add" || op == "Sub") && y.v == 0):
			r = x
		case x.kind == dimKnown && (op == "Mul" && x.v == 1 || op == "Add" && x.v == 0):
			r = y
		}
		out.vals = append(out.vals, r)
	}
	return out
}

// symReshapeTarget turns a symbolic Reshape target into a constant one, or
// returns nil. A symbol at position i becomes 0 (copy the input dimension)
// when the input's dimension i is that same symbol, else -1 when it is the
// only element not known.
func symReshapeTarget(n *Node, v *symValue, in []sdim) *Tensor {
	if len(v.shape) != 1 {
		return nil
	}
	allowZero := n.AttrInt("allowzero", 0) != 0
	unknown, minus := 0, 0
	for _, d := range v.vals {
		switch {
		case d.kind != dimKnown:
			unknown++
		case d.v == -1:
			minus++
		}
	}
	t := New(Int64, len(v.vals))
	for i, d := range v.vals {
		switch d.kind {
		case dimKnown:
			t.I64[i] = d.v
		case dimSym:
			if !allowZero && i < len(in) && in[i].kind == dimSym && in[i].v == d.v {
				t.I64[i] = 0
				unknown--
				continue
			}
			fallthrough
		default:
			t.I64[i] = math.MinInt64 // resolved below
		}
	}
	for i := range t.I64 {
		if t.I64[i] != math.MinInt64 {
			continue
		}
		if unknown != 1 || minus != 0 {
			return nil
		}
		t.I64[i] = -1
	}
	return t
}
