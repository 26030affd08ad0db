//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func maxPool2x2AVX512(a *mp2Args)

//go:noescape
func avgPool2x2AVX512(a *mp2Args)

var hasMP512 = cpu.X86.HasAVX512F

// maxPool2x2Fast runs the assembly kernel when the CPU has it.
func maxPool2x2Fast(a *mp2Args) bool {
	if !hasMP512 {
		return false
	}
	maxPool2x2AVX512(a)
	return true
}

// avgPool2x2Fast runs the assembly kernel when the CPU has it.
func avgPool2x2Fast(a *mp2Args) bool {
	if !hasMP512 {
		return false
	}
	avgPool2x2AVX512(a)
	return true
}
