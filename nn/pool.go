package nn

import (
	"math"
)

// Pooling on float32, 1-D and 2-D: MaxPool (kernel_shape, strides, pads,
// dilations, auto_pad, ceil_mode; the Indices output of 1-D and 2-D
// pools by a plain kernel, maxPoolIdxKernel; NaN in a window propagates, as in the ONNX reference
// implementation), AveragePool (count_include_pad, ceil_mode, dilations) and
// GlobalAveragePool (any spatial rank).

func init() {
	Register("MaxPool", func(bc *BuildContext) (Kernel, error) { return buildPool(bc, true) })
	Register("AveragePool", func(bc *BuildContext) (Kernel, error) { return buildPool(bc, false) })
	Register("GlobalAveragePool", func(bc *BuildContext) (Kernel, error) { return globalAvgKernel{}, nil })
}

type poolKernel struct {
	win        winAttrs
	max        bool
	includePad bool
	// xBlocked and yBlocked make a MaxPool read its input and write its
	// output in NCHW16c, with zero borders of xBorder and yBorder pixels
	// (set by a Runner's layout pass on its copy: pool_nchwc.go).
	xBlocked, yBlocked bool
	xBorder, yBorder   int
}

func buildPool(bc *BuildContext, isMax bool) (Kernel, error) {
	w, err := readWinAttrs(bc.Node, true)
	if err != nil {
		return nil, err
	}
	if isMax && len(bc.Node.Outputs) > 1 && bc.Node.Outputs[1] != "" {
		if len(w.kernel) > 2 {
			return nil, unsupportedErrf("MaxPool Indices output %q of a %d-D pool", bc.Node.Outputs[1], len(w.kernel))
		}
		return &maxPoolIdxKernel{poolKernel{win: w, max: true}, bc.Node.AttrInt("storage_order", 0) != 0}, nil // ops_misc.go
	}
	if len(w.kernel) == 3 {
		return &poolNDKernel{win: w, max: isMax, includePad: bc.Node.AttrInt("count_include_pad", 0) != 0}, nil // ops_nd.go
	}
	return &poolKernel{win: w, max: isMax, includePad: bc.Node.AttrInt("count_include_pad", 0) != 0}, nil
}

func (k *poolKernel) geometry(in []Type) (geom, error) {
	if err := needInputs(k.win.op, in, 1); err != nil {
		return geom{}, err
	}
	if err := needF32(k.win.op, in, 0); err != nil {
		return geom{}, err
	}
	return k.win.resolve(in[0].Shape, k.win.kernel)
}

func (k *poolKernel) OutputTypes(in []Type) ([]Type, error) {
	g, err := k.geometry(in)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: g.outShape(g.C)}}, nil
}

// MACs counts one operation per window element (a dynamic batch counts as 1).
func (k *poolKernel) MACs(in, out []Type) int64 {
	g, err := k.geometry(in)
	if err != nil {
		return 0
	}
	return int64(max(g.N, 1)) * int64(g.C) * int64(g.OH) * int64(g.OW) * int64(g.KH) * int64(g.KW)
}

func (k *poolKernel) Run(rc *RunContext, in, out []*Tensor) error {
	var t [1]Type
	t[0] = in[0].Type()
	g, err := k.geometry(t[:])
	if err != nil {
		return err
	}
	if g.N < 0 {
		return shapeErrf("%s input has dynamic shape %v", k.win.op, in[0].Shape)
	}
	if k.xBlocked {
		if !k.blockedPoolFits(&g) {
			return shapeErrf("%s: NCHW16c input of shape %v", k.win.op, in[0].Shape)
		}
		k.maxPoolNCHWc(rc, &g, in[0].F32, out[0].F32)
		return nil
	}
	j := &rc.kernelJobs().pool
	*j = poolJob{k: k, g: g, x: in[0].F32, y: out[0].F32}
	planes := g.N * g.C
	work := int64(planes) * int64(g.OH*g.OW) * int64(g.KH*g.KW)
	blocks := blocksFor(rc.Threads, planes, work)
	if k.max && same3On && same3Fits(&g) {
		j.same3 = &rc.kernelJobs().same3
		j.same3.init(&g)
	} else if k.max && !g.fast2() && sepMaxOn && sepMaxFits(&g) {
		j.sep = &rc.kernelJobs().sepMax
		j.sep.init(&g)
		j.per = j.sep.scratch(&g)
		j.scratch = rc.ScratchF32(blocks * j.per)
	} else if k.max && !g.fast2() && dwMaxOn && dwDirectLayout(&g, &j.dd) {
		// 3x3 windows straight from the plane (conv_dwdirect.go).
		j.direct = true
	} else if k.max && !g.fast2() && tapsPool {
		if l, ok := tapLayout(&g); ok {
			j.tp, j.per = l, l.scratch()
			j.scratch = rc.ScratchF32(blocks * j.per)
		}
	}
	rc.parallelFor(blocks, planes, j)
	*j = poolJob{}
	return nil
}

