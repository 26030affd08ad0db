package nn

// Depthwise convolution with any window up to 7x7 (MobileNetV3's 5x5),
// one output per input channel, straight from the unpadded planes
// (pathDWWin): pathDWTaps copies each plane with its border first (and
// deinterleaves it for stride 2), which on small stride-2 planes costs
// more than the arithmetic, and calls its kernel per plane. Here one assembly call runs every channel of an image range:
// per 16-output block each window row inside the image adds its taps,
// loaded under per-column masks (zero in the padding). Only with the
// assembly kernels.

// dwWinMaxRows bounds the output rows of pathDWWin (one on byte each).
const dwWinMaxRows = 1024

// dwWinPlan holds the masks of one geometry per 16-output block of a row
// (16 uint16: tap column kw's input lanes at 2kw, for stride 2 the low 16
// lanes there and the high 16 at 8+2kw; the output lanes at 7) and, per
// output row, the window rows inside the image (bit kh).
type dwWinPlan struct {
	blocks int
	masks  [dwDirectMaxBlocks * 16]uint16
	on     [dwWinMaxRows]uint8
}

// dwWinArgs is the contract of the kernels: for planes p < planes, output
// rows r < oh and the columns c of a row's blocks (store mask),
//
//	y[p·oh·ldy + r·ldy + c] = min(max(bias[p] + Σ_{kh in on[r]} Σ_kw w[p·kh·kw + kh·kw + kw]·X(p·xps + off + r·rs + kh·drow + kw·dcol + S·c), lo), hi)
//
// in bytes from x and y, X reading zero in masked-off lanes. The kernel
// advances x, w, bias and uses rowsLeft as it goes; the field offsets are
// fixed by conv_dwwin_amd64.s.
type dwWinArgs struct {
	y, x, w, bias *float32
	planes, oh    int
	end           int // output bytes per row that the blocks cover
	kh, kw        int
	xps, rs       int
	drow, dcol    int
	off           int // bytes from x to output (0, 0)'s window origin
	on            *uint8
	masks         *uint16
	lo, hi        float32
	wstride       int
	rowsLeft      int
	kwBytes       int
	ldy           int
}

// dwWinLayout sets p for g and reports whether pathDWWin takes g.
func dwWinLayout(g *geom, p *dwWinPlan) bool {
	if !dwDirectHave || g.KH < 1 || g.KW < 1 || g.KH > 7 || g.KW > 7 || (g.SW != 1 && g.SW != 2) || g.SH < 1 ||
		g.DH < 1 || g.DW < 1 || g.OH < 1 || g.OW < 1 || g.OH > dwWinMaxRows || g.OW > 16*dwDirectMaxBlocks || g.H < 1 || g.W < 1 {
		return false
	}
	p.blocks = (g.OW + 15) / 16
	for b := 0; b < p.blocks; b++ {
		m := p.masks[16*b : 16*b+16]
		clear(m)
		for kw := 0; kw < g.KW; kw++ {
			m[7], m[kw], m[8+kw] = blockMasks(g, b, kw)
		}
	}
	for oh := 0; oh < g.OH; oh++ {
		var on uint8
		for kh := 0; kh < g.KH; kh++ {
			if ih := oh*g.SH - g.PT + kh*g.DH; ih >= 0 && ih < g.H {
				on |= 1 << kh
			}
		}
		p.on[oh] = on
	}
	return true
}

// dwWinPlanes computes the output planes y of the planes input planes x
// (each H×W, one output per input) with weights w (KH·KW per plane) and
// bias (one per plane).
func dwWinPlanes(g *geom, p *dwWinPlan, y, x, w, bias []float32, planes int, lo, hi float32) {
	kt := g.KH * g.KW
	if planes < 1 || len(y) < planes*g.OH*g.OW || len(x) < planes*g.H*g.W || len(w) < planes*kt || len(bias) < planes {
		panic("nn: dwWinPlanes out of bounds")
	}
	a := dwWinArgs{
		y: &y[0], x: &x[0], w: &w[0], bias: &bias[0], planes: planes, oh: g.OH, end: 64 * p.blocks,
		kh: g.KH, kw: g.KW, xps: 4 * g.H * g.W, rs: 4 * g.SH * g.W, drow: 4 * g.DH * g.W, dcol: 4 * g.DW,
		off: 4 * (-g.PT*g.W - g.PL), on: &p.on[0], masks: &p.masks[0], lo: lo, hi: hi,
		wstride: 4 * kt, kwBytes: 4 * g.KW, ldy: 4 * g.OW,
	}
	dwWinRun(&a, g.SW)
}

// dwWin computes units [lo, hi) of pathDWWin (image u/grp, channel u%grp,
// one output per channel), one kernel call per image in the range.
func (j *convJob) dwWin(lo, hi int) {
	g := &j.g
	HW, grp, kt := g.H*g.W, j.k.grp, g.KH*g.KW
	ep, fused := j.k.epilogue(nil)
	for lo < hi {
		c0 := lo % grp
		end := min(hi, lo-c0+grp) // the image's last channel + 1
		c1 := c0 + end - lo
		bias := j.zb
		if j.b != nil {
			bias = j.b
		}
		dwWinPlanes(g, &j.dwin, j.y[lo*j.P:end*j.P], j.x[lo*HW:end*HW], j.w[c0*kt:c1*kt], bias[c0:c1], end-lo, ep.Lo, ep.Hi)
		if !fused {
			j.finish(lo*j.P, (end-lo)*j.P)
		}
		lo = end
	}
}
