package nn

// Channel-blocked direct convolution (pathNCHWc), after MLAS's SconvKernel
// and oneDNN: vectors run across 16 output channels instead of output
// pixels, so planes of 8, 14 or 16+pad columns waste no lanes and the taps
// cost no per-GEMM overhead. For n output pixels of one output row and 1-4
// blocks of 16 output channels, a kernel call keeps the n·f sums in
// registers over every input channel and tap, each FMA taking the input
// value as a broadcast and the weights as packed [Cg][KH][KW][16] vectors
// (packed once, on the first run, zero past Mg). The input is read straight
// from NCHW, or from a zero-padded copy of the rows a unit needs when the
// convolution pads, so the inner loop has no branches.
//
// The kernel writes a tile [f][n][16] (NCHW16c for its pixels); a separate
// store transposes it into the NCHW rows with the bias, the fused residual
// and the clamp of Relu/Clip (a later layout pass can keep the tiles
// instead). Only the assembly kernels (AVX-512, or AVX2 with one block of
// at most 6 pixels a call) make it pay: without them Run keeps the GEMM
// paths (tests force the path with the Go reference).

import (
	"math"
	"sync"
)

// nchwcOn lets pathNCHWc replace the GEMM paths where nchwcFits (a
// variable so that benchmarks and tests can compare); nchwcForce takes it
// without the assembly kernels too (the Go reference, for tests).
var nchwcOn, nchwcForce = true, false

// nchwcMinCg and nchwcMinMg are the fewest input and output channels per
// group of pathNCHWc: below them the sums are too short or the blocks too
// empty to beat the GEMM paths. With 3 it takes RGB stems: MobileNetV2's
// [32 3 3 3] s2 on 224x224 ran 528 µs against ONNX Runtime's 364 as per-tap
// GEMMs, 355 against 388 here (bench -layers, 1 thread, batch 1).
var nchwcMinCg, nchwcMinMg = 3, 16

// nchwcCopyFloats bounds the zero-padded input rows of one unit, so that
// they stay in L2 beside the weights.
const nchwcCopyFloats = 1 << 15

// nchwcWeights are constant weights packed for pathNCHWc on first use
// (layers pathNCHWc never takes never need them) and shared by the
// kernel's copies (fused variants).
type nchwcWeights struct {
	packed func() []float32
	finite func() bool // every weight finite: calls may skip padding (nchwcKhRange)
}

// nchwcSkipPad lets calls skip window rows in the padding (a variable so
// that benchmarks and tests can compare).
var nchwcSkipPad = true

// packNCHWc sets k.nchwc for the weights w (M, Cg, KH, KW) when pathNCHWc
// may take them.
func (k *convKernel) packNCHWc(w *Tensor) {
	if len(w.Shape) != 4 {
		return
	}
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	if cg < nchwcMinCg && (k.grp != 1 || cg < 1) || m/k.grp < nchwcMinMg {
		return // (fewer input channels: a stem, thinStem)
	}
	grp, f := k.grp, w.F32
	k.nchwc = &nchwcWeights{packed: sync.OnceValue(func() []float32 { return packNCHWc(f, grp, m, cg*kh*kw) }),
		finite: sync.OnceValue(func() bool { return allFinite(f) })}
}

// packNCHWc packs the weights w of m outputs in grp groups, taps
// (Cg·KH·KW) each, as [group][block of 16 outputs][Cg][KH][KW][16], zero
// past the group's last output.
func packNCHWc(w []float32, grp, m, taps int) []float32 {
	mg := m / grp
	mb := (mg + 15) / 16
	p := make([]float32, grp*mb*taps*16)
	for gr := 0; gr < grp; gr++ {
		for o := 0; o < mg; o++ {
			dst := p[(gr*mb+o/16)*taps*16+o%16:]
			for t, v := range w[(gr*mg+o)*taps : (gr*mg+o+1)*taps] {
				dst[t*16] = v
			}
		}
	}
	return p
}

