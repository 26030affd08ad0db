package nn

import "fmt"

// QLinearMulInt8: y = a · b on int8 tensors with numpy broadcasting (the
// squeeze-and-excitation product of a feature map [N, C, H, W] and its
// channel gates [N, C, 1, 1], or two maps of one shape). Attributes
// a_scale, a_zero_point, b_scale, b_zero_point, y_scale, y_zero_point,
// relu, y_min, y_max. LowerQDQ turns DQ(a) · DQ(b) -> Q into it.
//
// Arithmetic: the product of two int8 codes has 65,536 cases, so the
// kernel holds them all as a table built from the float path itself:
// entry [vb][va] = Q(DQ(va) · DQ(vb)) with the float32 product, clamped to
// the fused activation's range. The lowered graph equals the float QDQ
// graph exactly. A gate of a whole plane picks one row, which the plane is
// looked up in (q8LookupRun: 64 bytes a step with VBMI, 32 with AVX2).

func init() { Register("QLinearMulInt8", q8BuildMul) }

type q8Mul struct {
	table *[256][256]int8 // [b][a]
	quant *Quant
}

func q8BuildMul(bc *BuildContext) (Kernel, error) {
	var p [3]q8Params
	for i, name := range []string{"a", "b", "y"} {
		var err error
		if p[i], err = q8Attr(bc.Node, name); err != nil {
			return nil, err
		}
	}
	lo, hi := q8Range(bc.Node, p[2])
	k := &q8Mul{table: new([256][256]int8), quant: p[2].quant()}
	for vb := range 256 {
		fb := float32(int32(int8(vb))-p[1].Zero) * p[1].Scale
		for va := range 256 {
			fa := float32(int32(int8(va))-p[0].Zero) * p[0].Scale
			k.table[vb][va] = int8(QuantizeValue(fa*fb, p[2].Scale, p[2].Zero, lo, hi))
		}
	}
	return k, nil
}

func (k *q8Mul) OutputTypes(in []Type) ([]Type, error) {
	if len(in) != 2 || in[0].DType != Int8 || in[1].DType != Int8 {
		return nil, fmt.Errorf("%w: QLinearMulInt8 needs two int8 inputs", ErrDType)
	}
	s, err := broadcastShape("QLinearMulInt8", in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	if len(s) > maxBroadcastRank {
		return nil, fmt.Errorf("%w: QLinearMulInt8 rank %d above %d", ErrShape, len(s), maxBroadcastRank)
	}
	return []Type{{DType: Int8, Shape: s}}, nil
}

// MACs counts one operation per output element.
func (k *q8Mul) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return int64(NumElements(out[0].Shape))
}

func (k *q8Mul) Run(rc *RunContext, in, out []*Tensor) error {
	a, b, y := in[0], in[1], out[0]
	y.Quant = k.quant
	if len(a.I8) == len(y.I8) && len(b.I8) == len(y.I8) {
		for i, va := range a.I8 {
			y.I8[i] = k.table[uint8(b.I8[i])][uint8(va)]
		}
		return nil
	}
	if len(a.I8) == len(y.I8) && q8PerPlane(b.Shape, y.Shape) {
		planes := len(b.I8)
		j := &rc.kernelJobs().q8Mul
		*j = q8MulJob{table: k.table, a: a.I8, b: b.I8, y: y.I8, inner: len(y.I8) / max(planes, 1)}
		rc.parallelFor(blocksFor(rc.Threads, planes, int64(len(y.I8))), planes, j)
		*j = q8MulJob{}
		return nil
	}
	// Any other broadcast: walk the output with each operand's strides.
	rank := len(y.Shape)
	var sa, sb, idx [maxBroadcastRank]int
	q8BroadcastStrides(a.Shape, rank, &sa)
	q8BroadcastStrides(b.Shape, rank, &sb)
	oa, ob := 0, 0
	for i := range y.I8 {
		y.I8[i] = k.table[uint8(b.I8[ob])][uint8(a.I8[oa])]
		for d := rank - 1; d >= 0; d-- {
			idx[d]++
			oa += sa[d]
			ob += sb[d]
			if idx[d] < y.Shape[d] {
				break
			}
			oa -= sa[d] * idx[d]
			ob -= sb[d] * idx[d]
			idx[d] = 0
		}
	}
	return nil
}

// q8BroadcastStrides writes the strides of a tensor of shape s over an
// output of rank dimensions (0 where s broadcasts).
func q8BroadcastStrides(s []int, rank int, st *[maxBroadcastRank]int) {
	acc := 1
	for i := rank - 1; i >= 0; i-- {
		st[i] = 0
		if j := len(s) - rank + i; j >= 0 && s[j] != 1 {
			st[i] = acc
			acc *= s[j]
		}
	}
}

// q8PerPlane reports whether a tensor of shape g holds one value per
// plane of y (g = [N, C, 1, ...] against y = [N, C, ...]).
func q8PerPlane(g, y []int) bool {
	if len(g) != len(y) || len(y) < 2 || g[0] != y[0] || g[1] != y[1] {
		return false
	}
	for _, d := range g[2:] {
		if d != 1 {
			return false
		}
	}
	return true
}

// q8MulJob multiplies planes [lo, hi) of a by their gates in b.
type q8MulJob struct {
	table   *[256][256]int8
	a, b, y []int8
	inner   int
}

func (j *q8MulJob) runRange(lo, hi, _ int) {
	for p := lo; p < hi; p++ {
		q8LookupRun(j.y[p*j.inner:(p+1)*j.inner], j.a[p*j.inner:(p+1)*j.inner], &j.table[uint8(j.b[p])])
	}
}
