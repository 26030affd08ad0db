package blas

import (
	"encoding/binary"
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
	for _, m := range []int{4, 15, 16, 17, 32, 33} {
		for _, n := range []int{1, 15, 16, 17, 40, 256} {
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

// pairsPack writes the n×k B into the pair layout (S8PairsLen), padding
// with varying junk.
func pairsPack(b []int8, n, k int, junk int16) []byte {
	kg := (k + 1) / 2
	dst := make([]int16, S8PairsLen(n, k)/2)
	for i := range dst {
		dst[i] = junk + int16(i)
	}
	for j := 0; j < n; j++ {
		for p := 0; p < k; p++ {
			dst[(j/16)*kg*32+(p/2)*32+(j%16)*2+p%2] = int16(b[j*k+p])
		}
	}
	out := make([]byte, 2*len(dst))
	for i, v := range dst {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
	}
	return out
}

func TestGemmS8PairsMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	ran := 0
	for _, kern := range s8Kernels() {
		for _, m := range []int{4, 5, 6, 7, 13, 32} {
			for _, n := range []int{1, 15, 16, 17, 40} {
				for _, k := range []int{1, 2, 3, 9, 18, 144, 151} {
					// Extremes in half the cases: the int16 pairs must not saturate.
					a, b := randS8(r, m*k, 3*(k%2)), randS8(r, n*k, 3*(k%2))
					pa := packS8With(kern, m, k, a, k)
					if !S8Pairs(pa) {
						if !kern.vnni {
							t.Fatalf("%s m%d k%d: not pair-packed", kern.name, m, k)
						}
						continue
					}
					ran++
					ldc := n + 3
					c := make([]int32, m*ldc)
					for i := range c {
						c[i] = -7
					}
					GemmS8Pairs(new(Workspace), pa, n, pairsPack(b, n, k, int16(m+n+k)), c, ldc)
					checkS8Panels(t, m, n, k, a, b, c, ldc)
				}
			}
		}
	}
	if len(s8Kernels()) > 0 && ran == 0 {
		t.Fatal("the AVX2 kernel never ran")
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