// nchwcFits reports whether pathNCHWc takes g with Cg input and Mg output
// channels per group and weights packed for it.
func (k *convKernel) nchwcFits(g *geom, w []float32, cg, mg int) bool {
	if k.nchwc == nil || k.generic || !nchwcOn || (!nchwcHave && !nchwcForce) || len(w) != k.wlen || &w[0] != k.wptr {
		return false
	}
	if k.thin && cg >= 1 && mg >= nchwcMinMg && (g.SW == 1 || g.SW == 2) && g.SH >= 1 && g.OH > 0 && g.OW > 0 {
		return true
	}
	if !nchwcForce && !nchwcStride2 && g.SW == 2 && g.KH*g.KW > 1 {
		return false
	}
	return cg >= nchwcMinCg && mg >= nchwcMinMg && (g.SW == 1 || g.SW == 2) && g.SH >= 1 && g.OH > 0 && g.OW > 0
}

// nchwcStride2 lets pathNCHWc take windows of stride 2 along the row
// (1x1 ones it always takes); a variable so that benchmarks can compare
// (BenchmarkConvNCHWc: tinyresnet's 3x3 s2 layers 25.8 -> 24.1 cpu-µs).
var nchwcStride2 = true

// nchwcPlan is the blocking of one pathNCHWc run.
type nchwcPlan struct {
	mb     int       // 16-channel output blocks per group
	fb     int       // blocks per kernel call (the last call of a group takes the rest)
	nb     int       // output columns per kernel call
	groups int       // output rows per kernel call (nchwcRows.groups; 1: one)
	pad    bool      // read a zero-padded copy of the input rows
	wp     int       // row width of the padded copy
	rows   int       // output rows per unit
	nrb    int       // row blocks per plane
	nms    int       // output-channel slabs per plane
	slab   int       // 16-channel blocks per slab (a multiple of fb)
	inRow  int       // input rows of a unit's padded copy
	ntile  int       // pixels of a tile block (nb·groups rounded up to 16)
	band   int       // with a fused MaxPool: floats of a unit's output rows (conv_pool.go)
	bias   []float32 // per group, the bias padded to mb blocks
}

// nchwcBlocking returns the blocks per call, columns per call and rows
// per call (groups, nchwcGroupedFits; grouped: allowed) for mb blocks on
// planes of oh rows of ow columns with taps taps per sum, reading in
// floats of input a pass: the fewest cycles by a model of a call (one FMA
// per block and pixel per tap, a cycle of loop per tap, and the zeroing,
// tile stores and transposing store) and of the passes over a large
// input (nchwcInL2).
//
// Narrow rows leave the registers short of sums, and each weight vector
// loaded serves few pixels: VGG's [512 512 3 3] on 2x2 planes, 2 pixels
// a call, ran at 57% of the FMA peak, 77% in calls of both rows
// (BenchmarkConvNCHWcSmall).
func nchwcBlocking(mb, oh, ow, taps, in int, grouped bool) (fb, nb, groups int) {
	// Each call's blocks read the plane's input once more.
	pass := 0
	if 4*in > nchwcInL2 {
		pass = in / 2
	}
	best := math.MaxInt
	for f := 1; f <= min(mb, nchwcMaxBlocks()); f++ {
		np := nchwcMaxPixels(f)
		for gr := 1; gr == 1 || grouped && gr <= min(nchwcMaxGroups, oh) && gr*ow <= np && ow >= 2 && ow <= nchwcGroupCols; gr++ {
			chunks := (ow + np - 1) / np
			n := (ow + chunks - 1) / chunks
			calls := chunks * oh
			if gr > 1 {
				calls = (oh + gr - 1) / gr
			}
			cost := 0
			for m := 0; m < mb; m += f {
				fc := min(f, mb-m)
				px := n * gr
				cost += calls*(taps*(max(px*fc, 4)+1)+3*px*fc+40+60*fc*gr*((n+15)/16)) + pass
			}
			if cost < best {
				best, fb, nb, groups = cost, f, n, gr
			}
		}
	}
	return fb, nb, groups
}

