package nn

import (
	"math"
	"testing"
)

// TestFillPlanesOverwritesScratch checks that fillPlanes writes every cell
// of the planes that a tap reads (scratch is reused between layers): from
// NaN-filled and zero-filled scratch it must produce the same planes, and
// each value must be the padded input at its plane position.
func TestFillPlanesOverwritesScratch(t *testing.T) {
	r := newRand(21)
	for _, s := range []int{1, 2} {
		for _, pad := range []int{0, 1, 2} {
			for _, k := range []int{1, 3, 5} {
				for _, w := range []int{5, 16, 17, 28, 33} {
					var g geom
					g.KH, g.KW, g.SH, g.SW, g.DH, g.DW = k, k, s, s, 1, 1
					g.PT, g.PL, g.PB, g.PR = pad, pad, pad, pad
					g.H, g.W = 9, w
					g.OH = (g.H+2*pad-k)/s + 1
					g.OW = (g.W+2*pad-k)/s + 1
					if g.OH <= 0 || g.OW <= 0 {
						continue
					}
					x := randT(r, g.H*g.W).F32
					for _, oh0 := range []int{0, g.OH / 2} {
						rows := g.OH - oh0
						l := newPhaseLayout(&g, rows)
						a := make([]float32, l.planeSize(&g))
						b := make([]float32, len(a))
						for i := range a {
							a[i] = float32(math.NaN())
						}
						l.fillPlanes(&g, x, a, oh0)
						l.fillPlanes(&g, x, b, oh0)
						// Every cell read by some tap for some output pixel.
						for kh := 0; kh < k; kh++ {
							for kw := 0; kw < k; kw++ {
								off := l.tapOffset(&g, kh, kw)
								for q := 0; q < l.np; q++ {
									if q%l.wq >= g.OW {
										continue
									}
									oh, ow := oh0+q/l.wq, q%l.wq
									ih, iw := oh*s-pad+kh, ow*s-pad+kw
									var want float32
									if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
										want = x[ih*g.W+iw]
									}
									if a[off+q] != want || b[off+q] != want {
										t.Fatalf("s%d p%d k%d w%d oh0 %d tap %d,%d q %d: got %v (NaN scratch) %v (zero scratch), want %v",
											s, pad, k, w, oh0, kh, kw, q, a[off+q], b[off+q], want)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}
