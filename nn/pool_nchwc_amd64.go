//go:build amd64 && !purego

package nn

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func maxPoolNCHWcAVX512(a *mpcArgs)

//go:noescape
func maxPoolNCHWcAVX2(a *mpcArgs)

// The assembly reads mpcArgs at fixed offsets.
var _ = [1]struct{}{}[unsafe.Offsetof(mpcArgs{}.special)-96]

// mpcHave: the AVX-512 kernel needs AVX-512F and DQ (VFPCLASSPS); mpcHave2: the AVX2 one
// (pool_nchwc_avx2_amd64.s) runs where AVX-512F is absent.
var (
	mpcHave  = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	mpcHave2 = cpu.X86.HasAVX2
)

// maxPoolNCHWcFast runs the AVX-512 kernel when the CPU has it, else the
// AVX2 one, and reports whether its result is maxPoolNCHWcRowGo's: not
// when an output is -0, which may stand for a window of -0 and +0 (Go's
// max gives +0).
func maxPoolNCHWcFast(a *mpcArgs) bool {
	switch {
	case mpcHave:
		maxPoolNCHWcAVX512(a)
	case mpcHave2:
		maxPoolNCHWcAVX2(a)
	default:
		return false
	}
	return a.special == 0
}

// setMPC switches the AVX-512 kernel (tests compare it with the Go one).
func setMPC(on bool) { mpcHave = on && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ }

// setMPC2 switches the AVX2 kernel (used where the AVX-512 one is off).
func setMPC2(on bool) { mpcHave2 = on && cpu.X86.HasAVX2 }
