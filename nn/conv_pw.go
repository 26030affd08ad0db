package nn

import (
	"math"
	"sync"
)

// pathPW: a 1x1 convolution on a small plane as out^T = x^T·w^T, the
// vector lanes across output channels (the formulation of MLAS's NCHWc
// pointwise kernel), instead of pathPointwise's GEMM with the lanes across
// pixels. A 7x7 plane fills 49 of the 64 columns of two 32-wide GEMM tiles
// and a 14x14 one 196 of 224; pathPW takes output channel counts that are
// multiples of 16, so no lane is wasted. The inputs are read in place (each kernel call
// broadcasts pwRows consecutive pixels of every input channel) and the
// weights are packed once per layer into panels of up to pwPanel channels;
// the store transposes the tile in registers into rows of the channels'
// NCHW planes, with the bias, the fused residual and the clamp on the way
// (scattered stores cost up to a quarter more on 14x14 planes).

const (
	pwRows  = 7  // output pixels per kernel call (7x7, 14x14, 28x28 planes: no remainder)
	pwPanel = 48 // output channels per weight panel (three vectors)
)

// pwOn enables pathPW, pwAny for every layer it can take (not only where
// pwPays); pwMaxP is the largest plane (output pixels) that takes it:
// beyond, pathPointwise's tiles are full and its GEMM faster (variables so
// that benchmarks and tests can compare).
var (
	pwOn, pwAny = true, false
	pwMaxP      = 196
)

// pwPays reports whether pathPW beats pathPointwise on a plane of p pixels
// with c input channels. BenchmarkConvPW, cpu-µs, GEMM -> pathPW: on 7x7
// 960->320 391 -> 273, 320->1280 477 -> 364, 160->960 176 -> 139, 32->192
// 8.5 -> 6.8; on 14x14 576->96 238 -> 195, 96->576 217 -> 205, 64->384 98
// -> 94, 32->192 even; on 28x28 the GEMM's tiles are nearly full and it
// wins (192->64 175 against 192).
func pwPays(p, c int) bool {
	return pwAny || p <= pwMaxP && (p <= 49 || c >= 32)
}

// pwWeights are the constant weights (M×C) of a 1x1 convolution, packed
// for pathPW on first use (layers on large planes never need them) and
// shared by the kernel's copies (fused variants).
type pwWeights struct {
	panels func() []float32
}

// newPWWeights returns the lazily packed weights of m output channels
// (a multiple of 16) by k inputs, or nil when pathPW cannot take them.
func newPWWeights(m, k int, w []float32) *pwWeights {
	if !pwHave || m%16 != 0 || k == 0 || len(w) != m*k {
		return nil
	}
	return &pwWeights{panels: sync.OnceValue(func() []float32 { return packPW(m, k, w) })}
}

// pwPanels returns how many weight panels m output channels take, and
// pwPanelAt the first channel and width of panel q: pwPanel channels each,
// the rest in the last one, except that a rest of 16 after a full panel
// makes two panels of 32: a one-vector tile loads a weight vector and
// broadcasts seven inputs for seven FMAs, half the rate of two vectors.
func pwPanels(m int) int { return (m + pwPanel - 1) / pwPanel }

func pwPanelAt(m, q int) (m0, cw int) {
	full := m / pwPanel
	if m%pwPanel == 16 && full >= 1 && q >= full-1 {
		return (full-1)*pwPanel + (q-full+1)*32, 32
	}
	m0 = q * pwPanel
	return m0, min(pwPanel, m-m0)
}

// packPW packs the m×k weights w into panels (pwPanelAt): the panel of
// channels [m0, m0+cw) starts at m0·k and holds, per input channel c, the
// cw weights w[m0.., c].
func packPW(m, k int, w []float32) []float32 {
	d := make([]float32, m*k)
	for q := range pwPanels(m) {
		m0, cw := pwPanelAt(m, q)
		panel := d[m0*k : (m0+cw)*k]
		for i := 0; i < cw; i++ {
			row := w[(m0+i)*k : (m0+i+1)*k]
			for c, v := range row {
				panel[c*cw+i] = v
			}
		}
	}
	return d
}

// pwArgs is the argument block of the kernels (offsets checked in
// conv_pw_amd64.go): one call computes pixels [p0, p0+pwRows) of 16·nv
// output channels.
type pwArgs struct {
	x    *float32 // input channel 0 at pixel p0
	ldx  int      // bytes between input channels
	w    *float32 // the weight panel
	k    int      // input channels (at least 1)
	y    *float32 // output: the panel's first channel at pixel p0
	r    *float32 // the residual at y's position, or nil
	bias *float32 // 16·nv biases
	lo   float32  // clamp
	hi   float32  //
	ldy  int      // bytes between output channels
	pf   *float32 // k cache lines to prefetch into L2, one per input channel
}

// pwZeros serves layers without a bias.
var pwZeros [pwPanel]float32

