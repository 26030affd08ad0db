//go:build amd64 && !purego

package nn

//go:noescape
func affineClampAVX512(dst, src *float32, n int, a, b, lo, hi float32)

// affineClampFast writes min(max(src[i]·a + b, lo), hi) to dst[i] with the
// assembly kernel when the CPU has it, and reports whether it did; the
// result is the Go loop's bit for bit.
func affineClampFast(dst, src []float32, a, b, lo, hi float32) bool {
	if !hasClamp512 || len(dst) == 0 || len(src) < len(dst) {
		return false
	}
	affineClampAVX512(&dst[0], &src[0], len(dst), a, b, lo, hi)
	return true
}
