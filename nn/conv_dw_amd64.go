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

//go:noescape
func splitEvenOddTailAVX512(x, e, o *float32, n int)

// splitEvenOddFast splits the first n = min(len(x), 2·len(e), 2·len(o)+1)
// values of x (x[2i] to e[i], x[2i+1] to o[i]) with the assembly kernels
// when the CPU has them, and reports how many it did (n, or 0).
func splitEvenOddFast(x, e, o []float32) int {
	n := min(len(x), 2*len(e), 2*len(o)+1)
	if !hasDW512 || n <= 0 {
		return 0
	}
	blocks := n / 32
	if blocks > 0 {
		splitEvenOddAVX512(&x[0], &e[0], &o[0], blocks)
	}
	r, i := n-32*blocks, 16*blocks
	switch {
	case r == 0:
	case r == 1:
		e[i] = x[2*i]
	default:
		splitEvenOddTailAVX512(&x[2*i], &e[i], &o[i], r)
	}
	return n
}

// Offsets the assembly kernel relies on.
var _ = [1]struct{}{}[unsafe.Offsetof(dw3Args{}.off)-64]
var _ = [1]struct{}{}[unsafe.Offsetof(dw3Args{}.w)-136]
var _ = [1]struct{}{}[unsafe.Offsetof(dw3Args{}.bias)-172]
