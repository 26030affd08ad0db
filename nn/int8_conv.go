package nn

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

// QLinearConvInt8 is splitinfer's int8 2-D convolution.
//
// Inputs: x int8 NCHW; w int8 constant [Cout, Cin/group, kH, kW], symmetric
// (zero point 0) per output channel or per tensor; optional bias int32
// constant [Cout] in units of x_scale·w_scale[c].
// Attributes: x_scale, x_zero_point, w_scale (floats: 1 or Cout),
// y_scale, y_zero_point, strides, pads (top, left, bottom, right),
// dilations, group, relu (0/1).
// Arithmetic (int8.go): acc = Σ x·w + bias − x_zp·Σw over the window, with
// padding reading x_zp (real 0); y = sat(y_zp + roundShift(acc·m_c, s_c)),
// m_c·2^-s_c ≈ x_scale·w_scale[c]/y_scale, ReLU clamps at y_zp.
// The output tensor carries Quant{y_scale, y_zero_point}.

func init() { Register("QLinearConvInt8", q8BuildConv) }

type q8Conv struct {
	x, y         q8Params
	lo, hi       int32
	cout, cinG   int
	kh, kw       int
	group        int
	sh, sw       int
	dh, dw       int
	pt, pl       int
	pb, pr       int
	w            []int8  // [Cout, cinG*kh*kw]
	corr         []int64 // bias[c] − x_zp·Σw[c]
	mult         []q8Mult
	quant        *Quant
	depthwise    bool
	noSat        []bool
	packed       []*blas.PackedS8 // weights per group, packed for the int8 GEMM
	kernelPixels int
	lanes        []q8Lane // SIMD requantization constants per channel
	laneOK       []bool   // lanes[c] is exact (q8NewLane)
	lohi         [2]int64 // output range for the SIMD kernels
	c1           bool     // direct 3x3 kernel for one input channel (c1Rows)
	c1w          []int8   // its weights: 12 bytes per output channel
	c1lanes      []q8Lane // its lanes: Init = corr − 128·Σw
	c1shift32    bool     // every c1 lane shifts by 32 or more
	quad         bool     // patches gathered straight into blas.GemmS8Quad's layout (runQuad)
	qRuns, qCQ   int      // quad path: runs gathered per window, groups of 4 bytes per run (quadSetup)
	quadPW       bool     // pointwise on the quad GEMM, panels packed from the NCHW planes (q8PlanePanels)
	nhwc         bool     // gather patches from a channel-last copy (weights reordered)
	pointwise    bool     // 1x1 stride 1 unpadded: the channel-last copy is the patch matrix
	pairs        bool     // like quad, as an implicit GEMM on an int16 plane of pcn channels (q8ImplTiles, AVX2)
	pcn          int      // channels per pixel of that plane: cinG (runs), else rounded up to even
	implCQ       int      // pairs path: int16 pairs per tap, or per kernel row with dilation 1 (runs)
	implW        []int16  // pairs path weights (pairsSetup)
	dwTaps       [][2]int // SIMD depthwise entries (ky, first kx), int8_dw.go; nil without it
	dwW          []int32  // their weight pairs per channel
}

func q8Ints(n *Node, name string, def ...int) ([]int, error) {
	v := n.AttrInts(name, def)
	if len(v) != len(def) {
		return nil, fmt.Errorf("%w: attribute %s has %d values, want %d", ErrGraph, name, len(v), len(def))
	}
	return v, nil
}

