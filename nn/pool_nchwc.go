package nn

// MaxPool in NCHW16c (layout.go): the layout pass lets a 2-D MaxPool read
// a value pathNCHWc convolutions keep blocked, [N][C/16][H][W][16], and
// write its output blocked too (with the zero border its reader conv
// wants) or in NCHW for every other reader. A pixel's 16 channels of a
// block are one vector, so an output pixel is the maximum of KH·KW vector
// loads, one store (a scatter into 16 planes for NCHW). The maximum is
// taken per channel over the same window values as maxPlane, so the result
// is the NCHW kernel's bit for bit (NaN where the window holds one).

// nchwcPoolTaps bounds the window taps of a blocked MaxPool (a worker's
// tap offsets live on its stack).
const nchwcPoolTaps = 64

// mpcArgs is the contract of the assembly kernel (pool_nchwc_amd64.s fixes
// the offsets): n output pixels, the maximum over ntaps vectors of 16 at
// byte offsets taps from x each, x advancing sx bytes a pixel. In NCHW16c
// (ys 0) a pixel's vector is stored at y, y advancing sy bytes a pixel; in
// NCHW lane l goes to y + l·ys, y advancing 4 bytes a pixel: 16 pixels at
// a time are put in tile (256 floats) and transposed. The pixels are rows
// rows of n, x advancing sxr bytes more after each row, y syr more (0 in
// NCHW). The kernel sets special when an output is -0: then the call is
// run again in Go.
type mpcArgs struct {
	y, x     *float32
	taps     *int
	ntaps    int
	n        int
	sx, sy   int
	ys       int
	tile     *float32
	rows     int
	sxr, syr int
	special  int // set by the kernel when an output is -0
}

// blockedPoolFits reports whether the blocked kernel takes pool geometry g
// (layout.go asks before blocking a MaxPool's input).
func (k *poolKernel) blockedPoolFits(g *geom) bool {
	return k.max && g.rank == 2 && g.C%16 == 0 && g.KH*g.KW <= nchwcPoolTaps && g.KH > 0 && g.KW > 0
}

// maxPoolNCHWcJob pools blocks of 16 channels (image, block) from NCHW16c.
type maxPoolNCHWcJob struct {
	k    *poolKernel
	g    geom
	x, y []float32
}

// maxPoolNCHWc runs k (xBlocked) on x into y.
func (k *poolKernel) maxPoolNCHWc(rc *RunContext, g *geom, x, y []float32) {
	j := &rc.kernelJobs().poolC
	*j = maxPoolNCHWcJob{k: k, g: *g, x: x, y: y}
	units := g.N * g.C / 16
	rc.parallelFor(blocksFor(rc.Threads, units, int64(g.N*g.C)*int64(g.OH*g.OW*g.KH*g.KW)), units, j)
	*j = maxPoolNCHWcJob{}
}

