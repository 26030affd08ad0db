//go:build !amd64 || purego

package nn

// affineClampFast has no assembly kernel in this build.
func affineClampFast(dst, src []float32, a, b, lo, hi float32) bool { return false }
