package nn

import "math"

// Shape and data-movement operators: Flatten, Reshape, Squeeze and
// Unsqueeze (zero-copy: they alias their input), Concat, Shape, Gather,
// Transpose and Constant. They work on every dtype.

func init() {
	Register("Flatten", buildFlatten)
	Register("Reshape", buildReshape)
	Register("Squeeze", buildSqueeze)
	Register("Unsqueeze", buildUnsqueeze)
	Register("Concat", buildConcat)
	Register("Shape", buildShape)
	Register("Gather", buildGather)
	Register("Transpose", buildTranspose)
	Register("Constant", buildConstant)
}

// reshapeKernel is any zero-copy view: f maps the input shape to the output.
type reshapeKernel struct {
	op string
	f  func(in []int) ([]int, error)
}

func (k *reshapeKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	s, err := k.f(in[0].Shape)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: in[0].DType, Shape: s}}, nil
}

func (k *reshapeKernel) Run(rc *RunContext, in, out []*Tensor) error {
	copyTensorData(out[0], in[0])
	return nil
}

func (k *reshapeKernel) AliasInput() int { return 0 }

func buildFlatten(bc *BuildContext) (Kernel, error) {
	axis := int(bc.Node.AttrInt("axis", 1))
	return &reshapeKernel{op: "Flatten", f: func(s []int) ([]int, error) {
		ax, err := normAxis("Flatten", axis, len(s), true)
		if err != nil {
			return nil, err
		}
		return []int{prod(s[:ax]), prod(s[ax:])}, nil
	}}, nil
}

func buildReshape(bc *BuildContext) (Kernel, error) {
	sc := bc.InputConst(1)
	if sc == nil {
		return nil, unsupportedErrf("Reshape target shape %q must be a constant (fold shape computations first)", bc.Node.Input(1))
	}
	target, err := constInts(sc)
	if err != nil {
		return nil, err
	}
	allowZero := bc.Node.AttrInt("allowzero", 0) != 0
	return &reshapeKernel{op: "Reshape", f: func(s []int) ([]int, error) {
		return reshapeTarget(s, target, allowZero)
	}}, nil
}

// reshapeTarget resolves ONNX Reshape's target against input shape s.
func reshapeTarget(s, target []int, allowZero bool) ([]int, error) {
	out := make([]int, len(target))
	infer := -1
	known := 1
	dynamic := false
	for i, d := range target {
		switch {
		case d == 0 && !allowZero:
			if i >= len(s) {
				return nil, shapeErrf("Reshape target %v copies dimension %d of %v", target, i, s)
			}
			d = s[i]
		case d == -1:
			if infer >= 0 {
				return nil, shapeErrf("Reshape target %v has two -1", target)
			}
			infer = i
			continue
		case d < -1:
			return nil, shapeErrf("Reshape target %v has dimension %d", target, d)
		}
		out[i] = d
		if d < 0 {
			dynamic = true
			continue
		}
		if d != 0 && known > math.MaxInt/d {
			return nil, shapeErrf("Reshape target %v too large", target)
		}
		known *= d
	}
	total := NumElements(s)
	if total < 0 || dynamic {
		if infer >= 0 {
			out[infer] = -1
		}
		return out, nil
	}
	if infer >= 0 {
		if known == 0 {
			if total != 0 {
				return nil, shapeErrf("Reshape %v to %v: cannot infer -1 next to a zero dimension", s, target)
			}
			out[infer] = 0
		} else {
			if total%known != 0 {
				return nil, shapeErrf("Reshape %v (%d values) to %v", s, total, target)
			}
			out[infer] = total / known
		}
		return out, nil
	}
	if known != total {
		return nil, shapeErrf("Reshape %v (%d values) to %v (%d values)", s, total, target, known)
	}
	return out, nil
}

