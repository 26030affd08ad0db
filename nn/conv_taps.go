package nn

import "math"

// Window ops of one input plane per output plane (depthwise convolution of
// any kernel size and multiplier, MaxPool) as a direct kernel over a padded
// copy of the input plane: the plane is copied once into scratch with its
// border (zeros for a convolution, -inf for MaxPool), so that every output
// pixel runs the same tap loop with no bounds logic. With stride 2 along
// the row the copy holds each padded row as its even columns followed by
// its odd ones, which turns the stride-2 taps into unit-stride ones (as
// dw3, which keeps the 3x3 convolution). The kernel, tapPlane, computes
//
//	y[r·ldy + c] = min(max(bias + Σ_t w[t]·x[r·rs + off[t] + c], lo), hi)   (sum)
//	y[r·ldy + c] = max_t x[r·rs + off[t] + c]  (NaN if any is NaN)          (max)
//
// for r < rows, c < ow. It has an AVX-512 kernel (conv_taps_amd64.s, four
// rows per pass so that four accumulators hide the FMA latency on narrow
// planes) and a plain-Go one (tapPlaneGo), which the build tag purego
// forces and which the tests compare it with.

// maxTaps bounds the window (7x7 and 8x8 fit).
const maxTaps = 64

// tapPlan is the padded layout of one window geometry.
type tapPlan struct {
	rows, wp, ne int // padded rows used, padded row length, even columns (stride 2)
	rs           int // floats between the starts of consecutive output rows' windows
	ntaps        int
	maxOff       int          // largest off
	off          [maxTaps]int // per tap, offset in floats from the window start
	offB         [maxTaps]int // off in bytes (the assembly kernels' unit)
}

// tapLayout returns the padded layout for g and whether the tap kernel
// applies: stride 1 or 2 along the row, at most maxTaps taps.
func tapLayout(g *geom) (tapPlan, bool) {
	var l tapPlan
	if g.KH*g.KW > maxTaps || g.KH < 1 || g.KW < 1 || g.OH <= 0 || g.OW <= 0 || (g.SW != 1 && g.SW != 2) ||
		g.SH < 1 || g.DH < 1 || g.DW < 1 || g.PL < 0 || g.PT < 0 {
		return l, false
	}
	// The padded row covers every window (ceil_mode may reach past PR).
	l.wp = max(g.W+g.PL+g.PR, (g.OW-1)*g.SW+(g.KW-1)*g.DW+1, g.PL+g.W)
	if g.SW == 2 {
		l.wp += l.wp % 2
	}
	l.ne = (l.wp + 1) / 2
	l.rows = (g.OH-1)*g.SH + (g.KH-1)*g.DH + 1
	l.rs = g.SH * l.wp
	l.ntaps = g.KH * g.KW
	for kh := 0; kh < g.KH; kh++ {
		for kw := 0; kw < g.KW; kw++ {
			c := kw * g.DW
			if g.SW == 2 {
				c = c%2*l.ne + c/2
			}
			t := kh*g.KW + kw
			l.off[t] = kh*g.DH*l.wp + c
			l.offB[t] = 4 * l.off[t]
			l.maxOff = max(l.maxOff, l.off[t])
		}
	}
	return l, true
}

// size is the padded copy, in floats.
func (l *tapPlan) size() int { return l.rows * l.wp }

// tapSlack is the floats past the padded copy that the kernels may read
// (a whole vector at the last column; those lanes are not stored).
const tapSlack = 16

// scratch is the buffer a padded copy needs: size plus tapSlack.
func (l *tapPlan) scratch() int { return l.size() + tapSlack }

// padPlane copies the H×W plane x into dst with a border of fill
// (deinterleaving the columns for stride 2). With borders false only the
// input's values are written: dst holds the border of an earlier call
// with the same plan and fill.
func (l *tapPlan) padPlane(g *geom, x, dst []float32, fill float32, borders bool) {
	dst = dst[:l.size()]
	for r := 0; r < l.rows; r++ {
		d := dst[r*l.wp : (r+1)*l.wp]
		ih := r - g.PT
		if ih < 0 || ih >= g.H {
			if borders {
				fillF32(d, fill)
			}
			continue
		}
		xr := x[ih*g.W : (ih+1)*g.W]
		if g.SW == 1 {
			copy(d[g.PL:], xr)
			if borders {
				fillF32(d[:g.PL], fill)
				fillF32(d[g.PL+g.W:], fill)
			}
			continue
		}
		if g.W < 32 {
			// A short row: one Go loop costs less than the kernel calls.
			for i, v := range xr {
				pc := i + g.PL
				d[pc/2+pc%2*l.ne] = v
			}
		} else {
			deinterleave(d[:l.ne], d[l.ne:], xr, g.PL)
		}
		if !borders {
			continue
		}
		for pc := 0; pc < g.PL; pc++ {
			d[pc/2+pc%2*l.ne] = fill
		}
		for pc := g.PL + g.W; pc < l.wp; pc++ {
			d[pc/2+pc%2*l.ne] = fill
		}
	}
}