// nchwcInL2 is the bytes of a plane's input (in floats: in) beyond which
// nchwcBlocking counts a cycle per 2 floats for each pass over it: a
// plane's input that leaves L2 between the passes of its output blocks
// comes from L3 again each time. ResNet's 3x3 64->64 on 56x56 (861 KB a
// plane in NCHW16c) ran 3-4% faster in calls of 4 blocks of 7 pixels,
// one pass, than of 1 block of 28, four (BenchmarkConvNCHWcSmall).
const nchwcInL2 = 256 << 10

// nchwcGroupsOn lets nchwcBlocking group rows (a variable so that
// benchmarks can compare).
var nchwcGroupsOn = true

// nchwcMaxGroups and nchwcGroupCols bound a grouped call (nchwcgen's
// maxGroups and groupCols).
const nchwcMaxGroups, nchwcGroupCols = 3, 8

// nchwcMaxPixels is the most pixels of a kernel call with f blocks: with
// AVX-512 the f·n sums and f weight vectors fill the 32 vector registers;
// the AVX2 kernels take one block of up to 6 pixels (12 ymm sums).
func nchwcMaxPixels(f int) int {
	if !nchwcWide {
		return 6
	}
	return 28 / f
}

// nchwcMaxBlocks is the most blocks of a kernel call.
func nchwcMaxBlocks() int {
	if !nchwcWide {
		return 1
	}
	return 4
}

// nchwcMinSplit is the fewest multiply-adds for which pathNCHWc cuts a
// plane among the threads: tinyresnet's 1x1 s2 shortcuts (131K, 3.5 µs on
// one thread) ran slower on two (a variable so that benchmarks can
// compare).
var nchwcMinSplit int64 = 1 << 18

// nchwcSplitM lets the threads share a plane's output channels where its
// rows do not share out evenly (a variable so that benchmarks can compare).
var nchwcSplitM = true

// nchwcPlanRun sets j.nc for j's geometry and returns the units: (image,
// group, slab of output channels, block of output rows).
func (j *convJob) nchwcPlanRun(threads int, macs int64) int {
	g := &j.g
	p := &j.nc
	p.mb = (j.Mg + 15) / 16
	// An input with a zero border as wide as the pads (layout.go) is read
	// in place.
	p.pad = (g.PT != 0 || g.PL != 0 || g.PB != 0 || g.PR != 0) && !j.k.bordered(g)
	// The floats a unit's calls read: its plane, unless a padded copy of
	// at most nchwcCopyFloats. Not counted for 1x1 windows, whose calls of
	// fewer blocks stay faster on large planes (DenseNet's 224->128 on
	// 56x56, NCHW in, NCHW16c out, 8 interleaved rounds, CPU-µs median /
	// min: 2,600 / 1,925 with the passes counted, 1,925 / 1,678 without;
	// BenchmarkConvPWLarge).
	in := j.Cg * (g.H + g.PT + g.PB) * (g.W + g.PL + g.PR)
	if p.pad || g.KH*g.KW == 1 {
		in = 0
	}
	p.fb, p.nb, p.groups = nchwcBlocking(p.mb, g.OH, g.OW, j.K, in, nchwcGroupsOn && g.SW == 1 && nchwcWide)
	p.ntile = nchwcTile(p.nb, p.groups)
	p.wp = max(g.W+g.PL+g.PR, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1)
	inRows := func(rows int) int { return (rows-1)*g.SH + (g.KH-1)*g.DH + 1 }
	// fitRows sets the fewest row blocks whose padded copies fit
	// nchwcCopyFloats; evenRows makes the blocks equal.
	cut := p.pad
	fitRows := func() {
		p.nrb = 1
		for p.nrb < g.OH && (cut && j.Cg*inRows((g.OH+p.nrb-1)/p.nrb)*p.wp > nchwcCopyFloats || j.poolBandOver((g.OH+p.nrb-1)/p.nrb)) {
			p.nrb++
		}
	}
	evenRows := func() {
		p.rows = (g.OH + p.nrb - 1) / p.nrb
		if j.k.pooled {
			p.rows += p.rows & 1 // whole pool windows (conv_pool.go)
		}
		p.nrb = (g.OH + p.rows - 1) / p.rows
	}
	fitRows()
	ng := g.N * j.k.grp
	if threads > 1 && macs >= nchwcMinSplit && ng*p.nrb < 4*threads {
		// Not below a grouped call's rows: the threads share the
		// output channels instead (VGG's 2x2 planes at batch 1).
		for (ng*p.nrb)%threads != 0 && p.nrb < g.OH && (g.OH+p.nrb)/(p.nrb+1) >= p.groups {
			p.nrb++
		}
	}
	evenRows()
	p.nms, p.slab = 1, p.mb
	if nchwcSplitM && threads > 1 && macs >= nchwcMinSplit && ng*p.nrb < 4*threads && (p.rows*p.nrb != g.OH || (ng*p.nrb)%threads != 0) && p.mb >= threads {
		// Rows that do not share out evenly (7x7 planes: 4 and 3 rows):
		// the threads share the output channels instead, each unit
		// with its own padded copy, in calls of fewer blocks if need be.
		if calls := (p.mb + p.fb - 1) / p.fb; calls < threads {
			p.fb = p.mb / threads
			if p.groups == 1 { // (grouped: whole rows, which fewer blocks take too)
				chunks := (g.OW + nchwcMaxPixels(p.fb) - 1) / nchwcMaxPixels(p.fb)
				p.nb = (g.OW + chunks - 1) / chunks
			}
			p.ntile = nchwcTile(p.nb, p.groups)
		}
		calls := (p.mb + p.fb - 1) / p.fb
		fitRows()
		evenRows()
		p.nms = threads
		p.slab = (calls + p.nms - 1) / p.nms * p.fb
		p.nms = (p.mb + p.slab - 1) / p.slab
	}
	p.inRow = inRows(p.rows)
	p.band = 0
	if j.k.pooled {
		p.band = p.mb * 16 * p.rows * g.OW
	}
	return ng * p.nms * p.nrb
}