func q8BuildConv(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	w := bc.InputConst(1)
	if w == nil || w.DType != Int8 || len(w.Shape) != 4 {
		return nil, fmt.Errorf("%w: QLinearConvInt8 needs a constant int8 [Cout,Cin/g,kH,kW] weight", ErrGraph)
	}
	k := &q8Conv{cout: w.Shape[0], cinG: w.Shape[1], kh: w.Shape[2], kw: w.Shape[3], w: w.I8}
	var err error
	if k.x, k.y, err = q8XY(n); err != nil {
		return nil, err
	}
	k.lo, k.hi = q8Range(n, k.y)
	k.group = int(n.AttrInt("group", 1))
	if k.group < 1 || k.cout%k.group != 0 || k.cout == 0 || k.cinG == 0 || k.kh < 1 || k.kw < 1 {
		return nil, fmt.Errorf("%w: group %d with weight %v", ErrShape, k.group, w.Shape)
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
	if ks := n.AttrInts("kernel_shape", nil); ks != nil && (len(ks) != 2 || ks[0] != k.kh || ks[1] != k.kw) {
		return nil, fmt.Errorf("%w: kernel_shape %v vs weight %v", ErrShape, ks, w.Shape)
	}
	k.sh, k.sw, k.dh, k.dw = st[0], st[1], di[0], di[1]
	k.pt, k.pl, k.pb, k.pr = pa[0], pa[1], pa[2], pa[3]
	if k.sh < 1 || k.sw < 1 || k.dh < 1 || k.dw < 1 || k.pt < 0 || k.pl < 0 || k.pb < 0 || k.pr < 0 {
		return nil, fmt.Errorf("%w: strides %v dilations %v pads %v", ErrGraph, st, di, pa)
	}
	ws := q8AttrFloats(n, "w_scale")
	if len(ws) != 1 && len(ws) != k.cout {
		return nil, fmt.Errorf("%w: %d weight scales for %d output channels", ErrQuant, len(ws), k.cout)
	}
	var bias []int32
	if b := bc.InputConst(2); b != nil {
		if b.DType != Int32 || b.Len() != k.cout {
			return nil, fmt.Errorf("%w: bias must be int32 [%d], got %v", ErrShape, k.cout, b.Type())
		}
		bias = b.I32
	} else if n.Input(2) != "" {
		return nil, fmt.Errorf("%w: bias must be a constant", ErrGraph)
	}
	kk := k.cinG * k.kh * k.kw
	k.kernelPixels = kk
	k.corr = make([]int64, k.cout)
	k.mult = make([]q8Mult, k.cout)
	for c := 0; c < k.cout; c++ {
		var s int64
		for _, v := range k.w[c*kk : (c+1)*kk] {
			s += int64(v)
		}
		k.corr[c] = -int64(k.x.Zero) * s
		if bias != nil {
			k.corr[c] += int64(bias[c])
		}
		sc := ws[0]
		if len(ws) > 1 {
			sc = ws[c]
		}
		if k.mult[c], err = q8Multiplier(float64(k.x.Scale) * float64(sc) / float64(k.y.Scale)); err != nil {
			return nil, fmt.Errorf("channel %d: %w", c, err)
		}
	}
	k.noSat = make([]bool, k.cout)
	for c := 0; c < k.cout; c++ {
		// |Σ x·w| ≤ 128·Σ|w| for int8 x; the zero-point correction and
		// the bias are in corr.
		var sa int64
		for _, v := range k.w[c*kk : (c+1)*kk] {
			if v < 0 {
				sa -= int64(v)
			} else {
				sa += int64(v)
			}
		}
		b := 128*sa + max(k.corr[c], -k.corr[c])
		k.noSat[c] = b <= math.MaxInt32
	}
	k.lanes = make([]q8Lane, k.cout)
	k.laneOK = make([]bool, k.cout)
	for c := range k.lanes {
		k.lanes[c], k.laneOK[c] = q8NewLane(k.corr[c], k.mult[c], k.y.Zero, k.noSat[c])
	}
	k.lohi = [2]int64{int64(k.lo), int64(k.hi)}
	k.c1 = q8HasAVX512 && k.cinG == 1 && k.group == 1 && k.kh == 3 && k.kw == 3 &&
		k.sh == 1 && k.sw == 1 && k.dh == 1 && k.dw == 1
	for c := 0; c < k.cout && k.c1; c++ {
		k.c1 = k.laneOK[c]
	}
	if k.c1 {
		k.c1w = make([]int8, 12*k.cout)
		k.c1lanes = make([]q8Lane, k.cout)
		k.c1shift32 = true
		for c := range k.cout {
			var s int64
			for t := range 9 {
				k.c1w[12*c+t] = k.w[9*c+t]
				s += int64(k.w[9*c+t])
			}
			k.c1lanes[c] = k.lanes[c]
			// Modulo 2^32: the final sum is exact (noSat).
			k.c1lanes[c].Init = int32(uint32(k.corr[c] - 128*s))
			k.c1shift32 = k.c1shift32 && k.c1lanes[c].Shift >= 32
		}
	}
	k.depthwise = k.cinG == 1 && k.group == k.cout
	k.dwSetup()
	if !k.depthwise {
		coutG := k.cout / k.group
		wp := k.w
		// With several input channels per group the patches are gathered
		// from a channel-last copy of the input, so the weights are
		// reordered to (kH, kW, C) per output channel. Integer sums do not
		// depend on the order: the result is the same bit for bit.
		k.nhwc = k.cinG >= 4
		k.pointwise = k.nhwc && k.kh == 1 && k.kw == 1 && k.sh == 1 && k.sw == 1 &&
			k.pt == 0 && k.pl == 0 && k.pb == 0 && k.pr == 0
		if k.nhwc {
			wp = make([]int8, len(k.w))
			khw := k.kh * k.kw
			for co := 0; co < k.cout; co++ {
				for c := 0; c < k.cinG; c++ {
					for t := 0; t < khw; t++ {
						wp[co*kk+t*k.cinG+c] = k.w[co*kk+c*khw+t]
					}
				}
			}
		}
		for g := 0; g < k.group; g++ {
			k.packed = append(k.packed, blas.PackS8(coutG, kk, wp[g*coutG*kk:], kk))
		}
	}
	if q8HasAVX512 && blas.S8VNNI() && !k.depthwise && !k.c1 && !k.pointwise {
		k.quadSetup()
	}
	if q8HasAVX512 && blas.S8VNNI() && k.pointwise {
		k.quadPW = true
		for _, pa := range k.packed {
			k.quadPW = k.quadPW && blas.S8Quad(pa)
		}
		k.qRuns, k.qCQ = 1, (k.cinG+3)/4
	}
	// The implicit AVX2 GEMM, also with VNNI where the quad path does not
	// apply but for 1x1 (MobileNetV3-style's 3-channel stem: 430 -> 315 µs).
	if !k.quad && !k.c1 && !k.depthwise && q8HasAVX2 && (!blas.S8VNNI() || !k.pointwise && k.cinG%4 != 0) {
		k.pairsSetup()
	}
	k.quant = k.y.quant()
	return k, nil
}

func (k *q8Conv) outHW(h, w int) (int, int) {
	oh := (h+k.pt+k.pb-(k.dh*(k.kh-1)+1))/k.sh + 1
	ow := (w+k.pl+k.pr-(k.dw*(k.kw-1)+1))/k.sw + 1
	return oh, ow
}

func (k *q8Conv) OutputTypes(in []Type) ([]Type, error) {
	x := in[0]
	if x.DType != Int8 {
		return nil, fmt.Errorf("%w: QLinearConvInt8 input %v", ErrDType, x.DType)
	}
	if len(x.Shape) != 4 || x.Shape[1] != k.cinG*k.group {
		return nil, fmt.Errorf("%w: input %v for %d groups of %d channels", ErrShape, x.Shape, k.group, k.cinG)
	}
	oh, ow := k.outHW(x.Shape[2], x.Shape[3])
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: input %v too small for the kernel", ErrShape, x.Shape)
	}
	return []Type{{DType: Int8, Shape: []int{x.Shape[0], k.cout, oh, ow}}}, nil
}

func (k *q8Conv) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	y.Quant = k.quant
	nb := x.Shape[0]
	oh, ow := y.Shape[2], y.Shape[3]
	kk := k.kernelPixels
	if k.depthwise {
		k.runDepthwise(rc, x, y)
		return nil
	}
	if k.c1 {
		k.runC1(rc, x, y)
		return nil
	}
	if k.quad || k.pairs || k.quadPW {
		k.runQuad(rc, x, y)
		return nil
	}
	// Work units are (image, group, block of output rows); with more
	// threads than images×groups the rows are split too. Each goroutine
	// owns its part of the scratch buffers.
	units := nb * k.group
	rowBlocks := 1
	work := int64(nb) * int64(k.cout) * int64(oh*ow) * int64(kk)
	if rc.Threads > 1 && units < rc.Threads && oh > 1 {
		rowBlocks = min(rc.Threads, oh)
	}
	units *= rowBlocks
	blocks := blocksFor(rc.Threads, units, work)
	rows := (oh + rowBlocks - 1) / rowBlocks
	j := &rc.kernelJobs().q8Conv
	*j = q8ConvJob{k: k, x: x, y: y, rowBlocks: rowBlocks,
		colsPer: rows * ow * kk, accPer: (k.cout / k.group) * rows * ow}
	if k.nhwc {
		j.colsPer += x.Shape[2] * x.Shape[3] * k.cinG
	}
	if k.pointwise {
		j.colsPer = x.Shape[2] * x.Shape[3] * k.cinG
	}
	j.cols = rc.ScratchI8(blocks * j.colsPer)
	j.acc = rc.ScratchI32(blocks * j.accPer)
	j.ws = rc.gemmWorkspaces(blocks)
	rc.parallelFor(blocks, units, j)
	*j = q8ConvJob{}
	return nil
}

type q8ConvJob struct {
	k               *q8Conv
	x, y            *Tensor
	cols            []int8
	acc             []int32
	rowBlocks       int
	colsPer, accPer int
	ws              []*blas.Workspace // GEMM scratch per worker
}

