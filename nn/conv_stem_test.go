package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// stemLadder are thin stems (one or two input channels) pathStem takes:
// windows 2 to 7, strides 1 and 2, dilation, asymmetric pads, odd planes,
// one to three blocks of output channels.
var stemLadder = []fpConvSpec{
	{n: 1, c: 1, h: 32, w: 32, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // seednet's conv1
	{n: 3, c: 1, h: 28, w: 28, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}},
	{n: 1, c: 2, h: 13, w: 11, m: 32, kh: 5, kw: 5, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}, bias: true},
	{n: 2, c: 1, h: 9, w: 21, m: 48, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 2, dw: 2, pads: [4]int{2, 2, 2, 2}, bias: true},
	{n: 1, c: 1, h: 19, w: 23, m: 16, kh: 7, kw: 7, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{3, 3, 3, 3}, bias: true},
	{n: 2, c: 2, h: 12, w: 40, m: 16, kh: 4, kw: 2, group: 1, sh: 2, sw: 1, dh: 1, dw: 1, pads: [4]int{0, 1, 2, 0}},
	{n: 1, c: 1, h: 6, w: 5, m: 20, kh: 2, kw: 3, group: 1, sh: 1, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 0, 0, 1}, bias: true},
}

// TestStemMatchesNCHWc checks pathStem against pathNCHWc (and a MaxPool
// after it for the pooled kernel) over stemLadder, into NCHW16c with
// borders of 0 to 2 pixels and, pooled, into NCHW, on 1 and 2 threads,
// with the assembly kernels and the Go kernel: bit for bit where both
// sides run assembly (the same sums in the same order), and that every
// output value and the border's zeros are written (the output starts as
// NaN).
func TestStemMatchesNCHWc(t *testing.T) {
	savedOn, savedAsm, savedForce, savedNC, savedWide, savedNCWide := stemOn, stemAsm, stemForce, nchwcForce, stemWide, nchwcWide
	defer func() {
		stemOn, stemAsm, stemForce, nchwcForce, stemWide, nchwcWide = savedOn, savedAsm, savedForce, savedNC, savedWide, savedNCWide
	}()
	nchwcForce = !nchwcHave
	r := newRand(218)
	isas := nchwcISAs() // AVX-512, AVX2: pathStem and pathNCHWc alike
	if len(isas) == 0 {
		isas = []bool{false}
	}
	for _, wide := range isas {
		stemWide, nchwcWide = wide, wide
		testStemLadder(t, r)
	}
}

func testStemLadder(t *testing.T, r interface{ Float64() float64 }) {
	for i, s := range stemLadder {
		for _, pooled := range []bool{false, true} {
			for _, yb := range []int{-1, 0, 1, 2} { // -1: NCHW
				if yb < 0 && !pooled || yb >= 0 && s.m%16 != 0 {
					continue
				}
				for _, asm := range []bool{true, false} {
					if asm && !stemHave {
						continue
					}
					stemAsm, stemForce = asm, !asm
					for _, threads := range []int{1, 2} {
						// zeroClip: Clip to [-0, +0], so the pool's
						// windows hold -0 and +0 (their maximum is +0).
						for _, zeroClip := range []bool{false, true} {
							if zeroClip && !pooled {
								continue
							}
							name := fmt.Sprintf("%v/pooled=%v/border=%d/asm=%v/wide=%v/t%d/zeroClip=%v", s, pooled, yb, asm, stemWide, threads, zeroClip)
							act := actRelu
							if i%2 == 1 || zeroClip {
								act = actClip
							}
							testStem(t, r, name, s, act, zeroClip, pooled, yb, threads, asm && nchwcHave && nchwcAsm)
						}
					}
				}
			}
		}
	}
}