// nchwcTile is the pixels of a tile block for calls of groups groups of
// n pixels: their pixels rounded up to 16, and 16 from the last group's
// first (the transposing store's 16 tile rows a group).
func nchwcTile(n, groups int) int {
	t := (n*groups + 15) &^ 15
	if groups > 1 {
		t = max(t, (groups-1)*n+16)
	}
	return t
}

// scratch is the floats of one worker: a tile, the padded rows.
func (p *nchwcPlan) scratch(cg int) int {
	n := p.fb*p.ntile*16 + p.band
	if p.pad {
		n += cg*p.inRow*p.wp + nchwcSlack
	}
	return n
}

// nchwcScratch takes the scratch of blocks workers from rc, with the bias
// of every group padded to whole blocks after it (zeros without a bias).
func (j *convJob) nchwcScratch(rc *RunContext, blocks int) {
	j.per = j.nc.scratch(j.Cg)
	nb := j.k.grp * j.nc.mb * 16
	j.scratch = rc.ScratchF32(blocks*j.per + nb)
	b := j.scratch[blocks*j.per:]
	clear(b)
	if j.b != nil {
		for gr := 0; gr < j.k.grp; gr++ {
			copy(b[gr*j.nc.mb*16:], j.b[gr*j.Mg:(gr+1)*j.Mg])
		}
	}
	j.nc.bias = b
}

