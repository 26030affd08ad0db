//go:build amd64 && !purego

package nn

import "unsafe"

// stemHave: the thin stem's kernels need AVX-512F (without it pathNCHWc
// runs the stem and no MaxPool is fused into it).
var stemHave = hasDW512

var _ = [1]struct{}{}[unsafe.Offsetof(stemArgs{}.x1)-56]
var _ = [1]struct{}{}[unsafe.Offsetof(stemArgs{}.lo)-88]

// stemFast runs a on the assembly kernels, reporting false where there
// are none.
func stemFast(a *stemArgs) bool {
	if !stemHave || !stemAsm {
		return false
	}
	switch {
	case a.pool && a.s == 1:
		stemPoolS1AVX512(a)
	case a.pool && a.s == 2:
		stemPoolS2AVX512(a)
	case a.s == 1:
		stemS1AVX512(a)
	case a.s == 2:
		stemS2AVX512(a)
	default:
		return false
	}
	return true
}

//go:noescape
func stemS1AVX512(a *stemArgs)

//go:noescape
func stemS2AVX512(a *stemArgs)

//go:noescape
func stemPoolS1AVX512(a *stemArgs)

//go:noescape
func stemPoolS2AVX512(a *stemArgs)
