package nn

import (
	"math"
)

// Data-movement operators on any dtype, running on data (constant inputs
// are folded by the graph passes): Slice, Cast, Expand, ConstantOfShape,
// Range, Split, Tile and Pad. Shape-determining inputs (starts, shapes,
// repeats, pads, ...) must be constants after folding, since the engine
// plans output shapes from input types.

func init() {
	Register("Slice", buildSlice)
	Register("Cast", buildCast)
	Register("CastLike", func(bc *BuildContext) (Kernel, error) { return &castKernel{like: true}, nil })
	Register("Expand", buildExpand)
	Register("ConstantOfShape", buildConstantOfShape)
	Register("Range", func(bc *BuildContext) (Kernel, error) { return buildRange(bc) })
	Register("Split", buildSplit)
	Register("Tile", buildTile)
	Register("Pad", buildPad)
}

// indexMapKernel writes output element i from input element idx(i) (or a
// fill value where idx is negative). Slice, Expand, Tile and Pad are
// gathers whose index map depends only on the shapes.
type indexMapKernel struct {
	op    string
	shape func(in []Type) ([]int, error)
	// index fills idx (one per output element) for input shape x and
	// output shape y.
	index func(x, y []int, idx []int32)
	fill  func(in []*Tensor) float64 // Pad's constant (nil: 0)
}

func (k *indexMapKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	if in[0].DType.Size() == 0 {
		return nil, dtypeErrf("%s on %v", k.op, in[0].DType)
	}
	s, err := k.shape(in)
	if err != nil {
		return nil, err
	}
	if NumElements(s) < 0 || NumElements(s) > math.MaxInt32 {
		return nil, shapeErrf("%s output shape %v too large", k.op, s)
	}
	return []Type{{DType: in[0].DType, Shape: s}}, nil
}

// MACs counts one move per output element.
func (k *indexMapKernel) MACs(in, out []Type) int64 { return elemCount(out) }

func (k *indexMapKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	idx := rc.ScratchI32(y.Len())
	k.index(x.Shape, y.Shape, idx)
	fill := 0.0
	if k.fill != nil {
		fill = k.fill(in)
	}
	gatherElems(y, x, idx, fill)
	return nil
}

// gatherElems sets dst[i] = src[idx[i]], or fill where idx[i] < 0.
func gatherElems(dst, src *Tensor, idx []int32, fill float64) {
	switch dst.DType {
	case Float32:
		gatherTyped(dst.F32, src.F32, idx, float32(fill))
	case Int64:
		gatherTyped(dst.I64, src.I64, idx, int64(fill))
	case Int32:
		gatherTyped(dst.I32, src.I32, idx, int32(fill))
	case Uint8:
		gatherTyped(dst.U8, src.U8, idx, uint8(fill))
	case Int8:
		gatherTyped(dst.I8, src.I8, idx, int8(fill))
	}
}

func gatherTyped[T any](dst, src []T, idx []int32, fill T) {
	for i, j := range idx[:len(dst)] {
		if j < 0 {
			dst[i] = fill
		} else {
			dst[i] = src[j]
		}
	}
}

// stridesOf is the row-major strides of shape s.
func stridesOf(s []int) []int {
	st := make([]int, len(s))
	acc := 1
	for d := len(s) - 1; d >= 0; d-- {
		st[d] = acc
		acc *= s[d]
	}
	return st
}

// mapIndex fills idx for an output of shape y whose coordinate c along
// dimension d reads input coordinate src(d, c) (negative: fill).
func mapIndex(x, y []int, idx []int32, src func(d, c int) int) {
	xs := stridesOf(x)
	r := len(y)
	// Per dimension, the input offset contribution of each output coordinate.
	tab := make([][]int, r)
	for d := 0; d < r; d++ {
		tab[d] = make([]int, y[d])
		for c := range tab[d] {
			if s := src(d, c); s < 0 {
				tab[d][c] = -1
			} else {
				tab[d][c] = s * xs[d]
			}
		}
	}
	n := NumElements(y)
	cnt := make([]int, r)
	for o := 0; o < n; o++ {
		off := 0
		for d := 0; d < r; d++ {
			t := tab[d][cnt[d]]
			if t < 0 {
				off = -1
				break
			}
			off += t
		}
		idx[o] = int32(off)
		for d := r - 1; d >= 0; d-- {
			if cnt[d]++; cnt[d] < y[d] {
				break
			}
			cnt[d] = 0
		}
	}
}