// nchwc computes units [lo, hi) of pathNCHWc with the worker's scratch buf.
func (j *convJob) nchwc(lo, hi int, buf []float32) {
	g := &j.g
	p := &j.nc
	tile := buf[:p.fb*p.ntile*16]
	band := buf[len(tile) : len(tile)+p.band]
	padded := buf[len(tile)+p.band:]
	taps := j.K
	// px and py are the floats of an input and an output pixel of one
	// channel block: 16 in NCHW16c (layout.go), else 1. An NCHW16c value
	// may have a zero border (xb, yb pixels on each side): its planes are
	// xw (yw) pixels wide, xp (yp) floats per channel.
	px, py := 1, 1
	if j.k.xBlocked {
		px = 16
	}
	if j.k.yBlocked {
		py = 16
	}
	xb, yb := j.k.xBorder, j.k.yBorder
	xw, yw := g.W+2*xb, g.OW+2*yb
	xp, yp := xw*(g.H+2*xb), yw*(g.OH+2*yb)
	yout := j.y
	if j.k.pooled {
		// A unit's output rows go to band in NCHW16c, then the MaxPool
		// (conv_pool.go).
		yout, py, yb, yw, yp = band, 16, 0, g.OW, p.rows*g.OW
	}
	w := j.k.nchwc.packed()
	lo32, hi32, fused := j.k.clampBounds() // the store's clamp, else finish applies the activation
	skip := nchwcSkipPad && j.k.nchwc.finite()
	for u := lo; u < hi; u++ {
		per := j.k.grp * p.nms * p.nrb
		n, r := u/per, u%per
		gr, r := r/(p.nms*p.nrb), r%(p.nms*p.nrb)
		ms, rb := r/p.nrb, r%p.nrb
		oh0 := rb * p.rows
		oh1 := min(oh0+p.rows, g.OH)
		// The group's channels (in NCHW16c whole blocks: layout.go).
		x := j.x[(n*g.C+gr*j.Cg)*xp : (n*g.C+(gr+1)*j.Cg)*xp]
		// xs, from the window origin of output (oh0, 0), rows rs apart,
		// planes (blocks of px channels) ps apart.
		xs, rs, ps := x, xw*px, xp*px
		if xb > 0 {
			xs = x[((oh0*g.SH+xb-g.PT)*xw+xb-g.PL)*16:]
		} else if p.pad {
			in := (oh1-oh0-1)*g.SH + (g.KH-1)*g.DH + 1
			ps, rs = in*p.wp*px, p.wp*px
			xs = padded[:j.Cg*in*p.wp+nchwcSlack]
			nchwcPadRows(g, x, xs, j.Cg/px, oh0*g.SH-g.PT, in, p.wp, px)
		} else {
			xs = x[oh0*g.SH*g.W*px:]
		}
		c := nchwcCall{s: g.SW, cb: 1, cg: j.Cg, kh: g.KH, kw: g.KW, xcs: ps, px: 1, drow: g.DH * rs, dcol: g.DW * px, wbs: taps * 16, ldt: p.ntile * 16, tile: tile}
		if px == 16 {
			c.cb, c.cg, c.xbs, c.xcs, c.px = j.Cg/16, 16, ps, 1, 16
		}
		a := nchwcRows{c: c, xrs: g.SH * rs, ldy: yp, yrs: yw, lo: lo32, hi: hi32, blocked: py == 16}
		wg := w[gr*p.mb*taps*16 : (gr+1)*p.mb*taps*16]
		yg := (n*j.M+gr*j.Mg)*yp + ((oh0+yb)*yw+yb)*py
		if j.k.pooled {
			yg = 0
		}
		for m0 := ms * p.slab; m0 < min((ms+1)*p.slab, p.mb); m0 += p.fb {
			a.c.f = min(p.fb, p.mb-m0)
			a.c.w = wg[m0*taps*16:]
			a.bias = p.bias[(gr*p.mb+m0)*16:]
			a.mlast = min(16, j.Mg-(m0+a.c.f-1)*16)
			yo := yg + m0*16*yp
			// Rows whose windows reach into the padding skip the window
			// rows there (nchwcKhRange), in calls of their own; not where
			// that would cut most of a unit's grouped calls in rows (VGG's
			// 2x2 planes: calls of 2 pixels, 40% slower; its 4x4 ones,
			// a grouped call of the middle two rows, ran 2% faster).
			skip := skip && (p.groups == 1 || oh1-oh0 >= 2*p.groups)
			for s0 := oh0; s0 < oh1; {
				t0, t1, s1 := 0, g.KH, oh1
				if skip {
					t0, t1 = g.nchwcKhRange(s0)
					for s1 = s0 + 1; s1 < oh1; s1++ {
						if u0, u1 := g.nchwcKhRange(s1); u0 != t0 || u1 != t1 {
							break
						}
					}
				}
				a.c.kh, a.c.wskip = t1-t0, (g.KH-(t1-t0))*g.KW*16
				a.c.w = wg[m0*taps*16+t0*g.KW*16:]
				xs, yo := xs[(s0-oh0)*g.SH*rs+t0*g.DH*rs:], yo+(s0-oh0)*yw*py
				j.nchwcCalls(&a, xs, yout, yo, s1-s0, rs, yw, py, fused)
				s0 = s1
			}
			if !fused && py == 16 {
				for b := m0; b < m0+a.c.f; b++ {
					for i := 0; i < oh1-oh0; i++ {
						j.finish(yg+b*16*yp+i*yw*16, g.OW*16)
					}
				}
			} else if !fused {
				for m := m0 * 16; m < min((m0+a.c.f)*16, j.Mg); m++ {
					j.finish(yg+m*j.P, (oh1-oh0)*g.OW)
				}
			}
			if yb > 0 {
				j.clearBorder(yg-((oh0+yb)*yw+yb)*16, m0, a.c.f, oh0, oh1, yw, yp)
			}
		}
		if j.k.pooled {
			j.poolBand(band, n, ms*p.slab, min((ms+1)*p.slab, p.mb), oh0, oh1)
		}
	}
}

