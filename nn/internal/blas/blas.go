// Package blas holds the engine's dense linear-algebra kernels: float32
// GEMM and int8 dot-product GEMM. Every entry point has a plain-Go reference
// (ref.go) that the fast paths are tested against.
//
// All matrices are row-major with explicit leading dimensions (strides).
//
// Entry points: Sgemm (C = A·B), SgemmNT (C = A·Bᵀ), GemmS8 (int8 A·Bᵀ in
// int32); PackA with SgemmPacked / SgemmPackedNT, and PackS8 with
// GemmS8Packed, for weights packed once; SgemmEp and SgemmPackedEp fuse a
// per-row bias and a clamp (ReLU, ReLU6) into the store (Epilogue).
//
// On amd64 the entry points run register-tiled assembly micro-kernels over
// packed panels (BLIS-style blocking): AVX-512 (8x32 float32, 16x16 VNNI
// int8) or AVX2+FMA (6x16 float32, 6x16 int8 in int16 pairs), chosen at run
// time from the CPU features; batch-1 products (m < 4 rows of A·Bᵀ) run as
// dot products straight from B. Elsewhere, or with the purego build tag,
// they run unrolled plain-Go loops. Kernels do not start goroutines:
// callers split C into disjoint blocks and may call any entry point
// concurrently. Scratch memory comes from a sync.Pool, so a steady-state
// call does not allocate.
//
// Invalid dimensions or slices too short for them are programming errors
// and panic with a "blas: " message, as the reference loops would.
package blas

import "math"

//go:generate go run ./internal/asmgen

// Sgemm computes C = A·B (accumulate=false) or C += A·B (accumulate=true),
// where A is m×k (lda), B is k×n (ldb) and C is m×n (ldc).
func Sgemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmOp(nil, m, n, k, a, lda, b, ldb, false, c, ldc, accumulate, nil)
}

// SgemmWS is Sgemm with the packing memory of ws (see Workspace).
func SgemmWS(ws *Workspace, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmOp(ws, m, n, k, a, lda, b, ldb, false, c, ldc, accumulate, nil)
}

// SgemmEp is Sgemm followed by the epilogue ep (bias per row of C, i.e. per
// output channel of a convolution, and a clamp), applied while the tile is
// in registers.
func SgemmEp(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ep Epilogue) {
	SgemmEpWS(nil, m, n, k, a, lda, b, ldb, c, ldc, accumulate, ep)
}

// SgemmEpWS is SgemmEp with the packing memory of ws (nil: a sync.Pool's).
func SgemmEpWS(ws *Workspace, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ep Epilogue) {
	ep.check(m)
	sgemmOp(ws, m, n, k, a, lda, b, ldb, false, c, ldc, accumulate, &ep)
}

func sgemmOp(ws *Workspace, m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool, ep *Epilogue) {
	if transB {
		checkDims(m, n, k, len(a), lda, n, len(b), ldb, k, len(c), ldc)
	} else {
		checkDims(m, n, k, len(a), lda, k, len(b), ldb, n, len(c), ldc)
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			zeroC(m, n, c, ldc)
		}
		ep.apply(m, n, c, ldc)
		return
	}
	sgemmFast(ws, m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate, ep)
}

// SgemmNT computes C = A·Bᵀ (or C += A·Bᵀ), where A is m×k (lda), B is n×k
// (ldb) and C is m×n (ldc): the layout of a fully connected layer whose
// weights are stored out×in.
func SgemmNT(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmOp(nil, m, n, k, a, lda, b, ldb, true, c, ldc, accumulate, nil)
}

// SgemmNTWS is SgemmNT with the packing memory of ws (see Workspace).
func SgemmNTWS(ws *Workspace, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmOp(ws, m, n, k, a, lda, b, ldb, true, c, ldc, accumulate, nil)
}

// GemmS8 computes C = A·Bᵀ in int32, where A is m×k int8 (lda), B is n×k
// int8 (ldb) and C is m×n int32 (ldc): both operands are k-contiguous, the
// layout of int8 dot products (weights × im2col patches). Sums wrap modulo
// 2³² exactly like the reference; every path is bit-exact.
func GemmS8(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	GemmS8WS(nil, m, n, k, a, lda, b, ldb, c, ldc)
}

// GemmS8WS is GemmS8 with the scratch memory of ws (nil: blas's pool).
func GemmS8WS(ws *Workspace, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	checkDims(m, n, k, len(a), lda, n, len(b), ldb, k, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	gemmS8Fast(ws, m, n, k, a, lda, b, ldb, c, ldc)
}

// checkDims validates a GEMM call: A is m×k with stride lda in a slice of
// length la, B is bRows×bCols with stride ldb in lb, C is m×n with ldc in lc.
func checkDims(m, n, k, la, lda, bRows, lb, ldb, bCols, lc, ldc int) {
	switch {
	case m < 0 || n < 0 || k < 0:
		panic("blas: negative dimension")
	case m > 1 && lda < k:
		panic("blas: bad lda")
	case bRows > 1 && ldb < bCols:
		panic("blas: bad ldb")
	case m > 1 && ldc < n:
		panic("blas: bad ldc")
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 && la < (m-1)*lda+k {
		panic("blas: insufficient length of a")
	}
	if k > 0 && lb < (bRows-1)*ldb+bCols {
		panic("blas: insufficient length of b")
	}
	if lc < (m-1)*ldc+n {
		panic("blas: insufficient length of c")
	}
}

func zeroC(m, n int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		clear(c[i*ldc : i*ldc+n])
	}
}

// Epilogue is applied to every element of C after the product (and the
// accumulation): C[i,j] = min(max(C[i,j] + Bias[i], Lo), Hi), NaN kept.
// Bias (one value per row of C) may be nil. Lo = -Inf, Hi = +Inf is no
// clamp (see NoClamp), Lo = 0 ReLU, Lo = 0, Hi = 6 ReLU6 (Clip).
type Epilogue struct {
	Bias   []float32
	Lo, Hi float32
}

// NoClamp returns the epilogue adding bias (nil for none) without a clamp.
func NoClamp(bias []float32) Epilogue {
	return Epilogue{Bias: bias, Lo: float32(math.Inf(-1)), Hi: float32(math.Inf(1))}
}

// check validates the epilogue for a C of m rows.
func (ep *Epilogue) check(m int) {
	if ep.Bias != nil && len(ep.Bias) < m {
		panic("blas: insufficient length of bias")
	}
	if !(ep.Lo <= ep.Hi) {
		panic("blas: epilogue clamp needs Lo <= Hi")
	}
}

// apply runs the epilogue over an m×n C (no-op for a nil ep).
func (ep *Epilogue) apply(m, n int, c []float32, ldc int) {
	if ep == nil {
		return
	}
	for i := 0; i < m; i++ {
		ep.applyRow(c[i*ldc:i*ldc+n], i)
	}
}

// applyRow runs the epilogue over row i of C.
func (ep *Epilogue) applyRow(row []float32, i int) {
	var bias float32
	if ep.Bias != nil {
		bias = ep.Bias[i]
	}
	lo, hi := ep.Lo, ep.Hi
	for j, v := range row {
		row[j] = min(max(v+bias, lo), hi)
	}
}
