// Package blas holds the engine's dense linear-algebra kernels: float32
// GEMM and int8 dot-product GEMM. Every entry point has a plain-Go reference
// (ref.go) that the fast paths are tested against.
//
// All matrices are row-major with explicit leading dimensions (strides).
package blas

// Sgemm computes C = A·B (accumulate=false) or C += A·B (accumulate=true),
// where A is m×k (lda), B is k×n (ldb) and C is m×n (ldc).
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmRef(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// SgemmNT computes C = A·Bᵀ (or C += A·Bᵀ), where A is m×k (lda), B is n×k
// (ldb) and C is m×n (ldc): the layout of a fully connected layer whose
// weights are stored out×in.
func SgemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmNTRef(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}

// GemmS8 computes C = A·Bᵀ in int32, where A is m×k int8 (lda), B is n×k
// int8 (ldb) and C is m×n int32 (ldc): both operands are k-contiguous, the
// layout of int8 dot products (weights × im2col patches).
func GemmS8(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	gemmS8Ref(m, n, k, a, lda, b, ldb, c, ldc)
}
