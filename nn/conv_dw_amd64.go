//go:build amd64 && !purego

package nn

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func dw3PlaneAVX512(a *dw3Args)

var hasDW512 = cpu.X86.HasAVX512F

// dw3PlaneFast runs the assembly kernel when the CPU has it.
func dw3PlaneFast(a *dw3Args) bool {
	if !hasDW512 {
		return false
	}
	dw3PlaneAVX512(a)
	return true
}

//go:noescape
func splitEvenOddAVX512(x, e, o *float32, blocks int)

// splitEvenOddFast splits the first 32·blocks values of x with the
// assembly kernel when the CPU has it, and reports how many it did.
func splitEvenOddFast(x, e, o []float32) int {
	blocks := min(len(x)/32, len(e)/16, len(o)/16)
	if !hasDW512 || blocks == 0 {
		return 0
	}
	splitEvenOddAVX512(&x[0], &e[0], &o[0], blocks)
	return 32 * blocks
}

// Offsets the assembly kernel relies on.
var _ = [1]struct{}{}[unsafe.Offsetof(dw3Args{}.off)-64]
var _ = [1]struct{}{}[unsafe.Offsetof(dw3Args{}.w)-136]
var _ = [1]struct{}{}[unsafe.Offsetof(dw3Args{}.bias)-172]