func testStem(t *testing.T, r interface{ Float64() float64 }, name string, s fpConvSpec, act activation, zeroClip, pooled bool, yb, threads int, exact bool) {
	x, w, in, k := specConv(r, s, act)
	if zeroClip {
		k.actA, k.actB = float32(math.Copysign(0, -1)), 0
	}
	k.thin = true
	k.pack(w)
	rc := &RunContext{Threads: threads}
	ot, err := k.OutputTypes([]Type{x.Type(), w.Type()})
	if err != nil {
		t.Fatal(err)
	}
	sh := ot[0].Shape
	// The reference: pathNCHWc into NCHW, then the MaxPool.
	stemOn = false
	want := New(Float32, sh...)
	if err := k.Run(rc, in, []*Tensor{want}); err != nil {
		t.Fatal(err)
	}
	stemOn = true
	if pooled {
		pk := &poolKernel{win: winAttrs{op: "MaxPool", kernel: []int{2, 2}, strides: []int{2, 2}}, max: true}
		pt, err := pk.OutputTypes([]Type{want.Type()})
		if err != nil {
			t.Fatal(err)
		}
		p := New(Float32, pt[0].Shape...)
		if err := pk.Run(rc, []*Tensor{want}, []*Tensor{p}); err != nil {
			t.Fatal(err)
		}
		want, sh = p, pt[0].Shape
	}
	kc := *k
	kc.pooled = pooled
	kc.yBlocked, kc.yBorder = yb >= 0, max(yb, 0)
	b := kc.yBorder
	out := New(Float32, sh...)
	out.F32 = make([]float32, sh[0]*sh[1]*(sh[2]+2*b)*(sh[3]+2*b))
	outs := []*Tensor{out}
	run := func() {
		if err := kc.Run(rc, in, outs); err != nil {
			t.Fatal(err)
		}
	}
	for i := range out.F32 {
		out.F32[i] = float32(math.NaN())
	}
	run()
	got := unblockedOut(t, name, out, kc.yBlocked, b)
	for i, v := range want.F32 {
		g := got[i]
		if exact && math.Float32bits(g) != math.Float32bits(v) || math.IsNaN(float64(g)) || math.Abs(float64(g-v)) > 1e-5*float64(s.c*s.kh*s.kw) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, g, v)
		}
	}
	if allocs := allocstest.Steady(5, run); allocs != 0 && !raceEnabled {
		t.Errorf("%s: warm run allocates %v times", name, allocs)
	}
}

// specConv returns random input, weights and bias (if s has one) of
// convolution s, the kernel's inputs, and its kernel with activation act
// (Clip's bounds -0.5, 0.75), one group, weights not yet packed.
func specConv(r interface{ Float64() float64 }, s fpConvSpec, act activation) (x, w *Tensor, in []*Tensor, k *convKernel) {
	x = New(Float32, s.n, s.c, s.h, s.w)
	for i := range x.F32 {
		x.F32[i] = float32(r.Float64()*2 - 1)
	}
	w = New(Float32, s.m, s.c, s.kh, s.kw)
	for i := range w.F32 {
		w.F32[i] = float32(r.Float64()*2 - 1)
	}
	in = []*Tensor{x, w}
	if s.bias {
		b := New(Float32, s.m)
		for i := range b.F32 {
			b.F32[i] = float32(r.Float64() - 0.5)
		}
		in = append(in, b)
	}
	k = &convKernel{win: winAttrs{op: "Conv", strides: []int{s.sh, s.sw}, pads: s.pads[:], dilations: []int{s.dh, s.dw}}, grp: 1, act: act, actA: -0.5, actB: 0.75}
	return x, w, in, k
}

// unblockedOut returns out's values in NCHW: as they are, or (blocked)
// converted from NCHW16c with a border of b pixels, which must be zeros.
func unblockedOut(t *testing.T, name string, out *Tensor, blocked bool, b int) []float32 {
	if !blocked {
		return out.F32
	}
	sh := out.Shape
	got := make([]float32, NumElements(sh))
	fromNCHW16c(got, out.F32, sh[0], sh[1], sh[2], sh[3], b)
	eachNCHW16c(sh[0], sh[1], sh[2], sh[3], b, func(_, o int) { out.F32[o] = 0 })
	for i, v := range out.F32 {
		if v != 0 {
			t.Fatalf("%s: border [%d] = %v, want 0", name, i, v)
		}
	}
	return got
}

