package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

// TestQ8DirectC1Ladder runs the one-input-channel 3x3 stride-1 shapes (the
// direct kernel where the CPU has it) over widths around the 16-pixel
// chunk, asymmetric pads, odd channel counts, several images and threads,
// against the plain reference.
func TestQ8DirectC1Ladder(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var cases []q8ConvCase
	for _, w := range []int{1, 2, 5, 15, 16, 17, 31, 32, 33, 47} {
		c := q8ConvCase{n: 1 + w%3, cin: 1, h: 3 + w%5, w: w, cout: 1 + w%17, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1,
			pt: w % 2, pl: 1, pb: 1 - w%2, pr: (w + 1) % 3, group: 1, relu: w%2 == 0}
		if c.w+c.pl+c.pr < 3 {
			c.pr = 3 - c.w - c.pl
		}
		cases = append(cases, c)
	}
	// Large enough to be shared among threads (row blocks, several images).
	cases = append(cases,
		q8ConvCase{n: 1, cin: 1, h: 64, w: 50, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		q8ConvCase{n: 3, cin: 1, h: 40, w: 33, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1})
	q8CheckLadder(t, r, cases, nil)
	// Output scales that make the multipliers >= 2^-31·2^31/2 (shift
	// below 32): the kernel's 64-bit variant.
	// Inputs, weights and biases shrink so that outputs do not all saturate.
	q8CheckLadder(t, r, cases, func(f *q8ConvFixture) {
		f.yq.Scale = f.xq.Scale * f.wscale[0] * 1.5
		f.xq.Zero /= 8
		for i := range f.x {
			f.x[i] /= 16
		}
		for i := range f.w {
			f.w[i] /= 32
		}
		for i := range f.bias {
			f.bias[i] /= 64
		}
	})
}

// TestQ8QuadLadder runs shapes of the gathered-patch path (4·i input
// channels per group): strides, dilations, asymmetric pads, groups, output
// sizes around the 16-pixel panel, several images and threads.
func TestQ8QuadLadder(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	cases := []q8ConvCase{
		{n: 1, cin: 16, h: 16, w: 16, cout: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 2, cin: 4, h: 5, w: 7, cout: 17, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 1, pb: 2, pr: 0, group: 1},
		{n: 3, cin: 8, h: 9, w: 9, cout: 16, kh: 3, kw: 2, sh: 2, sw: 1, dh: 1, dw: 2, pt: 2, pl: 0, pb: 1, pr: 3, group: 1, relu: true},
		{n: 1, cin: 24, h: 6, w: 11, cout: 20, kh: 1, kw: 3, sh: 1, sw: 2, dh: 1, dw: 1, pt: 0, pl: 1, pb: 0, pr: 1, group: 2},
		{n: 1, cin: 12, h: 13, w: 3, cout: 33, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, group: 1},
		{n: 2, cin: 20, h: 8, w: 8, cout: 16, kh: 3, kw: 3, sh: 2, sw: 2, dh: 2, dw: 2, pt: 2, pl: 2, pb: 2, pr: 2, group: 1, perTensor: true},
		{n: 1, cin: 16, h: 4, w: 4, cout: 16, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1, group: 1, noBias: true},
		{n: 2, cin: 32, h: 5, w: 7, cout: 18, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 2, relu: true},
		{n: 1, cin: 32, h: 6, w: 10, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 0, pl: 2, pb: 1, pr: 0, group: 1},
		{n: 1, cin: 16, h: 3, w: 3, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
		{n: 3, cin: 16, h: 16, w: 16, cout: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1}, // shared among threads
		// Pointwise from the NCHW planes: channel tails, odd planes, groups.
		{n: 2, cin: 10, h: 7, w: 5, cout: 20, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1, relu: true},
		{n: 1, cin: 29, h: 9, w: 13, cout: 17, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1},
		{n: 2, cin: 12, h: 3, w: 3, cout: 8, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 2, perTensor: true},
		// Kernel rows as runs: RGB stems, one channel, grouped odd channels.
		{n: 2, cin: 3, h: 23, w: 17, cout: 16, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3, group: 1, relu: true},
		{n: 1, cin: 3, h: 15, w: 15, cout: 24, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
		{n: 1, cin: 1, h: 12, w: 12, cout: 16, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, group: 1},
		{n: 1, cin: 10, h: 8, w: 9, cout: 10, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 2},
		// Small planes at batch.
		{n: 37, cin: 32, h: 2, w: 2, cout: 40, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 5, cin: 16, h: 7, w: 7, cout: 24, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 2},
		{n: 9, cin: 200, h: 5, w: 3, cout: 16, kh: 3, kw: 3, sh: 2, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
	}
	q8CheckLadder(t, r, cases, nil)
}

// TestQ8ImplicitTiles runs the AVX2 implicit GEMM's tile edges (on a CPU
// with VNNI most of these take the quad path): output channels per group
// around its blocks of 16 and 8 (4, 8, 16, 24, 40), pixel counts around
// its tiles of 6 and blocks of 48 (1, 5, 6, 7, 13, 49), odd channel
// counts; then the same with every input and weight at -128 or 127, where
// int16 pair products reach 2·128·128 = 2^15 (exact in VPMADDWD's dwords,
// which an u8·s8 VPMADDUBSW would saturate).
func TestQ8ImplicitTiles(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	cases := []q8ConvCase{
		{n: 1, cin: 6, h: 2, w: 3, cout: 8, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1},
		{n: 2, cin: 5, h: 1, w: 7, cout: 24, kh: 1, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pl: 1, pr: 1, group: 1, relu: true},
		{n: 1, cin: 8, h: 1, w: 1, cout: 40, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
		{n: 1, cin: 7, h: 5, w: 5, cout: 16, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
		{n: 3, cin: 8, h: 13, w: 1, cout: 8, kh: 3, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pb: 1, group: 2},
		{n: 1, cin: 20, h: 7, w: 7, cout: 48, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
		{n: 1, cin: 3, h: 11, w: 9, cout: 24, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3, group: 1, relu: true},
	}
	q8CheckLadder(t, r, cases, nil)
	q8CheckLadder(t, r, cases, func(f *q8ConvFixture) {
		for i := range f.x {
			f.x[i] = int8(-128 + 255*r.IntN(2))
		}
		for i := range f.w {
			f.w[i] = int8(-128 + 255*r.IntN(2))
		}
		f.yq.Scale *= 300
	})
}

// TestQ8PlanePanels compares q8PlanePanels with the quad layout built by
// loops over channel counts around the groups of 4, pixel counts around
// the panels of 16 and start offsets (bytes of missing channels and
// pixels are not compared: the GEMM multiplies them by zero or drops them).
func TestQ8PlanePanels(t *testing.T) {
	if !q8HasAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(15, 16))
	for _, cn := range []int{1, 2, 3, 4, 5, 7, 8, 13} {
		for _, n := range []int{1, 15, 16, 17, 33, 48} {
			for _, p0 := range []int{0, 3} {
				plane := p0 + n + r.IntN(3)
				x := make([]int8, cn*plane)
				for i := range x {
					x[i] = int8(r.IntN(256) - 128)
				}
				cq := (cn + 3) / 4
				dst := make([]byte, (n+15)/16*cq*64)
				q8PlanePanels(x, plane, cn, p0, n, dst)
				for j := 0; j < n; j++ {
					for c := 0; c < cn; c++ {
						got := dst[j/16*cq*64+c/4*64+j%16*4+c%4]
						if want := uint8(x[c*plane+p0+j]) ^ 0x80; got != want {
							t.Fatalf("cn %d n %d p0 %d: pixel %d channel %d = %#x, want %#x", cn, n, p0, j, c, got, want)
						}
					}
				}
			}
		}
	}
}

// q8CheckLadder runs each case (fixture changed by tweak, if not nil)
// against the reference on 1, 2 and 3 threads, twice per runner.
func q8CheckLadder(t *testing.T, r *rand.Rand, cases []q8ConvCase, tweak func(*q8ConvFixture)) {
	for _, c := range cases {
		for _, threads := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/t%d", c.String(), threads), func(t *testing.T) {
				f := q8NewConvFixture(r, c)
				if tweak != nil {
					tweak(&f)
				}
				want, _ := q8RefConv(c, f)
				sat := 0
				for _, v := range want {
					if v == -128 || v == 127 {
						sat++
					}
				}
				if sat == len(want) {
					t.Fatal("all outputs saturated: the case tests nothing")
				}
				x := &Tensor{DType: Int8, Shape: []int{c.n, c.cin, c.h, c.w}, I8: f.x}
				p, err := Compile(q8ConvGraph(c, f))
				if err != nil {
					t.Fatal(err)
				}
				if k := p.kernels[0].(*q8Conv); k.c1 && k.c1shift32 == (tweak != nil) {
					t.Fatalf("direct kernel: shift32 %v with tweak %v", k.c1shift32, tweak != nil)
				}
				if k := p.kernels[0].(*q8Conv); !k.depthwise && k.pairs != (q8HasAVX2 && !k.quad && !k.c1 && (!blas.S8VNNI() || !k.pointwise && k.cinG%4 != 0)) {
					t.Fatalf("pairs path %v on a CPU with AVX2 %v, VNNI GEMM %v", k.pairs, q8HasAVX2, blas.S8VNNI())
				}
				if k := p.kernels[0].(*q8Conv); k.depthwise && (k.dwTaps != nil) != (q8HasAVX2 && k.sw <= 2) {
					t.Fatalf("SIMD depthwise path %v on a CPU with AVX2 %v, stride %d", k.dwTaps != nil, q8HasAVX2, k.sw)
				}
				run := p.NewRunner(threads)
				for rep := 0; rep < 2; rep++ { // warm run reuses the scratch
					out, err := run.Run(x)
					if err != nil {
						t.Fatal(err)
					}
					y := out[0]
					if len(y.I8) != len(want) {
						t.Fatalf("%d outputs, want %d", len(y.I8), len(want))
					}
					for i := range want {
						if y.I8[i] != want[i] {
							t.Fatalf("run %d element %d: kernel %d, reference %d", rep, i, y.I8[i], want[i])
						}
					}
				}
			})
		}
	}
}

// TestQ8RequantLanes compares the SIMD requantization (where the CPU has
// it) and its lane constants with q8Mult.apply over random accumulators,
// lengths around the 16-lane step, shifts 1..52 and extreme values.
func TestQ8RequantLanes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	avx2 := 0
	for trial := 0; trial < 300; trial++ {
		n := trial % 41
		real := math.Ldexp(0.5+r.Float64()*0.5, -r.IntN(40))
		m, err := q8Multiplier(real)
		if err != nil {
			t.Fatal(err)
		}
		corr := int64(r.IntN(1<<20)) - 1<<19
		yz := int32(r.IntN(256)) - 128
		lo, hi := int32(-128), int32(127)
		if trial%3 == 0 {
			lo = yz
		}
		k := &q8Conv{y: q8Params{Scale: 1, Zero: yz}, lo: lo, hi: hi, corr: []int64{corr}, mult: []q8Mult{m}, noSat: []bool{true}}
		l, ok := q8NewLane(corr, m, yz, true)
		if !ok {
			if m.S >= 1 && m.S <= 52 {
				t.Fatalf("lane refused for shift %d", m.S)
			}
			continue
		}
		k.lanes, k.laneOK, k.lohi = []q8Lane{l}, []bool{true}, [2]int64{int64(lo), int64(hi)}
		acc := make([]int32, n)
		bound := int64(math.MaxInt32) - max(corr, -corr)
		for i := range acc {
			switch i % 7 {
			case 0:
				acc[i] = int32(bound)
			case 1:
				acc[i] = int32(-bound)
			default:
				acc[i] = int32(r.Int64N(2*bound+1) - bound)
			}
		}
		got := make([]int8, n+1)
		got[n] = 55 // canary: the masked tail must not write past n
		k.requantRow(acc, got[:n], 0)
		for i, a := range acc {
			want := q8Clamp(int64(yz)+m.apply(int64(a)+corr), lo, hi)
			if got[i] != want {
				t.Fatalf("trial %d (m %d s %d corr %d zp %d) acc %d: got %d, want %d", trial, m.M, m.S, corr, yz, a, got[i], want)
			}
		}
		if got[n] != 55 {
			t.Fatalf("trial %d: wrote past the end", trial)
		}
		// The AVX2 kernel directly (requantRow prefers AVX-512).
		clear(got[:n])
		if q8RequantAVX2Lane(acc, got[:n], &l, &k.lohi) {
			for i, a := range acc {
				if want := q8Clamp(int64(yz)+m.apply(int64(a)+corr), lo, hi); got[i] != want {
					t.Fatalf("AVX2 trial %d (m %d s %d corr %d zp %d) acc %d: got %d, want %d", trial, m.M, m.S, corr, yz, a, got[i], want)
				}
			}
			avx2++
		}
		if got[n] != 55 {
			t.Fatalf("trial %d: AVX2 wrote past the end", trial)
		}
	}
	if q8HasAVX2 && avx2 < 100 {
		t.Fatalf("the AVX2 kernel ran %d times", avx2)
	}
}

// TestQ8QuantizeFast compares the SIMD QuantizeLinear (where the CPU has
// it) with QuantizeValue on ties, NaN, infinities, huge values and random
// ones, int8 and uint8, lengths around the 16-lane step.
func TestQ8QuantizeFast(t *testing.T) {
	if !q8HasAVX2 {
		t.Skip("no assembly kernel in this build")
	}
	t.Run("fast", func(t *testing.T) { testQ8Quantize(t, q8QuantizeFast) })
	t.Run("avx2", func(t *testing.T) {
		testQ8Quantize(t, func(x []float32, dst unsafe.Pointer, scale float32, zero, lo, hi int32) bool {
			q8QuantizeAVX2Tail(x, dst, scale, zero, lo, hi)
			return true
		})
	})
}

func testQ8Quantize(t *testing.T, quantize func(x []float32, dst unsafe.Pointer, scale float32, zero, lo, hi int32) bool) {
	r := rand.New(rand.NewPCG(15, 16))
	special := []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, float32(math.NaN()),
		float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 3e9, -3e9, 127.5, -128.5, 255.5, 1e-40}
	for trial := 0; trial < 200; trial++ {
		n := trial % 43
		scale := []float32{1, 0.5, 0.0039215689, 0.013, 3}[trial%5]
		x := make([]float32, n)
		for i := range x {
			if r.IntN(3) == 0 {
				x[i] = special[r.IntN(len(special))] * scale
			} else {
				x[i] = float32(r.NormFloat64()*200) * scale
			}
		}
		zero, lo, hi := int32(r.IntN(256)-128), int32(-128), int32(127)
		if trial%2 == 1 {
			zero, lo, hi = int32(r.IntN(256)), 0, 255
		}
		got := make([]byte, n+1)
		got[n] = 0xa5
		if n > 0 && !quantize(x, unsafe.Pointer(&got[0]), scale, zero, lo, hi) {
			t.Fatal("fast path refused")
		}
		for i, v := range x {
			if want := byte(QuantizeValue(v, scale, zero, lo, hi)); got[i] != want {
				t.Fatalf("trial %d: x %v scale %v zero %d: got %d, want %d", trial, v, scale, zero, got[i], want)
			}
		}
		if got[n] != 0xa5 {
			t.Fatalf("trial %d: wrote past the end", trial)
		}
	}
}

// TestQ8DepthwiseLadder runs depthwise shapes (the SIMD row kernel where
// the CPU has it, the plain loop otherwise): kernels 1x1 to 7x7 and
// rectangular, strides 1 to 3, dilations, asymmetric pads, widths around
// the 16-output block, several images and threads; each also with a
// channel multiplier of 2 or 3 and as a one-input-channel conv (the
// implicit GEMM's runs of one channel without VNNI).
func TestQ8DepthwiseLadder(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	var cases []q8ConvCase
	for i, w := range []int{1, 2, 7, 15, 16, 17, 31, 33, 40} {
		for _, ks := range [][2]int{{1, 1}, {3, 3}, {5, 5}, {7, 7}, {3, 5}, {2, 4}} {
			for _, s := range []int{1, 2, 3} {
				d := 1 + (i+ks[0]+s)%2*(1-s/3)
				c := q8ConvCase{n: 1 + i%2, cin: 3 + i%4, h: 3 + (i*5)%11, w: w, kh: ks[0], kw: ks[1], sh: s, sw: s, dh: d, dw: d,
					pt: ks[0] / 2, pl: ks[1]/2 + i%2, pb: (ks[0] - 1) / 2, pr: i % 3, relu: i%2 == 0, perTensor: s == 3}
				c.cout, c.group = c.cin, c.cin
				if (c.h+c.pt+c.pb-(c.dh*(c.kh-1)+1)) < 0 || (c.w+c.pl+c.pr-(c.dw*(c.kw-1)+1)) < 0 {
					continue
				}
				cases = append(cases, c)
				// A channel multiplier, and one input channel (a stem):
				// the depthwise path without the VNNI GEMM.
				m := c
				m.cout = c.cin * (2 + i%2)
				st := c
				st.cin, st.cout, st.group = 1, 8+i, 1
				cases = append(cases, m, st)
			}
		}
	}
	cases = append(cases, // large enough to be shared among threads
		q8ConvCase{n: 2, cin: 24, h: 28, w: 28, cout: 24, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, group: 24, relu: true},
		q8ConvCase{n: 1, cin: 16, h: 56, w: 56, cout: 16, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 0, pl: 0, pb: 1, pr: 1, group: 16})
	q8CheckLadder(t, r, cases, nil)
}

// TestQ8AVX512Off checks that GODEBUG=cpu.avx512f=off (which `make test`
// sets for a run of the int8 tests) switches the AVX-512 paths off, so
// that run tests the AVX2 ones.
func TestQ8AVX512Off(t *testing.T) {
	if !strings.Contains(os.Getenv("GODEBUG"), "cpu.avx512f=off") {
		t.Skip("GODEBUG=cpu.avx512f=off not set")
	}
	if q8HasAVX512 {
		t.Fatal("the AVX-512 int8 paths are on")
	}
	if blas.S8VNNI() {
		t.Fatal("the int8 GEMM uses the AVX-512 VNNI kernel")
	}
}

// TestQ8AddFast compares the AVX2 QLinearAddInt8 kernel with the plain
// arithmetic over random scales (shifts around its [10, 32] range), zero
// points, extreme inputs, ReLU bounds and lengths around the 8-lane step.
func TestQ8AddFast(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	ran := 0
	for trial := 0; trial < 400; trial++ {
		n := trial % 37
		if trial%50 == 0 {
			n = 1000
		}
		sa := float32(math.Ldexp(0.5+r.Float64(), r.IntN(13)-6))
		sb := float32(math.Ldexp(0.5+r.Float64(), r.IntN(13)-6))
		sy := float32(math.Ldexp(0.5+r.Float64(), r.IntN(5)-2))
		ma, mb, s, err := q8AddMultipliers(sa, sb, sy)
		if err != nil {
			continue
		}
		za, zb, zy := int64(r.IntN(256)-128), int64(r.IntN(256)-128), int64(r.IntN(256)-128)
		lo, hi := int32(-128), int32(127)
		if trial%3 == 0 {
			lo = int32(zy)
		}
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i], b[i] = int8(r.IntN(256)-128), int8(r.IntN(256)-128)
			if i%5 == 0 {
				a[i], b[i] = []int8{-128, 127}[r.IntN(2)], []int8{-128, 127}[r.IntN(2)]
			}
		}
		got := make([]int8, n+1)
		got[n] = 55
		c0 := -za*ma - zb*mb
		hz := int64(1)<<(s-1) + zy<<s
		if !q8AddFast(a, b, got[:n], ma, mb, c0, hz, s, lo, hi) {
			continue
		}
		ran++
		for i := range a {
			v := (int64(a[i])-za)*ma + (int64(b[i])-zb)*mb
			if want := q8Clamp(zy+q8RoundShift(v, s), lo, hi); got[i] != want {
				t.Fatalf("trial %d (ma %d mb %d s %d, zps %d %d %d) a %d b %d: got %d, want %d", trial, ma, mb, s, za, zb, zy, a[i], b[i], got[i], want)
			}
		}
		if got[n] != 55 {
			t.Fatalf("trial %d: wrote past the end", trial)
		}
	}
	if q8HasAVX2 && ran < 100 {
		t.Fatalf("the AVX2 kernel ran %d times", ran)
	}
}