func (j *q8ConvJob) runRange(lo, hi, worker int) {
	k := j.k
	cols := j.cols[worker*j.colsPer : (worker+1)*j.colsPer]
	acc := j.acc[worker*j.accPer : (worker+1)*j.accPer]
	cin, h, w := j.x.Shape[1], j.x.Shape[2], j.x.Shape[3]
	oh, ow := j.y.Shape[2], j.y.Shape[3]
	p := oh * ow
	coutG := k.cout / k.group
	kk := k.kernelPixels
	for u := lo; u < hi; u++ {
		rb := u % j.rowBlocks
		bg := u / j.rowBlocks
		b, g := bg/k.group, bg%k.group
		oy0, oy1 := oh*rb/j.rowBlocks, oh*(rb+1)/j.rowBlocks
		pp := (oy1 - oy0) * ow
		if pp == 0 {
			continue
		}
		xg := j.x.I8[(b*cin+g*k.cinG)*h*w : (b*cin+(g+1)*k.cinG)*h*w]
		if k.pointwise {
			// 1x1, stride 1, no padding: the channel-last rows are the
			// patch matrix itself.
			t := cols[:h*w*k.cinG]
			k.toNHWC(xg, h, w, oy0, oy1, t)
			blas.GemmS8PackedWS(j.ws[worker], k.packed[g], pp, t[oy0*w*k.cinG:], kk, acc, pp)
			for co := 0; co < coutG; co++ {
				c := g*coutG + co
				dst := j.y.I8[(b*k.cout+c)*p+oy0*ow : (b*k.cout+c)*p+oy1*ow]
				k.requantRow(acc[co*pp:co*pp+pp], dst, c)
			}
			continue
		}
		if k.nhwc {
			t := cols[pp*kk : pp*kk+h*w*k.cinG]
			k.toNHWC(xg, h, w, oy0, oy1, t)
			k.im2colNHWC(t, h, w, oy0, oy1, ow, cols)
		} else {
			k.im2col(xg, h, w, oy0, oy1, ow, cols)
		}
		blas.GemmS8PackedWS(j.ws[worker], k.packed[g], pp, cols, kk, acc, pp)
		for co := 0; co < coutG; co++ {
			c := g*coutG + co
			dst := j.y.I8[(b*k.cout+c)*p+oy0*ow : (b*k.cout+c)*p+oy1*ow]
			k.requantRow(acc[co*pp:co*pp+pp], dst, c)
		}
	}
}

// runC1 runs the direct one-channel 3x3 kernel: per (image, block of
// output rows) the image is copied into a plane padded with x_zp, then
// c1Rows writes the output rows of every channel.
func (k *q8Conv) runC1(rc *RunContext, x, y *Tensor) {
	nb, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	oh, ow := y.Shape[2], y.Shape[3]
	rowBlocks := 1
	if rc.Threads > 1 && nb < rc.Threads && oh > 1 {
		rowBlocks = min(rc.Threads, oh)
	}
	units := nb * rowBlocks
	// An int8 VNNI multiply-add costs about a quarter of a float32 one:
	// the work estimate for the parallel threshold is scaled accordingly.
	blocks := blocksFor(rc.Threads, units, int64(nb)*int64(k.cout)*int64(oh*ow)*9/4)
	ld := w + k.pl + k.pr
	per := (h+k.pt+k.pb)*ld + 64 // slack: the kernel loads 32 bytes per row
	j := &rc.kernelJobs().q8C1
	*j = q8C1Job{k: k, x: x, y: y, rowBlocks: rowBlocks, ld: ld, per: per, pad: rc.ScratchI8(blocks * per)}
	rc.parallelFor(blocks, units, j)
	*j = q8C1Job{}
}

type q8C1Job struct {
	k         *q8Conv
	x, y      *Tensor
	rowBlocks int
	ld, per   int
	pad       []int8
}

func (j *q8C1Job) runRange(lo, hi, worker int) {
	k := j.k
	h, w := j.x.Shape[2], j.x.Shape[3]
	oh, ow := j.y.Shape[2], j.y.Shape[3]
	pad := j.pad[worker*j.per : (worker+1)*j.per]
	zp := int8(k.x.Zero)
	for i := range pad {
		pad[i] = zp
	}
	prev := -1
	for u := lo; u < hi; u++ {
		b, rb := u/j.rowBlocks, u%j.rowBlocks
		if b != prev {
			src := j.x.I8[b*h*w : (b+1)*h*w]
			for iy := range h {
				copy(pad[(iy+k.pt)*j.ld+k.pl:], src[iy*w:iy*w+w])
			}
			prev = b
		}
		oy0, oy1 := oh*rb/j.rowBlocks, oh*(rb+1)/j.rowBlocks
		if oy1 > oy0 {
			k.c1Rows(pad, j.ld, oy0, oy1, ow, j.y.I8[b*k.cout*oh*ow:(b+1)*k.cout*oh*ow], oh*ow)
		}
	}
}

// runQuad runs a grouped or plain conv through blas.GemmS8Quad (any
// channel count with dilation 1, see quadSetup), or any conv on AVX2
// without VNNI as an implicit GEMM (k.pairs, implRows): per (image, group,
// block of output rows) the group's channels are copied channel-last into
// a plane padded with x_zp (int16 for pairs); each 16-pixel panel of
// patches is gathered in the GEMM's packed layout (q8QuadPanel) or the
// tiles read the plane directly; the accumulators are requantized row by
// row. A pointwise conv on the quad GEMM (quadPW) packs its panels from
// the NCHW planes themselves (q8PlanePanels): no channel-last copy.
func (k *q8Conv) runQuad(rc *RunContext, x, y *Tensor) {
	nb, h, w := x.Shape[0], x.Shape[2], x.Shape[3]
	oh, ow := y.Shape[2], y.Shape[3]
	imgs := k.implImages(nb, oh*ow, rc.Threads)
	units := (nb + imgs - 1) / imgs * k.group
	rowBlocks := 1
	if rc.Threads > 1 && units < rc.Threads && oh > 1 && imgs == 1 {
		rowBlocks = min(rc.Threads, oh)
	}
	units *= rowBlocks
	blocks := blocksFor(rc.Threads, units, int64(nb)*int64(k.cout)*int64(oh*ow)*int64(k.kernelPixels)/4) // see runC1
	rows := (oh + rowBlocks - 1) / rowBlocks
	wp := w + k.pl + k.pr
	// The quad path gathers, multiplies and requantizes a chunk of pixels
	// at a time, so that its panels and accumulators stay in cache.
	kq := k.qRuns * k.qCQ * 4
	chunk := min(max((q8QuadChunkBytes/max(kq, 1))&^15, 16), roundUp16(imgs*rows*ow))
	cn, esz, blen := k.cinG, 1, blas.S8QuadLen(chunk, kq)+q8PanelSlack
	accPer := (k.cout/k.group)*chunk + k.kh*k.kw
	if k.pairs {
		// No patch panels; channel rows of whole 8x8 tiles.
		cn, esz, blen = k.pcn, 2, 0
		accPer = roundUp8(k.cout/k.group)*q8ImplLd(imgs*rows*ow) + k.kh*k.kw
	}
	// The gather reads up to 3 bytes past a window's last run: slack, and
	// the panels stay 64-byte aligned.
	plane := ((h+k.pt+k.pb)*wp*cn*esz+63)&^63 + 64
	if k.quadPW {
		plane = 0 // panels come from the NCHW planes
	}
	j := &rc.kernelJobs().q8Quad
	*j = q8QuadJob{k: k, x: x, y: y, rowBlocks: rowBlocks, imgs: imgs, wp: wp, plane: plane, cn: cn, esz: esz, chunk: chunk,
		i8Per:  imgs*plane + blen,
		accPer: accPer}
	if imgs > 1 && !k.pairs {
		j.i8Per += chunk // a requantized row of a chunk spanning images
	}
	j.i8 = rc.ScratchI8(blocks * j.i8Per)
	noffs := 0
	if k.pairs {
		noffs = imgs * rows * ow
	}
	i32 := rc.ScratchI32(noffs + blocks*j.accPer)
	j.offs, j.acc = i32[:noffs], i32[noffs:]
	if k.pairs {
		// Every unit's windows are at the same offsets from its planes
		// (units of row blocks read from their first row on).
		k.windowOffsets(j.offs, 0, noffs, rows*ow, plane, 0, ow, wp, cn*esz)
	}
	j.ws = rc.gemmWorkspaces(blocks)
	rc.parallelFor(blocks, units, j)
	*j = q8QuadJob{}
}

