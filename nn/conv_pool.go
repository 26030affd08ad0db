package nn

// A 2x2 stride-2 MaxPool fused into the pathNCHWc convolution whose output
// it alone reads (Runner.fusePools; the thin stem's kernels pool in
// registers instead, conv_stem.go): each unit stores its output rows, a
// whole number of pool windows, into a band of the worker's scratch in
// NCHW16c, which the blocked MaxPool's kernel (pool_nchwc.go) pools into
// the output from cache, NCHW16c with its readers' border or NCHW. The
// convolution's output never reaches memory and the pool runs no pass of
// its own (seednet's conv2 and second pool, VGG-style conv, Relu, pool).
// The band is summed and stored as pathNCHWc stores NCHW16c and pooled by
// the kernel that would pool it: the result is the unfused one bit for bit.

// nchwcPoolOn lets Runners fuse such MaxPools (a variable so that tests
// and benchmarks can compare).
var nchwcPoolOn = true

// nchwcPoolMaxBand bounds the floats of one unit's band (the whole plane of
// output rows of every channel), so that it stays in L2 beside the
// weights.
const nchwcPoolMaxBand = 1 << 16

// nchwcPoolTakes reports whether the pathNCHWc convolution k, of geometry
// g with weights w of cg input and mg output channels, can run a 2x2
// stride-2 MaxPool of geometry pg on its output: one group, output
// channels in whole blocks, its activation a clamp, no residual, and a
// band of at most two output rows within nchwcPoolMaxBand.
func (k *convKernel) nchwcPoolTakes(g, pg *geom, w []float32, cg, mg int) bool {
	if k.grp != 1 || mg%16 != 0 || k.residual || k.scaled || k.thin || !k.runsNCHWc(g, w, cg, mg, g.OH*g.OW) {
		return false
	}
	if _, _, ok := k.clampBounds(); !ok {
		return false
	}
	return pool2x2Fits(g, pg) && 2*mg*g.OW <= nchwcPoolMaxBand
}

// pool2x2Fits reports whether a pool of geometry pg reads the whole output
// of a convolution of geometry g in 2x2 stride-2 windows, none past its
// edge (fast2): the pool pathStem and pathNCHWc can run inside the
// convolution.
func pool2x2Fits(g, pg *geom) bool {
	return pg.fast2() && pg.H == g.OH && pg.W == g.OW && pg.OH > 0 && pg.OW > 0
}

// poolBandOver reports whether a band of rows output rows (rounded up to
// whole pool windows) would exceed nchwcPoolMaxBand: nchwcPlanRun then
// cuts the plane into more row blocks (a 224x224 plane of 64 channels
// would take 3.2M floats whole).
func (j *convJob) poolBandOver(rows int) bool {
	return j.k.pooled && (j.Mg+15)/16*16*(rows+rows&1)*j.g.OW > nchwcPoolMaxBand
}

// nchwcPoolOutLen is the floats of a pooled pathNCHWc output (NCHW16c with
// its border, or NCHW).
func (j *convJob) nchwcPoolOutLen() int {
	b := j.k.yBorder
	if !j.k.yBlocked {
		b = 0
	}
	return j.g.N * j.M * (j.g.OH/2 + 2*b) * (j.g.OW/2 + 2*b)
}

// poolBand pools blocks [b0, b1) of band, a unit's output rows [oh0, oh1)
// of image n in NCHW16c, into output rows [oh0/2, oh1/2) of the MaxPool.
func (j *convJob) poolBand(band []float32, n, b0, b1, oh0, oh1 int) {
	g, k := &j.g, j.k
	oh, ow := g.OH/2, g.OW/2
	r0, r1 := oh0/2, min(oh1/2, oh)
	if r1 <= r0 {
		return
	}
	yb := k.yBorder
	yw := ow + 2*yb
	yp := yw * (oh + 2*yb) // floats per channel of the output
	if !k.yBlocked {
		yp = oh * ow
	}
	taps := [4]int{0, 64, 64 * g.OW, 64 * (g.OW + 1)}
	var tile [256]float32
	bp := j.nc.rows * g.OW * 16 // floats per block of the band
	for b := b0; b < b1; b++ {
		x := band[b*bp : (b+1)*bp]
		y := j.y[(n*j.M+b*16)*yp : (n*j.M+b*16+16)*yp]
		a := mpcArgs{sx: 128, rows: r1 - r0, n: ow, sxr: 64*2*g.OW - ow*128, tile: &tile[0], taps: &taps[0], ntaps: 4}
		y0 := r0 * ow
		if k.yBlocked {
			a.sy, a.syr, y0 = 64, 64*2*yb, ((r0+yb)*yw+yb)*16
		} else {
			a.sy, a.ys = 4, 4*yp
		}
		a.x, a.y = &x[0], &y[y0]
		maxPoolNCHWcRow(&a, x, y[y0:], taps[:])
		if k.yBlocked && yb > 0 {
			clearBorderRows(y, oh, yw, yb, r0, r1)
		}
	}
}
