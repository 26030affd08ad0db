package nn

// pathStem: the thin stem (thinStem, layout.go), a dense convolution of one
// or two input channels (a grey image) whose output the layout pass keeps
// in NCHW16c, computed by kernels of its own. pathNCHWc's kernel keeps the
// sums of a chunk in registers over every input channel and tap, stores
// them to a tile and adds the bias from there: with 9 taps a sum that round
// trip is a third of the work (seednet's conv1 at batch 32: 89% of its time
// in the kernel, a quarter of it in the tile and output stores). Here the
// sums of 16, 4 or 1 pixels get the bias and the clamp in registers and go
// straight to the output, in the same order of operations, so the result
// is pathNCHWc's bit for bit.
//
// With AVX2 only (no AVX-512) the kernels work on two ymm halves of each
// 16-channel vector and, as pathNCHWc's AVX2 kernels, sum from the bias.
//
// A 2x2 stride-2 MaxPool that alone reads the stem's output (LeNet-style
// networks: conv, Relu, pool) runs inside it (Runner.fusePools): the
// kernel sums two rows of pixel pairs and stores only each window's
// maximum, taken in the blocked MaxPool's order (MAXNANK), so the stem's
// output, four times the pool's, is never written: seednet's conv1 writes
// 2 MB a batch of 32 that its pool read back.

// stemOn lets Run take pathStem; stemAsm lets it run the assembly kernels
// (tests run the Go kernel through the same driver); stemForce takes the
// path, and fuses pools into it, without the assembly kernels (variables so
// that tests and benchmarks can compare).
var stemOn, stemAsm, stemForce = true, true, false

// stemMaxTaps bounds Cg·KH·KW of pathStem (a worker keeps the taps' offsets
// on its stack).
const stemMaxTaps = 64

// stemArgs is the contract of the kernels (conv_stem_amd64.s fixes the
// offsets up to hi): for output rows i < rows and pixels q < n, the 16
// lanes at y + i·yrs + 64·q (bytes) are min(max(bias + Σ_t w[t]·x(t), lo),
// hi), summed over the ntaps taps in order from zero (from the bias in the
// AVX2 kernels, as pathNCHWc's AVX2 kernels sum), w[t] the 16 floats at
// w + 64·t and x(t) the float at byte taps[t] from the pixel's window
// origin, x + i·xrs + 4·s·q. With pool, pixel q is the maximum (NaN where
// one is NaN; +0 for -0 and +0, as Go's max) of four such values, of the
// window origins x + i·xrs + 4·s·(2q+dc) + dr·x1 for dr, dc in {0, 1}, in
// the order (0,0), (0,1), (1,0), (1,1).
type stemArgs struct {
	x      *float32
	w      *float32
	taps   *int
	ntaps  int
	n      int
	rows   int
	xrs    int
	x1     int
	y      *float32
	yrs    int
	bias   *float32
	lo, hi float32
	s      int // stride along the row: 1 or 2
	pool   bool
}

// stemPlan is the blocking of one pathStem run.
type stemPlan struct {
	oh, ow int       // output rows and columns (pooled with k.pooled)
	cr     int       // convolution rows per output row: 2 pooled, else 1
	rows   int       // output rows per unit
	nrb    int       // row blocks per image
	wp     int       // row width of the padded input copy
	inRow  int       // input rows of a unit's padded copy
	bias   []float32 // the bias padded to whole blocks
}

// stemTakes reports whether pathStem takes geometry g with weights w of cg
// input and mg output channels: a thin stem (one group, no residual or
// scales, a clamp for its activation, at most stemMaxTaps taps, stride 1 or
// 2 along the row) that writes NCHW16c or runs a pool, with the assembly
// kernels.
func (k *convKernel) stemTakes(g *geom, w []float32, cg, mg int) bool {
	if !stemOn || !stemHave && !stemForce || !k.thin || k.nchwc == nil || k.generic || k.grp != 1 || k.residual || k.scaled || k.xBlocked {
		return false
	}
	if len(w) != k.wlen || len(w) == 0 || &w[0] != k.wptr {
		return false
	}
	if _, _, ok := k.clampBounds(); !ok {
		return false
	}
	return (k.yBlocked || k.pooled) && cg >= 1 && mg >= 1 && cg*g.KH*g.KW <= stemMaxTaps && (g.SW == 1 || g.SW == 2) && g.SH >= 1 && g.OH > 0 && g.OW > 0
}

