package nn

import "github.com/splitinfer/splitinfer/nn/internal/blas"

// Sgemm computes C = A·B (accumulate=false) or C += A·B (accumulate=true),
// row-major with leading dimensions, where A is m×k, B is k×n and C is m×n.
// It exposes the engine's fast float32 GEMM to packages outside nn (the
// training code in compress/train), which cannot import nn/internal/blas.
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	blas.Sgemm(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// SgemmNT is Sgemm with B transposed: C = A·Bᵀ (or C += A·Bᵀ), where B is n×k.
func SgemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	blas.SgemmNT(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}
