//go:build !amd64 || purego

package blas

// sgemvPacked: no assembly kernel in this build.
func sgemvPacked(mr int, pre []float32, m, n, k int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ep *Epilogue) bool {
	return false
}

const gemvMaxN = 0
