//go:build amd64 && !purego

package nn

import "unsafe"

//go:noescape
func dwDirect1AVX512(a *dwDirectArgs)

//go:noescape
func dwDirect2AVX512(a *dwDirectArgs)

//go:noescape
func dwDirect2PairAVX512(a *dwDirectArgs)

//go:noescape
func dwMax1AVX512(a *dwDirectArgs)

//go:noescape
func dwMax2AVX512(a *dwDirectArgs)

// dwDirectHave: the kernels need AVX-512F (masked loads, vpermt2ps).
var dwDirectHave = hasDW512

// dwDirectRun runs the kernel of stride s along the row: the convolution,
// or with isMax the max pool; pair: the row is undilated and has a left
// pad (dwDirectPair).
func dwDirectRun(a *dwDirectArgs, s int, pair, isMax bool) {
	switch {
	case isMax && s == 2:
		dwMax2AVX512(a)
	case isMax:
		dwMax1AVX512(a)
	case s == 2 && pair:
		dwDirect2PairAVX512(a)
	case s == 2:
		dwDirect2AVX512(a)
	default:
		dwDirect1AVX512(a)
	}
}

// Offsets the assembly kernels rely on.
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.masks)-56]
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.off)-64]
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.w)-136]
var _ = [1]struct{}{}[unsafe.Offsetof(dwDirectArgs{}.bias)-172]

//go:noescape
func dwMulti1AVX512(a *dwMultiArgs)

//go:noescape
func dwMulti2AVX512(a *dwMultiArgs)

// dwMultiRun runs the many-output kernel of stride s along the row.
func dwMultiRun(a *dwMultiArgs, s int) {
	if s == 2 {
		dwMulti2AVX512(a)
		return
	}
	dwMulti1AVX512(a)
}

var _ = [1]struct{}{}[unsafe.Offsetof(dwMultiArgs{}.w)-96]
var _ = [1]struct{}{}[unsafe.Offsetof(dwMultiArgs{}.lo)-120]
var _ = [1]struct{}{}[unsafe.Offsetof(dwMultiArgs{}.ps)-128]

//go:noescape
func dwWin1AVX512(a *dwWinArgs)

//go:noescape
func dwWin2AVX512(a *dwWinArgs)

// dwWinRun runs the any-window kernel of stride s along the row.
func dwWinRun(a *dwWinArgs, s int) {
	if s == 2 {
		dwWin2AVX512(a)
		return
	}
	dwWin1AVX512(a)
}

var _ = [1]struct{}{}[unsafe.Offsetof(dwWinArgs{}.off)-104]
var _ = [1]struct{}{}[unsafe.Offsetof(dwWinArgs{}.lo)-128]
var _ = [1]struct{}{}[unsafe.Offsetof(dwWinArgs{}.ldy)-160]