// constIntsInput reads constant int input i of the node; absent gives nil.
func constIntsInput(bc *BuildContext, i int) ([]int, bool, error) {
	name := bc.Node.Input(i)
	if name == "" {
		return nil, false, nil
	}
	c := bc.Const(name)
	if c == nil {
		return nil, false, unsupportedErrf("%s input %d (%q) must be a constant (it decides the output shape)", bc.Node.Op, i, name)
	}
	v, err := constInts(c)
	return v, true, err
}

// sliceRange is one axis of a Slice: start, step and count after clamping.
func sliceRange(dim, start, end, step int) (s, n int) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start = max(0, min(start, dim))
		end = max(0, min(end, dim))
		if end > start {
			n = (end - start + step - 1) / step
		}
	} else {
		start = max(-1, min(start, dim-1))
		end = max(-1, min(end, dim-1))
		if start > end {
			n = (start - end - step - 1) / -step
		}
	}
	return start, n
}

func buildSlice(bc *BuildContext) (Kernel, error) {
	starts, _, err := constIntsInput(bc, 1)
	if err != nil {
		return nil, err
	}
	ends, _, err := constIntsInput(bc, 2)
	if err != nil {
		return nil, err
	}
	axes, hasAxes, err := constIntsInput(bc, 3)
	if err != nil {
		return nil, err
	}
	steps, hasSteps, err := constIntsInput(bc, 4)
	if err != nil {
		return nil, err
	}
	if bc.Node.Input(1) == "" {
		// Slice-1 (attributes), if a graph was built without the importer.
		starts, ends = bc.Node.AttrInts("starts", nil), bc.Node.AttrInts("ends", nil)
		axes, hasAxes = bc.Node.AttrInts("axes", nil), hasAttr(bc.Node, "axes")
	}
	if len(starts) != len(ends) || (hasAxes && len(axes) != len(starts)) || (hasSteps && len(steps) != len(starts)) {
		return nil, shapeErrf("Slice starts %v ends %v axes %v steps %v differ in length", starts, ends, axes, steps)
	}
	plan := func(x []int) (begin, step, count []int, err error) {
		r := len(x)
		begin, step, count = make([]int, r), make([]int, r), append([]int(nil), x...)
		for d := range step {
			step[d] = 1
		}
		seen := make([]bool, r)
		for i := range starts {
			ax := i
			if hasAxes {
				ax = axes[i]
			}
			if ax, err = normAxis("Slice", ax, r, false); err != nil {
				return
			}
			if seen[ax] {
				err = shapeErrf("Slice axis %d repeated", ax)
				return
			}
			seen[ax] = true
			st := 1
			if hasSteps {
				st = steps[i]
			}
			if st == 0 {
				err = shapeErrf("Slice step 0")
				return
			}
			if x[ax] < 0 {
				err = shapeErrf("Slice of dynamic dimension %d of %v", ax, x)
				return
			}
			begin[ax], count[ax] = sliceRange(x[ax], starts[i], ends[i], st)
			step[ax] = st
		}
		return
	}
	return &indexMapKernel{op: "Slice",
		shape: func(in []Type) ([]int, error) {
			_, _, c, err := plan(in[0].Shape)
			return c, err
		},
		index: func(x, y []int, idx []int32) {
			b, s, _, _ := plan(x)
			mapIndex(x, y, idx, func(d, c int) int { return b[d] + c*s[d] })
		}}, nil
}

func buildExpand(bc *BuildContext) (Kernel, error) {
	shape, ok, err := constIntsInput(bc, 1)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, shapeErrf("Expand needs a shape input")
	}
	return &indexMapKernel{op: "Expand",
		shape: func(in []Type) ([]int, error) { return broadcastShape("Expand", in[0].Shape, shape) },
		index: func(x, y []int, idx []int32) {
			xp := make([]int, len(y))
			for d := range xp {
				xp[d] = 1
			}
			copy(xp[len(y)-len(x):], x)
			mapIndex(xp, y, idx, func(d, c int) int {
				if xp[d] == 1 {
					return 0
				}
				return c
			})
		}}, nil
}

