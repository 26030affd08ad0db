//go:build amd64 && !purego

package nn

import "unsafe"

//go:noescape
func dwDirect1AVX512(a *dwDirectArgs)

//go:noescape
func dwDirect2AVX512(a *dwDirectArgs)

// dwDirectHave: the kernels need AVX-512F (masked loads, vpermt2ps).
var dwDirectHave = hasDW512

// dwDirectRun runs the kernel of stride s along the row.
func dwDirectRun(a *dwDirectArgs, s int) {
	if s == 2 {
		dwDirect2AVX512(a)
		return
	}
	dwDirect1AVX512(a)
}

// Offsets the assembly kernels rely on.
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.masks)-56]
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.off)-64]
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.w)-136]
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.bias)-172]