// stemPlanRun sets j.st for j's geometry and returns the units: (image,
// block of output rows).
func (j *convJob) stemPlanRun(threads int) int {
	g, p := &j.g, &j.st
	p.oh, p.ow, p.cr = g.OH, g.OW, 1
	if j.k.pooled {
		p.oh, p.ow, p.cr = g.OH/2, g.OW/2, 2
	}
	p.wp = max(g.W+g.PL+g.PR, (p.cr*p.ow-1)*g.SW+(g.KW-1)*g.DW+1)
	inRows := func(rows int) int { return (rows*p.cr-1)*g.SH + (g.KH-1)*g.DH + 1 }
	p.nrb = 1
	if threads > 1 && g.N < 2*threads {
		p.nrb = min(p.oh, (2*threads+g.N-1)/g.N)
	}
	for p.nrb < p.oh && j.Cg*inRows((p.oh+p.nrb-1)/p.nrb)*p.wp > nchwcCopyFloats {
		p.nrb++
	}
	p.rows = (p.oh + p.nrb - 1) / p.nrb
	p.nrb = (p.oh + p.rows - 1) / p.rows
	p.inRow = inRows(p.rows)
	return g.N * p.nrb
}

// stemOutLen is the floats of pathStem's output as j.st plans it (NCHW16c
// with its border, or NCHW).
func (j *convJob) stemOutLen() int {
	p, b := &j.st, j.k.yBorder
	if !j.k.yBlocked {
		b = 0
	}
	return j.g.N * j.M * (p.oh + 2*b) * (p.ow + 2*b)
}

// stemScratch takes the scratch of blocks workers from rc (the padded input
// rows, and a row of output pixels to scatter into NCHW), with the bias
// padded to whole blocks after it.
func (j *convJob) stemScratch(rc *RunContext, blocks int) {
	p := &j.st
	j.per = j.Cg*p.inRow*p.wp + nchwcSlack
	if !j.k.yBlocked {
		j.per += p.ow * 16
	}
	nb := (j.Mg + 15) / 16 * 16
	j.scratch = rc.ScratchF32(blocks*j.per + nb)
	p.bias = j.scratch[blocks*j.per:]
	clear(p.bias)
	if j.b != nil {
		copy(p.bias, j.b[:j.Mg])
	}
}

