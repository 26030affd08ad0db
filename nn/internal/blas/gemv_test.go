package blas

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSgemvPackedPanels checks the matrix-vector path against the reference
// for every kernel's panel height (mr 6 and 8 take it, 16 declines), over
// row counts with partial panels, depths across blocks and 1-5 columns.
func TestSgemvPackedPanels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kern := range f32Kernels() {
		for _, m := range []int{1, 5, 6, 8, 13, 64, 67} {
			for _, k := range []int{1, 3, 255, 256, 300, 700} {
				for n := 1; n <= 5; n++ {
					ldb, ldc := n+1, n+2
					a := randF32(r, m*k)
					b := randF32(r, k*ldb)
					c := randF32(r, m*ldc)
					bias := randF32(r, m)
					ep := Epilogue{Bias: bias, Lo: -0.5, Hi: float32(math.Inf(1))}
					want := append([]float32(nil), c...)
					sgemmRef(m, n, k, a, k, b, ldb, want, ldc, true)
					ep.apply(m, n, want, ldc)
					pre := packAllA(kern, m, k, a, k)
					if !sgemvPacked(kern.mr, pre, m, n, k, b, ldb, c, ldc, true, &ep) {
						if kern.mr <= 8 && n <= gemvMaxN {
							t.Fatalf("%s m=%d n=%d k=%d: declined", kern.name, m, n, k)
						}
						continue
					}
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							got, w := c[i*ldc+j], want[i*ldc+j]
							if d := math.Abs(float64(got - w)); d > 1e-4*(1+math.Abs(float64(w))) {
								t.Fatalf("%s m=%d n=%d k=%d: C[%d,%d]=%g want %g", kern.name, m, n, k, i, j, got, w)
							}
						}
						for j := n; j < ldc; j++ {
							if c[i*ldc+j] != want[i*ldc+j] {
								t.Fatalf("%s m=%d n=%d k=%d: C[%d,%d] past n written", kern.name, m, n, k, i, j)
							}
						}
					}
				}
			}
		}
	}
}
