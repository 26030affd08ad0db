package nn

// Channel-blocked direct convolution (pathNCHWc), after MLAS's SconvKernel
// and oneDNN: vectors run across 16 output channels instead of output
// pixels, so planes of 8, 14 or 16+pad columns waste no lanes and the taps
// cost no per-GEMM overhead. For n output pixels of one output row and 1-4
// blocks of 16 output channels, a kernel call keeps the n·f sums in
// registers over every input channel and tap, each FMA taking the input
// value as a broadcast and the weights as packed [Cg][KH][KW][16] vectors
// (packed once at build time, zero past Mg). The input is read straight from
// NCHW, or from a zero-padded copy of the rows a unit needs when the
// convolution pads, so the inner loop has no branches.
//
// The kernel writes a tile [f][n][16] (NCHW16c for its pixels); a separate
// store transposes it into the NCHW rows with the bias, the fused residual
// and the clamp of Relu/Clip (a later layout pass can keep the tiles
// instead). Only the assembly kernels make it pay: without them Run keeps
// the GEMM paths (tests force the path with the Go reference).

import "math"

// nchwcOn lets pathNCHWc replace the GEMM paths where nchwcFits (a
// variable so that benchmarks and tests can compare); nchwcForce takes it
// without the assembly kernels too (the Go reference, for tests).
var nchwcOn, nchwcForce = true, false

// nchwcMinCg and nchwcMinMg are the fewest input and output channels per
// group of pathNCHWc: below them the sums are too short or the blocks too
// empty to beat the GEMM paths.
var nchwcMinCg, nchwcMinMg = 4, 16

// nchwcCopyFloats bounds the zero-padded input rows of one unit, so that
// they stay in L2 beside the weights.
const nchwcCopyFloats = 1 << 15

// packNCHWc packs the weights w (M, Cg, KH, KW) for pathNCHWc as
// [group][block of 16 outputs][Cg][KH][KW][16], zero past Mg.
func (k *convKernel) packNCHWc(w *Tensor) {
	if len(w.Shape) != 4 {
		return
	}
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	mg := m / k.grp
	if cg < nchwcMinCg || mg < nchwcMinMg {
		return
	}
	mb, taps := (mg+15)/16, cg*kh*kw
	k.nchwc = make([]float32, k.grp*mb*taps*16)
	for gr := 0; gr < k.grp; gr++ {
		for o := 0; o < mg; o++ {
			dst := k.nchwc[(gr*mb+o/16)*taps*16+o%16:]
			src := w.F32[(gr*mg+o)*taps : (gr*mg+o+1)*taps]
			for t, v := range src {
				dst[t*16] = v
			}
		}
	}
}

// nchwcFits reports whether pathNCHWc takes g with Cg input and Mg output
// channels per group and weights packed for it.
func (k *convKernel) nchwcFits(g *geom, w []float32, cg, mg int) bool {
	if k.nchwc == nil || k.generic || !nchwcOn || (!nchwcHave && !nchwcForce) || len(w) != k.wlen || &w[0] != k.wptr {
		return false
	}
	if !nchwcForce && !nchwcStride2 && g.SW == 2 && g.KH*g.KW > 1 {
		return false
	}
	return cg >= nchwcMinCg && mg >= nchwcMinMg && (g.SW == 1 || g.SW == 2) && g.SH >= 1 && g.OH > 0 && g.OW > 0
}

// nchwcStride2 lets pathNCHWc take windows of stride 2 along the row
// (1x1 ones it always takes): BenchmarkConvNCHWc measured tinyresnet's 3x3
// s2 layers 12% slower than pathExact (a variable so that benchmarks can
// compare).
var nchwcStride2 = false

// nchwcPlan is the blocking of one pathNCHWc run.
type nchwcPlan struct {
	mb    int  // 16-channel output blocks per group
	fb    int  // blocks per kernel call (the last call of a group takes the rest)
	nb    int  // output columns per kernel call
	pad   bool // read a zero-padded copy of the input rows
	wp    int  // row width of the padded copy
	rows  int  // output rows per unit
	nrb   int  // row blocks per plane
	inRow int  // input rows of a unit's padded copy
	ntile int  // pixels of a tile block (nb rounded up to 16)
}

// nchwcBlocking returns the blocks per call and columns per call for mb
// blocks on rows of ow columns with taps taps per sum: the fewest cycles
// by a model of a call (one FMA per block and pixel per tap, a cycle of
// loop per tap, and the zeroing, tile stores and transposing store).
func nchwcBlocking(mb, ow, taps int) (fb, nb int) {
	best := math.MaxInt
	for f := 1; f <= min(mb, 4); f++ {
		np := nchwcMaxPixels(f)
		chunks := (ow + np - 1) / np
		n := (ow + chunks - 1) / chunks
		cost := 0
		for m := 0; m < mb; m += f {
			fc := min(f, mb-m)
			cost += chunks * (taps*(max(n*fc, 4)+1) + 3*n*fc + 40 + 60*fc*((n+15)/16))
		}
		if cost < best {
			best, fb, nb = cost, f, n
		}
	}
	return fb, nb
}

