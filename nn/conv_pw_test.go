package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestPWTileLadder checks the pathPW kernels against pwTileRef over a
// ladder of depths, plane widths, tile positions and channel vectors, with
// and without a residual and a clamp, including NaN inputs; pixels outside
// the tile must stay untouched.
func TestPWTileLadder(t *testing.T) {
	if !pwHave {
		t.Skip("no pathPW kernel in this build")
	}
	r := newRand(7)
	const sentinel = 12345
	i := 0
	for _, k := range []int{1, 2, 3, 5, 16, 17, 64, 161} {
		for _, p := range []int{7, 9, 49, 50} {
			for nv := 1; nv <= 3; nv++ {
				i++
				cw := 16 * nv
				p0 := []int{0, p - pwRows, (p - pwRows) / 2}[i%3]
				x := randT(r, k, p).F32
				w := randT(r, k, cw).F32
				bias := randT(r, cw).F32
				var res []float32
				if i%2 == 0 {
					res = randT(r, cw, p).F32
				}
				lo, hi := negInf32, posInf32
				switch i % 3 {
				case 1:
					lo = 0
				case 2:
					lo, hi = -0.25, 0.5
				}
				if i%5 == 0 {
					x[(k-1)*p+p0+3] = float32(math.NaN())
				}
				want := make([]float32, cw*p)
				got := make([]float32, cw*p)
				for j := range want {
					want[j], got[j] = sentinel, sentinel
				}
				var rt []float32
				if res != nil {
					rt = res[p0:]
				}
				pwTileRef(x[p0:], p, k, w, cw, want[p0:], rt, p, bias, lo, hi, pwRows)
				a := pwArgs{x: &x[p0], ldx: 4 * p, w: &w[0], k: k, y: &got[p0], bias: &bias[0], lo: lo, hi: hi, ldy: 4 * p}
				a.pf = a.w
				if res != nil {
					a.r = &res[p0]
				}
				pwTile(&a, nv)
				name := fmt.Sprintf("k%d_p%d_nv%d_at%d_res%v_lo%v", k, p, nv, p0, res != nil, lo)
				for j, wv := range want {
					gv := got[j]
					if math.IsNaN(float64(wv)) != math.IsNaN(float64(gv)) || math.Abs(float64(gv-wv)) > 1e-5*math.Max(1, math.Abs(float64(wv))) {
						t.Fatalf("%s: [%d] = %v, want %v", name, j, gv, wv)
					}
				}
			}
		}
	}
}

// TestPWPanels checks that the weight panels cover the output channels in
// order, 48 wide but for the last: 16 or 32 alone, or 32 and 32 after
// 48·k + 16.
func TestPWPanels(t *testing.T) {
	for m := 16; m <= 1280; m += 16 {
		var widths []int
		next := 0
		for q := range pwPanels(m) {
			m0, cw := pwPanelAt(m, q)
			if m0 != next || cw%16 != 0 || cw < 16 || cw > pwPanel {
				t.Fatalf("m=%d: panel %d at %d width %d, want at %d, 16-48 wide", m, q, m0, cw, next)
			}
			next += cw
			widths = append(widths, cw)
		}
		if next != m {
			t.Fatalf("m=%d: panels %v cover %d", m, widths, next)
		}
		if last := widths[len(widths)-1]; m > 48 && last == 16 {
			t.Errorf("m=%d: panels %v end with a one-vector panel", m, widths)
		}
	}
}