func buildTile(bc *BuildContext) (Kernel, error) {
	reps, ok, err := constIntsInput(bc, 1)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, shapeErrf("Tile needs a repeats input")
	}
	return &indexMapKernel{op: "Tile",
		shape: func(in []Type) ([]int, error) {
			x := in[0].Shape
			if len(reps) != len(x) {
				return nil, shapeErrf("Tile repeats %v for an input of shape %v", reps, x)
			}
			out := make([]int, len(x))
			for i, d := range x {
				if reps[i] < 0 || d < 0 {
					return nil, shapeErrf("Tile repeats %v of shape %v", reps, x)
				}
				out[i] = d * reps[i]
			}
			return out, nil
		},
		index: func(x, y []int, idx []int32) {
			mapIndex(x, y, idx, func(d, c int) int { return c % x[d] })
		}}, nil
}

// Pad modes.
const (
	padConstant = iota
	padReflect
	padEdge
	padWrap
)

// padSpans returns a Pad's begin and end pads per dimension of a rank-r
// input, from its pads and, with hasAxes, the axes they apply to.
func padSpans(pads, axes []int, hasAxes bool, r int) (b, e []int, err error) {
	b, e = make([]int, r), make([]int, r)
	if !hasAxes {
		if len(pads) != 2*r {
			return nil, nil, shapeErrf("Pad pads %v for rank %d", pads, r)
		}
		copy(b, pads[:r])
		copy(e, pads[r:])
		return b, e, nil
	}
	if len(pads) != 2*len(axes) {
		return nil, nil, shapeErrf("Pad pads %v for axes %v", pads, axes)
	}
	for i, a := range axes {
		ax, err := normAxis("Pad", a, r, false)
		if err != nil {
			return nil, nil, err
		}
		b[ax], e[ax] = pads[i], pads[i+len(axes)]
	}
	return b, e, nil
}

func buildPad(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	pads, ok, err := constIntsInput(bc, 1)
	if err != nil {
		return nil, err
	}
	if !ok {
		pads = n.AttrInts("pads", nil)
	}
	axes, hasAxes, err := constIntsInput(bc, 3)
	if err != nil {
		return nil, err
	}
	var mode int
	switch m := n.AttrString("mode", "constant"); m {
	case "constant":
		mode = padConstant
	case "reflect":
		mode = padReflect
	case "edge":
		mode = padEdge
	case "wrap":
		mode = padWrap
	default:
		return nil, unsupportedErrf("Pad mode %q", m)
	}
	attrValue := float64(attrFloatAny(n, "value", 0))
	// per-dimension begin/end pads for rank r.
	full := func(r int) ([]int, []int, error) { return padSpans(pads, axes, hasAxes, r) }
	k := &indexMapKernel{op: "Pad",
		shape: func(in []Type) ([]int, error) {
			x := in[0].Shape
			b, e, err := full(len(x))
			if err != nil {
				return nil, err
			}
			out := make([]int, len(x))
			for i, d := range x {
				out[i] = d + b[i] + e[i]
				if d < 0 || out[i] < 0 {
					return nil, shapeErrf("Pad %v of shape %v", pads, x)
				}
				if mode != padConstant && d == 0 && out[i] > 0 {
					return nil, shapeErrf("Pad mode %d of an empty dimension", mode)
				}
			}
			return out, nil
		},
		index: func(x, y []int, idx []int32) {
			b, _, _ := full(len(x))
			mapIndex(x, y, idx, func(d, c int) int {
				i, n := c-b[d], x[d]
				if i >= 0 && i < n {
					return i
				}
				switch mode {
				case padEdge:
					return max(0, min(i, n-1))
				case padReflect:
					if n == 1 {
						return 0
					}
					p := 2 * (n - 1)
					i = ((i % p) + p) % p
					if i >= n {
						i = p - i
					}
					return i
				case padWrap:
					return ((i % n) + n) % n
				}
				return -1
			})
		},
		fill: func(in []*Tensor) float64 {
			if presentT(in, 2) && in[2].Len() == 1 {
				return asFloat64(in[2])(0)
			}
			return attrValue
		}}
	return k, nil
}

// castKernel is Cast (to a dtype code) and CastLike (to input 1's dtype).
// Booleans are uint8 0/1; float to integer truncates toward zero.
type castKernel struct {
	to   DType
	bool bool // to BOOL: nonzero becomes 1
	like bool
}

