//go:build amd64 && !purego

package nn

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func maxPoolNCHWcAVX512(a *mpcArgs)

// The assembly reads mpcArgs at fixed offsets.
var _ = [1]struct{}{}[unsafe.Offsetof(mpcArgs{}.syr)-88]

// mpcHave: the kernel needs AVX-512F.
var mpcHave = cpu.X86.HasAVX512F

// maxPoolNCHWcFast runs the AVX-512 kernel when the CPU has it.
func maxPoolNCHWcFast(a *mpcArgs) bool {
	if !mpcHave {
		return false
	}
	maxPoolNCHWcAVX512(a)
	return true
}

// setMPC switches the kernel (tests compare it with the Go one).
func setMPC(on bool) { mpcHave = on && cpu.X86.HasAVX512F }