func buildSqueeze(bc *BuildContext) (Kernel, error) {
	axes, has, err := intsOrInput(bc, 1, "axes")
	if err != nil {
		return nil, err
	}
	return &reshapeKernel{op: "Squeeze", f: func(s []int) ([]int, error) {
		drop := make([]bool, len(s))
		if !has {
			for i, d := range s {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			ax, err := normAxis("Squeeze", a, len(s), false)
			if err != nil {
				return nil, err
			}
			if s[ax] != 1 && s[ax] >= 0 {
				return nil, shapeErrf("Squeeze axis %d of %v is not 1", a, s)
			}
			drop[ax] = true
		}
		out := []int{}
		for i, d := range s {
			if !drop[i] {
				out = append(out, d)
			}
		}
		return out, nil
	}}, nil
}

func buildUnsqueeze(bc *BuildContext) (Kernel, error) {
	axes, has, err := intsOrInput(bc, 1, "axes")
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, shapeErrf("Unsqueeze needs axes (attribute before opset 13, input from 13)")
	}
	return &reshapeKernel{op: "Unsqueeze", f: func(s []int) ([]int, error) {
		r := len(s) + len(axes)
		ins := make([]bool, r)
		for _, a := range axes {
			ax, err := normAxis("Unsqueeze", a, r, false)
			if err != nil {
				return nil, err
			}
			if ins[ax] {
				return nil, shapeErrf("Unsqueeze axes %v repeat %d", axes, a)
			}
			ins[ax] = true
		}
		out := make([]int, r)
		j := 0
		for i := range out {
			if ins[i] {
				out[i] = 1
			} else {
				out[i] = s[j]
				j++
			}
		}
		return out, nil
	}}, nil
}

// concatKernel joins inputs along axis; any dtype (all inputs alike).
type concatKernel struct{ axis int }

func buildConcat(bc *BuildContext) (Kernel, error) {
	if !hasAttr(bc.Node, "axis") {
		return nil, shapeErrf("Concat needs attribute axis")
	}
	return &concatKernel{axis: int(bc.Node.AttrInt("axis", 0))}, nil
}

func (k *concatKernel) OutputTypes(in []Type) ([]Type, error) {
	if len(in) == 0 {
		return nil, shapeErrf("Concat has no inputs")
	}
	if err := needInputs("Concat", in, len(in)); err != nil {
		return nil, err
	}
	first := in[0]
	if first.DType.Size() == 0 {
		return nil, dtypeErrf("Concat on %v", first.DType)
	}
	ax, err := normAxis("Concat", k.axis, len(first.Shape), false)
	if err != nil {
		return nil, err
	}
	out := append([]int(nil), first.Shape...)
	for i, t := range in[1:] {
		if t.DType != first.DType {
			return nil, dtypeErrf("Concat input %d is %v, input 0 is %v", i+1, t.DType, first.DType)
		}
		if len(t.Shape) != len(first.Shape) {
			return nil, shapeErrf("Concat input %d has shape %v, input 0 has %v", i+1, t.Shape, first.Shape)
		}
		for d := range t.Shape {
			if d == ax {
				if t.Shape[d] < 0 || out[d] < 0 {
					out[d] = -1
				} else {
					out[d] += t.Shape[d]
				}
			} else if t.Shape[d] != first.Shape[d] {
				return nil, shapeErrf("Concat input %d has shape %v, input 0 has %v (axis %d)", i+1, t.Shape, first.Shape, k.axis)
			}
		}
	}
	return []Type{{DType: first.DType, Shape: out}}, nil
}

func (k *concatKernel) Run(rc *RunContext, in, out []*Tensor) error {
	y := out[0]
	y.Quant = in[0].Quant // int8 inputs share one quantization (LowerQDQ requantizes the others)
	ax := k.axis
	if ax < 0 {
		ax += len(y.Shape)
	}
	es := y.DType.Size()
	outer := NumElements(y.Shape[:ax])
	inner := NumElements(y.Shape[ax+1:]) * es
	dst := y.Bytes()
	rowOut := y.Shape[ax] * inner
	off := 0
	for _, t := range in {
		src := t.Bytes()
		w := t.Shape[ax] * inner
		for o := 0; o < outer; o++ {
			copy(dst[o*rowOut+off:o*rowOut+off+w], src[o*w:(o+1)*w])
		}
		off += w
	}
	return nil
}

// shapeKernel is Shape with optional start/end (opset 15).
type shapeKernel struct {
	start, end int
	hasEnd     bool
}

func buildShape(bc *BuildContext) (Kernel, error) {
	return &shapeKernel{
		start:  int(bc.Node.AttrInt("start", 0)),
		end:    int(bc.Node.AttrInt("end", 0)),
		hasEnd: hasAttr(bc.Node, "end"),
	}, nil
}

func (k *shapeKernel) span(r int) (int, int) {
	clamp := func(v int) int {
		if v < 0 {
			v += r
		}
		return max(0, min(v, r))
	}
	s, e := clamp(k.start), r
	if k.hasEnd {
		e = clamp(k.end)
	}
	return s, max(s, e)
}

func (k *shapeKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("Shape", in, 1); err != nil {
		return nil, err
	}
	s, e := k.span(len(in[0].Shape))
	return []Type{{DType: Int64, Shape: []int{e - s}}}, nil
}