// nchwcCalls runs a's calls (its blocks, weights and window rows set) for
// rows output rows from input xs (rows rs floats apart) into yout from
// offset yo (rows yw pixels of py floats apart): grouped calls of whole
// rows, or chunks of nb pixels a row.
func (j *convJob) nchwcCalls(a *nchwcRows, xs, yout []float32, yo, rows, rs, yw, py int, fused bool) {
	g, p := &j.g, &j.nc
	if p.groups > 1 {
		// Whole rows (nb = OW), groups of them a call, then the rows
		// left in one call.
		full := rows / p.groups
		for _, part := range [2]struct{ row, rows, groups int }{{0, full, p.groups}, {full * p.groups, 1, rows % p.groups}} {
			if part.rows == 0 || part.groups == 0 {
				continue
			}
			a.c.n, a.chunks, a.rows = g.OW, 1, part.rows
			a.groups, a.xgs, a.ygs = part.groups, g.SH*rs, yw
			a.xrs, a.yrs = part.groups*g.SH*rs, part.groups*yw
			a.c.x = xs[part.row*g.SH*rs:]
			a.y = yout[yo+part.row*yw*py:]
			a.r = nil
			if fused && j.r != nil {
				a.r = j.r[yo+part.row*yw*py:]
			}
			nchwcRun(a)
		}
		return
	}
	full, rem := g.OW/p.nb, g.OW%p.nb
	a.rows = rows
	for _, part := range [2]struct{ col, n, chunks int }{{0, p.nb, full}, {full * p.nb, rem, 1}} {
		if part.n == 0 || part.chunks == 0 {
			continue
		}
		a.c.n, a.chunks = part.n, part.chunks
		a.c.x = xs[part.col*g.SW*a.c.px:]
		a.y = yout[yo+part.col*py:]
		a.r = nil
		if fused && j.r != nil {
			a.r = j.r[yo+part.col*py:]
		}
		nchwcRun(a)
	}
}

// nchwcKhRange is the window rows [t0, t1) of output row oh that fall
// inside the input. The others read only zeros (the padding), which add
// nothing: a sum that starts at +0 is never -0, so adding ±0 leaves it as
// it is, and the result is the same bit for bit (with finite weights,
// nchwcWeights.finite). So calls of top and bottom rows skip them, as
// MLAS does: VGG's 3x3 convs on 2x2 planes do two thirds of the
// multiply-adds, tinyresnet's on 8x8 eleven twelfths. A window wholly in
// the padding keeps all its rows (a call needs one).
func (g *geom) nchwcKhRange(oh int) (t0, t1 int) {
	ih := oh*g.SH - g.PT
	t0, t1 = 0, g.KH
	if ih < 0 {
		t0 = (-ih + g.DH - 1) / g.DH
	}
	if ih+(g.KH-1)*g.DH >= g.H {
		t1 = (g.H - ih + g.DH - 1) / g.DH
	}
	if t1 <= t0 || t0 >= g.KH || t1 > g.KH {
		return 0, g.KH
	}
	return t0, t1
}

