package nn

import "errors"

// The 3x3 depthwise convolution of many small channels per call (input and
// output rows of at most 32 floats: MobileNetV2's 28x28, 14x14 and 7x7
// layers). dw3's per-channel Go work (the padded copy, the kernel setup)
// costs more than the arithmetic on such planes, so this kernel loops over
// the channels itself and pads in registers: each input row is loaded
// (masked, two halves) and permuted once per horizontal tap and output
// half into a scratch row holding the tap vectors (lane j of tap kw is
// input column j·SW + kw·DW - PL, or 0), so that an output row is nine FMAs
// per 16 columns on whole vectors. The scratch rows above and below the
// input (the vertical padding) are zeroed once per call and never written
// by the kernel. Output rows of up to 16 floats take the narrow kernel
// (three tap vectors per row), longer ones the wide one (six).
//
// The kernel is AVX-512 only (conv_dw_small_amd64.s); without it (purego,
// other CPUs) dw3 runs as before.

// errDWSmallBounds reports a call whose slices do not hold the channels.
var errDWSmallBounds = errors.New("nn: dwSmall out of bounds")

// dwsMaxFloats bounds the scratch (16 KB) so that it stays in L1.
const dwsMaxFloats = 4096

// dwSmallArgs is the contract of the assembly kernels: for each of n
// channels (x += H·W, y += OH·OW, w += 9, b += bs/4 floats), input row r is
// permuted into the scratch row at pad + r·R bytes (R = 192 for the narrow
// kernel, 384 for the wide one), vector v lane j holding input column
// idx[v][j] where pmask[v] has bit j, else 0; then output row r, columns
// 16h..16h+15, is clamp(b + Σ w[kh·3+kw]·vector (kw·H+h) of the scratch
// row at out + r·rs + kh·ds bytes), H the halves (1 or 2), stored under
// smask (narrow) or whole and under smask2 (wide). The field offsets are
// fixed by conv_dw_small_amd64.s.
type dwSmallArgs struct {
	x, y, w, b *float32 // 0, 8, 16, 24
	n          int      // 32: channels
	h          int      // 40: input rows
	oh         int      // 48: output rows
	bs         int      // 56: bytes between biases (0: b points at a zero)
	xrs        int      // 64: bytes per input row (W·4)
	yrs        int      // 72: bytes per output row (OW·4)
	rs         int      // 80: scratch bytes between output rows (SH rows)
	ds         int      // 88: scratch bytes between kernel rows (DH rows)
	pad, out   *float32 // 96, 104: scratch row of input row 0, of output row 0's window
	lmask      uint64   // 112: input columns 0..15 present (low W bits)
	hmask      uint64   // 120: input columns 16..31 present
	smask      uint64   // 128: output columns 0..15 present
	smask2     uint64   // 136: output columns 16..31 present
	pmask      [6]uint64
	lo, hi     float32      // 192, 196: clamp
	idx        [6][16]int32 // 200: per tap vector, the input column of each lane
}

// dwSmallPlan is the per-geometry part of the kernel's arguments, computed
// once per Run; rows is the scratch rows a channel takes.
type dwSmallPlan struct {
	a    dwSmallArgs
	rows int
	rf   int // floats per scratch row: 16 per tap vector
	pt   int // first scratch row the kernel writes
}

// dwSmallLayout returns the plan for g (a geometry dw3Layout accepts) and
// whether the small-plane kernels cover it.
func dwSmallLayout(g *geom) (dwSmallPlan, bool) {
	var p dwSmallPlan
	if g.KH != 3 || g.KW != 3 || g.H < 1 || g.W < 1 || g.W > 32 || g.OH < 1 || g.OW < 1 || g.OW > 32 ||
		g.PT < 0 || g.PL < 0 || g.SH < 1 || g.SW < 1 || g.DH < 1 || g.DW < 1 {
		return p, false
	}
	halves := 1
	if g.OW > 16 {
		halves = 2
	}
	p.rf = 3 * 16 * halves
	read := (g.OH-1)*g.SH + 2*g.DH + 1
	p.rows = max(read, g.PT+g.H)
	if p.rows*p.rf > dwsMaxFloats {
		return p, false
	}
	p.pt = g.PT
	a := &p.a
	a.h, a.oh = g.H, g.OH
	a.xrs, a.yrs = 4*g.W, 4*g.OW
	a.rs, a.ds = 4*p.rf*g.SH, 4*p.rf*g.DH
	a.lmask = 1<<min(g.W, 16) - 1
	a.hmask = 1<<max(g.W-16, 0) - 1
	a.smask = 1<<min(g.OW, 16) - 1
	a.smask2 = 1<<max(g.OW-16, 0) - 1
	for kw := 0; kw < 3; kw++ {
		for h := 0; h < halves; h++ {
			v := kw*halves + h
			for j := 0; j < 16 && 16*h+j < g.OW; j++ {
				c := (16*h+j)*g.SW + kw*g.DW - g.PL
				if c >= 0 && c < g.W {
					a.idx[v][j] = int32(c)
					a.pmask[v] |= 1 << j
				}
			}
		}
	}
	return p, true
}

// scratchFloats is the scratch one worker needs (rows plus room to align
// them to 64 bytes).
func (p *dwSmallPlan) scratchFloats() int { return p.rows*p.rf + 16 }

// dwSmallOn lets dw3 use the kernel (a variable so that benchmarks and
// tests can compare with the per-channel path).
var dwSmallOn = true

// dwsZero is the bias of convolutions without one.
var dwsZero float32

// run computes n channels: x holds n H×W planes, y n OH×OW planes, w 9
// weights per channel, b (nil: no bias) one bias per channel; buf is
// scratch of scratchFloats. It reports false (and does nothing) when the
// CPU has no kernel.
func (p *dwSmallPlan) run(x, y, w, b []float32, n int, lo, hi float32, buf []float32) bool {
	if !dwSmallHave || n <= 0 {
		return dwSmallHave
	}
	a := p.a
	if n*a.h*a.xrs/4 > len(x) || n*a.oh*a.yrs/4 > len(y) || 9*n > len(w) || (b != nil && n > len(b)) ||
		len(buf) < p.scratchFloats() {
		panic(errDWSmallBounds)
	}
	// Align the rows to cache lines: the tap vectors are whole lines.
	s := dwsAlign(buf)[:p.rows*p.rf]
	clear(s[:p.pt*p.rf])
	clear(s[(p.pt+a.h)*p.rf:])
	a.x, a.y, a.w, a.n = &x[0], &y[0], &w[0], n
	a.b, a.bs = &dwsZero, 0
	if b != nil {
		a.b, a.bs = &b[0], 4
	}
	a.pad, a.out = &s[p.pt*p.rf], &s[0]
	a.lo, a.hi = lo, hi
	dwSmallFast(&a, p.rf > 48)
	return true
}
