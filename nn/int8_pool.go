package nn

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"
)

// MaxPoolInt8: ONNX MaxPool (2-D, NCHW) on int8. Max commutes with the
// monotonic affine map of quantization, so the output keeps the input's
// scale and zero point (copied from the input tensor's Quant). Padding never
// wins (it is skipped). Attributes: kernel_shape, strides, pads, dilations,
// ceil_mode.
//
// QLinearAddInt8: y = a + b on int8 tensors of the same shape with their own
// scales. Attributes a_scale, a_zero_point, b_scale, b_zero_point, y_scale,
// y_zero_point, relu. Arithmetic in int8.go.
//
// RequantizeInt8: y = x with new quantization. Attributes x_scale,
// x_zero_point, y_scale, y_zero_point, relu:
// y = sat(y_zp + roundShift((x−x_zp)·m, s)), m·2^-s ≈ x_scale/y_scale.

func init() {
	Register("MaxPoolInt8", q8BuildMaxPool)
	Register("QLinearAddInt8", q8BuildAdd)
	Register("RequantizeInt8", q8BuildRequant)
}

type q8MaxPool struct {
	kh, kw, sh, sw, dh, dw, pt, pl, pb, pr int
	ceil                                   bool
}

func q8BuildMaxPool(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	ks := n.AttrInts("kernel_shape", nil)
	if len(ks) != 2 || ks[0] < 1 || ks[1] < 1 {
		return nil, fmt.Errorf("%w: MaxPoolInt8 kernel_shape %v", ErrGraph, ks)
	}
	st, err := q8Ints(n, "strides", 1, 1)
	if err != nil {
		return nil, err
	}
	di, err := q8Ints(n, "dilations", 1, 1)
	if err != nil {
		return nil, err
	}
	pa, err := q8Ints(n, "pads", 0, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	if n.AttrString("auto_pad", "NOTSET") != "NOTSET" {
		return nil, fmt.Errorf("%w: MaxPoolInt8 auto_pad", ErrUnsupported)
	}
	k := &q8MaxPool{kh: ks[0], kw: ks[1], sh: st[0], sw: st[1], dh: di[0], dw: di[1],
		pt: pa[0], pl: pa[1], pb: pa[2], pr: pa[3], ceil: n.AttrInt("ceil_mode", 0) != 0}
	if k.sh < 1 || k.sw < 1 || k.dh < 1 || k.dw < 1 || k.pt < 0 || k.pl < 0 || k.pb < 0 || k.pr < 0 {
		return nil, fmt.Errorf("%w: strides %v dilations %v pads %v", ErrGraph, st, di, pa)
	}
	return k, nil
}

func q8PoolOut(in, pa, pb, k, s, d int, ceil bool) int {
	span := in + pa + pb - (d*(k-1) + 1)
	if span < 0 {
		return 0
	}
	o := span/s + 1
	if ceil && span%s != 0 {
		o++
		if (o-1)*s >= in+pa {
			o--
		}
	}
	return o
}

func (k *q8MaxPool) OutputTypes(in []Type) ([]Type, error) {
	x := in[0]
	if x.DType != Int8 {
		return nil, fmt.Errorf("%w: MaxPoolInt8 input %v", ErrDType, x.DType)
	}
	if len(x.Shape) != 4 {
		return nil, fmt.Errorf("%w: MaxPoolInt8 input %v is not NCHW", ErrShape, x.Shape)
	}
	oh := q8PoolOut(x.Shape[2], k.pt, k.pb, k.kh, k.sh, k.dh, k.ceil)
	ow := q8PoolOut(x.Shape[3], k.pl, k.pr, k.kw, k.sw, k.dw, k.ceil)
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: input %v too small for the pool", ErrShape, x.Shape)
	}
	return []Type{{DType: Int8, Shape: []int{x.Shape[0], x.Shape[1], oh, ow}}}, nil
}