// fillF32 sets every value of s to v.
func fillF32(s []float32, v float32) {
	for i := range s {
		s[i] = v
	}
}

// tapArgs is the contract of the assembly kernels (field offsets fixed by
// conv_taps_amd64.s); ow16, ldy, rs and off in bytes, mask the low ow%16
// bits.
type tapArgs struct {
	y, x         *float32 // 0, 8
	rows         int      // 16
	ow16         int      // 24: bytes of the whole 16-column blocks
	ldy, rs      int      // 32, 40
	ntaps        int      // 48
	off          *int     // 56
	w            *float32 // 64
	bias, lo, hi float32  // 72, 76, 80
	mask         uint32   // 84
}

// tapPlane runs one output plane y (rows×ow, row stride ldy) from the padded
// copy x of plan l: the weighted sum of the taps (w, bias, clamp lo..hi),
// or with isMax their maximum. The caller guarantees the bounds.
func tapPlane(l *tapPlan, y, x []float32, rows, ow, ldy int, w []float32, bias, lo, hi float32, isMax bool) {
	if rows <= 0 || ow <= 0 {
		return
	}
	if (rows-1)*ldy+ow > len(y) || (rows-1)*l.rs+l.maxOff+ow > len(x) || (!isMax && len(w) < l.ntaps) {
		panic("nn: tapPlane out of bounds")
	}
	if len(x) < (rows-1)*l.rs+l.maxOff+(ow+15)&^15 {
		// The kernels read whole vectors: x needs tapSlack.
		tapPlaneGo(l, y, x, rows, ow, ldy, w, bias, lo, hi, isMax)
		return
	}
	a := tapArgs{
		y: &y[0], x: &x[0], rows: rows, ow16: 4 * (ow &^ 15),
		ldy: 4 * ldy, rs: 4 * l.rs, ntaps: l.ntaps, off: &l.offB[0],
		bias: bias, lo: lo, hi: hi, mask: 1<<(ow&15) - 1,
	}
	if !isMax {
		a.w = &w[0]
	}
	if tapPlaneFast(&a, isMax) {
		return
	}
	tapPlaneGo(l, y, x, rows, ow, ldy, w, bias, lo, hi, isMax)
}

// tapPlaneGo is the plain-Go kernel of tapPlane.
func tapPlaneGo(l *tapPlan, y, x []float32, rows, ow, ldy int, w []float32, bias, lo, hi float32, isMax bool) {
	for r := 0; r < rows; r++ {
		yr := y[r*ldy : r*ldy+ow]
		b := r * l.rs
		if isMax {
			fillF32(yr, float32(math.Inf(-1)))
			for _, o := range l.off[:l.ntaps] {
				xs := x[b+o:][:ow]
				for i, v := range xs {
					// max propagates NaN.
					yr[i] = max(yr[i], v)
				}
			}
			continue
		}
		fillF32(yr, bias)
		for t, o := range l.off[:l.ntaps] {
			wv := w[t]
			xs := x[b+o:][:ow]
			for i, v := range xs {
				yr[i] += wv * v
			}
		}
		for i, v := range yr {
			yr[i] = min(max(v, lo), hi)
		}
	}
}

// dwTaps computes the Mg outputs of group gr of image n with the tap
// kernel, from a padded copy of the group's input plane in buf (whose
// border is in place unless borders).
func (j *convJob) dwTaps(n, gr int, buf []float32, borders bool) {
	g := &j.g
	HW := g.H * g.W
	j.tp.padPlane(g, j.x[(n*g.C+gr)*HW:(n*g.C+gr+1)*HW], buf, 0, borders)
	ep, fused := j.k.epilogue(nil)
	kt := j.tp.ntaps
	for m := gr * j.Mg; m < (gr+1)*j.Mg; m++ {
		var bias float32
		if j.b != nil {
			bias = j.b[m]
		}
		y := j.y[(n*j.M+m)*j.P : (n*j.M+m+1)*j.P]
		tapPlane(&j.tp, y, buf, g.OH, g.OW, g.OW, j.w[m*kt:(m+1)*kt], bias, ep.Lo, ep.Hi, false)
		if !fused {
			j.finish((n*j.M+m)*j.P, j.P)
		}
	}
}

// tapsDW lets depthwise convolutions that dw3 does not take run the tap
// kernel (a variable so that tests and benchmarks can compare with the
// row-by-row path).
var tapsDW = true
