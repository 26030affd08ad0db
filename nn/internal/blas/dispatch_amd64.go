//go:build amd64 && !purego

package blas

import "golang.org/x/sys/cpu"

//go:noescape
func sgemmKern16x16AVX512(k int, a, b, c *float32, ldc int, acc bool)

//go:noescape
func sgemmKern6x16AVX2(k int, a, b, c *float32, ldc int, acc bool)

var (
	kernAVX512 = f32Kernel{name: "avx512", mr: 16, nr: 16, micro: sgemmKern16x16AVX512}
	kernAVX2   = f32Kernel{name: "avx2", mr: 6, nr: 16, micro: sgemmKern6x16AVX2}
)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	hasVNNI   = hasAVX512 && cpu.X86.HasAVX512VNNI

	// f32Kern is the float32 micro-kernel in use, nil for plain Go.
	f32Kern = pickF32()
)

func pickF32() *f32Kernel {
	switch {
	case hasAVX512:
		return &kernAVX512
	case hasAVX2:
		return &kernAVX2
	}
	return nil
}

// f32Kernels lists the kernels this CPU can run, for tests and benchmarks.
func f32Kernels() []*f32Kernel {
	var ks []*f32Kernel
	if hasAVX512 {
		ks = append(ks, &kernAVX512)
	}
	if hasAVX2 {
		ks = append(ks, &kernAVX2)
	}
	return ks
}

// smallM is the row count below which A·Bᵀ runs as dot products instead of
// packing B (a matrix-vector product for batch 1).
const smallM = 4

func sgemmFast(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool) {
	kern := f32Kern
	if kern == nil || (transB && m < smallM) {
		sgemmGoOp(m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate)
		return
	}
	sgemmPacked(kern, m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate)
}

func gemmS8Fast(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	gemmS8Go(m, n, k, a, lda, b, ldb, c, ldc)
}

func hasAVX2Kernel() bool    { return hasAVX2 && f32Kern != &kernAVX2 }
func avx2Kernel() *f32Kernel { return &kernAVX2 }