func (j *maxPoolNCHWcJob) runRange(lo, hi, _ int) {
	g, k := &j.g, j.k
	xb, yb := k.xBorder, k.yBorder
	xw, yw := g.W+2*xb, g.OW+2*yb
	xp, yp := xw*(g.H+2*xb), yw*(g.OH+2*yb) // floats per channel
	if !k.yBlocked {
		yp = g.OH * g.OW
	}
	var taps [nchwcPoolTaps]int
	var tile [256]float32
	// The output columns whose window lies wholly inside the input rows.
	clo, chi := 0, g.OW
	for kw := 0; kw < g.KW; kw++ {
		l, h := validRange(g.W, g.OW, g.SW, kw*g.DW-g.PL)
		clo, chi = max(clo, l), min(chi, h)
	}
	chi = max(chi, clo)
	whole := clo == 0 && chi == g.OW && g.PT == 0 && (g.OH-1)*g.SH+(g.KH-1)*g.DH < g.H
	for u := lo; u < hi; u++ {
		x := j.x[u*16*xp : (u+1)*16*xp]
		y := j.y[u*16*yp : (u+1)*16*yp]
		if k.yBlocked && yb > 0 {
			clearBorderRows(y, g.OH, yw, yb, 0, g.OH)
		}
		a := mpcArgs{sx: 64 * g.SW, sy: 64, tile: &tile[0], rows: 1}
		if !k.yBlocked {
			a.sy, a.ys = 4, 4*yp
		}
		if whole {
			// Every window inside the input: the plane's rows in one
			// call (in NCHW its pixels are consecutive).
			a.rows, a.sxr = g.OH, 64*g.SH*xw-g.OW*a.sx
			y0 := 0
			if k.yBlocked {
				a.syr, y0 = 64*2*yb, (yb*yw+yb)*16
			}
			taps := windowTaps(g, &taps, 0, 0, 0, g.KW, xb, xw)
			a.y, a.x, a.taps, a.ntaps, a.n = &y[y0], &x[0], &taps[0], len(taps), g.OW
			maxPoolNCHWcRow(&a, x, y[y0:], taps)
			continue
		}
		for oh := 0; oh < g.OH; oh++ {
			yo := ((oh+yb)*yw + yb) * 16 // pixel (oh, 0)
			if !k.yBlocked {
				yo = oh * g.OW
			}
			// run pools output columns [c0, c1) with the taps of kw
			// in [kw0, kw1) of every row inside the input.
			run := func(c0, c1, kw0, kw1 int) {
				if c0 >= c1 {
					return
				}
				taps := windowTaps(g, &taps, oh, c0, kw0, kw1, xb, xw)
				n := len(taps)
				y0 := yo + c0*16
				if !k.yBlocked {
					y0 = yo + c0
				}
				if n == 0 {
					for c := c0; c < c1; c++ {
						for l := range 16 {
							if k.yBlocked {
								y[y0+(c-c0)*16+l] = negInf32
							} else {
								y[y0+(c-c0)+l*yp] = negInf32
							}
						}
					}
					return
				}
				a.y, a.x, a.taps, a.ntaps, a.n = &y[y0], &x[0], &taps[0], n, c1-c0
				maxPoolNCHWcRow(&a, x, y[y0:], taps)
			}
			for c := 0; c < clo; c++ {
				run(edgeTaps(g, c))
			}
			run(clo, chi, 0, g.KW)
			for c := max(chi, clo); c < g.OW; c++ {
				run(edgeTaps(g, c))
			}
		}
	}
}

// windowTaps sets in buf the byte offsets, in NCHW16c planes xw pixels
// wide with a border of xb, of the taps of output (oh, c) in window columns
// [kw0, kw1) and rows inside the input, and returns them.
func windowTaps(g *geom, buf *[nchwcPoolTaps]int, oh, c, kw0, kw1, xb, xw int) []int {
	n := 0
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PT + kh*g.DH
		if ih < 0 || ih >= g.H {
			continue
		}
		for kw := kw0; kw < kw1; kw++ {
			iw := c*g.SW - g.PL + kw*g.DW
			buf[n] = 4 * 16 * ((ih+xb)*xw + iw + xb)
			n++
		}
	}
	return buf[:n]
}

// edgeTaps is the window columns [kw0, kw1) of output column c inside the
// input (the taps of a window at the edge are consecutive).
func edgeTaps(g *geom, c int) (c0, c1, kw0, kw1 int) {
	kw0, kw1 = g.KW, 0
	for kw := 0; kw < g.KW; kw++ {
		if iw := c*g.SW - g.PL + kw*g.DW; iw >= 0 && iw < g.W {
			kw0, kw1 = min(kw0, kw), kw+1
		}
	}
	if kw1 < kw0 {
		kw0, kw1 = 0, 0
	}
	return c, c + 1, kw0, kw1
}

// maxPoolNCHWcRow runs a on the assembly kernel where there is one, else
// in Go: x and y are the slices a.x and a.y point to, taps a's offsets.
func maxPoolNCHWcRow(a *mpcArgs, x, y []float32, taps []int) {
	if maxPoolNCHWcFast(a) {
		return
	}
	maxPoolNCHWcRowGo(a, x, y, taps)
}

// maxPoolNCHWcRowGo is the plain-Go kernel of maxPoolNCHWcRow.
func maxPoolNCHWcRowGo(a *mpcArgs, x, y []float32, taps []int) {
	lane := 1 // floats between a pixel's lanes in y
	if a.ys != 0 {
		lane = a.ys / 4
	}
	for i := range a.n * a.rows {
		r, c := i/a.n, i%a.n
		xo, yo := (r*(a.n*a.sx+a.sxr)+c*a.sx)/4, (r*(a.n*a.sy+a.syr)+c*a.sy)/4
		for l := range 16 {
			m := x[xo+taps[0]/4+l]
			for _, t := range taps[1:] {
				m = max(m, x[xo+t/4+l])
			}
			y[yo+l*lane] = m
		}
	}
}
