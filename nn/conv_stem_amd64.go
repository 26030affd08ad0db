//go:build amd64 && !purego

package nn

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// stemHave: the thin stem's kernels need AVX-512F, or AVX2 and FMA
// (without them pathNCHWc runs the stem and no MaxPool is fused into it);
// stemWide picks the AVX-512 ones (a variable so that tests can run the
// AVX2 ones too; pathNCHWc's nchwcWide picks alike).
// The AVX-512 pooled kernels need AVX-512DQ too (VRANGEPS: Go's max);
// without it the AVX2 ones pool.
var (
	stemHave = hasDW512 || nchwcAVX2
	stemWide = hasDW512
	stemDQ   = cpu.X86.HasAVX512DQ
)

var _ = [1]struct{}{}[unsafe.Offsetof(stemArgs{}.x1)-56]
var _ = [1]struct{}{}[unsafe.Offsetof(stemArgs{}.lo)-88]

// stemFast runs a on the assembly kernels, reporting false where there
// are none.
func stemFast(a *stemArgs) bool {
	if !stemHave || !stemAsm {
		return false
	}
	switch {
	case a.s < 1 || a.s > 2:
		return false
	case !stemWide || a.pool && !stemDQ:
		stemAVX2(a)
	case a.pool && a.s == 1:
		stemPoolS1AVX512(a)
	case a.pool:
		stemPoolS2AVX512(a)
	case a.s == 1:
		stemS1AVX512(a)
	default:
		stemS2AVX512(a)
	}
	return true
}

// stemAVX2 runs a on the AVX2 kernels.
func stemAVX2(a *stemArgs) {
	switch {
	case a.pool && a.s == 1:
		stemPoolS1AVX2(a)
	case a.pool:
		stemPoolS2AVX2(a)
	case a.s == 1:
		stemS1AVX2(a)
	default:
		stemS2AVX2(a)
	}
}

//go:noescape
func stemS1AVX512(a *stemArgs)

//go:noescape
func stemS2AVX512(a *stemArgs)

//go:noescape
func stemPoolS1AVX512(a *stemArgs)

//go:noescape
func stemPoolS2AVX512(a *stemArgs)

//go:noescape
func stemS1AVX2(a *stemArgs)

//go:noescape
func stemS2AVX2(a *stemArgs)

//go:noescape
func stemPoolS1AVX2(a *stemArgs)

//go:noescape
func stemPoolS2AVX2(a *stemArgs)
