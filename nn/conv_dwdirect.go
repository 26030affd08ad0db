package nn

// The 3x3 convolution of one input channel per group straight from the
// unpadded input plane (pathDWDirect): no padded copy. The copy (with the
// stride-2 deinterleave) cost about twice the arithmetic on MobileNetV2's
// large depthwise layers (the 112->56 stride-2 layer: 484 µs against ONNX
// Runtime's 178). The kernel runs 16 outputs at a time; per block, masks drop
// the lanes whose input column lies in the padding, and window rows in the
// padding are skipped, so that the border costs no extra pass. Stride 2
// loads 32 input lanes per tap and gathers the even ones (one permute).
//
// Only with the assembly kernels (AVX-512); elsewhere dw3 keeps the padded
// copy and its plain-Go kernel.

// dwDirectArgs is the contract of the kernels: for r < rows and every
// output column c of the row's blocks (lanes of the store mask),
//
//	y[r·ldy + c] = min(max(bias + Σ_{kh in on} Σ_kw w[3kh+kw]·X(r·rs + off[3kh+kw] + S·c), lo), hi)
//
// (S the stride along the row, offsets and strides in bytes from x), where
// X reads zero in the lanes masked off for that tap column. The field
// offsets are fixed by conv_dwdirect_amd64.s and match dw3Args from off on.
type dwDirectArgs struct {
	y, x         *float32
	rows         int
	end          int // output bytes per row that the blocks cover (64 per block)
	ldy, rs      int
	on           uint64  // bit kh: window row kh is inside the image
	masks        *uint16 // per block: 7 masks (see dwDirectPlan), 16 bytes
	off          [9]int
	w            [9]float32
	bias, lo, hi float32
}

// dwDirectMaxBlocks bounds the output row (16 columns a block) of
// pathDWDirect: 1,024 columns.
const dwDirectMaxBlocks = 64

// dwDirectPair lets the stride-2 convolution kernel load the input of an
// undilated row with a left pad once for its three taps (a variable so that
// benchmarks and tests can compare).
var dwDirectPair = true

// dwDirectPlan holds the masks of one geometry, per 16-output block of a
// row (the same for every row): for each tap column kw, the input lanes
// inside the plane (stride 1: 16 lanes at 2kw; stride 2: the 32 lanes read,
// low half at 2kw, high half at 2kw+1), and the output lanes at 6.
type dwDirectPlan struct {
	blocks int
	masks  [dwDirectMaxBlocks * 8]uint16
	// Runs of consecutive output rows whose window rows inside the image
	// are the same (one kernel call each): top border, interior, bottom.
	runs  [dwDirectMaxRuns]dwRowRun
	nruns int
}

// dwRowRun is rows output rows from oh whose window rows inside the image
// are the bits of on.
type dwRowRun struct {
	oh, rows int
	on       uint64
}

// dwDirectMaxRuns bounds the row runs of pathDWDirect (a 3x3 window meets
// at most a few distinct borders; wide pads or dilations can add some).
const dwDirectMaxRuns = 16

// dwDirectLayout sets p for g and reports whether pathDWDirect takes g: a
// 3x3 window, stride 1 or 2 along the row, and the assembly kernel.
func dwDirectLayout(g *geom, p *dwDirectPlan) bool {
	if !dwDirectHave || g.KH != 3 || g.KW != 3 || (g.SW != 1 && g.SW != 2) || g.SH < 1 || g.DH < 1 || g.DW < 1 ||
		g.OH < 1 || g.OW < 1 || g.OW > 16*dwDirectMaxBlocks || g.H < 1 || g.W < 1 {
		return false
	}
	p.nruns = 0
	for oh := 0; oh < g.OH; oh++ {
		var on uint64
		for kh := 0; kh < 3; kh++ {
			if ih := oh*g.SH - g.PT + kh*g.DH; ih >= 0 && ih < g.H {
				on |= 1 << kh
			}
		}
		if p.nruns > 0 && p.runs[p.nruns-1].on == on {
			p.runs[p.nruns-1].rows++
			continue
		}
		if p.nruns == dwDirectMaxRuns {
			return false
		}
		p.runs[p.nruns] = dwRowRun{oh: oh, rows: 1, on: on}
		p.nruns++
	}
	p.blocks = (g.OW + 15) / 16
	for b := 0; b < p.blocks; b++ {
		m := p.masks[8*b : 8*b+8]
		clear(m)
		for kw := 0; kw < 3; kw++ {
			m[6], m[2*kw], m[2*kw+1] = blockMasks(g, b, kw)
		}
	}
	return true
}

// blockMasks returns, for the 16-output block b of a row, the output lanes
// inside the row and the input lanes of tap column kw inside the plane:
// stride 1 the 16 lanes read (lo), stride 2 the 32 (lo, hi).
func blockMasks(g *geom, b, kw int) (store, lo, hi uint16) {
	in := func(col int) bool { return col >= 0 && col < g.W }
	for i := 0; i < 16; i++ {
		if 16*b+i < g.OW {
			store |= 1 << i
		}
		c := g.SW*16*b + i + kw*g.DW - g.PL
		if in(c) {
			lo |= 1 << i
		}
		if g.SW == 2 && in(c+16) {
			hi |= 1 << i
		}
	}
	return store, lo, hi
}

// dwDirectPlane computes the output plane y (OH×OW) of the input plane x
// (H×W) with the 3x3 weights w, one kernel call per run of rows of p.
func dwDirectPlane(g *geom, p *dwDirectPlan, y, x, w []float32, bias, lo, hi float32) {
	if len(w) < 9 {
		panic("nn: dwDirectPlane out of bounds")
	}
	dwDirectRows(g, p, y, x, w, bias, lo, hi, false)
}

// dwMaxPlane is dwDirectPlane for a 3x3 max pool: padding never wins, a
// window wholly in the padding gives -inf, a NaN in a window gives NaN.
func dwMaxPlane(g *geom, p *dwDirectPlan, y, x []float32) {
	dwDirectRows(g, p, y, x, nil, negInf32, negInf32, posInf32, true)
}

// dwDirectRows runs the kernel over the runs of rows of p.
func dwDirectRows(g *geom, p *dwDirectPlan, y, x, w []float32, bias, lo, hi float32, isMax bool) {
	if len(y) < g.OH*g.OW || len(x) < g.H*g.W {
		panic("nn: dwDirectPlane out of bounds")
	}
	a := dwDirectArgs{
		x: &x[0], end: 64 * p.blocks, ldy: 4 * g.OW, rs: 4 * g.SH * g.W,
		masks: &p.masks[0], bias: bias, lo: lo, hi: hi,
	}
	copy(a.w[:], w)
	for _, run := range p.runs[:p.nruns] {
		ih0 := run.oh*g.SH - g.PT
		for kh := 0; kh < 3; kh++ {
			for kw := 0; kw < 3; kw++ {
				a.off[3*kh+kw] = 4 * ((ih0+kh*g.DH)*g.W + kw*g.DW - g.PL)
			}
		}
		a.y, a.rows, a.on = &y[run.oh*g.OW], run.rows, run.on
		// The shared load needs column -1 of the first block in the padding.
		dwDirectRun(&a, g.SW, g.DW == 1 && g.PL >= 1 && dwDirectPair, isMax)
	}
}