// runConvPW runs a 1x1 convolution kernel (weights packed as Compile
// packs them) with pathPW on or off, with input scales if sc is not nil.
func runConvPW(t testing.TB, on bool, act activation, a, b float32, threads int, x, w, bias, res, sc *Tensor) *Tensor {
	t.Helper()
	saved := pwOn
	pwOn = on
	defer func() { pwOn = saved }()
	k := &convKernel{win: winAttrs{op: "Conv"}, grp: 1, act: act, actA: a, actB: b, residual: res != nil, scaled: sc != nil}
	k.pack(w)
	in := []*Tensor{x, w, bias, res, sc}
	out := New(Float32, x.Shape[0], w.Shape[0], x.Shape[2], x.Shape[3])
	for i := range out.F32 {
		out.F32[i] = float32(math.NaN()) // kernels must write every output
	}
	if err := k.Run(&RunContext{Threads: threads}, in, []*Tensor{out}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConvPWMatchesGEMM compares pathPW with pathPointwise over planes
// with and without a remainder of whole tiles, channel counts with every
// last-panel width, batches, biases, fused residuals, input scales and
// activations (a clamp in the kernel, Sigmoid after it), on one and two
// threads.
func TestConvPWMatchesGEMM(t *testing.T) {
	if !pwHave {
		t.Skip("no pathPW kernel in this build")
	}
	pwAny = true // every layer below takes pathPW
	defer func() { pwAny = false }()
	r := newRand(8)
	acts := []struct {
		act  activation
		a, b float32
	}{{actNone, 0, 0}, {actRelu, 0, 0}, {actClip, 0, 6}, {actSigmoid, 0, 0}, {actClip, 1, -1}}
	i := 0
	for _, hw := range [][2]int{{7, 7}, {14, 14}, {3, 3}, {5, 10}, {1, 7}} {
		for _, m := range []int{16, 32, 48, 64, 96, 160, 320} {
			i++
			n := 1 + i%2
			c := []int{3, 16, 96, 160}[i%4]
			x := randT(r, n, c, hw[0], hw[1])
			w := randT(r, m, c, 1, 1)
			var bias, res *Tensor
			if i%3 != 0 {
				bias = randT(r, m)
			}
			if i%2 == 0 {
				res = randT(r, n, m, hw[0], hw[1])
			}
			var sc *Tensor // a fused squeeze-and-excitation Mul
			if i%3 == 1 && c > 1 {
				sc = randT(r, n, c, 1, 1)
			}
			ac := acts[i%len(acts)]
			threads := 1 + i%2
			name := fmt.Sprintf("n%d_c%d_m%d_%dx%d_act%d_t%d_res%v_scaled%v", n, c, m, hw[0], hw[1], ac.act, threads, res != nil, sc != nil)
			// The plan takes the layer.
			k := &convKernel{win: winAttrs{op: "Conv"}, grp: 1}
			k.pack(w)
			g, err := k.geometry([]Type{x.Type(), w.Type()})
			if err != nil {
				t.Fatal(err)
			}
			j := convJob{k: k, g: g, w: w.F32, M: m, Cg: c, Mg: m, K: c, P: hw[0] * hw[1]}
			if _, ok := j.pwPlan(&RunContext{Threads: threads}, 1<<30); !ok {
				t.Fatalf("%s: pwPlan declined", name)
			}
			got := runConvPW(t, true, ac.act, ac.a, ac.b, threads, x, w, bias, res, sc)
			want := runConvPW(t, false, ac.act, ac.a, ac.b, 1, x, w, bias, res, sc)
			checkClose(t, name, got, want.Shape, toF64(want.F32))
		}
	}
}

// TestConvPWPlan checks which layers pathPW takes: 1x1 layers on 7x7 and
// 14x14 planes; not planes below one tile or above pwMaxP, very shallow
// layers on 14x14, channel counts not a multiple of 16, groups.
func TestConvPWPlan(t *testing.T) {
	if !pwHave {
		t.Skip("no pathPW kernel in this build")
	}
	r := newRand(9)
	for _, c := range []struct {
		name            string
		m, c, grp, h, w int
		want            bool
	}{
		{"deep_7x7", 320, 960, 1, 7, 7, true},
		{"shallow_7x7", 960, 160, 1, 7, 7, true},
		{"deep_14x14", 96, 576, 1, 14, 14, true},
		{"small_plane", 32, 512, 1, 2, 3, false},
		{"large_plane", 32, 512, 1, 28, 28, false},
		{"shallow_14x14", 64, 384, 1, 14, 14, true},
		{"shallower_14x14", 192, 16, 1, 14, 14, false},
		{"m24", 24, 128, 1, 7, 7, false},
		{"grouped", 32, 128, 2, 7, 7, false},
	} {
		x := randT(r, 1, c.c, c.h, c.w)
		w := randT(r, c.m, c.c/c.grp, 1, 1)
		k := &convKernel{win: winAttrs{op: "Conv"}, grp: c.grp}
		k.pack(w)
		g, err := k.geometry([]Type{x.Type(), w.Type()})
		if err != nil {
			t.Fatal(err)
		}
		j := convJob{k: k, g: g, w: w.F32, M: c.m, Cg: c.c / c.grp, Mg: c.m / c.grp, P: c.h * c.w}
		if _, ok := j.pwPlan(&RunContext{Threads: 1}, 1<<30); ok != c.want {
			t.Errorf("%s: pwPlan took the layer: %v, want %v", c.name, ok, c.want)
		}
	}
}

// BenchmarkConvPW compares pathPointwise ("gemm") with pathPW ("pw") on
// MobileNetV2's 1x1 layers on 7x7, 14x14 and 28x28 planes (with their
// fused residuals and ReLU6) and EfficientNet-B0's projections after a
// squeeze-and-excitation (fused input scales), at 1 and 2 threads.
func BenchmarkConvPW(b *testing.B) {
	pwAny = true
	defer func() { pwAny = false }()
	for _, s := range []struct {
		c, hw, m int
		act      activation
		res, sc  bool
	}{
		{960, 7, 320, actNone, false, false},
		{320, 7, 1280, actClip, false, false},
		{960, 7, 160, actNone, true, false},
		{160, 7, 960, actClip, false, false},
		{576, 14, 96, actNone, true, false},
		{96, 14, 576, actClip, false, false},
		{384, 14, 64, actNone, true, false},
		{64, 14, 384, actClip, false, false},
		{32, 7, 192, actClip, false, false},
		{32, 14, 192, actClip, false, false},
		{48, 14, 288, actClip, false, false},
		{1152, 7, 320, actNone, false, true}, // EfficientNet-B0's last block, after its SE
		{672, 14, 112, actNone, false, true},
		{192, 28, 64, actNone, false, false},
		{32, 28, 192, actClip, false, false},
	} {
		r := newRand(10)
		x := randT(r, 1, s.c, s.hw, s.hw)
		w := randT(r, s.m, s.c, 1, 1)
		bias := randT(r, s.m)
		var res, sc *Tensor
		if s.res {
			res = randT(r, 1, s.m, s.hw, s.hw)
		}
		if s.sc {
			sc = randT(r, 1, s.c, 1, 1)
		}
		for _, threads := range []int{1, 2} {
			for _, on := range []bool{false, true} {
				name := map[bool]string{false: "gemm", true: "pw"}[on]
				b.Run(fmt.Sprintf("%d_%dx%d_%d/%s/t%d", s.c, s.hw, s.hw, s.m, name, threads), func(b *testing.B) {
					saved := pwOn
					pwOn = on
					defer func() { pwOn = saved }()
					k := &convKernel{win: winAttrs{op: "Conv"}, grp: 1, act: s.act, actA: 0, actB: 6, residual: s.res, scaled: s.sc}
					k.pack(w)
					in := []*Tensor{x, w, bias, res, sc}
					out := []*Tensor{New(Float32, 1, s.m, s.hw, s.hw)}
					rc := &RunContext{Threads: threads}
					benchCPU(b, threads == 1, func() {
						if err := k.Run(rc, in, out); err != nil {
							b.Fatal(err)
						}
					})
				})
			}
		}
	}
}

// BenchmarkConvPWLarge compares pathPointwise's GEMM ("gemm") with
// pathNCHWc ("nchwc") on 1x1 layers on planes too large for pathPW:
// DenseNet's bottlenecks (128 outputs from 64-224 inputs on 56x56, from
// 128 on 28x28), ResNet-50's expansions, a 64->64 on 28x28 and
// MobileNetV2's projections (nchwcPointwise); "nchwc16c" writes NCHW16c
// (DenseNet's bottleneck hands its 3x3 conv its output so).
func BenchmarkConvPWLarge(b *testing.B) {
	for _, s := range []struct{ m, c, hw int }{
		{128, 64, 56}, {128, 96, 56}, {128, 224, 56}, {128, 128, 28},
		{256, 64, 56}, {512, 128, 28}, {64, 64, 28}, {24, 144, 56}, {32, 192, 28},
		{128, 256, 56}, {256, 512, 28}, {128, 512, 28},
	} {
		cb := convBench{fmt.Sprintf("%d_%dx%d_%d", s.c, s.hw, s.hw, s.m), 1, s.c, s.hw, s.hw, s.m, 1, 1, 1}
		for _, mode := range []string{"gemm", "nchwc", "nchwc16c"} {
			b.Run(cb.name+"/"+mode, func(b *testing.B) {
				savedCg, savedWide, savedForce := nchwcPointwiseMinCg, nchwcPointwiseWide, nchwcForce
				defer func() { nchwcPointwiseMinCg, nchwcPointwiseWide, nchwcForce = savedCg, savedWide, savedForce }()
				nchwcPointwiseWide = 0
				nchwcPointwiseMinCg = map[string]int{"gemm": 0, "nchwc": 1, "nchwc16c": 1}[mode]
				nchwcForce = mode != "gemm" // with the AVX2 kernel too
				benchConvKernel(b, cb, false, actRelu, 1, func(k *convKernel) {
					k.yBlocked = mode == "nchwc16c" && s.m%16 == 0 // output in NCHW16c (layout.go)
				})
			})
		}
	}
}
