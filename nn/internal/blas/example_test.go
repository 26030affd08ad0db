package blas_test

import (
	"fmt"

	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

func ExampleSgemm() {
	// C (2×3) = A (2×2) · B (2×3), all row-major.
	a := []float32{1, 2, 3, 4}
	b := []float32{1, 0, 1, 0, 1, 1}
	c := make([]float32, 6)
	blas.Sgemm(2, 3, 2, a, 2, b, 3, c, 3, false)
	fmt.Println(c)
	// Output: [1 2 3 3 4 7]
}

func ExampleGemmS8() {
	// C (1×2) = A (1×3) · Bᵀ, B is 2×3: int8 dot products in int32.
	a := []int8{-128, 127, 2}
	b := []int8{-128, 1, 0, 1, 1, 1}
	c := make([]int32, 2)
	blas.GemmS8(1, 2, 3, a, 3, b, 3, c, 2)
	fmt.Println(c)
	// Output: [16511 1]
}

func ExamplePackA() {
	// Conv weights (2 output channels × 3 taps) packed once, then applied
	// to two different inputs (3 taps × 2 pixels).
	w := blas.PackA(2, 3, []float32{1, 1, 1, 0, 1, 0}, 3)
	for _, x := range [][]float32{{1, 2, 3, 4, 5, 6}, {0, 1, 0, 1, 0, 1}} {
		y := make([]float32, 4)
		blas.SgemmPacked(w, 2, x, 2, y, 2, false)
		fmt.Println(y)
	}
	// Output:
	// [9 12 3 4]
	// [0 3 0 1]
}