type q8QuadJob struct {
	k             *q8Conv
	x, y          *Tensor
	rowBlocks     int
	imgs          int // images per unit (implImages)
	wp, plane     int // plane: bytes of one image's channel-last plane
	cn, esz       int // plane channels per pixel, bytes per element
	chunk         int // quad path: pixels per gather, GEMM and requantization
	i8Per, accPer int
	i8            []int8
	offs          []int32 // pairs path: window offsets of a unit's pixels
	acc           []int32
	ws            []*blas.Workspace // GEMM scratch per worker
}

func (j *q8QuadJob) runRange(lo, hi, worker int) {
	k := j.k
	cin, h, w := j.x.Shape[1], j.x.Shape[2], j.x.Shape[3]
	oh, ow := j.y.Shape[2], j.y.Shape[3]
	coutG, cg, wp := k.cout/k.group, k.cinG, j.wp
	px := j.cn * j.esz // bytes per plane pixel
	scr := j.i8[worker*j.i8Per : (worker+1)*j.i8Per]
	t, bq := scr[:j.imgs*j.plane], q8Bytes(scr[j.imgs*j.plane:])
	ai := j.acc[worker*j.accPer : (worker+1)*j.accPer]
	taps, acc := ai[:k.kh*k.kw], ai[k.kh*k.kw:]
	for ky := 0; ky < k.kh; ky++ {
		for kx := 0; kx < k.kw; kx++ {
			taps[ky*k.kw+kx] = int32((ky*k.dh*wp + kx*k.dw) * px)
		}
	}
	if (k.quad || k.pairs) && k.dw == 1 {
		// Runs are whole kernel rows (quadSetup, pairsSetup).
		taps = taps[:k.kh]
		for ky := range taps {
			taps[ky] = int32(ky * k.dh * wp * px)
		}
	}
	panel := k.qRuns * k.qCQ * 64 // bytes per quad panel: 64 per group of 4 k
	prev := -1
	for u := lo; u < hi; u++ {
		rb, bg := u%j.rowBlocks, u/j.rowBlocks
		b, g := bg/k.group*j.imgs, bg%k.group // first image
		nimg := min(j.imgs, j.x.Shape[0]-b)
		oy0, oy1 := oh*rb/j.rowBlocks, oh*(rb+1)/j.rowBlocks
		pp := (oy1 - oy0) * ow
		if pp == 0 {
			continue
		}
		xg := j.x.I8[(b*cin+g*cg)*h*w : (b*cin+(g+1)*cg)*h*w]
		if bg != prev && !k.quadPW {
			for i := range nimg {
				xi := j.x.I8[((b+i)*cin+g*cg)*h*w : ((b+i)*cin+(g+1)*cg)*h*w]
				if k.pairs {
					q8PadNHWC16(xi, h, w, cg, j.cn, k.pt, k.pl, wp, int16(k.x.Zero), q8Int16s(t[i*j.plane:])[:(h+k.pt+k.pb)*wp*j.cn])
				} else if !q8PadNHWCNarrow(xi, h, w, cg, k.pt, k.pl, wp, int8(k.x.Zero), t[i*j.plane:], scr[j.imgs*j.plane:]) {
					q8PadNHWC(xi, h, w, cg, k.pt, k.pl, wp, int8(k.x.Zero), t[i*j.plane:])
				}
			}
		}
		prev = bg
		p := oh * ow
		if k.pairs {
			ld := q8ImplLd(nimg * pp) // accumulator row length
			k.implRows(t[oy0*k.sh*wp*px:], j.offs[:nimg*pp], taps, g, acc, ld)
			for i := range nimg {
				y := j.y.I8[((b+i)*k.cout+g*coutG)*p : ((b+i)*k.cout+(g+1)*coutG)*p]
				for co := 0; co < coutG; co++ {
					k.requantRow(acc[co*ld+i*pp:co*ld+(i+1)*pp], y[co*p+oy0*ow:co*p+oy1*ow], g*coutG+co)
				}
			}
			continue
		}
		// The unit's pixels run over its nimg images (implImages); with
		// several images rowBlocks is 1, so pp = p.
		var idx [16]int32
		for p0, all := 0, nimg*pp; p0 < all; p0 += j.chunk {
			n := min(j.chunk, all-p0)
			if k.quadPW {
				q8PlanePanels(xg, h*w, cg, oy0*ow+p0, n, bq)
			} else {
				for q := 0; q < n; q += 16 {
					k.windowOffsets(idx[:], p0+q, all, pp, j.plane, oy0, ow, wp, px)
					q8QuadPanel(t, &idx, taps, k.qCQ, bq[q/16*panel:])
				}
			}
			blas.GemmS8Quad(j.ws[worker], k.packed[g], n, bq, acc, n)
			if p0/pp == (p0+n-1)/pp { // one image
				i, r := p0/pp, p0%pp
				y := j.y.I8[((b+i)*k.cout+g*coutG)*p : ((b+i)*k.cout+(g+1)*coutG)*p]
				for co := 0; co < coutG; co++ {
					o := co*p + oy0*ow + r
					k.requantRow(acc[co*n:co*n+n], y[o:o+n], g*coutG+co)
				}
				continue
			}
			// A chunk spanning images (rowBlocks is 1, so pp = p): each
			// row is requantized whole, then copied image by image.
			row := scr[j.i8Per-j.chunk : j.i8Per-j.chunk+n]
			for co := 0; co < coutG; co++ {
				k.requantRow(acc[co*n:co*n+n], row, g*coutG+co)
				for q := p0; q < p0+n; {
					i, r := q/pp, q%pp
					m := min(pp-r, p0+n-q)
					o := ((b+i)*k.cout+g*coutG+co)*p + r
					copy(j.y.I8[o:o+m], row[q-p0:q-p0+m])
					q += m
				}
			}
		}
	}
}

// q8QuadChunkBytes bounds the quad-packed patches of a chunk (runQuad):
// they stay in L2 while every block of output channels reads them.
const q8QuadChunkBytes = 64 << 10

