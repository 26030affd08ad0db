package blas

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkSgemvPacked: a classifier written as a 1x1 convolution on a 1x1
// plane (1000x1024 weights, one column), with the matrix-vector path and
// with the micro-kernel tile.
func BenchmarkSgemvPacked(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	m, k := 1000, 1024
	pa := PackA(m, k, randF32(r, m*k), k)
	x := randF32(r, k)
	c := make([]float32, m)
	var ws Workspace
	ep := NoClamp(nil)
	b.Run("gemv", func(b *testing.B) {
		for b.Loop() {
			SgemmPackedEpWS(&ws, pa, 1, x, 1, c, 1, false, ep)
		}
	})
	b.Run("tile", func(b *testing.B) {
		x2 := make([]float32, 5*k)
		c2 := make([]float32, 5*m)
		for b.Loop() {
			// Five columns: past gemvMaxN, one tile (what one column took before).
			SgemmPackedEpWS(&ws, pa, 5, x2, 5, c2, 5, false, ep)
		}
	})
}