// nchwcMaxPixels is the most pixels of a kernel call with f blocks (the
// f·n sums and f weight vectors fill the 32 vector registers).
func nchwcMaxPixels(f int) int { return 28 / f }

// nchwcPlanRun sets j.nc for j's geometry and returns the units: (image,
// group, block of output rows).
func (j *convJob) nchwcPlanRun(threads int, macs int64) int {
	g := &j.g
	p := &j.nc
	p.mb = (j.Mg + 15) / 16
	p.fb, p.nb = nchwcBlocking(p.mb, g.OW, j.K)
	p.ntile = (p.nb + 15) &^ 15
	p.pad = g.PT != 0 || g.PL != 0 || g.PB != 0 || g.PR != 0
	p.wp = max(g.W+g.PL+g.PR, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1)
	inRows := func(rows int) int { return (rows-1)*g.SH + (g.KH-1)*g.DH + 1 }
	p.nrb = 1
	if p.pad {
		for p.nrb < g.OH && j.Cg*inRows((g.OH+p.nrb-1)/p.nrb)*p.wp > nchwcCopyFloats {
			p.nrb++
		}
	}
	ng := g.N * j.k.grp
	if threads > 1 && macs >= 2*minParallelWork && ng*p.nrb < 4*threads {
		for (ng*p.nrb)%threads != 0 && p.nrb < g.OH {
			p.nrb++
		}
	}
	p.rows = (g.OH + p.nrb - 1) / p.nrb
	p.nrb = (g.OH + p.rows - 1) / p.rows
	p.inRow = inRows(p.rows)
	return ng * p.nrb
}

// scratch is the floats of one worker: a zero bias, a tile, the padded rows.
func (p *nchwcPlan) scratch(cg int) int {
	n := 16 + p.fb*p.ntile*16
	if p.pad {
		n += cg * p.inRow * p.wp
	}
	return n
}

// nchwc computes units [lo, hi) of pathNCHWc with the worker's scratch buf.
func (j *convJob) nchwc(lo, hi int, buf []float32) {
	g := &j.g
	p := &j.nc
	zb := buf[:16]
	clear(zb)
	tile := buf[16 : 16+p.fb*p.ntile*16]
	padded := buf[16+len(tile):]
	HW := g.H * g.W
	taps := j.K
	lo32, hi32, fused := j.nchwcClamp()
	for u := lo; u < hi; u++ {
		n, r := u/(j.k.grp*p.nrb), u%(j.k.grp*p.nrb)
		gr, rb := r/p.nrb, r%p.nrb
		oh0 := rb * p.rows
		oh1 := min(oh0+p.rows, g.OH)
		x := j.x[(n*g.C+gr*j.Cg)*HW : (n*g.C+(gr+1)*j.Cg)*HW]
		// xs, from the window origin of output (oh0, 0), rows rs apart,
		// channels cs apart.
		xs, rs, cs := x, g.W, HW
		if p.pad {
			in := (oh1-oh0-1)*g.SH + (g.KH-1)*g.DH + 1
			cs, rs = in*p.wp, p.wp
			xs = padded[:j.Cg*cs]
			nchwcPadRows(g, x, xs, j.Cg, oh0*g.SH-g.PT, in, p.wp)
		} else {
			xs = x[oh0*g.SH*g.W:]
		}
		c := nchwcCall{s: g.SW, cg: j.Cg, kh: g.KH, kw: g.KW, xcs: cs, drow: g.DH * rs, dcol: g.DW, wbs: taps * 16, ldt: p.ntile * 16}
		wg := j.k.nchwc[gr*p.mb*taps*16 : (gr+1)*p.mb*taps*16]
		yg := (n*j.M + gr*j.Mg) * j.P
		for oh := oh0; oh < oh1; oh++ {
			xr := xs[(oh-oh0)*g.SH*rs:]
			for ow0 := 0; ow0 < g.OW; ow0 += p.nb {
				c.n = min(p.nb, g.OW-ow0)
				c.x = xr[ow0*g.SW:]
				for m0 := 0; m0 < p.mb; m0 += p.fb {
					c.f = min(p.fb, p.mb-m0)
					c.w = wg[m0*taps*16:]
					c.tile = tile
					nchwcTile(&c)
					j.nchwcStore(tile, yg, gr, m0, c.f, oh*g.OW+ow0, c.n, zb, lo32, hi32, fused)
				}
			}
		}
	}
}

