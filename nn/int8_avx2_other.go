//go:build !amd64 || purego

package nn

import "unsafe"

// q8HasAVX2 is false: no assembly in this build.
const q8HasAVX2 = false

// q8RequantAVX2Lane: no assembly kernel in this build.
func q8RequantAVX2Lane(acc []int32, dst []int8, p *q8Lane, lohi *[2]int64) bool { return false }

// q8DWRow is never called in this build (q8HasAVX2 is false).
func q8DWRow(src []int8, offs, wts []int32, acc []int32, n, step int) {
	panic("nn: q8 depthwise kernel without assembly")
}

// q8QuantizeAVX2Tail is never called in this build (q8HasAVX2 is false).
func q8QuantizeAVX2Tail(x []float32, dst unsafe.Pointer, scale float32, zero, lo, hi int32) {
	panic("nn: q8 quantize kernel without assembly")
}

// q8PairRow is never called in this build (q8HasAVX2 is false).
func q8PairRow(a, b []int8, dst []int16, cp int) {
	panic("nn: q8 pair kernel without assembly")
}

// q8ImplTiles is never called in this build (q8HasAVX2 is false).
func q8ImplTiles(src []int8, pix []int32, taps []int32, cq int, w []int16, wstride int, two bool, acc []int32, ld int) {
	panic("nn: q8 implicit GEMM kernel without assembly")
}

// q8AddFast: no assembly kernel in this build.
func q8AddFast(a, b, y []int8, ma, mb, c0, hz int64, s uint8, lo, hi int32) bool { return false }

// q8MaxBytes writes max(a[i], b[i]) to dst[i] for i < len(dst).
func q8MaxBytes(dst, a, b []int8) { q8MaxBytesGo(dst, a, b) }

// q8Evens writes src[2i] to dst[i] for i < len(dst).
func q8Evens(dst, src []int8) { q8EvensGo(dst, src) }

// q8Dequant writes float32(src[i] - z)·s to dst[i] for i < len(dst).
func q8Dequant(dst []float32, src []int8, z int32, s float32) { q8DequantGo(dst, src, z, s) }

// q8OctRow is never called in this build (q8HasAVX2 is false).
func q8OctRow(x []int8, plane, c, p0, n int, t []int16, o, cp int) {
	panic("nn: q8 transpose kernel without assembly")
}

// q8ImplTile4 is never called in this build (q8HasAVX2 is false).
func q8ImplTile4(src []int8, pix []int32, taps []int32, cq int, w []int16, wstride int, acc []int32, ld int) {
	panic("nn: q8 implicit GEMM kernel without assembly")
}
