package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestMaxPlaneSepMatchesPlain compares the separable MaxPool (pool_sep.go;
// its assembly where the CPU has it, else its Go kernels) with maxPlane,
// bit for bit, over windows of 1 to 5, strides 1 to 3 down the plane and 1
// or 2 along it, dilations, pads wider than the window's reach, widths
// around the 16-lane blocks, and NaN and infinities in the input.
func TestMaxPlaneSepMatchesPlain(t *testing.T) {
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
				x := randT(r, 1, 1, h, w).F32
				x[i%len(x)] = float32(math.NaN())
				x[(7*i)%len(x)] = float32(math.Inf(1))
				want := make([]float32, g.OH*g.OW)
				maxPlane(&g, x, want)
				got := make([]float32, len(want))
				var plan sepMaxPlan
				plan.init(&g)
				rows := make([]float32, plan.scratch(&g))
				for rep := range 2 { // the rows' padding set, then kept
					fillNaN(got)
					plan.maxPlane(&g, x, got, rows, rep == 0)
					for j := range want {
						if math.Float32bits(got[j]) != math.Float32bits(want[j]) && !(got[j] != got[j] && want[j] != want[j]) {
							t.Fatalf("%s: y[%d] = %v, want %v", fmt.Sprintf("w%d h%d k%d s%v d%d p%v", w, h, k, s, d, p), j, got[j], want[j])
						}
					}
				}
			}
		}
	}
}

// TestSepMaxKernelsMatchGo compares the assembly row kernels with their Go
// versions on several rows, also of lengths that end inside a 16-lane
// block.
func TestSepMaxKernelsMatchGo(t *testing.T) {
	if !sepMaxHave {
		t.Skip("no assembly kernels in this build")
	}
	r := newRand(32)
	for _, n := range []int{1, 5, 16, 17, 40, 100} {
		x := randT(r, 8*n+300).F32
		x[n/2] = float32(math.NaN())
		for _, offs := range [][]int{{0}, {n, 0}, {3, 2*n + 1, 7}, {0, 1, 2, 5, 4, 3}} {
			for _, kh := range []int{1, 2, 3} {
				if len(offs)%kh != 0 {
					continue
				}
				ld := n + 3
				got, want := make([]float32, len(offs)/kh*ld), make([]float32, len(offs)/kh*ld)
				maxRows(got, ld, x, offs, kh, n)
				maxRowsGo(want, ld, x, offs, kh, n)
				sameF32(t, fmt.Sprint("maxRows ", n, offs, kh), got, want)
			}
		}
		for _, k := range []int{1, 2, 3, 7} {
			for _, s := range []int{1, 2} {
				for _, d := range []int{1, 2} {
					ld, nrows := 2*n+50, 3
					got, want := make([]float32, nrows*n), make([]float32, nrows*n)
					hmaxRows(got, n, x, ld, nrows, k, d, s)
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