// nchwcClamp returns the clamp that the store applies and whether it
// covers the fused activation and residual (else finish applies them).
func (j *convJob) nchwcClamp() (lo, hi float32, fused bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	switch j.k.act {
	case actNone:
		return lo, hi, true
	case actRelu:
		return 0, hi, true
	case actClip:
		if j.k.actA <= j.k.actB {
			return j.k.actA, j.k.actB, true
		}
	}
	return lo, hi, false
}

// nchwcStore writes blocks [m0, m0+f) of the group's tile for pixels [p0,
// p0+n) of the plane into the output, yg being the group's first output.
func (j *convJob) nchwcStore(tile []float32, yg, gr, m0, f, p0, n int, zb []float32, lo, hi float32, fused bool) {
	p := &j.nc
	for b := 0; b < f; b++ {
		o := (m0 + b) * 16 // the block's first output in the group
		mc := min(16, j.Mg-o)
		bias := zb
		if j.b != nil {
			bias = j.b[gr*j.Mg+o : gr*j.Mg+o+mc]
		}
		for q := 0; q < n; q += 16 {
			nq := min(16, n-q)
			off := yg + o*j.P + p0 + q
			s := nchwcStoreCall{tile: tile[(b*p.ntile+q)*16 : (b*p.ntile+q+16)*16], y: j.y[off:], bias: bias, ldy: j.P, n: nq, m: mc, lo: lo, hi: hi}
			if fused && j.r != nil {
				s.r = j.r[off:]
			}
			nchwcStoreTile(&s)
			if !fused {
				for m := 0; m < mc; m++ {
					j.finish(off+m*j.P, nq)
				}
			}
		}
	}
}

// nchwcPadRows copies rows [ih0, ih0+in) of the cg planes x (rows outside
// the image as zeros) into dst, rows wp wide with g.PL zeros before each.
func nchwcPadRows(g *geom, x, dst []float32, cg, ih0, in, wp int) {
	HW := g.H * g.W
	for c := 0; c < cg; c++ {
		for r := 0; r < in; r++ {
			d := dst[(c*in+r)*wp : (c*in+r+1)*wp]
			ih := ih0 + r
			if ih < 0 || ih >= g.H {
				clear(d)
				continue
			}
			clear(d[:g.PL])
			copy(d[g.PL:g.PL+g.W], x[c*HW+ih*g.W:c*HW+(ih+1)*g.W])
			clear(d[g.PL+g.W:])
		}
	}
}

// nchwcCall is one kernel call: for blocks b < f, pixels q < n and lanes
// l < 16,
//
//	tile[b·ldt + q·16 + l] = Σ_c Σ_kh Σ_kw w[b·wbs + ((c·kh + kh)·kw + kw)·16 + l] · x[c·xcs + kh·drow + kw·dcol + q·s]
//
// (strides in floats, x from the first pixel's window origin).
type nchwcCall struct {
	x, w, tile      []float32
	f, n, s         int
	cg, kh, kw      int
	xcs, drow, dcol int
	wbs, ldt        int
}

// nchwcTileRef is the reference of the kernels.
func nchwcTileRef(c *nchwcCall) {
	var acc [16]float32
	for b := 0; b < c.f; b++ {
		for q := 0; q < c.n; q++ {
			acc = [16]float32{}
			wi := b * c.wbs
			for ci := 0; ci < c.cg; ci++ {
				for h := 0; h < c.kh; h++ {
					for w := 0; w < c.kw; w++ {
						v := c.x[ci*c.xcs+h*c.drow+w*c.dcol+q*c.s]
						wv := c.w[wi : wi+16]
						for l := range acc {
							acc[l] += wv[l] * v
						}
						wi += 16
					}
				}
			}
			copy(c.tile[b*c.ldt+q*16:], acc[:])
		}
	}
}

// nchwcStoreCall is one store: for channels m' < m and pixels q < n,
//
//	y[m'·ldy + q] = min(max(tile[q·16 + m'] + bias[m'] (+ r[m'·ldy + q]), lo), hi)
type nchwcStoreCall struct {
	tile, y, r, bias []float32
	ldy, n, m        int
	lo, hi           float32
}

// nchwcStoreRef is the reference of the store.
func nchwcStoreRef(s *nchwcStoreCall) {
	for m := 0; m < s.m; m++ {
		y := s.y[m*s.ldy : m*s.ldy+s.n]
		for q := range y {
			v := s.tile[q*16+m] + s.bias[m]
			if s.r != nil {
				v += s.r[m*s.ldy+q]
			}
			y[q] = min(max(v, s.lo), s.hi)
		}
	}
}
