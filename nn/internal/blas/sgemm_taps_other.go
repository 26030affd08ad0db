//go:build !amd64 || purego

package blas

// sgemmTapsFast has no multi-tap kernel in this build.
func sgemmTapsFast(s *f32Scratch, taps []*PackedA, off []int, n int, b []float32, ldb int, c []float32, ldc int, ep *Epilogue) bool {
	return false
}
