//go:build amd64 && !purego

package nn

import "unsafe"

//go:noescape
func dwSmallAVX512(a *dwSmallArgs)

//go:noescape
func dwSmallWideAVX512(a *dwSmallArgs)

// dwSmallHave: the kernel needs AVX-512F only (masked loads, vpermi2ps).
var dwSmallHave = hasDW512

func dwSmallFast(a *dwSmallArgs, wide bool) {
	if wide {
		dwSmallWideAVX512(a)
		return
	}
	dwSmallAVX512(a)
}

// dwsAlign returns buf from its first 64-byte aligned float (buf has 16
// floats of slack).
func dwsAlign(buf []float32) []float32 {
	mis := int(uintptr(unsafe.Pointer(&buf[0])) & 63 / 4)
	return buf[(16-mis)&15:]
}

// Offsets the assembly kernel relies on.
var _ = [1]struct{}{}[unsafe.Offsetof(dwSmallArgs{}.pad)-96]
var _ = [1]struct{}{}[unsafe.Offsetof(dwSmallArgs{}.pmask)-144]
var _ = [1]struct{}{}[unsafe.Offsetof(dwSmallArgs{}.lo)-192]
var _ = [1]struct{}{}[unsafe.Offsetof(dwSmallArgs{}.idx)-200]
