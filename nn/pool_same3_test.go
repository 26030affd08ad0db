package nn

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// TestMaxPoolSame3MatchesPlain compares the same 3x3 MaxPool (pool_same3.go)
// with maxPlane, bit for bit, on runs of 1 to 7 planes (several mask
// periods, runs ending inside a vector) of heights and widths from 1 up,
// with infinities; then with a NaN, a -0 beside a +0, and a -0 alone,
// which the kernel hands back to maxPlane. It runs the AVX-512 kernel,
// when the CPU has it, and the AVX2 one.
func TestMaxPoolSame3MatchesPlain(t *testing.T) {
	withAVX512AndWithout(t, &same3AVX512, testMaxPoolSame3MatchesPlain)
}

func testMaxPoolSame3MatchesPlain(t *testing.T) {
	r := newRand(33)
	for _, hw := range [][2]int{{1, 1}, {1, 5}, {5, 1}, {2, 2}, {3, 3}, {4, 4}, {7, 7}, {5, 9}, {8, 2}, {14, 14}, {13, 17}, {28, 28}, {16, 33}} {
		h, w := hw[0], hw[1]
		g := geom{N: 1, C: 1, H: h, W: w, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PT: 1, PL: 1, PB: 1, PR: 1, rank: 2, OH: h, OW: w}
		if !same3Fits(&g) {
			if same3Have {
				t.Fatalf("%dx%d: not taken", h, w)
			}
		}
		for _, planes := range []int{1, 2, 3, 7} {
			for _, special := range []string{"", "NaN", "±0", "-0"} {
				x := randT(r, planes, 1, h, w).F32
				x[(5*planes)%len(x)] = float32(math.Inf(1))
				x[(3*planes+1)%len(x)] = float32(math.Inf(-1))
				switch special {
				case "NaN":
					x[(7*planes)%len(x)] = float32(math.NaN())
				case "±0":
					for i := range x {
						x[i] = -float32(math.Abs(float64(x[i])))
					}
					x[len(x)/2] = float32(math.Copysign(0, -1))
					x[len(x)/2-1+len(x)%2] = 0
				case "-0":
					x[len(x)-1] = float32(math.Copysign(0, -1))
				}
				hwn := h * w
				want := make([]float32, planes*hwn)
				for q := range planes {
					maxPlane(&g, x[q*hwn:(q+1)*hwn], want[q*hwn:(q+1)*hwn])
				}
				var p same3Plan
				p.init(&g)
				got := make([]float32, len(want))
				fillNaN(got)
				p.maxPlanes(&g, x, got, planes)
				name := fmt.Sprintf("%dx%d planes %d %s", h, w, planes, special)
				sameF32(t, name, got, want)
				for i := range want {
					if math.Signbit(float64(got[i])) != math.Signbit(float64(want[i])) && want[i] == want[i] {
						t.Fatalf("%s: [%d] sign of %v, want %v", name, i, got[i], want[i])
					}
				}
				if same3Have {
					fillNaN(got)
					plain := true
					for _, v := range x {
						plain = plain && v == v && !(v == 0 && math.Signbit(float64(v)))
					}
					if fast := maxSame3Fast(&p, x, got); fast != plain {
						t.Fatalf("%s: kernel took it: %v", name, fast)
					}
					if plain {
						sameF32(t, name+" kernel", got, want)
					}
				}
			}
		}
	}
}

// BenchmarkMaxPool3x3 times the NCHW 3x3 MaxPools of Inception-style (stride
// 1, pad 1, batch 32), SqueezeNet-style (stride 2, batch 1) and
// DenseNet-style (stride 2, pad 1, after the stem) on one thread, each by
// the kernel MaxPool picks (new) and by the separable kernel (sep), side
// by side, with the thread's CPU time per run (cpu-µs/op).
//
//	go test -run X -bench MaxPool3x3 -count 4 ./nn/
func BenchmarkMaxPool3x3(b *testing.B) {
	r := newRand(6)
	for _, s := range []struct{ n, c, hw, st, pad int }{
		{32, 832, 7, 1, 1}, {32, 480, 14, 1, 1}, {32, 256, 28, 1, 1},
		{1, 64, 111, 2, 0}, {1, 128, 55, 2, 0}, {1, 256, 27, 2, 0}, {1, 64, 112, 2, 1},
	} {
		x := randT(r, s.n, s.c, s.hw, s.hw)
		k := &poolKernel{max: true, win: winAttrs{op: "MaxPool", kernel: []int{3, 3}, strides: []int{s.st, s.st}, pads: []int{s.pad, s.pad, s.pad, s.pad}}}
		o := outDim(s.hw, 3, s.st, 1, s.pad, s.pad)
		y := New(Float32, s.n, s.c, o, o)
		rc := &RunContext{Threads: 1}
		for _, kind := range []string{"sep", "new"} {
			b.Run(fmt.Sprintf("n%d c%d %dx%d s%d p%d/%s", s.n, s.c, s.hw, s.hw, s.st, s.pad, kind), func(b *testing.B) {
				defer func(v bool) { same3On = v }(same3On)
				same3On = kind == "new"
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c0 := ThreadCPUSeconds()
				for b.Loop() {
					if err := k.Run(rc, []*Tensor{x}, []*Tensor{y}); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric((ThreadCPUSeconds()-c0)*1e6/float64(b.N), "cpu-µs/op")
			})
		}
	}
}