// pwTileRef is the plain-Go reference of the kernels: pixels [0, rows) of
// x (channel c at x[c·ldx:]) times the k×cw panel w into y (channel i at
// y[i·ldy:]), adding bias, r (laid out as y, or nil) and clamping to
// [lo, hi] with NaN kept, as the kernels do.
func pwTileRef(x []float32, ldx, k int, w []float32, cw int, y, r []float32, ldy int, bias []float32, lo, hi float32, rows int) {
	for i := 0; i < cw; i++ {
		for p := 0; p < rows; p++ {
			var s float32
			for c := 0; c < k; c++ {
				s = float32(math.FMA(float64(x[c*ldx+p]), float64(w[c*cw+i]), float64(s)))
			}
			s += bias[i]
			if r != nil {
				s += r[i*ldy+p]
			}
			y[i*ldy+p] = min(max(s, lo), hi)
		}
	}
}

// clampBounds returns the clamp that the fused activation is, if it is
// one (actClamp).
func (k *convKernel) clampBounds() (lo, hi float32, ok bool) { return actClamp(k.act, k.actA, k.actB) }

// pwPlan makes j a pathPW job when the layer suits it (1x1 stride 1
// unpadded, one group, constant weights packed, a plane of at least pwRows
// pixels where pwPays) and returns its units: (channel panel, image, pixel
// block). With several threads and few panels the plane is cut into blocks
// of whole kernel rows. Input scales (a squeeze-and-excitation Mul fused
// into the convolution) are applied here, to a copy of the input in rc's
// scratch: every panel reads all of it.
func (j *convJob) pwPlan(rc *RunContext, macs int64) (units int, ok bool) {
	k := j.k
	if !pwOn || k.pw == nil || k.grp != 1 || j.P < pwRows || !pwPays(j.P, j.Cg) || k.packedFor(j.w, 0) == nil {
		return 0, false
	}
	j.path = pathPW
	if j.s != nil {
		sx := rc.ScratchF32(len(j.x))
		for i := range j.s {
			binLine(opMul, sx[i*j.P:(i+1)*j.P], j.x[i*j.P:(i+1)*j.P], j.s[i:i+1], 1, 0)
		}
		j.x = sx
	}
	nq := pwPanels(j.M)
	j.pb, j.nPB = j.P, 1
	// Blocks of whole tiles only: a plane with a remainder ends in a tile
	// that overlaps the one before, which must stay in the same unit.
	if ng := j.g.N * nq; rc.Threads > 1 && macs >= 2*minParallelWork && ng < 4*rc.Threads && j.P%pwRows == 0 {
		tiles := j.P / pwRows
		nb := min(tiles, (4*rc.Threads+ng-1)/ng)
		j.pb = (tiles + nb - 1) / nb * pwRows
		j.nPB = (j.P + j.pb - 1) / j.pb
	}
	return j.g.N * nq * j.nPB, true
}

// pwRun computes units [lo, hi) of pathPW.
func (j *convJob) pwRun(lo, hi int) {
	P, M, C := j.P, j.M, j.Cg
	panels := j.k.pw.panels()
	nq := pwPanels(M)
	var a pwArgs
	a.ldx, a.k, a.ldy = 4*P, C, 4*P
	var clamped bool
	a.lo, a.hi, clamped = j.k.clampBounds()
	for u := lo; u < hi; u++ {
		// Images inside channel panels: a panel's weights serve every
		// image of a batch while in cache.
		q, rest := u/(j.g.N*j.nPB), u%(j.g.N*j.nPB)
		n, b := rest/j.nPB, rest%j.nPB
		m0, cw := pwPanelAt(M, q)
		a.w = &panels[m0*C]
		a.bias = &pwZeros[0]
		if j.b != nil {
			a.bias = &j.b[m0]
		}
		p0, p1 := b*j.pb, min(b*j.pb+j.pb, P)
		x := j.x[n*C*P : (n+1)*C*P]
		yoff := (n*M + m0) * P
		y := j.y[yoff : yoff+cw*P]
		var r []float32
		if j.r != nil {
			r = j.r[yoff : yoff+cw*P]
		}
		// The first tiles of a panel fetch the next panel's weights into
		// L2, a line per input channel each: at batch 1 a layer's weights
		// come from L3 or memory, and the first tile would wait for them.
		var next []float32
		if q+1 < nq {
			m1, cw1 := pwPanelAt(M, q+1)
			next = panels[m1*C : (m1+cw1)*C]
		}
		for p := p0; p < p1; p += pwRows {
			a.pf = a.w
			if t := (p - p0) / pwRows * 16 * C; t < len(next) {
				a.pf = &next[t]
			}
			p = min(p, P-pwRows) // the last tile of a plane with a remainder
			a.x, a.y = &x[p], &y[p]
			if r != nil {
				a.r = &r[p]
			}
			pwTile(&a, cw/16)
		}
		if !clamped {
			for i := 0; i < cw; i++ {
				applyAct(j.k.act, j.k.actA, j.k.actB, y[i*P+p0:i*P+p1])
			}
		}
	}
}
