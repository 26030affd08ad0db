//go:build amd64 && !purego

package nn

import "unsafe"

//go:noescape
func tapSumAVX512(a *tapArgs)

//go:noescape
func tapMaxAVX512(a *tapArgs)

// tapPlaneFast runs the assembly kernel when the CPU has it.
func tapPlaneFast(a *tapArgs, isMax bool) bool {
	if !hasDW512 {
		return false
	}
	if isMax {
		a.bias = negInf32
		tapMaxAVX512(a)
		return true
	}
	tapSumAVX512(a)
	return true
}

// Offsets the assembly kernel relies on.
var _ = [1]struct{}{}[unsafe.Offsetof(tapArgs{}.off)-56]
var _ = [1]struct{}{}[unsafe.Offsetof(tapArgs{}.bias)-72]
var _ = [1]struct{}{}[unsafe.Offsetof(tapArgs{}.mask)-84]
