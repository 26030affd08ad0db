package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestMaxPlaneSepMatchesPlain compares the separable MaxPool (pool_sep.go;
// its assembly where the CPU has it, else its Go kernels) with maxPlane,
// bit for bit, on five planes at once (in one group and in groups of one),
// over windows of 1 to 5, strides 1 to 3 down the plane and 1 or 2 along
// it, dilations, pads wider than the window's reach, widths around the
// 16-lane blocks, and NaN and infinities in the input; then on values
// none above zero, with -0 and +0 (the maximum of -0 and +0 is +0).
func TestMaxPlaneSepMatchesPlain(t *testing.T) {
	eachSepMaxKernel(t, testMaxPlaneSepMatchesPlain)
}

// eachSepMaxKernel runs test with the AVX-512 kernels, when the CPU has
// them, and with the AVX2 ones (or with the Go kernels, where there is no
// assembly).
func eachSepMaxKernel(t *testing.T, test func(t *testing.T)) {
	withAVX512AndWithout(t, &sepMaxAVX512, test)
}

// withAVX512AndWithout runs test with *avx512 as it is, then, if it was
// set, cleared (the AVX2 kernels), and restores it.
func withAVX512AndWithout(t *testing.T, avx512 *bool, test func(t *testing.T)) {
	defer func(v bool) { *avx512 = v }(*avx512)
	for _, on := range []bool{*avx512, false} {
		*avx512 = on
		t.Run(fmt.Sprintf("avx512=%v", on), test)
		if !on {
			break
		}
	}
}

func testMaxPlaneSepMatchesPlain(t *testing.T) {
	r := newRand(31)
	i := 0
	for _, w := range []int{1, 2, 7, 15, 16, 17, 31, 33, 56, 112, 113} {
		for _, k := range []int{1, 2, 3, 5} {
			for _, s := range [][2]int{{1, 1}, {2, 2}, {3, 2}, {1, 2}, {2, 1}} {
				i++
				h := []int{1, 5, 14}[i%3]
				d := 1 + i%3/2
				p := [4]int{i % 3, (i / 3) % 3, (i / 2) % 3, i % 2}
				g := geom{N: 1, C: 1, H: h, W: w, KH: k, KW: k, SH: s[0], SW: s[1], DH: d, DW: d, PT: p[0], PL: p[1], PB: p[2], PR: p[3], rank: 2}
				g.OH = outDim(h, k, s[0], d, p[0], p[2])
				g.OW = outDim(w, k, s[1], d, p[1], p[3])
				if g.OH < 1 || g.OW < 1 {
					continue
				}
				const planes = 5
				x := randT(r, planes, 1, h, w).F32
				x[i%len(x)] = float32(math.NaN())
				x[(7*i)%len(x)] = float32(math.Inf(1))
				zeros := randT(r, planes, 1, h, w).F32
				for j := range zeros {
					zeros[j] = []float32{-float32(math.Abs(float64(zeros[j]))), 0, float32(math.Copysign(0, -1))}[(j*j+i)%3]
				}
				for _, x := range [][]float32{x, zeros} {
					ohw := g.OH * g.OW
					want := make([]float32, planes*ohw)
					for q := range planes {
						maxPlane(&g, x[q*h*w:(q+1)*h*w], want[q*ohw:(q+1)*ohw])
					}
					got := make([]float32, len(want))
					var plan sepMaxPlan
					plan.init(&g)
					// The worker's scratch, and room for one plane's rows only
					// (groups of one plane).
					for _, rows := range [][]float32{make([]float32, plan.scratch(&g)), make([]float32, g.OH*plan.rowLen)} {
						fillNaN(rows)
						fillNaN(got)
						plan.maxPlanes(&g, x, got, rows, planes)
						sameF32(t, fmt.Sprintf("w%d h%d k%d s%v d%d p%v scratch %d", w, h, k, s, d, p, len(rows)), got, want)
					}
				}
			}
		}
	}
}

// TestSepMaxKernelsMatchGo compares the assembly row kernels with their Go
// versions on several rows, also of lengths that end inside a 16-lane
// block: maxRows on values with a NaN (then its Go kernel sets the rows)
// and without, hmaxRows on rows without NaN (which maxRows calls plain).
func TestSepMaxKernelsMatchGo(t *testing.T) {
	if !sepMaxHave {
		t.Skip("no assembly kernels in this build")
	}
	eachSepMaxKernel(t, testSepMaxKernelsMatchGo)
}

func testSepMaxKernelsMatchGo(t *testing.T) {
	r := newRand(32)
	for _, n := range []int{1, 5, 16, 17, 40, 100} {
		x := randT(r, 8*n+300).F32
		nan := append([]float32(nil), x...)
		nan[n/2] = float32(math.NaN())
		for _, offs := range [][]int{{0}, {n, 0}, {3, 2*n + 1, 7}, {0, 1, 2, 5, 4, 3}} {
			for _, kh := range []int{1, 2, 3} {
				if len(offs)%kh != 0 {
					continue
				}
				ld, planes, xps := n+3, 2, 3*n+7
				got, want := make([]float32, planes*len(offs)/kh*ld), make([]float32, planes*len(offs)/kh*ld)
				for _, x := range [][]float32{x, nan} {
					plain := maxRows(got, ld, x, xps, planes, offs, kh, n)
					maxRowsGo(want, ld, x, xps, planes, offs, kh, n)
					sameF32(t, fmt.Sprint("maxRows ", n, offs, kh), got, want)
					if !plain && &x[0] != &nan[0] {
						t.Fatalf("maxRows %d %v %d: the kernel did not take values without NaN", n, offs, kh)
					}
				}
			}
		}
		for _, k := range []int{1, 2, 3, 7} {
			for _, s := range []int{1, 2} {
				for _, d := range []int{1, 2} {
					ld, nrows := 2*n+50, 3
					got, want := make([]float32, nrows*n), make([]float32, nrows*n)
					hmaxRows(got, n, x, ld, nrows, k, d, s, true)
					hmaxRowsGo(want, n, x, ld, nrows, k, d, s)
					sameF32(t, fmt.Sprint("hmaxRows ", n, k, s, d), got, want)
				}
			}
		}
	}
}

func sameF32(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}
