package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestClampFast checks the assembly clamp against min(max(v, lo), hi) over a
// ladder of lengths and offsets, with NaN and infinities in the input, in
// place and out of place, and that nothing past the end is written.
func TestClampFast(t *testing.T) {
	if !clampFast(make([]float32, 1), make([]float32, 1), 0, 1) {
		t.Skip("no assembly clamp in this build")
	}
	r := rand.New(rand.NewPCG(3, 4))
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	bounds := [][2]float32{{0, inf}, {0, 6}, {-1, 1}, {-inf, 0.25}, {2, 1}}
	for n := 0; n <= 200; n++ {
		for off := 0; off < 3; off++ {
			for bi, bd := range bounds {
				lo, hi := bd[0], bd[1]
				src := make([]float32, off+n+5)
				for i := range src {
					switch r.IntN(20) {
					case 0:
						src[i] = nan
					case 1:
						src[i] = inf
					case 2:
						src[i] = -inf
					default:
						src[i] = float32(r.NormFloat64() * 4)
					}
				}
				want := make([]float32, n)
				for i := range want {
					want[i] = min(max(src[off+i], lo), hi)
				}
				const sentinel = float32(-12345)
				dst := make([]float32, off+n+5)
				for i := range dst {
					dst[i] = sentinel
				}
				inPlace := (n+bi)%2 == 0
				if inPlace {
					dst = append([]float32(nil), src...)
				}
				if n > 0 && !clampFast(dst[off:off+n], src[off:], lo, hi) {
					t.Fatalf("n=%d: clampFast declined", n)
				}
				for i := range dst {
					got := dst[i]
					if i < off || i >= off+n {
						w := sentinel
						if inPlace {
							w = src[i]
						}
						if got != w && !(math.IsNaN(float64(got)) && math.IsNaN(float64(w))) {
							t.Fatalf("n=%d off=%d: wrote outside at %d: %g", n, off, i, got)
						}
						continue
					}
					w := want[i-off]
					if got != w && !(math.IsNaN(float64(got)) && math.IsNaN(float64(w))) {
						t.Fatalf("n=%d off=%d lo=%g hi=%g: dst[%d]=%g want %g (src %g)", n, off, lo, hi, i-off, got, w, src[i])
					}
				}
			}
		}
	}
}