// TestQ8QuadPanel compares q8QuadPanel's transposes with the quad layout
// built by loops, over runs of 1 to 40 groups (the 16-group blocks and
// their tails), one to three taps and pixel offsets anywhere in a plane;
// it also checks that nothing is written past the panel's slack.
func TestQ8QuadPanel(t *testing.T) {
	if !q8HasAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(17, 18))
	for _, cq := range []int{1, 2, 6, 15, 16, 17, 32, 40} {
		for ntap := 1; ntap <= 3; ntap++ {
			plane := 4*cq*(ntap+20) + 64 // the runs, and 63 readable bytes past the last
			src := make([]int8, plane)
			for i := range src {
				src[i] = int8(r.IntN(256) - 128)
			}
			taps := make([]int32, ntap)
			for i := range taps {
				taps[i] = int32(i * 4 * cq * 2)
			}
			var idx [16]int32
			maxOff := plane - 64 - int(taps[ntap-1]) - 4*cq
			for j := range idx {
				idx[j] = int32(r.IntN(maxOff + 1))
			}
			panel := ntap * cq * 64
			dst := make([]byte, panel+q8PanelSlack+64)
			for i := range dst {
				dst[i] = 0x5a
			}
			q8QuadPanel(src, &idx, taps, cq, dst[:panel+q8PanelSlack])
			for tp := 0; tp < ntap; tp++ {
				for g := 0; g < cq; g++ {
					for j := 0; j < 16; j++ {
						for q := 0; q < 4; q++ {
							got := dst[(tp*cq+g)*64+4*j+q]
							want := uint8(src[int(idx[j])+int(taps[tp])+4*g+q]) ^ 0x80
							if got != want {
								t.Fatalf("cq %d taps %d: tap %d group %d pixel %d byte %d = %#x, want %#x", cq, ntap, tp, g, j, q, got, want)
							}
						}
					}
				}
			}
			for i := panel + q8PanelSlack; i < len(dst); i++ {
				if dst[i] != 0x5a {
					t.Fatalf("cq %d taps %d: byte %d past the slack written", cq, ntap, i-panel)
				}
			}
		}
	}
}