// q8PanelSlack is the bytes q8QuadPanel may write past a panel (slots of
// a later panel, or slack the caller provides).
const q8PanelSlack = 15 * 64

// roundUp16 rounds n up to a multiple of 16.
func roundUp16(n int) int { return (n + 15) &^ 15 }

// quadSetup selects the quad path (runQuad) when the VNNI GEMM takes the
// packed weights. Patches are gathered from a channel-last plane in runs
// of 4-byte groups. With dilation 1 a run is a whole kernel row, kW·C
// contiguous bytes rounded up to a multiple of 4 by zero weights (the
// bytes read past the row meet them), so any channel count takes the VNNI
// kernel: an RGB stem's 7-pixel row of 21 bytes becomes 24. With dilation
// a run is one tap's C channels, which must then be a multiple of 4.
func (k *q8Conv) quadSetup() {
	runs, run := k.kh, k.kw*k.cinG
	if k.dw != 1 {
		if k.cinG%4 != 0 {
			return
		}
		runs, run = k.kh*k.kw, k.cinG
	}
	cq := (run + 3) / 4
	kk, kq, khw := k.kernelPixels, runs*cq*4, k.kh*k.kw
	wq := make([]int8, k.cout*kq)
	for co := 0; co < k.cout; co++ {
		src, dst := k.w[co*kk:(co+1)*kk], wq[co*kq:(co+1)*kq]
		for t := 0; t < khw; t++ {
			r, off := t, 0 // run of tap t, its first byte in the run
			if k.dw == 1 {
				r, off = t/k.kw, t%k.kw*k.cinG
			}
			for c := 0; c < k.cinG; c++ {
				dst[r*cq*4+off+c] = src[c*khw+t]
			}
		}
	}
	coutG := k.cout / k.group
	packed := make([]*blas.PackedS8, k.group)
	for g := range packed {
		if packed[g] = blas.PackS8(coutG, kq, wq[g*coutG*kq:], kq); !blas.S8Quad(packed[g]) {
			return
		}
	}
	k.packed, k.quad, k.qRuns, k.qCQ = packed, true, runs, cq
}

// pairsSetup selects the pairs path (runQuad with k.pairs, AVX2): the
// weights become, per group and block of 8 output channels, int16 pairs
// in q8ImplTiles' layout, the channels past the group's zero. With
// dilation 1 the k order is runs of whole kernel rows, kW·C contiguous
// values of a plane of C channels per pixel, rounded up to even by a zero
// weight (the value read past the run is multiplied by 0), as quadSetup's
// runs: an RGB 7x7 stem takes 7 runs of 11 pairs, not 49 taps of 2.
// Otherwise it is (kH, kW, C) with C rounded up to even (a zero weight for
// the padding channel of the plane).
func (k *q8Conv) pairsSetup() {
	cp := (k.cinG + 1) &^ 1
	runs, cq := k.kh*k.kw, cp/2
	if k.dw == 1 {
		cp = k.cinG
		runs, cq = k.kh, (k.kw*k.cinG+1)/2
	}
	khw := k.kh * k.kw
	kk := k.kernelPixels
	coutG := k.cout / k.group
	blocks := (coutG + 7) / 8
	groups := runs * cq // k pairs
	k.implW = make([]int16, k.group*blocks*groups*16)
	for g := 0; g < k.group; g++ {
		for co := 0; co < coutG; co++ {
			wc := k.w[(g*coutG+co)*kk : (g*coutG+co+1)*kk]
			blk := k.implW[((g*blocks)+co/8)*groups*16:]
			for c := 0; c < k.cinG; c++ {
				for t := 0; t < khw; t++ {
					q := t*cp + c // k index
					if k.dw == 1 {
						q = t/k.kw*2*cq + t%k.kw*cp + c
					}
					blk[(q/2)*16+(co%8)*2+q%2] = int16(wc[c*khw+t])
				}
			}
		}
	}
	k.pairs, k.pcn, k.implCQ = true, cp, cq
}

// q8PadNHWC copies the cn planes (h×w) of x channel-last into t, a plane
// of rows of wp pixels padded with zp: t[((iy+pt)·wp + ix+pl)·cn + c].
func q8PadNHWC(x []int8, h, w, cn, pt, pl, wp int, zp int8, t []int8) {
	q8Fill(t, zp)
	done := q8NHWCRowsFast(x, h, w, cn, pt, pl, wp, t) // pixels [0, done) of every row
	if done == w {
		return
	}
	tb := q8Bytes(t)
	c := 0
	for ; c+8 <= cn; c += 8 {
		for iy := 0; iy < h; iy++ {
			var pl8 [8][]int8
			for q := range pl8 {
				pl8[q] = x[(c+q)*h*w+iy*w : (c+q)*h*w+iy*w+w]
			}
			p0, p1, p2, p3, p4, p5, p6, p7 := pl8[0], pl8[1], pl8[2], pl8[3], pl8[4], pl8[5], pl8[6], pl8[7]
			base := ((iy+pt)*wp+pl)*cn + c
			for i := done; i < w; i++ {
				v := uint64(uint8(p0[i])) | uint64(uint8(p1[i]))<<8 | uint64(uint8(p2[i]))<<16 | uint64(uint8(p3[i]))<<24 |
					uint64(uint8(p4[i]))<<32 | uint64(uint8(p5[i]))<<40 | uint64(uint8(p6[i]))<<48 | uint64(uint8(p7[i]))<<56
				o := base + i*cn
				binary.LittleEndian.PutUint64(tb[o:o+8], v)
			}
		}
	}
	for ; c < cn; c++ {
		for iy := 0; iy < h; iy++ {
			src := x[c*h*w+iy*w : c*h*w+iy*w+w]
			base := ((iy+pt)*wp+pl)*cn + c
			for i := done; i < w; i++ {
				t[base+i*cn] = src[i]
			}
		}
	}
}

// q8PadNHWCNarrow is q8PadNHWC for rows too narrow for q8NHWCRowsFast's
// groups of 4 pixels (a 2x2 or 1x4 plane): the whole plane, as one row
// of h·w pixels, is copied channel-last into tmp, then row by row into
// t. It reports false, doing nothing, when the plane is not such a
// plane, tmp is too short or the CPU lacks the kernel.
func q8PadNHWCNarrow(x []int8, h, w, cn, pt, pl, wp int, zp int8, t, tmp []int8) bool {
	if w >= 4 || h*w%4 != 0 || len(tmp) < h*w*cn || q8NHWCRowsFast(x, 1, h*w, cn, 0, 0, h*w, tmp) != h*w {
		return false
	}
	q8Fill(t, zp)
	for iy := range h {
		copy(t[((iy+pt)*wp+pl)*cn:], tmp[iy*w*cn:(iy+1)*w*cn])
	}
	return true
}