func (k *q8MaxPool) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	y.Quant = x.Quant
	nc, h, w := x.Shape[0]*x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := y.Shape[2], y.Shape[3]
	if k.kh == 2 && k.kw == 2 && k.sh == 2 && k.sw == 2 && k.dh == 1 && k.dw == 1 && k.pt == 0 && k.pl == 0 &&
		2*oh <= h && 2*ow <= w {
		// The common 2x2/2 pool: every window is inside; branch-free max.
		done := q8MaxPool2x2Fast(x.I8, y.I8, nc, h, w, oh, ow) // outputs of each row
		if done == ow {
			return nil
		}
		for c := 0; c < nc; c++ {
			plane := x.I8[c*h*w : (c+1)*h*w]
			dst := y.I8[c*oh*ow : (c+1)*oh*ow]
			for oy := 0; oy < oh; oy++ {
				r0 := plane[2*oy*w : 2*oy*w+w]
				r1 := plane[(2*oy+1)*w : (2*oy+1)*w+w]
				d := dst[oy*ow : oy*ow+ow]
				for ox := done; ox < ow; ox++ {
					d[ox] = max(r0[2*ox], r0[2*ox+1], r1[2*ox], r1[2*ox+1])
				}
			}
		}
		return nil
	}
	j := &rc.kernelJobs().q8Max
	*j = q8MaxJob{k: k, x: x.I8, y: y.I8, h: h, w: w, oh: oh, ow: ow}
	blocks := blocksFor(rc.Threads, nc, int64(nc)*int64(oh*ow)*int64(k.kh*k.kw))
	j.rows = rc.ScratchI8(2 * blocks * ((oh-1)*k.sh + 1) * w)
	rc.parallelFor(blocks, nc, j)
	*j = q8MaxJob{}
	return nil
}

// q8MaxJob is a general MaxPoolInt8 run over planes, shared among
// goroutines, in vector maxima of long byte runs (q8MaxBytes): the maxima
// over each window's rows into v (one call per kernel row covers the whole
// plane, at stride 1 down the rows), then over kw taps at every column of
// v taken as one flat run into t (columns that straddle rows are never
// read), then every sw-th column of t. Small planes (Inception's 28x28 and
// 14x14 pools) then cost a few calls each instead of kh·kw compares per
// output.
type q8MaxJob struct {
	k            *q8MaxPool
	x, y         []int8
	h, w, oh, ow int
	rows         []int8 // per worker: v and t, ((oh-1)·sh+1)·w each
}

func (j *q8MaxJob) runRange(lo, hi, worker int) {
	k, h, w, oh, ow := j.k, j.h, j.w, j.oh, j.ow
	// The vertical maxima are taken at stride 1, for virtual rows r whose
	// window reads input rows r - pt + ky·dh; output row oy is virtual row
	// oy·sh. Whole-plane runs beat a call per needed row even at stride 2.
	nv := (oh-1)*k.sh + 1
	n := nv * w
	v := j.rows[2*worker*n : (2*worker+1)*n]
	t := j.rows[(2*worker+1)*n : (2*worker+2)*n]
	// Output columns [oxLo, oxHi) read only columns inside the row; the
	// window starting at column i covers [i, i+span).
	span := (k.kw-1)*k.dw + 1
	oxLo := min((k.pl+k.sw-1)/k.sw, ow)
	oxHi := oxLo
	if last := w - span + k.pl; last >= 0 {
		oxHi = max(oxLo, min(ow, last/k.sw+1))
	}
	for c := lo; c < hi; c++ {
		plane := j.x[c*h*w : (c+1)*h*w]
		dst := j.y[c*oh*ow : (c+1)*oh*ow]
		// Padding never wins: rows outside the input leave MinInt8.
		v[0] = math.MinInt8
		for f := 1; f < n; f *= 2 {
			copy(v[f:], v[:f])
		}
		for ky := 0; ky < k.kh; ky++ {
			off := ky*k.dh - k.pt // input row of virtual row r: r + off
			r0, r1 := max(0, -off), min(nv, h-off)
			if r0 < r1 {
				q8MaxBytes(v[r0*w:r1*w], v[r0*w:r1*w], plane[(r0+off)*w:])
			}
		}
		if oxHi > oxLo {
			m := n - span + 1
			copy(t[:m], v[:m])
			for kx := 1; kx < k.kw; kx++ {
				q8MaxBytes(t[:m], t[:m], v[kx*k.dw:])
			}
		}
		for oy := 0; oy < oh; oy++ {
			r := oy * k.sh
			row := v[r*w : (r+1)*w]
			d := dst[oy*ow : (oy+1)*ow]
			j.rowMax(row, d, 0, oxLo)
			if oxHi > oxLo {
				src := t[r*w+oxLo*k.sw-k.pl:]
				switch k.sw {
				case 1:
					copy(d[oxLo:oxHi], src)
				case 2:
					q8Evens(d[oxLo:oxHi], src)
				default:
					for i := range d[oxLo:oxHi] {
						d[oxLo+i] = src[i*k.sw]
					}
				}
			}
			j.rowMax(row, d, oxHi, ow)
		}
	}
}