func (k *shapeKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s, e := k.span(len(in[0].Shape))
	for i, d := range in[0].Shape[s:e] {
		out[0].I64[i] = int64(d)
	}
	return nil
}

// gatherKernel is Gather along axis with int64 or int32 indices; any dtype.
type gatherKernel struct{ axis int }

func buildGather(bc *BuildContext) (Kernel, error) {
	return &gatherKernel{axis: int(bc.Node.AttrInt("axis", 0))}, nil
}

func (k *gatherKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("Gather", in, 2); err != nil {
		return nil, err
	}
	if in[0].DType.Size() == 0 {
		return nil, dtypeErrf("Gather data is %v", in[0].DType)
	}
	if in[1].DType != Int64 && in[1].DType != Int32 {
		return nil, dtypeErrf("Gather indices are %v, want int64 or int32", in[1].DType)
	}
	d := in[0].Shape
	ax, err := normAxis("Gather", k.axis, len(d), false)
	if err != nil {
		return nil, err
	}
	out := append([]int(nil), d[:ax]...)
	out = append(out, in[1].Shape...)
	out = append(out, d[ax+1:]...)
	return []Type{{DType: in[0].DType, Shape: out}}, nil
}

func (k *gatherKernel) Run(rc *RunContext, in, out []*Tensor) error {
	data, idx, y := in[0], in[1], out[0]
	ax := k.axis
	if ax < 0 {
		ax += len(data.Shape)
	}
	es := data.DType.Size()
	outer := NumElements(data.Shape[:ax])
	n := data.Shape[ax]
	inner := NumElements(data.Shape[ax+1:]) * es
	src, dst := data.Bytes(), y.Bytes()
	ni := idx.Len()
	for i := 0; i < ni; i++ {
		var v int
		if idx.DType == Int64 {
			v = int(idx.I64[i])
		} else {
			v = int(idx.I32[i])
		}
		if v < -n || v >= n {
			return shapeErrf("Gather index %d out of range for axis %d of size %d", v, ax, n)
		}
		if v < 0 {
			v += n
		}
		for o := 0; o < outer; o++ {
			copy(dst[(o*ni+i)*inner:(o*ni+i+1)*inner], src[(o*n+v)*inner:(o*n+v+1)*inner])
		}
	}
	return nil
}

// transposeKernel permutes dimensions; any dtype.
type transposeKernel struct{ perm []int }

func buildTranspose(bc *BuildContext) (Kernel, error) {
	return &transposeKernel{perm: bc.Node.AttrInts("perm", nil)}, nil
}

func (k *transposeKernel) permFor(r int) ([maxBroadcastRank]int, error) {
	var p [maxBroadcastRank]int
	if r > maxBroadcastRank {
		return p, shapeErrf("Transpose rank %d above %d", r, maxBroadcastRank)
	}
	if k.perm == nil {
		for i := 0; i < r; i++ {
			p[i] = r - 1 - i
		}
		return p, nil
	}
	if len(k.perm) != r {
		return p, shapeErrf("Transpose perm %v for rank %d", k.perm, r)
	}
	var seen [maxBroadcastRank]bool
	for i, v := range k.perm {
		if v < 0 || v >= r || seen[v] {
			return p, shapeErrf("Transpose perm %v is not a permutation", k.perm)
		}
		seen[v] = true
		p[i] = v
	}
	return p, nil
}

func (k *transposeKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("Transpose", in, 1); err != nil {
		return nil, err
	}
	if in[0].DType.Size() == 0 {
		return nil, dtypeErrf("Transpose on %v", in[0].DType)
	}
	s := in[0].Shape
	p, err := k.permFor(len(s))
	if err != nil {
		return nil, err
	}
	out := make([]int, len(s))
	for i := range out {
		out[i] = s[p[i]]
	}
	return []Type{{DType: in[0].DType, Shape: out}}, nil
}

func (k *transposeKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	r := len(x.Shape)
	p, err := k.permFor(r)
	if err != nil {
		return err
	}
	xs, ys := coalescePerm(x.Shape, &p, &r)
	y.Quant = x.Quant
	switch x.DType {
	case Float32:
		transposeT(x.F32, y.F32, xs[:r], ys[:r], &p, r)
	case Int64:
		transposeT(x.I64, y.I64, xs[:r], ys[:r], &p, r)
	case Int32:
		transposeT(x.I32, y.I32, xs[:r], ys[:r], &p, r)
	case Int8:
		transposeT(x.I8, y.I8, xs[:r], ys[:r], &p, r)
	case Uint8:
		transposeT(x.U8, y.U8, xs[:r], ys[:r], &p, r)
	default:
		return dtypeErrf("Transpose on %v", x.DType)
	}
	return nil
}