// implRows computes the accumulators of the pixels whose windows are at
// offs from t (windowOffsets) of group g into acc (channel rows ld >=
// q8ImplLd(len(offs)) apart) by
// q8ImplTiles, 6 pixels by 16 channels at a time, from the int16 plane t
// (px bytes per pixel, rows of wp pixels). A block of output channels
// serves q8ImplBlock tiles of pixels while its weights are in cache: the
// weights are read once per block of pixels, not once per tile (a 4x4
// plane of 512 channels has 4.7 MB of them).
func (k *q8Conv) implRows(t []int8, offs, taps []int32, g int, acc []int32, ld int) {
	coutG := k.cout / k.group
	groups := len(taps) * k.implCQ
	wg := k.implW[g*roundUp8(coutG)/8*groups*16:]
	pp := len(offs)
	var tail [6 * q8ImplBlock]int32 // a last partial tile's offsets, 0 past pp
	for pb := 0; pb < pp; pb += 6 * q8ImplBlock {
		nt := min(q8ImplBlock, (pp-pb+5)/6)
		pix := offs[pb:min(pb+6*nt, pp)]
		if len(pix) < 6*nt {
			clear(tail[:6*nt])
			copy(tail[:], pix)
			pix = tail[:6*nt]
		}
		// A last tile of at most 4 pixels takes the 4-pixel kernel.
		last := pp - (pb + 6*(nt-1))
		for cb := 0; cb < coutG; cb += 16 {
			wb, two := wg[cb/8*groups*16:], coutG-cb > 8
			if !two || last > 4 {
				q8ImplTiles(t, pix[:6*nt], taps, k.implCQ, wb, groups*16, two, acc[cb*ld+pb:], ld)
				continue
			}
			if nt > 1 {
				q8ImplTiles(t, pix[:6*nt-6], taps, k.implCQ, wb, groups*16, true, acc[cb*ld+pb:], ld)
			}
			q8ImplTile4(t, pix[6*nt-6:6*nt], taps, k.implCQ, wb, groups*16, acc[cb*ld+pb+6*nt-6:], ld)
		}
	}
}

// q8QuadJoinPixels is the pixels a unit of the quad path reaches by
// joining images of small planes (implImages).
const q8QuadJoinPixels = 256

// q8ImplBlock is implRows' pixel block, in tiles of 6 pixels.
const q8ImplBlock = 8

// q8ImplLd is the accumulator row length implRows needs for pp pixels:
// whole tiles of 6 and the 2 junk values the last one writes.
func q8ImplLd(pp int) int { return (pp+5)/6*6 + 2 }

// windowOffsets sets off[i] to the byte offset of the window of pixel
// p0+i (pixels counted from output row oy0, ow per row, ipix per image;
// planes istride bytes apart, of rows of wp pixels of px bytes), 0 past
// pp. The position is divided out once and then stepped.
func (k *q8Conv) windowOffsets(off []int32, p0, pp, ipix, istride, oy0, ow, wp, px int) {
	im, r := p0/ipix, p0%ipix
	oy, ox, rows := r/ow, r%ow, ipix/ow
	row := im*istride + (oy0+oy)*k.sh*wp*px // offset of the row's window 0
	step := k.sw * px
	at := row + ox*step
	for i := range off {
		off[i] = 0
		if p0+i < pp {
			off[i] = int32(at)
		}
		at += step
		if ox++; ox == ow {
			if ox, oy = 0, oy+1; oy == rows {
				oy, im = 0, im+1
			}
			row = im*istride + (oy0+oy)*k.sh*wp*px
			at = row
		}
	}
}

// implImages is how many of nb images (of p output pixels) a unit of the
// pairs path computes together: small planes are joined up to a block of
// implRows' tiles, so that each fetch of the weights serves as many
// pixels (VGG-style's 512 channels on 2x2 planes: 4.7 MB of them per
// image), keeping the units a multiple of the threads.
//
// The quad path joins images up to q8QuadJoinPixels: a unit's last
// 16-pixel panel is the only one partly empty, and a 2x2 plane's 4
// pixels no longer take the narrow GEMM kernel alone.
func (k *q8Conv) implImages(nb, p, threads int) int {
	target := 6 * q8ImplBlock
	if k.quad {
		// Planes of whole panels gain nothing from joining and lose
		// cache to the other images' planes.
		target = min(q8QuadJoinPixels, 16/gcd(p, 16)*p)
	}
	if !(k.pairs || k.quad) || nb < 2 || p >= target {
		return 1
	}
	threads = max(threads, 1)
	per := (target + p - 1) / p // images to reach the target
	units := (nb + per - 1) / per
	units = (units + threads - 1) / threads * threads
	return max(1, (nb+units-1)/units)
}

// roundUp8 rounds n up to a multiple of 8.
func roundUp8(n int) int { return (n + 7) &^ 7 }

// q8PadNHWC16 is q8PadNHWC into an int16 plane of cp >= cn channels per
// pixel (cp = cn, or cn rounded up to even), written 8 channels at a time
// by q8OctRow (AVX2 transposes; a whole unpadded plane in one call), then
// a channel pair at a time by q8PairRow: an odd last channel is paired
// with itself, its copy landing in the padding channel (whose weights are
// 0), or written alone when cp = cn. Only a padded
// plane (t holding (h+pt+pb)·wp pixels) is filled with zp first:
// otherwise every element is written.
func q8PadNHWC16(x []int8, h, w, cn, cp, pt, pl, wp int, zp int16, t []int16) {
	padded := wp != w || len(t) != (h+pt)*wp*cp || pt > 0 // t holds the bottom padding rows too
	if padded {
		q8Fill(t, zp)
	}
	c := 0
	for ; c+8 <= cn; c += 8 {
		if !padded {
			q8OctRow(x, h*w, c, 0, h*w, t, pt*wp*cp+c, cp)
			continue
		}
		for iy := 0; iy < h; iy++ {
			q8OctRow(x, h*w, c, iy*w, w, t, ((iy+pt)*wp+pl)*cp+c, cp)
		}
	}
	for ; c < cn; c += 2 {
		c1 := min(c+1, cn-1)
		for iy := 0; iy < h; iy++ {
			a := x[c*h*w+iy*w : c*h*w+iy*w+w]
			o := ((iy+pt)*wp + pl) * cp
			if c1 == c && cp == cn {
				// No padding channel to take the pair's copy: the
				// next pixel's channel 0 is there.
				if cp == 1 {
					d := t[o : o+len(a)]
					for i, v := range a {
						d[i] = int16(v)
					}
					continue
				}
				for i, v := range a {
					t[o+i*cp+c] = int16(v)
				}
				continue
			}
			q8PairRow(a, x[c1*h*w+iy*w:c1*h*w+iy*w+w], t[o+c:], cp)
		}
	}
}

// q8Int16s views bytes (an even count) as int16s.
func q8Int16s(s []int8) []int16 {
	return unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(s))), len(s)/2)
}

// requantRow turns one channel's accumulators into int8 (int8.go rules).
// When the channel's accumulator provably fits int32 (noSat), the int32
// saturation is skipped: it could not change anything.
func (k *q8Conv) requantRow(acc []int32, dst []int8, c int) {
	dst = dst[:len(acc)]
	if k.laneOK[c] && (q8RequantFast(acc, dst, &k.lanes[c], &k.lohi) || q8RequantAVX2Lane(acc, dst, &k.lanes[c], &k.lohi)) {
		return
	}
	k.requantRowGo(acc, dst, c)
}