// TestStemRowsGoMatchesAsm checks the assembly kernels against stemRowsGo
// over pixel counts crossing the groups of 16, 4 and 1 (pooled: 4 and 1),
// strides 1 and 2, several rows, with a NaN input (the clamp passes it on
// and the pool keeps it), and that they write nothing else.
func TestStemRowsGoMatchesAsm(t *testing.T) {
	if !stemHave {
		t.Skip("no assembly kernels")
	}
	saved := stemWide
	defer func() { stemWide = saved }()
	r := newRand(219)
	for _, wide := range nchwcISAs() {
		stemWide = wide
		testStemRows(t, r)
	}
}

func testStemRows(t *testing.T, r *rand.Rand) {
	for _, pool := range []bool{false, true} {
		for s := 1; s <= 2; s++ {
			for n := 1; n <= 37; n++ {
				rows, wp := 1+n%3, (2*n+2)*s+5
				taps := []int{0, 4, 4 * wp, 4 * (wp + 2), 4 * (2*wp + 1)}
				x := randT(r, (rows*2+4)*wp).F32
				x[wp+3] = float32(math.NaN())
				w, bias := randT(r, 16*len(taps)).F32, randT(r, 16).F32
				yrs := n*16 + 16
				var out [2][]float32
				for i := range out {
					out[i] = make([]float32, rows*yrs+16)
					for j := range out[i] {
						out[i][j] = 7
					}
					a := stemArgs{n: n, rows: rows, xrs: 4 * 2 * wp, x1: 4 * wp, yrs: 4 * yrs, lo: -0.25, hi: 0.5, s: s, pool: pool}
					if i == 0 {
						stemRowsGo(&a, x, w, out[i], bias, taps)
					} else {
						stemRun(&a, x, w, out[i], bias, taps)
					}
				}
				for j, v := range out[0] {
					g := out[1][j]
					if math.IsNaN(float64(v)) != math.IsNaN(float64(g)) || math.Abs(float64(g-v)) > 1e-5 {
						t.Fatalf("wide %v pool %v s%d n%d: [%d] = %v, want %v", stemWide, pool, s, n, j, g, v)
					}
				}
			}
		}
	}
}

// BenchmarkStem compares, on seednet's first conv and pool (a chunk of 8
// images, 1 thread), pathNCHWc and the MaxPool after it with pathStem and
// the MaxPool, and pathStem with the pool fused.
func BenchmarkStem(b *testing.B) {
	r := newRand(90)
	x, w, bias := randT(r, 8, 1, 32, 32), randT(r, 16, 1, 3, 3), randT(r, 16)
	in := []*Tensor{x, w, bias}
	k := &convKernel{win: winAttrs{op: "Conv", pads: []int{1, 1, 1, 1}}, grp: 1, act: actRelu, thin: true}
	k.pack(w)
	pk := &poolKernel{win: winAttrs{op: "MaxPool", kernel: []int{2, 2}, strides: []int{2, 2}}, max: true, xBlocked: true, yBlocked: true, yBorder: 1}
	conv := []*Tensor{New(Float32, 8, 16, 32, 32)}
	pooled := []*Tensor{New(Float32, 8, 16, 16, 16)}
	pooled[0].F32 = make([]float32, 8*16*18*18)
	rc := &RunContext{Threads: 1}
	for _, c := range []struct {
		name         string
		stem, fusion bool
	}{{"nchwc+pool", false, false}, {"stem+pool", true, false}, {"stem-pooled", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			if c.stem && !stemHave {
				b.Skip("no pathStem kernels")
			}
			saved := stemOn
			stemOn = c.stem
			defer func() { stemOn = saved }()
			kc := *k
			kc.yBlocked, kc.pooled = true, c.fusion
			if c.fusion {
				kc.yBorder = 1
			}
			benchCPU(b, true, func() {
				if c.fusion {
					_ = kc.Run(rc, in, pooled)
					return
				}
				_ = kc.Run(rc, in, conv)
				_ = pk.Run(rc, conv, pooled)
			})
		})
	}
}
