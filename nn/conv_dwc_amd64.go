//go:build amd64 && !purego

package nn

import "unsafe"

//go:noescape
func dwcTr16AVX512(dst *float32, ldd uintptr, src *float32, lds uintptr, nr, nc int, smask uint64)

//go:noescape
func dwc1AVX512(a *dwcArgs)

//go:noescape
func dwc2AVX512(a *dwcArgs)

//go:noescape
func dwcSlideAVX512(a *dwcArgs)

// dwcHave: the kernels need AVX-512F.
var dwcHave = hasDW512

// dwcTr16Asm runs the assembly transpose (callers check the bounds).
func dwcTr16Asm(dst []float32, ldd int, src []float32, lds, nr, nc int, smask uint64) {
	dwcTr16AVX512(&dst[0], uintptr(4*ldd), &src[0], uintptr(4*lds), nr, nc, smask)
}

// dwcRowsAsm runs the compute kernel of stride s and dilation d along the
// row (the sliding window for 1 and 1, unless dwcSlideOn is off).
func dwcRowsAsm(a *dwcArgs, s, d int) {
	switch {
	case s == 2:
		dwc2AVX512(a)
	case d == 1 && dwcSlideOn:
		dwcSlideAVX512(a)
	default:
		dwc1AVX512(a)
	}
}

// Offsets the assembly kernels rely on.
var _ = [1]struct{}{}[unsafe.Offsetof(dwcArgs{}.oh)-32]
var _ = [1]struct{}{}[unsafe.Offsetof(dwcArgs{}.rs)-64]
var _ = [1]struct{}{}[unsafe.Offsetof(dwcArgs{}.lo)-88]