// nchwcPadRows copies rows [ih0, ih0+in) of the np planes x (rows outside
// the image as zeros) into dst, rows wp wide with g.PL zeros before each,
// px floats a pixel (16: planes of NCHW16c blocks). dst holds nchwcSlack
// floats more for the kernels' whole-vector clears.
func nchwcPadRows(g *geom, x, dst []float32, np, ih0, in, wp, px int) {
	r0, r1 := min(max(ih0, 0), ih0+in), max(min(ih0+in, g.H), ih0) // the rows inside the image
	if r1 < r0 {
		r1 = r0
	}
	padRows(x[min(r0, g.H-1)*g.W*px:], dst, r0-ih0, r1-r0, ih0+in-r1, g.W*px, wp*px, g.PL*px, np, g.H*g.W*px)
}

// nchwcSlack is the floats past a padded copy that nchwcPadRows may clear.
const nchwcSlack = 16

// padRowsGo writes, for each of cg planes (src planes ps apart, dst planes
// one after the other), top rows of zeros, mid rows of pl zeros, w floats
// from src (rows w apart) and zeros, and bot rows of zeros, each wp wide.
func padRowsGo(src, dst []float32, top, mid, bot, w, wp, pl, cg, ps int) {
	for c := 0; c < cg; c++ {
		d := dst[c*(top+mid+bot)*wp:]
		clear(d[:top*wp])
		d = d[top*wp:]
		for r := 0; r < mid; r++ {
			row := d[r*wp : (r+1)*wp]
			clear(row[:pl])
			copy(row[pl:pl+w], src[c*ps+r*w:c*ps+(r+1)*w])
			clear(row[pl+w:])
		}
		clear(d[mid*wp : (mid+bot)*wp])
	}
}

// nchwcCall is one kernel call: for blocks b < f, pixels q < n and lanes
// l < 16,
//
//	tile[b·ldt + q·16 + l] = Σ_c Σ_kh Σ_kw w[b·wbs + ((c·kh + kh)·kw + kw)·16 + l] · x[xc(c) + kh·drow + kw·dcol + q·s·px]
//
// with c < cb·cg, xc(c) = (c/cg)·xbs + (c%cg)·xcs (strides in floats, x
// from the first pixel's window origin). NCHW input is one block of cg
// channels, px 1; NCHW16c input cb blocks of 16, xcs 1, px 16. A call of
// fewer window rows than the weights hold (nchwcKhRange) skips wskip
// floats of weights after each channel's rows (the index above then
// counts them too).
type nchwcCall struct {
	x, w, tile     []float32
	f, n, s        int
	cb, cg, kh, kw int
	xbs, xcs, px   int
	drow, dcol     int
	wbs, ldt       int
	wskip          int
}