// dtypeFromCode maps an ONNX TensorProto data type code to a dtype.
func dtypeFromCode(code int64) (DType, bool, error) {
	switch code {
	case 1:
		return Float32, false, nil
	case 2:
		return Uint8, false, nil
	case 3:
		return Int8, false, nil
	case 6:
		return Int32, false, nil
	case 7:
		return Int64, false, nil
	case 9:
		return Uint8, true, nil
	case 11:
		return Float32, false, nil // double computed in float32
	}
	return Undefined, false, unsupportedErrf("Cast to ONNX data type %d", code)
}

func buildCast(bc *BuildContext) (Kernel, error) {
	to, isBool, err := dtypeFromCode(bc.Node.AttrInt("to", 0))
	if err != nil {
		return nil, err
	}
	return &castKernel{to: to, bool: isBool}, nil
}

func (k *castKernel) OutputTypes(in []Type) ([]Type, error) {
	n := 1
	if k.like {
		n = 2
	}
	if err := needInputs("Cast", in, n); err != nil {
		return nil, err
	}
	if in[0].DType.Size() == 0 {
		return nil, dtypeErrf("Cast from %v", in[0].DType)
	}
	to := k.to
	if k.like {
		to = in[1].DType
	}
	return []Type{{DType: to, Shape: in[0].Shape}}, nil
}

func (k *castKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	get := asFloat64(x)
	n := y.Len()
	if x.DType == Int64 && y.DType == Int64 {
		copy(y.I64, x.I64)
		return nil
	}
	for i := 0; i < n; i++ {
		var v float64
		if x.DType == Int64 {
			v = float64(x.I64[i])
		} else {
			v = get(i)
		}
		if k.bool {
			y.U8[i] = b2u(v != 0)
			continue
		}
		switch y.DType {
		case Float32:
			y.F32[i] = float32(v)
		case Int64:
			if x.DType == Int64 {
				y.I64[i] = x.I64[i]
			} else {
				y.I64[i] = truncInt(v, math.MinInt64, math.MaxInt64)
			}
		case Int32:
			y.I32[i] = int32(truncInt(v, math.MinInt32, math.MaxInt32))
		case Uint8:
			y.U8[i] = uint8(truncInt(v, math.MinInt64, math.MaxInt64))
		case Int8:
			y.I8[i] = int8(truncInt(v, math.MinInt64, math.MaxInt64))
		}
	}
	return nil
}

// truncInt converts v toward zero, saturating at lo and hi (NaN gives lo,
// as x86 conversions do for out-of-range values).
func truncInt(v float64, lo, hi int64) int64 {
	switch {
	case v != v:
		return lo
	case v <= float64(lo):
		return lo
	case v >= float64(hi):
		return hi
	}
	return int64(v)
}

// constantOfShapeKernel is ConstantOfShape with a constant shape input.
type constantOfShapeKernel struct {
	shape []int
	value *Tensor
}

func buildConstantOfShape(bc *BuildContext) (Kernel, error) {
	shape, ok, err := constIntsInput(bc, 0)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, shapeErrf("ConstantOfShape needs a shape input")
	}
	for _, d := range shape {
		if d < 0 {
			return nil, shapeErrf("ConstantOfShape shape %v", shape)
		}
	}
	v := &Tensor{DType: Float32, Shape: []int{1}, F32: []float32{0}}
	if a, ok := bc.Node.Attrs["value"]; ok {
		if a.Kind != AttrTensor || a.Tensor == nil || a.Tensor.Len() != 1 {
			return nil, shapeErrf("ConstantOfShape value must be a one-element tensor")
		}
		v = a.Tensor
	}
	return &constantOfShapeKernel{shape: shape, value: v}, nil
}

func (k *constantOfShapeKernel) OutputTypes(in []Type) ([]Type, error) {
	if NumElements(k.shape) < 0 || NumElements(k.shape) > math.MaxInt32 {
		return nil, shapeErrf("ConstantOfShape shape %v too large", k.shape)
	}
	return []Type{{DType: k.value.DType, Shape: append([]int{}, k.shape...)}}, nil
}

func (k *constantOfShapeKernel) Run(rc *RunContext, in, out []*Tensor) error {
	idx := rc.ScratchI32(out[0].Len())
	for i := range idx {
		idx[i] = 0
	}
	gatherElems(out[0], k.value, idx, 0)
	return nil
}

// rangeKernel is Range with constant scalar start, limit and delta.
type rangeKernel struct {
	start, delta float64
	n            int
	dt           DType
}

