//go:build amd64 && !purego

package nn

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// AVX-512 paths of the int8 kernels (int8_simd_amd64.s). The plain-Go
// code in int8_conv.go is the fallback and the reference (tests compare
// both, and -tags purego builds without this file).

var q8HasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ &&
	cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VBMI && cpu.X86.HasAVX512VNNI

//go:noescape
func q8RequantAVX512(acc *int32, n int, dst *int8, p *q8Lane, lohi *[2]int64)

// q8RequantFast requantizes acc into dst with the lane parameters p when
// the CPU has AVX-512, and reports whether it did.
func q8RequantFast(acc []int32, dst []int8, p *q8Lane, lohi *[2]int64) bool {
	if !q8HasAVX512 || len(acc) == 0 || len(dst) < len(acc) {
		return false
	}
	q8RequantAVX512(unsafe.SliceData(acc), len(acc), unsafe.SliceData(dst), p, lohi)
	return true
}
