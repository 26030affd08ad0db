package nn

// The 3x3 convolution of one input channel per group (depthwise, and the
// first layer of a network on one-channel images) as a direct kernel over a
// padded copy of the input plane: the plane is copied once into scratch
// with its zero border, so that the kernel (dw3Plane) runs every output
// pixel through the same nine-tap loop, with no bounds logic, and applies
// bias and the fused clamp while storing. With stride 2 along the row the
// copy holds each padded row as its even columns followed by its odd ones,
// which turns the stride-2 taps into unit-stride ones.
//
// dw3Plane has an AVX-512 kernel (conv_dw_amd64.s) and a plain-Go one
// (dw3PlaneGo), which the build tag purego forces and which the tests
// compare it with.

// dw3Args is the contract of the kernels: for r < rows, c < ow,
//
//	y[r·ldy + c] = min(max(bias + Σ_t w[t]·x[r·rs + off[t] + c], lo), hi)
//
// with ldy, rs and off in bytes for the assembly kernel (the plain-Go
// kernel takes them in floats). mask has the low ow%16 bits set, ow64 and
// ow16 are ow rounded down to multiples of 64 and 16. The field offsets are
// fixed by conv_dw_amd64.s.
type dw3Args struct {
	y, x         *float32
	rows         int
	ow64, ow16   int
	mask         uint64
	ldy, rs      int
	off          [9]int
	w            [9]float32
	bias, lo, hi float32
}

// dw3Geom is the layout of the padded copy for one Conv geometry.
type dw3Geom struct {
	rows, wp, ne int // padded rows used, padded row length, even columns (stride 2)
	rs           int // floats between the starts of consecutive output rows' windows
	off          [9]int
}

// dw3Layout returns the padded layout for g and whether the direct 3x3
// kernel applies (3x3 window, stride 1 or 2 along the row, dilation 1 with
// stride 2).
func dw3Layout(g *geom) (dw3Geom, bool) {
	var l dw3Geom
	if g.KH != 3 || g.KW != 3 || g.OH <= 0 || g.OW <= 0 || (g.SW != 1 && g.SW != 2) || (g.SW == 2 && g.DW != 1) {
		return l, false
	}
	l.wp = g.W + g.PL + g.PR
	l.ne = (l.wp + 1) / 2
	l.rows = (g.OH-1)*g.SH + 2*g.DH + 1
	l.rs = g.SH * l.wp
	for kh := 0; kh < 3; kh++ {
		for kw := 0; kw < 3; kw++ {
			c := kw * g.DW
			if g.SW == 2 {
				c = [3]int{0, l.ne, 1}[kw]
			}
			l.off[kh*3+kw] = kh*g.DH*l.wp + c
		}
	}
	return l, true
}

// size is the scratch the padded copy takes, in floats.
func (l *dw3Geom) size() int { return l.rows * l.wp }

// padPlane copies the H×W plane x into dst with the zero border of g
// (deinterleaving the columns for stride 2).
func (l *dw3Geom) padPlane(g *geom, x, dst []float32) {
	dst = dst[:l.size()]
	for r := 0; r < l.rows; r++ {
		d := dst[r*l.wp : (r+1)*l.wp]
		ih := r - g.PT
		if ih < 0 || ih >= g.H {
			clear(d)
			continue
		}
		xr := x[ih*g.W : (ih+1)*g.W]
		if g.SW == 1 {
			zeroPad(d[:g.PL])
			copy(d[g.PL:], xr)
			zeroPad(d[g.PL+g.W:])
			continue
		}
		// Padded column pc = iw + PL goes to even[pc/2] or odd[pc/2]; when
		// the row covers columns PL..PL+W-1 only the border is cleared.
		if g.PL < 0 || g.PL+g.W > l.wp {
			clear(d)
			deinterleave(d[:l.ne], d[l.ne:], xr, g.PL)
			continue
		}
		deinterleave(d[:l.ne], d[l.ne:], xr, g.PL)
		for pc := 0; pc < g.PL; pc++ {
			d[pc/2+pc%2*l.ne] = 0
		}
		for pc := g.PL + g.W; pc < l.wp; pc++ {
			d[pc/2+pc%2*l.ne] = 0
		}
	}
}

