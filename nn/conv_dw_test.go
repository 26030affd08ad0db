package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestDw3PlaneMatchesGo compares dw3Plane (the assembly kernel where the
// CPU has it) with the plain-Go kernel over a ladder of widths (every
// 64/16/masked-tail split), strides, offsets and clamps.
func TestDw3PlaneMatchesGo(t *testing.T) {
	r := newRand(7)
	inf := float32(math.Inf(1))
	for _, ow := range []int{1, 3, 7, 14, 15, 16, 17, 28, 31, 32, 33, 56, 63, 64, 65, 80, 112, 129} {
		for _, s2 := range []bool{false, true} {
			for _, clamp := range [][2]float32{{-inf, inf}, {0, inf}, {0, 6}, {-0.25, 0.5}} {
				rows := 1 + ow%5
				var g geom
				g.KH, g.KW, g.SH, g.DH, g.DW, g.PT, g.PL, g.PB, g.PR = 3, 3, 1, 1, 1, 1, 1, 1, 1
				g.SW, g.OH, g.OW = 1, rows, ow
				g.H, g.W = rows, ow
				if s2 {
					g.SW, g.SH = 2, 2
					g.H, g.W = 2*rows-1, 2*ow-1
				}
				l, ok := dw3Layout(&g)
				if !ok {
					t.Fatalf("layout rejected %+v", g)
				}
				x := randT(r, g.H*g.W).F32
				pad := make([]float32, l.size())
				for i := range pad {
					pad[i] = float32(math.NaN()) // scratch reused: every cell must be written
				}
				l.padPlane(&g, x, pad)
				w := randT(r, 9).F32
				ldy := ow + 3
				want := make([]float32, (rows-1)*ldy+ow)
				got := make([]float32, len(want))
				bias := float32(r.Float64() - 0.5)
				dw3PlaneGo(want, pad, rows, ow, ldy, l.rs, &l.off, w, bias, clamp[0], clamp[1])
				dw3Plane(got, pad, rows, ow, ldy, l.rs, &l.off, w, bias, clamp[0], clamp[1])
				for i := range want {
					if i%ldy >= ow {
						continue // between rows: untouched
					}
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("ow %d s2 %v clamp %v: y[%d] = %v, want %v", ow, s2, clamp, i, got[i], want[i])
					}
				}
				// And against the direct definition on the unpadded input.
				ref := convRef(&Tensor{Shape: []int{1, 1, g.H, g.W}, F32: x}, &Tensor{Shape: []int{1, 1, 3, 3}, F32: w},
					&Tensor{F32: []float32{bias}}, 1, g.SH, g.SW, 1, 1, 1, 1, rows, ow)
				for i, v := range ref {
					v = math.Min(math.Max(v, float64(clamp[0])), float64(clamp[1]))
					if d := math.Abs(float64(got[i/ow*ldy+i%ow]) - v); d > 1e-5*(1+math.Abs(v)) {
						t.Fatalf("ow %d s2 %v: y[%d] = %v, reference %v", ow, s2, i, got[i/ow*ldy+i%ow], v)
					}
				}
			}
		}
	}
}

// TestDw3PlaneNaN: a NaN input stays NaN through the clamp (as Relu and
// Clip propagate it).
func TestDw3PlaneNaN(t *testing.T) {
	for _, ow := range []int{5, 16, 64, 70} {
		t.Run(fmt.Sprint(ow), func(t *testing.T) {
			x := make([]float32, 3*(ow+2))
			x[ow+2+1+ow/2] = float32(math.NaN())
			off := [9]int{0, 1, 2, ow + 2, ow + 3, ow + 4, 2*ow + 4, 2*ow + 5, 2*ow + 6}
			w := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1}
			y := make([]float32, ow)
			dw3Plane(y, x, 1, ow, ow, ow+2, &off, w, 0, 0, 6)
			for i, v := range y {
				isNaN := v != v
				if wantNaN := i >= ow/2-1 && i <= ow/2+1; isNaN != wantNaN {
					t.Errorf("y[%d] = %v", i, v)
				}
			}
		})
	}
}

// TestDeinterleave checks the even/odd split (assembly blocks of 32 and the
// plain-Go tail) against its definition for every shift and many lengths.
func TestDeinterleave(t *testing.T) {
	for _, p := range []int{-3, -1, 0, 1, 2, 3} {
		for n := 0; n <= 100; n++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i + 1)
			}
			wp := n + 4
			ne := (wp + 1) / 2
			even, odd := make([]float32, ne), make([]float32, wp-ne)
			deinterleave(even, odd, x, p)
			for pc := 0; pc < wp; pc++ {
				var want float32
				if i := pc - p; i >= 0 && i < n {
					want = x[i]
				}
				got := even[pc/2]
				if pc%2 == 1 {
					got = odd[pc/2]
				}
				if got != want {
					t.Fatalf("p %d n %d: column %d = %v, want %v", p, n, pc, got, want)
				}
			}
		}
	}
}
