//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func clampAVX512(dst, src *float32, n int, lo, hi float32)

var hasClamp512 = cpu.X86.HasAVX512F

// clampFast writes min(max(src[i], lo), hi) to dst[i] for i < len(dst) with
// the assembly kernel when the CPU has it (len(src) >= len(dst)), and
// reports whether it did.
func clampFast(dst, src []float32, lo, hi float32) bool {
	if !hasClamp512 || len(dst) == 0 || len(src) < len(dst) {
		return false
	}
	clampAVX512(&dst[0], &src[0], len(dst), lo, hi)
	return true
}

//go:noescape
func addReluAVX512(dst, a, b *float32, n int)

// addReluFast writes the Relu of a[i] + b[i] to dst[i] for i < len(dst)
// with the assembly kernel when the CPU has it (a and b at least as long),
// and reports whether it did.
func addReluFast(dst, a, b []float32) bool {
	if !hasClamp512 || len(dst) == 0 || len(a) < len(dst) || len(b) < len(dst) {
		return false
	}
	addReluAVX512(&dst[0], &a[0], &b[0], len(dst))
	return true
}

//go:noescape
func hardActAVX512(dst, src *float32, n int, alpha, beta float32, swish bool)

// hardActFast writes HardSigmoid (alpha, beta) of src to dst, or with swish
// src times it (HardSwish: alpha 1/6, beta 1/2), with the assembly kernel
// when the CPU has it (len(src) >= len(dst)), and reports whether it did.
func hardActFast(dst, src []float32, alpha, beta float32, swish bool) bool {
	if !hasClamp512 || len(dst) == 0 || len(src) < len(dst) {
		return false
	}
	hardActAVX512(&dst[0], &src[0], len(dst), alpha, beta, swish)
	return true
}