// requantRowGo is requantRow in plain Go (the reference of the SIMD path).
func (k *q8Conv) requantRowGo(acc []int32, dst []int8, c int) {
	corr, m := k.corr[c], k.mult[c]
	yz, lo, hi := int64(k.y.Zero), int64(k.lo), int64(k.hi)
	dst = dst[:len(acc)]
	if !k.noSat[c] || m.S == 0 {
		for i, a := range acc {
			dst[i] = q8Clamp(yz+m.apply(int64(a)+corr), k.lo, k.hi)
		}
		return
	}
	mm, s := int64(m.M), m.S
	half := int64(1) << (s - 1)
	cm := corr * mm
	if s <= 52 {
		// Fold the zero point into the rounding constant: adding yz·2^s
		// before an arithmetic shift adds yz after it, exactly. With
		// |(a+corr)·mm| < 2^62 and s <= 52 nothing overflows.
		hz := half + yz<<s
		for i, a := range acc {
			x := int64(a)*mm + cm
			v := (x + hz + x>>63) >> s
			dst[i] = int8(min(max(v, lo), hi))
		}
		return
	}
	for i, a := range acc {
		x := int64(a)*mm + cm
		v := yz + (x+half+x>>63)>>s
		dst[i] = int8(min(max(v, lo), hi)) // branch-free (CMOV)
	}
}

// im2col writes, for each output pixel of rows [oy0, oy1), its receptive
// field over the group's channels as one k-contiguous row (padding reads x_zp). The loops
// run over (output row, channel, kernel row) outside and output columns
// inside; the columns whose window lies inside the image horizontally take
// a branch-free copy.
func (k *q8Conv) im2col(x []int8, h, w, oy0, oy1, ow int, cols []int8) {
	pad := int8(k.x.Zero)
	kk := k.kernelPixels
	kw, dw, sw, pl := k.kw, k.dw, k.sw, k.pl
	span := (kw-1)*dw + 1
	// Interior columns: ox*sw - pl >= 0 and ox*sw - pl + span <= w.
	oxLo := (pl + sw - 1) / sw
	oxHi := oxLo - 1
	if w-span+pl >= 0 {
		oxHi = (w - span + pl) / sw
	}
	oxLo = min(oxLo, ow)
	oxHi = min(oxHi, ow-1)
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*k.sh - k.pt
		base := (oy - oy0) * ow * kk
		for c := 0; c < k.cinG; c++ {
			plane := x[c*h*w : (c+1)*h*w]
			for ky := 0; ky < k.kh; ky++ {
				off := base + (c*k.kh+ky)*kw
				iy := iy0 + ky*k.dh
				if iy < 0 || iy >= h {
					for ox := 0; ox < ow; ox++ {
						row := cols[off+ox*kk : off+ox*kk+kw]
						for i := range row {
							row[i] = pad
						}
					}
					continue
				}
				line := plane[iy*w : iy*w+w]
				ox := 0
				for ; ox < oxLo; ox++ {
					q8EdgeRow(cols[off+ox*kk:off+ox*kk+kw], line, ox*sw-pl, dw, pad)
				}
				switch {
				case kw == 3 && dw == 1 && (c < k.cinG-1 || ky < k.kh-1):
					// One 4-byte load and store per window row: the
					// fourth byte lands on the next kernel row of the same
					// pixel, which a later (c, ky) iteration overwrites.
					for ; ox <= oxHi; ox++ {
						ix := ox*sw - pl
						if ix+4 > w {
							break
						}
						o := off + ox*kk
						binary.LittleEndian.PutUint32(q8Bytes(cols[o:o+4]), binary.LittleEndian.Uint32(q8Bytes(line[ix:ix+4])))
					}
					for ; ox <= oxHi; ox++ {
						ix := ox*sw - pl
						src := line[ix : ix+3 : ix+3]
						dst := cols[off+ox*kk : off+ox*kk+3 : off+ox*kk+3]
						dst[0], dst[1], dst[2] = src[0], src[1], src[2]
					}
				case kw == 3 && dw == 1:
					for ; ox <= oxHi; ox++ {
						ix := ox*sw - pl
						src := line[ix : ix+3 : ix+3]
						dst := cols[off+ox*kk : off+ox*kk+3 : off+ox*kk+3]
						dst[0], dst[1], dst[2] = src[0], src[1], src[2]
					}
				case kw == 1:
					for ; ox <= oxHi; ox++ {
						cols[off+ox*kk] = line[ox*sw-pl]
					}
				default:
					for ; ox <= oxHi; ox++ {
						ix := ox*sw - pl
						dst := cols[off+ox*kk : off+ox*kk+kw]
						for kx := range dst {
							dst[kx] = line[ix+kx*dw]
						}
					}
				}
				for ; ox < ow; ox++ {
					q8EdgeRow(cols[off+ox*kk:off+ox*kk+kw], line, ox*sw-pl, dw, pad)
				}
			}
		}
	}
}

// toNHWC copies the input rows that output rows [oy0, oy1) read into t
// in channel-last order: t[(iy·w + ix)·C + c].
func (k *q8Conv) toNHWC(x []int8, h, w, oy0, oy1 int, t []int8) {
	lo := max(oy0*k.sh-k.pt, 0)
	hi := min((oy1-1)*k.sh-k.pt+(k.kh-1)*k.dh+1, h)
	cn := k.cinG
	if hi <= lo {
		return
	}
	tb := q8Bytes(t)
	c := 0
	// Eight channels at a time: one 8-byte store per pixel.
	for ; c+8 <= cn; c += 8 {
		var pl [8][]int8
		for j := range pl {
			pl[j] = x[(c+j)*h*w+lo*w : (c+j)*h*w+hi*w]
		}
		p0, p1, p2, p3, p4, p5, p6, p7 := pl[0], pl[1], pl[2], pl[3], pl[4], pl[5], pl[6], pl[7]
		n := len(p0)
		p1, p2, p3, p4, p5, p6, p7 = p1[:n], p2[:n], p3[:n], p4[:n], p5[:n], p6[:n], p7[:n]
		base := lo*w*cn + c
		for i := 0; i < n; i++ {
			v := uint64(uint8(p0[i])) | uint64(uint8(p1[i]))<<8 | uint64(uint8(p2[i]))<<16 | uint64(uint8(p3[i]))<<24 |
				uint64(uint8(p4[i]))<<32 | uint64(uint8(p5[i]))<<40 | uint64(uint8(p6[i]))<<48 | uint64(uint8(p7[i]))<<56
			o := base + i*cn
			binary.LittleEndian.PutUint64(tb[o:o+8], v)
		}
	}
	for ; c < cn; c++ {
		plane := x[c*h*w : (c+1)*h*w]
		for i := lo * w; i < hi*w; i++ {
			t[i*cn+c] = plane[i]
		}
	}
}

