//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func maxPool2x2AVX512(a *mp2Args)

//go:noescape
func avgPool2x2AVX512(a *mp2Args)

// hasMP512: the kernels need AVX-512F, the maximum also DQ (VFPCLASSPS).
var hasMP512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// maxPool2x2Fast runs the assembly kernel when the CPU has it, and reports
// whether its result is maxPlane2x2Go's: not when a maximum is -0, which
// may stand for a window of -0 and +0 (Go's max gives +0).
func maxPool2x2Fast(a *mp2Args) bool {
	if !hasMP512 {
		return false
	}
	maxPool2x2AVX512(a)
	return a.special == 0
}

// avgPool2x2Fast runs the assembly kernel when the CPU has it.
func avgPool2x2Fast(a *mp2Args) bool {
	if !hasMP512 {
		return false
	}
	avgPool2x2AVX512(a)
	return true
}