// poolJob is one pooling run over planes (image, channel), shared among
// goroutines.
type poolJob struct {
	k    *poolKernel
	g    geom
	x, y []float32
	// MaxPool through the tap kernel (conv_taps.go) when per > 0: the
	// padded plane of each worker in scratch.
	tp      tapPlan
	scratch []float32
	per     int
	// 3x3 MaxPool by the direct kernel when direct.
	dd     dwDirectPlan
	direct bool
	// MaxPool by the separable kernel (pool_sep.go) when sep is set: the
	// padded rows of each worker in scratch.
	sep *sepMaxPlan
	// MaxPool by the same 3x3 kernel (pool_same3.go) when same3 is set.
	same3 *same3Plan
}

// same3On lets MaxPool run the same 3x3 kernel (a variable so that tests
// and benchmarks can compare it with the separable kernel).
var same3On = true

// sepMaxOn lets MaxPool run the separable kernel (a variable so that tests
// and benchmarks can compare it with the direct and tap kernels).
var sepMaxOn = true

// dwMaxOn lets 3x3 MaxPool run the direct kernel (a variable so that tests
// and benchmarks can compare with the tap kernel).
var dwMaxOn = true

// tapsPool lets MaxPool run the tap kernel (a variable so that tests and
// benchmarks can compare with the row-by-row path).
var tapsPool = true

// fast2 reports whether the 2x2/2 kernels take the geometry.
func (g *geom) fast2() bool {
	return g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.DH == 1 && g.DW == 1 &&
		g.PT == 0 && g.PL == 0 && 2*g.OH <= g.H && 2*g.OW <= g.W
}

func (j *poolJob) runRange(lo, hi, worker int) {
	g := &j.g
	HW, P := g.H*g.W, g.OH*g.OW
	fast2 := g.fast2()
	if fast2 && g.H == 2*g.OH {
		// Every input row pairs with the next one: the planes [lo, hi)
		// are one tall plane (seednet's 14x14 planes at batch 32: a call
		// for all of them, not a call each).
		tall := *g
		tall.H, tall.OH = (hi-lo)*g.H, (hi-lo)*g.OH
		x, y := j.x[lo*HW:hi*HW], j.y[lo*P:hi*P]
		if j.k.max {
			maxPlane2x2(&tall, x, y)
		} else {
			avgPlane2x2(&tall, x, y)
		}
		return
	}
	if j.same3 != nil {
		j.same3.maxPlanes(g, j.x[lo*HW:hi*HW], j.y[lo*P:hi*P], hi-lo)
		return
	}
	if j.sep != nil {
		j.sep.maxPlanes(g, j.x[lo*HW:hi*HW], j.y[lo*P:hi*P], j.scratch[worker*j.per:(worker+1)*j.per], hi-lo)
		return
	}
	for nc := lo; nc < hi; nc++ {
		xp := j.x[nc*HW : (nc+1)*HW]
		yp := j.y[nc*P : (nc+1)*P]
		switch {
		case j.direct:
			dwMaxPlane(g, &j.dd, yp, xp)
		case j.per > 0:
			buf := j.scratch[worker*j.per : (worker+1)*j.per]
			j.tp.padPlane(g, xp, buf, negInf32, nc == lo)
			tapPlane(&j.tp, yp, buf, g.OH, g.OW, g.OW, nil, 0, 0, 0, true)
		case j.k.max && fast2:
			maxPlane2x2(g, xp, yp)
		case fast2:
			avgPlane2x2(g, xp, yp)
		case j.k.max:
			maxPlane(g, xp, yp)
		default:
			j.k.avgPlane(g, xp, yp)
		}
	}
}

