package blas

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// TestSgemmTaps checks SgemmTapsEpWS against the sum of the per-tap
// reference products, over shapes on both sides of the fast path's limits
// (m a multiple of 8, k up to 256) and every column edge, with epilogues,
// and that nothing outside C is written.
func TestSgemmTaps(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	inf := float32(math.Inf(1))
	var ws Workspace
	const sentinel = float32(-4242)
	for _, m := range []int{8, 16, 5, 24, 64, 72} {
		for _, k := range []int{0, 1, 7, 16, 64, 300} {
			for _, n := range []int{1, 5, 16, 17, 31, 32, 33, 49, 70} {
				for _, nt := range []int{1, 3, 9} {
					ldb := n + 7
					off := make([]int, nt)
					for i := range off {
						off[i] = r.IntN(2*ldb + 3)
					}
					maxOff := 0
					for _, o := range off {
						maxOff = max(maxOff, o)
					}
					// b ends exactly where the farthest tap's last row ends.
					b := randF32(r, maxOff+max(k-1, 0)*ldb+n)
					taps := make([]*PackedA, nt)
					as := make([][]float32, nt)
					for i := range taps {
						as[i] = randF32(r, m*k+1)
						taps[i] = PackA(m, k, as[i], k)
					}
					var bias []float32
					if (m+k+n)%2 == 0 {
						bias = randF32(r, m)
					}
					eps := []Epilogue{NoClamp(bias), {Bias: bias, Lo: 0, Hi: inf}, {Bias: bias, Lo: -0.5, Hi: 0.5}}
					ep := eps[(m+n+nt)%3]
					ldc := n + 3
					c := make([]float32, m*ldc+5)
					for i := range c {
						c[i] = sentinel
					}
					want := make([]float32, m*n)
					bound := make([]float32, m*n)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							var s, ab float64
							for tp := 0; tp < nt; tp++ {
								for p := 0; p < k; p++ {
									v := float64(as[tp][i*k+p]) * float64(b[off[tp]+p*ldb+j])
									s += v
									ab += math.Abs(v)
								}
							}
							want[i*n+j], bound[i*n+j] = float32(s), float32(ab)
						}
					}
					ep.apply(m, n, want, n)
					w := &ws
					if nt == 3 {
						w = nil // the pool path
					}
					SgemmTapsEpWS(w, taps, off, n, b, ldb, c, ldc, ep)
					for idx, got := range c {
						i, j := idx/ldc, idx%ldc
						if i >= m || j >= n {
							if got != sentinel {
								t.Fatalf("m=%d k=%d n=%d taps=%d: wrote outside C at %d", m, k, n, nt, idx)
							}
							continue
						}
						w := want[i*n+j]
						if d := math.Abs(float64(got - w)); !(d <= 1e-5*float64(bound[i*n+j])+1e-5) {
							t.Fatalf("m=%d k=%d n=%d taps=%d: C[%d,%d]=%g want %g", m, k, n, nt, i, j, got, w)
						}
					}
				}
			}
		}
	}
}

func TestSgemmTapsNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var ws Workspace
	taps := []*PackedA{PackA(16, 32, randF32(r, 16*32), 32), PackA(16, 32, randF32(r, 16*32), 32)}
	off := []int{0, 1}
	b := randF32(r, 32*50+1)
	c := make([]float32, 16*49)
	SgemmTapsEpWS(&ws, taps, off, 49, b, 50, c, 49, NoClamp(nil))
	if a := allocstest.Steady(20, func() { SgemmTapsEpWS(&ws, taps, off, 49, b, 50, c, 49, NoClamp(nil)) }); a != 0 {
		t.Fatalf("%v allocs per run, want 0", a)
	}
}