// rowMax writes the window maxima of row for output columns [lo, hi),
// skipping taps outside the row (padding never wins).
func (j *q8MaxJob) rowMax(row, d []int8, lo, hi int) {
	k := j.k
	for ox := lo; ox < hi; ox++ {
		m := int8(math.MinInt8)
		for kx := 0; kx < k.kw; kx++ {
			if ix := ox*k.sw - k.pl + kx*k.dw; ix >= 0 && ix < len(row) {
				m = max(m, row[ix])
			}
		}
		d[ox] = m
	}
}

type q8Add struct {
	a, b, y q8Params
	lo, hi  int32
	ma, mb  int64
	s       uint8
	quant   *Quant
}

// q8AddMultipliers returns ma, mb and the common shift S (see int8.go).
func q8AddMultipliers(sa, sb, sy float32) (ma, mb int64, s uint8, err error) {
	ra := float64(sa) / float64(sy)
	rb := float64(sb) / float64(sy)
	mx := math.Max(ra, rb)
	if !(mx > 0) || math.IsInf(mx, 0) {
		return 0, 0, 0, fmt.Errorf("%w: add rescale %v, %v", ErrQuant, ra, rb)
	}
	_, e := math.Frexp(mx)
	sh := 29 - e
	if sh < 0 {
		return 0, 0, 0, fmt.Errorf("%w: add rescale %v too large", ErrQuant, mx)
	}
	if sh > 62 {
		sh = 62
	}
	return int64(math.Round(math.Ldexp(ra, sh))), int64(math.Round(math.Ldexp(rb, sh))), uint8(sh), nil
}

func q8BuildAdd(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	k := &q8Add{}
	var err error
	if k.a, err = q8Attr(n, "a"); err != nil {
		return nil, err
	}
	if k.b, err = q8Attr(n, "b"); err != nil {
		return nil, err
	}
	if k.y, err = q8Attr(n, "y"); err != nil {
		return nil, err
	}
	k.lo, k.hi = q8Range(n, k.y)
	if k.ma, k.mb, k.s, err = q8AddMultipliers(k.a.Scale, k.b.Scale, k.y.Scale); err != nil {
		return nil, err
	}
	k.quant = k.y.quant()
	return k, nil
}

func (k *q8Add) OutputTypes(in []Type) ([]Type, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%w: QLinearAddInt8 takes 2 inputs", ErrMissing)
	}
	if in[0].DType != Int8 || in[1].DType != Int8 {
		return nil, fmt.Errorf("%w: QLinearAddInt8 inputs %v, %v", ErrDType, in[0].DType, in[1].DType)
	}
	if !sameShape(in[0].Shape, in[1].Shape) {
		return nil, fmt.Errorf("%w: QLinearAddInt8 %v + %v (no broadcasting)", ErrShape, in[0].Shape, in[1].Shape)
	}
	return []Type{{DType: Int8, Shape: in[0].Shape}}, nil
}

func (k *q8Add) Run(_ *RunContext, in, out []*Tensor) error {
	a, b, y := in[0].I8, in[1].I8, out[0].I8
	out[0].Quant = k.quant
	za, zb, zy := int64(k.a.Zero), int64(k.b.Zero), int64(k.y.Zero)
	b = b[:len(a)]
	y = y[:len(a)]
	if k.s >= 1 && k.s <= 52 {
		// Same arithmetic with the zero points folded into constants:
		// |v| < 2^40, so adding y_zp·2^s before the shift is exact.
		c0 := -za*k.ma - zb*k.mb
		hz := int64(1)<<(k.s-1) + zy<<k.s
		if q8AddFast(a, b, y, k.ma, k.mb, c0, hz, k.s, k.lo, k.hi) {
			return nil
		}
		lo, hi := int64(k.lo), int64(k.hi)
		for i, av := range a {
			v := int64(av)*k.ma + int64(b[i])*k.mb + c0
			y[i] = int8(min(max((v+hz+v>>63)>>k.s, lo), hi))
		}
		return nil
	}
	for i, av := range a {
		v := (int64(av)-za)*k.ma + (int64(b[i])-zb)*k.mb
		y[i] = q8Clamp(zy+q8RoundShift(v, k.s), k.lo, k.hi)
	}
	return nil
}

// q8Requant runs as a table of its 256 results (q8LookupRun), computed
// with the arithmetic above.
type q8Requant struct {
	table [256]int8
	quant *Quant
}

func q8BuildRequant(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	x, y, err := q8XY(n)
	if err != nil {
		return nil, err
	}
	lo, hi := q8Range(n, y)
	m, err := q8Multiplier(float64(x.Scale) / float64(y.Scale))
	if err != nil {
		return nil, err
	}
	k := &q8Requant{quant: y.quant()}
	for i := range k.table {
		k.table[i] = q8Clamp(int64(y.Zero)+m.apply(int64(int8(i))-int64(x.Zero)), lo, hi)
	}
	return k, nil
}

