package nn

import "fmt"

// AveragePoolInt8: ONNX AveragePool (2-D, NCHW) on int8. Attributes
// kernel_shape, strides, pads, dilations, ceil_mode, count_include_pad
// (as AveragePool's, auto_pad NOTSET) and x_scale, x_zero_point, y_scale,
// y_zero_point. LowerQDQ turns DQ -> AveragePool -> Q into it.
//
// Arithmetic: acc = Σ(x − x_zp) over the window's taps inside the input
// (padding is real 0), n the divisor of the float kernel (the taps inside
// the input, or with count_include_pad inside the padded input),
// y = sat(y_zp + roundShift(acc·m_n, s_n)) with m_n·2^-s_n ≈
// x_scale / (y_scale·n), half away from zero: within one step of the
// float path, which rounds the float mean half to even.

func init() { Register("AveragePoolInt8", q8BuildAvgPool) }

type q8AvgPool struct {
	win        winAttrs
	includePad bool
	x, y       q8Params
	mults      []q8Mult // by divisor n
	quant      *Quant
}

func q8BuildAvgPool(bc *BuildContext) (Kernel, error) {
	w, err := readWinAttrs(bc.Node, true)
	if err != nil {
		return nil, err
	}
	if len(w.kernel) != 2 || w.autoPad != "NOTSET" && w.autoPad != "" {
		return nil, fmt.Errorf("%w: AveragePoolInt8 kernel_shape %v auto_pad %q", ErrUnsupported, w.kernel, w.autoPad)
	}
	k := &q8AvgPool{win: w, includePad: bc.Node.AttrInt("count_include_pad", 0) != 0}
	if k.x, err = q8Attr(bc.Node, "x"); err != nil {
		return nil, err
	}
	if k.y, err = q8Attr(bc.Node, "y"); err != nil {
		return nil, err
	}
	taps := w.kernel[0] * w.kernel[1]
	if w.kernel[0] < 1 || w.kernel[1] < 1 || taps > 1<<16 {
		return nil, fmt.Errorf("%w: AveragePoolInt8 kernel_shape %v", ErrGraph, w.kernel)
	}
	k.mults = make([]q8Mult, taps+1)
	for n := 1; n <= taps; n++ {
		if k.mults[n], err = q8Multiplier(float64(k.x.Scale) / (float64(k.y.Scale) * float64(n))); err != nil {
			return nil, err
		}
	}
	k.quant = k.y.quant()
	return k, nil
}

func (k *q8AvgPool) geometry(in []Type) (geom, error) {
	if len(in) != 1 || in[0].DType != Int8 || len(in[0].Shape) != 4 {
		return geom{}, fmt.Errorf("%w: AveragePoolInt8 needs one int8 NCHW input", ErrDType)
	}
	return k.win.resolve(in[0].Shape, k.win.kernel)
}

func (k *q8AvgPool) OutputTypes(in []Type) ([]Type, error) {
	g, err := k.geometry(in)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Int8, Shape: []int{in[0].Shape[0], g.C, g.OH, g.OW}}}, nil
}

// MACs counts one addition per window element.
func (k *q8AvgPool) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return int64(NumElements(out[0].Shape)) * int64(len(k.mults)-1)
}

func (k *q8AvgPool) Run(rc *RunContext, in, out []*Tensor) error {
	var t [1]Type
	t[0] = in[0].Type()
	g, err := k.geometry(t[:])
	if err != nil {
		return err
	}
	out[0].Quant = k.quant
	planes := g.N * g.C
	blocks := blocksFor(rc.Threads, planes, int64(len(out[0].I8))*int64(g.KH*g.KW))
	j := &rc.kernelJobs().q8Avg
	*j = q8AvgJob{k: k, g: g, x: in[0].I8, y: out[0].I8, sums: rc.ScratchI32(blocks * 2 * g.OW)}
	rc.parallelFor(blocks, planes, j)
	*j = q8AvgJob{}
	return nil
}

// q8AvgJob pools planes [lo, hi).
type q8AvgJob struct {
	k    *q8AvgPool
	g    geom
	x, y []int8
	sums []int32 // per worker: an output row's sums and its columns' divisors
}

func (j *q8AvgJob) runRange(lo, hi, worker int) {
	k, g := j.k, &j.g
	xz, yz := int32(k.x.Zero), int64(k.y.Zero)
	acc := j.sums[2*worker*g.OW : (2*worker+1)*g.OW]
	cols := j.sums[(2*worker+1)*g.OW : (2*worker+2)*g.OW]
	for ow := range cols {
		cols[ow] = int32(windowCount(ow, g.SW, g.PL, g.KW, g.DW, g.W, g.PR, k.includePad))
	}
	for p := lo; p < hi; p++ {
		x := j.x[p*g.H*g.W : (p+1)*g.H*g.W]
		y := j.y[p*g.OH*g.OW : (p+1)*g.OH*g.OW]
		for oh := 0; oh < g.OH; oh++ {
			clear(acc)
			eachTapOf(g, x, oh, func(xr []int8, off, lo, hi int) {
				for o := lo; o < hi; o++ {
					acc[o] += int32(xr[o*g.SW+off]) - xz
				}
			})
			rows := int32(windowCount(oh, g.SH, g.PT, g.KH, g.DH, g.H, g.PB, k.includePad))
			yr := y[oh*g.OW : (oh+1)*g.OW]
			for ow, a := range acc {
				v := yz
				if n := rows * cols[ow]; n > 0 {
					v += k.mults[n].apply(int64(a))
				}
				yr[ow] = q8Clamp(v, -128, 127)
			}
		}
	}
}