// mp2Args is the contract of the assembly 2x2/2 max pool (pool_amd64.s,
// which fixes the field offsets): rows output rows of ow16 + popcount(out)
// values, y rows ldy bytes apart, input row pairs ldx bytes apart, the
// second row of a pair w bytes after the first; in0 and in1 mask the 32
// inputs of the last, partial block of 16 outputs.
type mp2Args struct {
	y, x        *float32
	rows, ow16  int
	out         uint16
	in0, in1    uint16
	_           uint16
	ldx, w, ldy int
	special     int // set by the max kernel when an output is -0
}

// maxPlane2x2 is maxPlane for a 2x2 window with stride 2 and no padding
// (every window inside the input): one pass per output row, no bounds logic.
func maxPlane2x2(g *geom, x, y []float32) {
	if a, ok := newMP2Args(g, x, y); ok && maxPool2x2Fast(&a) {
		return
	}
	maxPlane2x2Go(g, x, y)
}

// newMP2Args fills the assembly 2x2/2 kernels' arguments for g, x and y,
// when the plane is not empty and the slices hold it.
func newMP2Args(g *geom, x, y []float32) (mp2Args, bool) {
	if g.OH <= 0 || g.OW <= 0 || len(y) < g.OH*g.OW || len(x) < (2*g.OH-1)*g.W+2*g.OW {
		return mp2Args{}, false
	}
	t := g.OW & 15
	return mp2Args{y: &y[0], x: &x[0], rows: g.OH, ow16: g.OW &^ 15,
		out: uint16(1<<t - 1), in0: uint16(1<<min(2*t, 16) - 1), in1: uint16(1<<max(2*t-16, 0) - 1),
		ldx: 8 * g.W, w: 4 * g.W, ldy: 4 * g.OW}, true
}

// maxPlane2x2Go is the plain-Go kernel of maxPlane2x2.
func maxPlane2x2Go(g *geom, x, y []float32) {
	for oh := 0; oh < g.OH; oh++ {
		yr := y[oh*g.OW : (oh+1)*g.OW]
		r0 := x[2*oh*g.W:][:2*len(yr)]
		r1 := x[(2*oh+1)*g.W:][:2*len(yr)]
		for i := range yr {
			a, b := r0[2*i:2*i+2], r1[2*i:2*i+2]
			yr[i] = max(a[0], a[1], b[0], b[1])
		}
	}
}

// avgPlane2x2 is avgPlane for a 2x2 window with stride 2 and no padding
// (DenseNet's transitions): every window holds 4 inputs, summed in
// avgPlane's order from +0 and divided by 4, so the result is avgPlane's
// bit for bit.
func avgPlane2x2(g *geom, x, y []float32) {
	if a, ok := newMP2Args(g, x, y); ok && avgPool2x2Fast(&a) {
		return
	}
	avgPlane2x2Go(g, x, y)
}

// avgPlane2x2Go is the plain-Go kernel of avgPlane2x2.
func avgPlane2x2Go(g *geom, x, y []float32) {
	for oh := 0; oh < g.OH; oh++ {
		yr := y[oh*g.OW : (oh+1)*g.OW]
		r0 := x[2*oh*g.W:][:2*len(yr)]
		r1 := x[(2*oh+1)*g.W:][:2*len(yr)]
		for i := range yr {
			a, b := r0[2*i:2*i+2], r1[2*i:2*i+2]
			var s float32
			s += a[0]
			s += a[1]
			s += b[0]
			s += b[1]
			yr[i] = s / 4
		}
	}
}

// maxPlane pools one channel. Windows entirely in padding yield -inf.
func maxPlane(g *geom, x, y []float32) {
	ninf := float32(math.Inf(-1))
	for i := range y {
		y[i] = ninf
	}
	for oh := 0; oh < g.OH; oh++ {
		yr := y[oh*g.OW : (oh+1)*g.OW]
		g.eachTap(x, oh, func(xr []float32, off, lo, hi int) {
			for o := lo; o < hi; o++ {
				yr[o] = max(yr[o], xr[o*g.SW+off])
			}
		})
	}
}

