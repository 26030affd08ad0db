//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

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
