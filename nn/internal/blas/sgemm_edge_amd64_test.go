//go:build amd64 && !purego

package blas

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemmEdge8x32 checks the masked edge kernels of the 8x32 tile on every
// edge width, with and without accumulation and epilogue, and that nothing
// outside the n columns of C is read into the result or written.
func TestSgemmEdge8x32(t *testing.T) {
	if !hasAVX512 {
		t.Skip("no AVX-512")
	}
	r := rand.New(rand.NewPCG(5, 6))
	const sentinel = float32(-7777)
	for n := 1; n < 32; n++ {
		for _, k := range []int{0, 1, 3, 17} {
			for _, acc := range []bool{false, true} {
				for _, withEp := range []bool{false, true} {
					a := randF32(r, 8*max(k, 1))
					b := make([]float32, 32*max(k, 1))
					for p := 0; p < k; p++ {
						for j := 0; j < n; j++ {
							b[p*32+j] = float32(r.NormFloat64())
						}
					}
					const ldc = 40
					c := make([]float32, 8*ldc)
					for i := range c {
						c[i] = sentinel
					}
					for i := 0; i < 8; i++ {
						for j := 0; j < n; j++ {
							c[i*ldc+j] = float32(r.NormFloat64())
						}
					}
					want := append([]float32(nil), c...)
					var ep *f32Ep
					bias := randF32(r, 8)
					if withEp {
						ep = &f32Ep{bias: &bias[0], lo: -0.5, hi: 0.75}
					}
					for i := 0; i < 8; i++ {
						for j := 0; j < n; j++ {
							var s float32
							if acc {
								s = want[i*ldc+j]
							}
							for p := 0; p < k; p++ {
								s += a[p*8+i] * b[p*32+j]
							}
							if withEp {
								s = min(max(s+bias[i], ep.lo), ep.hi)
							}
							want[i*ldc+j] = s
						}
					}
					sgemmEdge8x32(k, &a[0], &b[0], 32, &c[0], ldc, acc, ep, n)
					for idx := range c {
						if d := math.Abs(float64(c[idx] - want[idx])); !(d <= 1e-4) {
							t.Fatalf("n=%d k=%d acc=%v ep=%v: C[%d,%d]=%g want %g", n, k, acc, withEp, idx/ldc, idx%ldc, c[idx], want[idx])
						}
					}
				}
			}
		}
	}
}