// eachTap calls tap for each window tap (kh, kw) of output row oh whose
// input row is inside the input: xr is that row of the plane x, off the
// tap's column offset and [lo, hi) the output columns it reads inside xr
// (at o*SW+off).
func (g *geom) eachTap(x []float32, oh int, tap func(xr []float32, off, lo, hi int)) {
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PT + kh*g.DH
		if ih < 0 || ih >= g.H {
			continue
		}
		xr := x[ih*g.W : (ih+1)*g.W]
		for kw := 0; kw < g.KW; kw++ {
			off := kw*g.DW - g.PL
			lo, hi := validRange(g.W, g.OW, g.SW, off)
			tap(xr, off, lo, hi)
		}
	}
}

// avgPlane averages one channel; the divisor is the number of input
// elements in the window, or with count_include_pad the window clipped to
// the padded input.
func (k *poolKernel) avgPlane(g *geom, x, y []float32) {
	clear(y)
	for oh := 0; oh < g.OH; oh++ {
		yr := y[oh*g.OW : (oh+1)*g.OW]
		g.eachTap(x, oh, func(xr []float32, off, lo, hi int) {
			for o := lo; o < hi; o++ {
				yr[o] += xr[o*g.SW+off]
			}
		})
		rows := windowCount(oh, g.SH, g.PT, g.KH, g.DH, g.H, g.PB, k.includePad)
		for o := range yr {
			cols := windowCount(o, g.SW, g.PL, g.KW, g.DW, g.W, g.PR, k.includePad)
			if n := rows * cols; n > 0 {
				yr[o] /= float32(n)
			}
		}
	}
}

// windowCount is how many taps of window o fall inside the input (or inside
// the padded input with includePad).
func windowCount(o, s, padB, k, d, n, padE int, includePad bool) int {
	lo, hi := 0, n
	if includePad {
		lo, hi = -padB, n+padE
	}
	c := 0
	for t := 0; t < k; t++ {
		if i := o*s - padB + t*d; i >= lo && i < hi {
			c++
		}
	}
	return c
}

// globalAvgKernel is GlobalAveragePool: the mean over all spatial dims.
type globalAvgKernel struct{}

func (globalAvgKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("GlobalAveragePool", in, 1); err != nil {
		return nil, err
	}
	if err := needF32("GlobalAveragePool", in, 0); err != nil {
		return nil, err
	}
	s := in[0].Shape
	if len(s) < 2 {
		return nil, shapeErrf("GlobalAveragePool input has shape %v, want N, C, spatial...", s)
	}
	out := make([]int, len(s))
	out[0], out[1] = s[0], s[1]
	for i := 2; i < len(s); i++ {
		out[i] = 1
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// MACs counts one addition per input element.
func (globalAvgKernel) MACs(in, out []Type) int64 { return elemCount(in) }

func (globalAvgKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	if len(y) == 0 {
		return nil
	}
	j := &rc.kernelJobs().gap
	*j = gapJob{x: x, y: y, sp: len(x) / len(y)}
	rc.parallelFor(blocksFor(rc.Threads, len(y), int64(len(x))), len(y), j)
	*j = gapJob{}
	return nil
}

// gapJob is one GlobalAveragePool run over planes (image, channel), shared
// among the threads where the planes are large enough (EfficientNet's
// squeeze-and-excitation pools of 56x56 and 112x112 planes).
type gapJob struct {
	x, y []float32
	sp   int // values per plane
}

func (j *gapJob) runRange(lo, hi, _ int) {
	for i := lo; i < hi; i++ {
		s := sum32(j.x[i*j.sp : (i+1)*j.sp])
		if j.sp > 0 {
			j.y[i] = s / float32(j.sp)
		} else {
			j.y[i] = float32(math.NaN())
		}
	}
}

// sum32 adds up x with eight independent partial sums (one running sum
// waits for each addition's latency: 4-5x slower on a 56x56 plane), or
// 64 in vectors with the assembly kernel.
func sum32(x []float32) float32 {
	if s, ok := sumFast(x); ok {
		return s
	}
	var s [8]float32
	for len(x) >= 8 {
		v := x[:8]
		s[0] += v[0]
		s[1] += v[1]
		s[2] += v[2]
		s[3] += v[3]
		s[4] += v[4]
		s[5] += v[5]
		s[6] += v[6]
		s[7] += v[7]
		x = x[8:]
	}
	for i, v := range x {
		s[i] += v
	}
	return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}