func buildRange(bc *BuildContext) (Kernel, error) {
	var v [3]float64
	var dt DType
	for i := range v {
		c := bc.InputConst(i)
		if c == nil || c.Len() != 1 {
			return nil, unsupportedErrf("Range input %d must be a constant scalar (it decides the output shape)", i)
		}
		v[i], dt = asFloat64(c)(0), c.DType
		if c.DType == Int64 {
			v[i] = float64(c.I64[0])
		}
	}
	if v[2] == 0 {
		return nil, shapeErrf("Range delta 0")
	}
	n := int(math.Max(math.Ceil((v[1]-v[0])/v[2]), 0))
	if n > 1<<26 {
		return nil, shapeErrf("Range of %d values", n)
	}
	return &rangeKernel{start: v[0], delta: v[2], n: n, dt: dt}, nil
}

func (k *rangeKernel) OutputTypes(in []Type) ([]Type, error) {
	return []Type{{DType: k.dt, Shape: []int{k.n}}}, nil
}

func (k *rangeKernel) Run(rc *RunContext, in, out []*Tensor) error {
	y := out[0]
	for i := 0; i < k.n; i++ {
		switch y.DType {
		case Float32:
			// ONNX defines each element as start + i·delta in the input type.
			y.F32[i] = float32(k.start) + float32(i)*float32(k.delta)
		case Int64:
			y.I64[i] = int64(k.start) + int64(i)*int64(k.delta)
		case Int32:
			y.I32[i] = int32(k.start) + int32(i)*int32(k.delta)
		default:
			return dtypeErrf("Range of %v", y.DType)
		}
	}
	return nil
}

// splitKernel is Split along axis into parts given by split (input from
// opset 13, attribute before), num_outputs (opset 18) or equal parts.
type splitKernel struct {
	axis  int
	split []int
	nout  int
}

func buildSplit(bc *BuildContext) (Kernel, error) {
	split, _, err := intsOrInput(bc, 1, "split")
	if err != nil {
		return nil, err
	}
	nout := len(bc.Node.Outputs)
	if len(split) > 0 && len(split) != nout {
		return nil, shapeErrf("Split into %v for %d outputs", split, nout)
	}
	if nout == 0 {
		return nil, shapeErrf("Split without outputs")
	}
	return &splitKernel{axis: int(bc.Node.AttrInt("axis", 0)), split: split, nout: nout}, nil
}

func (k *splitKernel) parts(x []int) ([]int, int, error) {
	ax, err := normAxis("Split", k.axis, len(x), false)
	if err != nil {
		return nil, 0, err
	}
	d := x[ax]
	if k.split != nil {
		sum := 0
		for _, s := range k.split {
			if s < 0 {
				return nil, 0, shapeErrf("Split %v", k.split)
			}
			sum += s
		}
		if sum != d {
			return nil, 0, shapeErrf("Split %v of dimension %d", k.split, d)
		}
		return k.split, ax, nil
	}
	// Equal parts; with num_outputs (opset 18) the last may be smaller.
	size := (d + k.nout - 1) / k.nout
	p := make([]int, k.nout)
	left := d
	for i := range p {
		p[i] = min(size, left)
		left -= p[i]
	}
	if left != 0 || (d%k.nout != 0 && d < k.nout) {
		return nil, 0, shapeErrf("Split of dimension %d into %d", d, k.nout)
	}
	return p, ax, nil
}

func (k *splitKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("Split", in, 1); err != nil {
		return nil, err
	}
	p, ax, err := k.parts(in[0].Shape)
	if err != nil {
		return nil, err
	}
	out := make([]Type, len(p))
	for i, n := range p {
		s := append([]int(nil), in[0].Shape...)
		s[ax] = n
		out[i] = Type{DType: in[0].DType, Shape: s}
	}
	return out, nil
}

func (k *splitKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x := in[0]
	p, ax, err := k.parts(x.Shape)
	if err != nil {
		return err
	}
	es := x.DType.Size()
	outer := NumElements(x.Shape[:ax])
	inner := NumElements(x.Shape[ax+1:]) * es
	src := x.Bytes()
	row := x.Shape[ax] * inner
	off := 0
	for i, n := range p {
		w := n * inner
		if i < len(out) && out[i] != nil {
			out[i].Quant = x.Quant
			dst := out[i].Bytes()
			for o := 0; o < outer; o++ {
				copy(dst[o*w:(o+1)*w], src[o*row+off:o*row+off+w])
			}
		}
		off += w
	}
	return nil
}
