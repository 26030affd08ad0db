//go:build amd64 && !purego

package blas

//go:noescape
func sgemmKern8x16EdgeAVX512(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep, mask uint32)

//go:noescape
func sgemmKern8x32EdgeAVX512(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep, mask uint32)

// sgemmEdge8x32 computes the full-height, n-column (0 < n < 32) edge tile of
// the 8x32 AVX-512 kernel with masked stores: one B vector when n <= 16,
// both otherwise.
func sgemmEdge8x32(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep, n int) {
	if n <= 16 {
		sgemmKern8x16EdgeAVX512(k, a, b, ldb, c, ldc, acc, ep, uint32(1)<<n-1)
		return
	}
	sgemmKern8x32EdgeAVX512(k, a, b, ldb, c, ldc, acc, ep, uint32(1)<<(n-16)-1)
}