// nchwcTileRef is the reference of the kernels.
func nchwcTileRef(c *nchwcCall) {
	var acc [16]float32
	for b := 0; b < c.f; b++ {
		for q := 0; q < c.n; q++ {
			acc = [16]float32{}
			wi := b * c.wbs
			for ci := 0; ci < c.cb*c.cg; ci++ {
				for h := 0; h < c.kh; h++ {
					for w := 0; w < c.kw; w++ {
						v := c.x[ci/c.cg*c.xbs+ci%c.cg*c.xcs+h*c.drow+w*c.dcol+q*c.s*c.px]
						wv := c.w[wi : wi+16]
						for l := range acc {
							acc[l] += wv[l] * v
						}
						wi += 16
					}
				}
				wi += c.wskip
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

// nchwcRows is the contract of the assembly kernels: for output rows
// i < rows, chunks h < chunks of c.n pixels and groups g < max(groups, 1),
// the sums of c (c.x advanced by i·xrs + g·xgs + h·c.n·c.s·c.px) stored
// by nchwcStoreRef into y[p + b·16·ldy ...], p = i·yrs + g·ygs + h·c.n,
// for each block b < c.f, with the bias bias[b·16 ...], residual r at the
// same offsets as y (nil: none), the clamp [lo, hi], and 16 channels per
// block but mlast in the last. With blocked (NCHW16c output) pixel p + q
// of block b is the 16 floats at 16·(b·ldy + p + q), all 16 stored.
//
// Groups (nchwcGroupedFits) let one call keep the sums of a few narrow
// rows in registers: the tile then holds the groups' pixels one after
// the other.
type nchwcRows struct {
	c                nchwcCall
	chunks, rows     int
	xrs              int
	y, r, bias       []float32
	ldy, yrs         int
	mlast            int
	lo, hi           float32
	blocked          bool
	groups, xgs, ygs int
}

// nchwcRowsRef is the reference of the kernels.
func nchwcRowsRef(a *nchwcRows) {
	c := a.c
	for i := 0; i < a.rows; i++ {
		for h := 0; h < a.chunks; h++ {
			for g := 0; g < max(a.groups, 1); g++ {
				c.x = a.c.x[i*a.xrs+g*a.xgs+h*c.n*c.s*c.px:]
				nchwcTileRef(&c)
				nchwcStoreTileRef(a, &c, i*a.yrs+g*a.ygs+h*c.n)
			}
		}
	}
}

// nchwcStoreTileRef stores the tile of c into a's output from pixel p.
func nchwcStoreTileRef(a *nchwcRows, c *nchwcCall, p int) {
	if a.blocked {
		nchwcStoreBlockedRef(a, c, p)
		return
	}
	for b := 0; b < c.f; b++ {
		m := 16
		if b == c.f-1 {
			m = a.mlast
		}
		for q := 0; q < c.n; q += 16 {
			o := p + b*16*a.ldy + q
			s := nchwcStoreCall{tile: c.tile[b*c.ldt+q*16:], y: a.y[o:], bias: a.bias[b*16:], ldy: a.ldy, n: min(16, c.n-q), m: m, lo: a.lo, hi: a.hi}
			if a.r != nil {
				s.r = a.r[o:]
			}
			nchwcStoreRef(&s)
		}
	}
}

// nchwcStoreBlockedRef stores the tile of c into a's NCHW16c output from
// pixel p.
func nchwcStoreBlockedRef(a *nchwcRows, c *nchwcCall, p int) {
	for b := 0; b < c.f; b++ {
		for q := 0; q < c.n; q++ {
			o := 16 * (b*a.ldy + p + q)
			t := c.tile[b*c.ldt+q*16:]
			for l := 0; l < 16; l++ {
				v := t[l] + a.bias[b*16+l]
				if a.r != nil {
					v += a.r[o+l]
				}
				a.y[o+l] = min(max(v, a.lo), a.hi)
			}
		}
	}
}

// clearBorder zeroes the border of output rows [oh0, oh1) of blocks
// [m0, m0+f) of the NCHW16c output whose image and group start at y0
// (planes yw pixels wide, yp floats per channel, border j.k.yBorder), and
// the rows above and below the image with its first and last row.
func (j *convJob) clearBorder(y0, m0, f, oh0, oh1, yw, yp int) {
	for m := m0; m < m0+f; m++ {
		clearBorderRows(j.y[y0+m*16*yp:y0+(m+1)*16*yp], j.g.OH, yw, j.k.yBorder, oh0, oh1)
	}
}

// clearBorderRows zeroes, in the plane pl of one NCHW16c channel block (h
// rows with a border of b pixels, yw pixels wide), the border of rows
// [oh0, oh1), and the rows above and below the image with its first and
// last row: the whole border for rows [0, h).
func clearBorderRows(pl []float32, h, yw, b, oh0, oh1 int) {
	r0, r1 := oh0+b, oh1+b // the rows in the plane
	if oh0 == 0 {
		r0 = 0
	}
	if oh1 == h {
		r1 = h + 2*b
	}
	// From the right border of row r-1 to the left one of row r: a run of
	// 2b pixels; the image's top and bottom rows whole.
	clear(pl[r0*yw*16 : (oh0+b)*yw*16+b*16])
	for r := oh0 + b + 1; r < oh1+b; r++ {
		clear(pl[(r*yw-b)*16 : (r*yw+b)*16])
	}
	clear(pl[((oh1+b)*yw-b)*16 : r1*yw*16])
}

// allFinite reports whether x holds no infinity and no NaN.
func allFinite(x []float32) bool {
	for _, v := range x {
		if v-v != 0 { // Inf - Inf and NaN - NaN are NaN
			return false
		}
	}
	return true
}