// coalescePerm simplifies the transpose of a tensor of shape xs by *p (of
// rank *r) to an equal one of fewer dimensions: it drops dimensions of size
// 1 and merges output dimensions that are adjacent in the input too. A
// channel shuffle (shape [N, 2, C/2, H, W], perm 0,2,1,3,4) becomes
// [2, C/2, HW] by 1,0,2, whose rows of HW values are plain copies. It
// returns the input and output shapes and updates *p and *r.
func coalescePerm(shape []int, p *[maxBroadcastRank]int, r *int) (xs, ys [maxBroadcastRank]int) {
	// Drop size-1 dimensions, renumbering the rest.
	var idx [maxBroadcastRank]int
	n := 0
	for i := 0; i < *r; i++ {
		idx[i] = n
		if shape[i] != 1 {
			xs[n] = shape[i]
			n++
		}
	}
	m := 0
	for i := 0; i < *r; i++ {
		if shape[p[i]] != 1 {
			p[m] = idx[p[i]]
			m++
		}
	}
	// Merge output neighbours j, j+1 that read input dims a, a+1.
	for j := 0; j+1 < m; {
		a := p[j]
		if p[j+1] != a+1 {
			j++
			continue
		}
		xs[a] *= xs[a+1]
		copy(xs[a+1:n], xs[a+2:n])
		n--
		copy(p[j+1:m], p[j+2:m])
		m--
		for i := 0; i < m; i++ {
			if p[i] > a {
				p[i]--
			}
		}
	}
	if n == 0 {
		xs[0], p[0], n = 1, 0, 1
	}
	for i := 0; i < n; i++ {
		ys[i] = xs[p[i]]
	}
	*r = n
	return xs, ys
}

func transposeT[E any](x, y []E, xs, ys []int, p *[maxBroadcastRank]int, r int) {
	if len(y) == 0 {
		return
	}
	if r == 0 {
		y[0] = x[0]
		return
	}
	// Input strides, then the stride of each output dimension in the input.
	var xst, st, idx [maxBroadcastRank]int
	acc := 1
	for i := r - 1; i >= 0; i-- {
		xst[i] = acc
		acc *= xs[i]
	}
	for i := 0; i < r; i++ {
		st[i] = xst[p[i]]
	}
	last := ys[r-1]
	ls := st[r-1]
	off := 0
	for o := 0; o < len(y); o += last {
		row := y[o : o+last]
		if ls == 1 {
			copy(row, x[off:off+last])
		} else {
			for i := range row {
				row[i] = x[off+i*ls]
			}
		}
		// Advance the odometer over the outer output dims.
		for d := r - 2; d >= 0; d-- {
			idx[d]++
			off += st[d]
			if idx[d] < ys[d] {
				break
			}
			off -= idx[d] * st[d]
			idx[d] = 0
		}
	}
}

// constantKernel is the Constant op: its value is copied into the output.
type constantKernel struct{ t *Tensor }

func buildConstant(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	var t *Tensor
	for name, a := range n.Attrs {
		switch name {
		case "value":
			if a.Kind != AttrTensor || a.Tensor == nil {
				return nil, dtypeErrf("Constant value attribute is not a tensor")
			}
			t = a.Tensor
		case "value_float":
			t = &Tensor{DType: Float32, Shape: []int{}, F32: []float32{attrFloatAny(n, name, 0)}}
		case "value_floats":
			t = &Tensor{DType: Float32, Shape: []int{len(a.Floats)}, F32: append([]float32(nil), a.Floats...)}
		case "value_int":
			t = &Tensor{DType: Int64, Shape: []int{}, I64: []int64{a.Int}}
		case "value_ints":
			t = &Tensor{DType: Int64, Shape: []int{len(a.Ints)}, I64: append([]int64(nil), a.Ints...)}
		default:
			continue
		}
		break
	}
	if t == nil {
		return nil, unsupportedErrf("Constant node %s has no supported value attribute", n.Name)
	}
	if t.DType.Size() == 0 || t.Len() != NumElements(t.Shape) {
		return nil, shapeErrf("Constant value %v has %d values", t.Type(), t.Len())
	}
	return &constantKernel{t: t}, nil
}

func (k *constantKernel) OutputTypes(in []Type) ([]Type, error) {
	return []Type{k.t.Type()}, nil
}

func (k *constantKernel) Run(rc *RunContext, in, out []*Tensor) error {
	copyTensorData(out[0], k.t)
	out[0].Quant = k.t.Quant
	return nil
}
