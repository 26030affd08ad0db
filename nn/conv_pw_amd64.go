//go:build amd64 && !purego

package nn

import "unsafe"

//go:noescape
func pwKern1AVX512(a *pwArgs)

//go:noescape
func pwKern2AVX512(a *pwArgs)

//go:noescape
func pwKern3AVX512(a *pwArgs)

// pwHave: the kernels need AVX-512F (masked moves, two-table permutes).
var pwHave = hasDW512

// pwTile runs the kernel for nv (1 to 3) output vectors.
func pwTile(a *pwArgs, nv int) {
	switch nv {
	case 3:
		pwKern3AVX512(a)
	case 2:
		pwKern2AVX512(a)
	default:
		pwKern1AVX512(a)
	}
}

// Offsets the assembly kernels rely on.
var _ = [1]struct{}{}[unsafe.Offsetof(pwArgs{}.bias)-48]
var _ = [1]struct{}{}[unsafe.Offsetof(pwArgs{}.lo)-56]
var _ = [1]struct{}{}[unsafe.Offsetof(pwArgs{}.ldy)-64]
var _ = [1]struct{}{}[unsafe.Offsetof(pwArgs{}.pf)-72]
