package blas

import (
	"math/rand/v2"
	"testing"
)

// quadPack writes the n×k B into the quad layout (S8QuadLen), padding with
// a varying junk byte to show that padding does not matter.
func quadPack(b []int8, n, k int, junk byte) []byte {
	kg := (k + 3) / 4
	dst := make([]byte, S8QuadLen(n, k))
	for i := range dst {
		dst[i] = junk + byte(i)
	}
	for j := 0; j < n; j++ {
		for p := 0; p < k; p++ {
			dst[(j/16)*kg*64+(p/4)*64+(j%16)*4+p%4] = byte(b[j*k+p]) ^ 0x80
		}
	}
	return dst
}

func TestGemmS8QuadMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pa := PackS8(16, 8, make([]int8, 16*8), 8)
	if !S8Quad(pa) {
		t.Skip("no VNNI int8 kernel on this CPU/build")
	}
	// n's of a few columns past the panels take the narrow kernels, m's
	// of 1-4 A panels past 64 rows.
	for _, m := range []int{4, 15, 16, 17, 32, 33, 64, 65, 100, 130} {
		for _, n := range []int{1, 2, 4, 15, 16, 17, 20, 21, 40, 256} {
			for _, k := range []int{1, 3, 4, 9, 12, 144, 151} {
				a, b := randS8(r, m*k, 0), randS8(r, n*k, 0)
				pa := PackS8(m, k, a, k)
				if !S8Quad(pa) {
					continue
				}
				ldc := n + 3
				c := make([]int32, m*ldc)
				for i := range c {
					c[i] = -7
				}
				GemmS8Quad(nil, pa, n, quadPack(b, n, k, byte(m+n+k)), c, ldc)
				checkS8Panels(t, m, n, k, a, b, c, ldc)
			}
		}
	}
}

// checkS8Panels compares C (ldc, columns past n preset to -7) with the
// reference A·Bᵀ.
func checkS8Panels(t *testing.T, m, n, k int, a, b []int8, c []int32, ldc int) {
	t.Helper()
	want := make([]int32, m*n)
	gemmS8Ref(m, n, k, a, k, b, k, want, n)
	for i := 0; i < m; i++ {
		for j := 0; j < ldc; j++ {
			got := c[i*ldc+j]
			if j >= n {
				if got != -7 {
					t.Fatalf("m%d n%d k%d: wrote padding C[%d,%d]", m, n, k, i, j)
				}
				continue
			}
			if got != want[i*n+j] {
				t.Fatalf("m%d n%d k%d: C[%d,%d] = %d, want %d", m, n, k, i, j, got, want[i*n+j])
			}
		}
	}
}