// TestQ8OctRow compares q8OctRow (8 channels to a channel-last int16
// plane by AVX2 transposes, blocks of 16 and 8 pixels and a Go tail) with
// the definition over pixel counts 1-40, three pixel pitches and start
// pixels, and checks nothing else in the plane is written.
func TestQ8OctRow(t *testing.T) {
	if !q8HasAVX2 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(19, 20))
	const plane = 53
	x := make([]int8, 11*plane)
	for i := range x {
		x[i] = int8(r.Uint32())
	}
	for _, cp := range []int{8, 10, 24} {
		for n := 1; n <= 40; n++ {
			for _, p0 := range []int{0, 3, plane - n} {
				c, o := 2, 5
				got := make([]int16, o+n*cp+8)
				for i := range got {
					got[i] = 7777
				}
				q8OctRow(x, plane, c, p0, n, got, o, cp)
				for i := range got {
					want := int16(7777)
					if p, j := (i-o)/cp, (i-o)%cp; i >= o && p < n && j < 8 {
						want = int16(x[(c+j)*plane+p0+p])
					}
					if got[i] != want {
						t.Fatalf("cp=%d n=%d p0=%d: t[%d] = %d, want %d", cp, n, p0, i, got[i], want)
					}
				}
			}
		}
	}
}
