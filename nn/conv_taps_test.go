package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestTapPlaneMatchesGo compares tapPlane (the assembly kernels where the
// CPU has them) with the plain-Go kernel over a ladder of widths (whole
// and masked 16-column blocks), row counts (the four-row and one-row
// passes), windows, strides and clamps, for the sum and the maximum (with
// NaNs, which the maximum propagates).
func TestTapPlaneMatchesGo(t *testing.T) {
	r := newRand(11)
	inf := float32(math.Inf(1))
	for _, ow := range []int{1, 5, 7, 14, 16, 17, 28, 33, 56, 64, 65, 112} {
		for _, k := range [][2]int{{1, 1}, {3, 3}, {5, 5}, {7, 7}, {2, 4}} {
			for _, sw := range []int{1, 2} {
				for _, isMax := range []bool{false, true} {
					rows := 1 + (ow+k[0])%9
					var g geom
					g.KH, g.KW, g.SH, g.SW, g.DH, g.DW = k[0], k[1], sw, sw, 1, 1
					g.PT, g.PL, g.PB, g.PR = k[0]/2, k[1]/2, k[0]/2, k[1]/2
					g.OH, g.OW = rows, ow
					g.H = (rows-1)*sw + k[0] - g.PT - g.PB
					g.W = (ow-1)*sw + k[1] - g.PL - g.PR
					if g.H < 1 || g.W < 1 {
						continue
					}
					name := fmt.Sprintf("ow%d_k%v_s%d_max%v", ow, k, sw, isMax)
					l, ok := tapLayout(&g)
					if !ok {
						t.Fatalf("%s: layout rejected %+v", name, g)
					}
					x := randT(r, g.H*g.W).F32
					if isMax {
						x[r.IntN(len(x))] = float32(math.NaN())
					}
					pad := make([]float32, l.scratch())
					for i := range pad {
						pad[i] = float32(math.NaN()) // scratch reused: every cell must be written
					}
					fill := float32(0)
					if isMax {
						fill = -inf
					}
					l.padPlane(&g, x, pad, fill, true)
					w := randT(r, l.ntaps).F32
					ldy := ow + 3
					want := make([]float32, (rows-1)*ldy+ow)
					got := make([]float32, len(want))
					bias := float32(r.Float64() - 0.5)
					lo, hi := float32(-0.5), float32(0.75)
					tapPlaneGo(&l, want, pad, rows, ow, ldy, w, bias, lo, hi, isMax)
					tapPlane(&l, got, pad, rows, ow, ldy, w, bias, lo, hi, isMax)
					for i := range want {
						if i%ldy >= ow {
							continue
						}
						a, b := got[i], want[i]
						if (a != a) != (b != b) || math.Abs(float64(a-b)) > 1e-5*(1+math.Abs(float64(b))) {
							t.Fatalf("%s: y[%d] = %v, want %v", name, i, a, b)
						}
					}
					// The maximum against the window's definition.
					if isMax {
						for oh := 0; oh < rows; oh++ {
							for o := 0; o < ow; o++ {
								m := -inf
								for kh := 0; kh < g.KH; kh++ {
									for kw := 0; kw < g.KW; kw++ {
										ih, iw := oh*sw-g.PT+kh, o*sw-g.PL+kw
										if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
											m = max(m, x[ih*g.W+iw])
										}
									}
								}
								if v := got[oh*ldy+o]; v != m && !(v != v && m != m) {
									t.Fatalf("%s: max y[%d,%d] = %v, want %v", name, oh, o, v, m)
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestTapPlaneNaNThroughClamp: a NaN input stays NaN through the sum's
// clamp (as Relu and Clip propagate it).
func TestTapPlaneNaNThroughClamp(t *testing.T) {
	var g geom
	g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PT, g.PL, g.PB, g.PR = 5, 5, 1, 1, 1, 1, 2, 2, 2, 2
	g.H, g.W, g.OH, g.OW = 6, 20, 6, 20
	l, _ := tapLayout(&g)
	x := make([]float32, g.H*g.W)
	x[2*g.W+5] = float32(math.NaN())
	pad := make([]float32, l.scratch())
	l.padPlane(&g, x, pad, 0, true)
	w := make([]float32, 25)
	for i := range w {
		w[i] = 1
	}
	y := make([]float32, g.OH*g.OW)
	tapPlane(&l, y, pad, g.OH, g.OW, g.OW, w, 0, 0, 6, false)
	if v := y[2*g.OW+5]; v == v {
		t.Fatalf("NaN input gave %v", v)
	}
}