func (k *q8Requant) OutputTypes(in []Type) ([]Type, error) {
	if in[0].DType != Int8 {
		return nil, fmt.Errorf("%w: RequantizeInt8 input %v", ErrDType, in[0].DType)
	}
	return []Type{{DType: Int8, Shape: in[0].Shape}}, nil
}

func (k *q8Requant) Run(_ *RunContext, in, out []*Tensor) error {
	out[0].Quant = k.quant
	q8LookupRun(out[0].I8, in[0].I8, &k.table)
	return nil
}

// MACs counts one comparison per window element.
func (k *q8MaxPool) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return int64(NumElements(out[0].Shape)) * int64(k.kh*k.kw)
}

// MACs counts two multiply-accumulates per element.
func (k *q8Add) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return 2 * int64(NumElements(out[0].Shape))
}

// MACs counts one multiply per element.
func (k *q8Requant) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return int64(NumElements(out[0].Shape))
}

// QLinearGlobalAveragePoolInt8: the mean over H×W of each channel of an
// NCHW int8 tensor, into [N, C, 1, 1]. Attributes x_scale, x_zero_point,
// y_scale, y_zero_point. Arithmetic: acc = Σ(x − x_zp) over the H·W
// values (int64), y = sat(y_zp + roundShift(acc·m, s)) with
// m·2^-s ≈ x_scale / (y_scale·H·W), half away from zero.
type q8GlobalAvg struct {
	x, y  q8Params
	quant *Quant
}

func init() { Register("QLinearGlobalAveragePoolInt8", q8BuildGlobalAvg) }

func q8BuildGlobalAvg(bc *BuildContext) (Kernel, error) {
	k := &q8GlobalAvg{}
	var err error
	if k.x, k.y, err = q8XY(bc.Node); err != nil {
		return nil, err
	}
	k.quant = k.y.quant()
	return k, nil
}

func (k *q8GlobalAvg) OutputTypes(in []Type) ([]Type, error) {
	x := in[0]
	if x.DType != Int8 {
		return nil, fmt.Errorf("%w: QLinearGlobalAveragePoolInt8 input %v", ErrDType, x.DType)
	}
	if len(x.Shape) != 4 || x.Shape[2]*x.Shape[3] == 0 {
		return nil, fmt.Errorf("%w: QLinearGlobalAveragePoolInt8 input %v is not NCHW", ErrShape, x.Shape)
	}
	return []Type{{DType: Int8, Shape: []int{x.Shape[0], x.Shape[1], 1, 1}}}, nil
}

func (k *q8GlobalAvg) Run(_ *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	y.Quant = k.quant
	hw := x.Shape[2] * x.Shape[3]
	m, err := q8Multiplier(float64(k.x.Scale) / (float64(k.y.Scale) * float64(hw)))
	if err != nil {
		return err
	}
	xz, yz := int64(k.x.Zero), int64(k.y.Zero)
	for c := range y.I8 {
		s := q8SumI8(x.I8[c*hw : (c+1)*hw])
		y.I8[c] = q8Clamp(yz+m.apply(s-xz*int64(hw)), -128, 127)
	}
	return nil
}

// q8SumI8 returns the sum of x, eight bytes a step: each word's bytes,
// offset by 128 to be unsigned, are added pairwise into four 16-bit lanes
// (at most 128 words before the lanes are folded: 128·2·255 < 2^16).
func q8SumI8(x []int8) int64 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
	var total int64
	for len(b) >= 8 {
		n := min(len(b)/8, 128)
		var lanes uint64
		for i := range n {
			w := binary.LittleEndian.Uint64(b[8*i:]) ^ 0x8080808080808080
			lanes += w&0x00ff00ff00ff00ff + w>>8&0x00ff00ff00ff00ff
		}
		lanes = lanes&0x0000ffff0000ffff + lanes>>16&0x0000ffff0000ffff
		total += int64(lanes&0xffffffff+lanes>>32) - 128*8*int64(n)
		b = b[8*n:]
	}
	for _, v := range b {
		total += int64(int8(v))
	}
	return total
}

// MACs counts one addition per input element.
func (k *q8GlobalAvg) MACs(in, out []Type) int64 {
	if len(in) == 0 {
		return 0
	}
	return int64(NumElements(in[0].Shape))
}

// q8MaxBytesGo is the plain-Go q8MaxBytes.
func q8MaxBytesGo(dst, a, b []int8) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = max(a[i], b[i])
	}
}

// q8EvensGo is the plain-Go q8Evens.
func q8EvensGo(dst, src []int8) {
	for i := range dst {
		dst[i] = src[2*i]
	}
}