// zeroPad clears a border of a few values without a call.
func zeroPad(s []float32) {
	for len(s) > 0 {
		s[0], s = 0, s[1:]
	}
}

// deinterleave writes the row x, shifted right by p columns, into the even
// and odd columns of a padded row: column pc = i + p goes to even[pc/2]
// or odd[pc/2]; columns not covered by x are left as they are.
func deinterleave(even, odd, x []float32, p int) {
	if p < 0 {
		// Columns left of 0 are dropped: start at x[-p].
		if -p >= len(x) {
			return
		}
		x, p = x[-p:], 0
	}
	lo, hi := even[min(p/2, len(even)):], odd[min(p/2, len(odd)):]
	if p%2 == 1 {
		lo, hi = odd[min(p/2, len(odd)):], even[min((p+1)/2, len(even)):]
	}
	// Now x[2k] goes to lo[k], x[2k+1] to hi[k].
	n := min(len(x), 2*len(lo), 2*len(hi)+1)
	x = x[:n]
	i := splitEvenOddFast(x, lo, hi)
	for ; i+1 < n; i += 2 {
		lo[i/2], hi[i/2] = x[i], x[i+1]
	}
	if i < n {
		lo[i/2] = x[i]
	}
}

// dw3Plane runs one output plane y (rows×ow, row stride ldy floats) from
// the padded copy x. The caller guarantees the bounds.
func dw3Plane(y, x []float32, rows, ow, ldy, rs int, off *[9]int, w []float32, bias, lo, hi float32) {
	if rows <= 0 || ow <= 0 {
		return
	}
	maxOff := 0
	for _, o := range off {
		maxOff = max(maxOff, o)
	}
	if (rows-1)*ldy+ow > len(y) || (rows-1)*rs+maxOff+ow > len(x) || len(w) < 9 {
		panic("nn: dw3Plane out of bounds")
	}
	a := dw3Args{
		y: &y[0], x: &x[0], rows: rows,
		ow64: ow &^ 63, ow16: ow &^ 15, mask: 1<<(ow&15) - 1,
		ldy: ldy * 4, rs: rs * 4,
		bias: bias, lo: lo, hi: hi,
	}
	copy(a.w[:], w[:9])
	for t, o := range off {
		a.off[t] = o * 4
	}
	if dw3PlaneFast(&a) {
		return
	}
	dw3PlaneGo(y, x, rows, ow, ldy, rs, off, w, bias, lo, hi)
}

// dw3PlaneGo is the plain-Go kernel of dw3Plane (offsets in floats).
func dw3PlaneGo(y, x []float32, rows, ow, ldy, rs int, off *[9]int, w []float32, bias, lo, hi float32) {
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	for r := 0; r < rows; r++ {
		yr := y[r*ldy : r*ldy+ow]
		b := r * rs
		x0, x1, x2 := x[b+off[0]:][:ow], x[b+off[1]:][:ow], x[b+off[2]:][:ow]
		x3, x4, x5 := x[b+off[3]:][:ow], x[b+off[4]:][:ow], x[b+off[5]:][:ow]
		x6, x7, x8 := x[b+off[6]:][:ow], x[b+off[7]:][:ow], x[b+off[8]:][:ow]
		for i := range yr {
			s := bias + w0*x0[i] + w1*x1[i] + w2*x2[i] + w3*x3[i] + w4*x4[i]
			s += w5*x5[i] + w6*x6[i] + w7*x7[i] + w8*x8[i]
			yr[i] = min(max(s, lo), hi)
		}
	}
}
