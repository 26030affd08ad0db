//go:build !amd64 || purego

package blas

// f32Kernels lists the assembly kernels this build can run: none.
func f32Kernels() []*f32Kernel { return nil }

func sgemmFast(_ *Workspace, m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool, ep *Epilogue) {
	sgemmGoOp(m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate)
	ep.apply(m, n, c, ldc)
}

func gemmS8Fast(_ *Workspace, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	gemmS8Go(m, n, k, a, lda, b, ldb, c, ldc)
}

// s8Kernels lists the int8 assembly kernels this build can run: none.
func s8Kernels() []*s8Kernel { return nil }

var s8Kern *s8Kernel

// f32Kern is the float32 micro-kernel in use: none.
var f32Kern *f32Kernel

const smallM = 4
