package nn

import (
	"fmt"
	"unsafe"
)

// AveragePoolInt8: ONNX AveragePool (2-D, NCHW) on int8. Attributes
// kernel_shape, strides, pads, dilations, ceil_mode, count_include_pad
// (as AveragePool's, auto_pad NOTSET) and x_scale, x_zero_point, y_scale,
// y_zero_point. LowerQDQ turns DQ -> AveragePool -> Q into it.
//
// It computes exactly what the float path computes, a plane at a time
// while the plane is in cache: the plane dequantized (q8Dequant), pooled by
// the float kernel's plane functions (avgPlane2x2, avgPlane) and quantized
// (q8QuantizeFast), with no float tensor between nodes. Integer sums with
// one rescale per window cost more than the vector float pool in Go.

func init() { Register("AveragePoolInt8", q8BuildAvgPool) }

type q8AvgPool struct {
	win   winAttrs
	pool  *poolKernel // the float kernel whose plane functions run
	x, y  q8Params
	quant *Quant
}

func q8BuildAvgPool(bc *BuildContext) (Kernel, error) {
	w, err := readWinAttrs(bc.Node, true)
	if err != nil {
		return nil, err
	}
	if len(w.kernel) != 2 || w.autoPad != "NOTSET" && w.autoPad != "" {
		return nil, fmt.Errorf("%w: AveragePoolInt8 kernel_shape %v auto_pad %q", ErrUnsupported, w.kernel, w.autoPad)
	}
	k := &q8AvgPool{win: w, pool: &poolKernel{win: w, includePad: bc.Node.AttrInt("count_include_pad", 0) != 0}}
	if k.x, k.y, err = q8XY(bc.Node); err != nil {
		return nil, err
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
	return int64(NumElements(out[0].Shape)) * int64(k.win.kernel[0]*k.win.kernel[1])
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
	*j = q8AvgJob{k: k, g: g, x: in[0].I8, y: out[0].I8, fast2: g.fast2(),
		per: g.H*g.W + g.OH*g.OW}
	j.buf = rc.ScratchF32(blocks * j.per)
	rc.parallelFor(blocks, planes, j)
	*j = q8AvgJob{}
	return nil
}

// q8AvgJob pools planes [lo, hi).
type q8AvgJob struct {
	k     *q8AvgPool
	g     geom
	x, y  []int8
	fast2 bool
	buf   []float32 // per worker: a dequantized plane and its pooled plane
	per   int
}

func (j *q8AvgJob) runRange(lo, hi, worker int) {
	g, k := &j.g, j.k
	hw, ohw := g.H*g.W, g.OH*g.OW
	xf := j.buf[worker*j.per : worker*j.per+hw]
	yf := j.buf[worker*j.per+hw : (worker+1)*j.per]
	for p := lo; p < hi; p++ {
		q8Dequant(xf, j.x[p*hw:(p+1)*hw], k.x.Zero, k.x.Scale)
		if j.fast2 {
			avgPlane2x2(g, xf, yf)
		} else {
			k.pool.avgPlane(g, xf, yf)
		}
		q8QuantizeI8(j.y[p*ohw:(p+1)*ohw], yf, k.y)
	}
}

// q8QuantizeI8 quantizes x into dst (QuantizeLinear's arithmetic).
func q8QuantizeI8(dst []int8, x []float32, p q8Params) {
	if len(x) == 0 || q8QuantizeFast(x, unsafe.Pointer(&dst[0]), p.Scale, p.Zero, -128, 127) {
		return
	}
	for i, v := range x {
		dst[i] = int8(QuantizeValue(v, p.Scale, p.Zero, -128, 127))
	}
}
