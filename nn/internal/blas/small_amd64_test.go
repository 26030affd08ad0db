//go:build amd64 && !purego

package blas

import (
	"math/rand/v2"
	"testing"
)

func TestSmallPaths(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(9, 10))
	impl := f32Impl{"nt-small", true, sgemmNTSmall}
	for _, m := range []int{1, 2, 3} {
		for _, n := range []int{1, 3, 4, 5, 8, 17, 130} {
			for _, k := range []int{1, 15, 16, 17, 33, 64, 100, 2048} {
				checkF32(t, r, impl, m, n, k, (n+k)%3, k%5, k%2 == 0)
			}
		}
	}
}

func TestGemmS8Small(t *testing.T) {
	if !hasVNNI {
		t.Skip("no AVX-512 VNNI")
	}
	r := rand.New(rand.NewPCG(11, 12))
	ws := new(Workspace) // and the pool in TestGemmS8
	impl := s8Impl{"s8-small", func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
		gemmS8Small(ws, m, n, k, a, lda, b, ldb, c, ldc)
	}}
	for _, m := range []int{1, 2, 3} {
		for _, n := range []int{1, 3, 4, 5, 8, 17, 130} {
			for _, k := range []int{1, 63, 64, 65, 130, 2048} {
				for mode := 0; mode < 4; mode++ {
					checkS8(t, r, impl, m, n, k, (n+k)%3, k%5, mode, (mode+2)%4)
				}
			}
		}
	}
}

func TestGemmS8SmallAVX2(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(15, 16))
	impl := s8Impl{"s8-small-avx2", gemmS8SmallAVX2}
	for _, m := range []int{1, 2, 3} {
		for _, n := range []int{1, 3, 4, 5, 8, 17, 130} {
			for _, k := range []int{1, 15, 16, 17, 33, 130, 2048} {
				for mode := 0; mode < 4; mode++ {
					checkS8(t, r, impl, m, n, k, (n+k)%3, k%5, mode, (mode+2)%4)
				}
			}
		}
	}
}