// stem computes units [lo, hi) of pathStem with the worker's scratch buf.
func (j *convJob) stem(lo, hi int, buf []float32) {
	g, p, k := &j.g, &j.st, j.k
	w := k.nchwc.packed()
	lo32, hi32, _ := k.clampBounds()
	yb := k.yBorder
	yw := p.ow + 2*yb
	yp := yw * (p.oh + 2*yb) // floats per channel of the output
	if !k.yBlocked {
		yp = p.oh * p.ow
	}
	mb := (j.Mg + 15) / 16
	var taps [stemMaxTaps]int
	for u := lo; u < hi; u++ {
		n, rb := u/p.nrb, u%p.nrb
		oh0 := rb * p.rows
		oh1 := min(oh0+p.rows, p.oh)
		in := ((oh1-oh0)*p.cr-1)*g.SH + (g.KH-1)*g.DH + 1
		padded := buf[:j.Cg*in*p.wp+nchwcSlack]
		nchwcPadRows(g, j.x[n*g.C*g.H*g.W:(n+1)*g.C*g.H*g.W], padded, j.Cg, oh0*p.cr*g.SH-g.PT, in, p.wp, 1)
		t := 0
		for c := 0; c < j.Cg; c++ {
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					taps[t] = 4 * ((c*in+kh*g.DH)*p.wp + kw*g.DW)
					t++
				}
			}
		}
		a := stemArgs{n: p.ow, rows: oh1 - oh0, xrs: 4 * p.cr * g.SH * p.wp, x1: 4 * g.SH * p.wp, ntaps: t, lo: lo32, hi: hi32, s: g.SW, pool: k.pooled}
		for b := 0; b < mb; b++ {
			wb := w[b*t*16 : (b+1)*t*16]
			plane := j.y[(n*j.M+b*16)*yp:]
			if !k.yBlocked {
				// NCHW: row by row through the scratch row, scattered.
				row := buf[len(padded) : len(padded)+p.ow*16]
				a.rows, a.yrs = 1, 0
				for i := 0; i < oh1-oh0; i++ {
					stemRun(&a, padded[i*a.xrs/4:], wb, row, p.bias[b*16:], taps[:t])
					for l := 0; l < min(16, j.Mg-b*16); l++ {
						copyStrided(plane[l*yp+(oh0+i)*p.ow:][:p.ow], row[l:], 16)
					}
				}
				continue
			}
			plane = plane[:16*yp]
			a.yrs = 64 * yw
			stemRun(&a, padded, wb, plane[((oh0+yb)*yw+yb)*16:], p.bias[b*16:], taps[:t])
			if yb > 0 {
				clearBorderRows(plane, p.oh, yw, yb, oh0, oh1)
			}
		}
	}
}

// copyStrided sets dst[i] = src[i·stride].
func copyStrided(dst, src []float32, stride int) {
	for i := range dst {
		dst[i] = src[i*stride]
	}
}

// stemRun runs a (its x, w, y, bias and taps the slices given, which must
// hold what it reads and writes) on the assembly kernels, else in Go.
func stemRun(a *stemArgs, x, w, y, bias []float32, taps []int) {
	// The last floats read and written.
	px := a.n
	dr := 0
	if a.pool {
		px, dr = 2*a.n, a.x1/4
	}
	last := 0
	for _, o := range taps {
		last = max(last, o/4)
	}
	_ = x[(a.rows-1)*a.xrs/4+dr+(px-1)*a.s+last]
	_ = y[(a.rows-1)*a.yrs/4+a.n*16-1]
	_ = w[len(taps)*16-1]
	_ = bias[15]
	// A copy on the stack holds the pointers (stored through a they
	// would escape).
	c := *a
	c.x, c.w, c.y, c.bias, c.taps, c.ntaps = &x[0], &w[0], &y[0], &bias[0], &taps[0], len(taps)
	if stemFast(&c) {
		return
	}
	stemRowsGo(a, x, w, y, bias, taps)
}

// stemRowsGo is the Go kernel of stemRun.
func stemRowsGo(a *stemArgs, x, w, y, bias []float32, taps []int) {
	sum := func(o int) (v [16]float32) {
		for t, off := range taps {
			xv := x[o+off/4]
			for l := range v {
				v[l] += w[t*16+l] * xv
			}
		}
		for l := range v {
			v[l] = min(max(bias[l]+v[l], a.lo), a.hi)
		}
		return v
	}
	for i := 0; i < a.rows; i++ {
		for q := 0; q < a.n; q++ {
			dst := y[i*a.yrs/4+q*16:][:16]
			o := i * a.xrs / 4
			if !a.pool {
				v := sum(o + q*a.s)
				copy(dst, v[:])
				continue
			}
			m := sum(o + 2*q*a.s)
			for _, d := range [3]int{a.s, a.x1 / 4, a.x1/4 + a.s} {
				v := sum(o + 2*q*a.s + d)
				for l := range m {
					m[l] = max(m[l], v[l])
				}
			}
			copy(dst, m[:])
		}
	}
}