// im2colNHWC gathers the patches of output rows [oy0, oy1) from the
// channel-last input t: each kernel row of a window is one contiguous run
// of kW·C bytes (split per kernel column at the borders).
func (k *q8Conv) im2colNHWC(t []int8, h, w, oy0, oy1, ow int, cols []int8) {
	pad := int8(k.x.Zero)
	kk := k.kernelPixels
	cn := k.cinG
	seg := k.kw * cn
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*k.sh - k.pt
		for ox := 0; ox < ow; ox++ {
			row := cols[((oy-oy0)*ow+ox)*kk : ((oy-oy0)*ow+ox+1)*kk]
			ix0 := ox*k.sw - k.pl
			inside := k.dw == 1 && ix0 >= 0 && ix0+k.kw <= w
			for ky := 0; ky < k.kh; ky++ {
				dst := row[ky*seg : (ky+1)*seg]
				iy := iy0 + ky*k.dh
				if iy < 0 || iy >= h {
					for i := range dst {
						dst[i] = pad
					}
					continue
				}
				line := t[iy*w*cn : (iy+1)*w*cn]
				if inside {
					copy(dst, line[ix0*cn:ix0*cn+seg])
					continue
				}
				for kx := 0; kx < k.kw; kx++ {
					blk := dst[kx*cn : (kx+1)*cn]
					ix := ix0 + kx*k.dw
					if ix < 0 || ix >= w {
						for i := range blk {
							blk[i] = pad
						}
					} else {
						copy(blk, line[ix*cn:(ix+1)*cn])
					}
				}
			}
		}
	}
}

// q8Bytes views int8s as bytes.
func q8Bytes(s []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// q8EdgeRow fills one kernel row of a window that crosses the image's
// left or right border.
func q8EdgeRow(row, line []int8, ix0, dw int, pad int8) {
	w := len(line)
	for kx := range row {
		ix := ix0 + kx*dw
		if uint(ix) < uint(w) {
			row[kx] = line[ix]
		} else {
			row[kx] = pad
		}
	}
}

// runDepthwise computes one output channel per input channel directly,
// channels shared among goroutines. Each output row is accumulated in
// int32 (windows inside the image without bounds tests, 3x3 unrolled;
// border windows read x_zp for padding) and requantized by requantRow.
func (k *q8Conv) runDepthwise(rc *RunContext, x, y *Tensor) {
	if k.dwTaps != nil {
		k.runDepthwiseSIMD(rc, x, y)
		return
	}
	nb, c := x.Shape[0], x.Shape[1]
	oh, ow := y.Shape[2], y.Shape[3]
	units := nb * c
	blocks := blocksFor(rc.Threads, units, int64(units)*int64(oh*ow)*int64(k.kh*k.kw))
	j := &rc.kernelJobs().q8DW
	*j = q8DWJob{k: k, x: x, y: y, acc: rc.ScratchI32(blocks * ow)}
	rc.parallelFor(blocks, units, j)
	*j = q8DWJob{}
}

type q8DWJob struct {
	k    *q8Conv
	x, y *Tensor
	acc  []int32
}

func (j *q8DWJob) runRange(lo, hi, worker int) {
	k := j.k
	c, h, w := j.x.Shape[1], j.x.Shape[2], j.x.Shape[3]
	oh, ow := j.y.Shape[2], j.y.Shape[3]
	acc := j.acc[worker*ow : (worker+1)*ow]
	xz := int32(k.x.Zero)
	kk := k.kh * k.kw
	spanX := (k.kw-1)*k.dw + 1
	spanY := (k.kh-1)*k.dh + 1
	oxLo := min((k.pl+k.sw-1)/k.sw, ow)
	oxHi := -1
	if w-spanX+k.pl >= 0 {
		oxHi = min((w-spanX+k.pl)/k.sw, ow-1)
	}
	fast3 := k.kh == 3 && k.kw == 3 && k.dh == 1 && k.dw == 1
	for u := lo; u < hi; u++ {
		ch := u % c
		plane := j.x.I8[u*h*w : (u+1)*h*w]
		wt := k.w[ch*kk : (ch+1)*kk]
		dst := j.y.I8[u*oh*ow : (u+1)*oh*ow]
		var w9 [9]int32
		if fast3 {
			for i := range w9 {
				w9[i] = int32(wt[i])
			}
		}
		for oy := 0; oy < oh; oy++ {
			iy0 := oy*k.sh - k.pt
			rowInside := iy0 >= 0 && iy0+spanY <= h
			border := func(ox int) int32 {
				ix0 := ox*k.sw - k.pl
				var s int32
				for ky := 0; ky < k.kh; ky++ {
					iy := iy0 + ky*k.dh
					for kx := 0; kx < k.kw; kx++ {
						ix := ix0 + kx*k.dw
						v := xz
						if iy >= 0 && iy < h && ix >= 0 && ix < w {
							v = int32(plane[iy*w+ix])
						}
						s += v * int32(wt[ky*k.kw+kx])
					}
				}
				return s
			}
			if !rowInside {
				for ox := 0; ox < ow; ox++ {
					acc[ox] = border(ox)
				}
			} else {
				for ox := 0; ox < oxLo; ox++ {
					acc[ox] = border(ox)
				}
				if fast3 {
					r0 := plane[iy0*w : iy0*w+w]
					r1 := plane[(iy0+1)*w : (iy0+1)*w+w]
					r2 := plane[(iy0+2)*w : (iy0+2)*w+w]
					for ox := oxLo; ox <= oxHi; ox++ {
						ix := ox*k.sw - k.pl
						a, b, cc := r0[ix:ix+3:ix+3], r1[ix:ix+3:ix+3], r2[ix:ix+3:ix+3]
						acc[ox] = int32(a[0])*w9[0] + int32(a[1])*w9[1] + int32(a[2])*w9[2] +
							int32(b[0])*w9[3] + int32(b[1])*w9[4] + int32(b[2])*w9[5] +
							int32(cc[0])*w9[6] + int32(cc[1])*w9[7] + int32(cc[2])*w9[8]
					}
				} else {
					for ox := oxLo; ox <= oxHi; ox++ {
						ix0 := ox*k.sw - k.pl
						var s int32
						for ky := 0; ky < k.kh; ky++ {
							line := plane[(iy0+ky*k.dh)*w:]
							for kx := 0; kx < k.kw; kx++ {
								s += int32(line[ix0+kx*k.dw]) * int32(wt[ky*k.kw+kx])
							}
						}
						acc[ox] = s
					}
				}
				for ox := max(oxHi+1, oxLo); ox < ow; ox++ {
					acc[ox] = border(ox)
				}
			}
			k.requantRow(acc, dst[oy*ow:oy*ow+ow], ch)
		}
	}
}

// MACs counts one multiply-accumulate per weight per output pixel.
func (k *q8Conv) MACs(in, out []Type) int64 {
	if len(out) == 0 || len(out[0].Shape) != 4 {
		return 0
	}
	s := out[0].Shape
	return int64(s[0]) * int64(s[1]) * int64(s[2]) * int64(s[3]) * int64(k.kernelPixels)
}

// gcd is the greatest common divisor of a, b > 0.
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
