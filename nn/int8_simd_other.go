//go:build !amd64 || purego

package nn

import "unsafe"

// q8HasAVX512 is false: no assembly in this build.
const q8HasAVX512 = false

// q8RequantFast: no assembly kernel in this build.
func q8RequantFast(acc []int32, dst []int8, p *q8Lane, lohi *[2]int64) bool { return false }

// c1Rows is never called in this build (q8HasAVX512 is false).
func (k *q8Conv) c1Rows(pad []int8, ld, oy0, oy1, ow int, y []int8, ystride int) {
	panic("nn: q8 direct kernel without assembly")
}

// q8MaxPool2x2Fast: no assembly kernel in this build.
func q8MaxPool2x2Fast(x, y []int8, nc, h, w, oh, ow int) int { return 0 }

// q8QuadPanel is never called in this build (q8HasAVX512 is false).
func q8QuadPanel(src []int8, idx *[16]int32, taps []int32, cq int, dst []byte) {
	panic("nn: q8 gather kernel without assembly")
}

// q8QuantizeFast: no assembly kernel in this build.
func q8QuantizeFast(x []float32, dst unsafe.Pointer, scale float32, zero, lo, hi int32) bool {
	return false
}

// q8NHWCRowsFast: no assembly kernel in this build.
func q8NHWCRowsFast(x []int8, h, w, cn, pt, pl, wp int, t []int8) int { return 0 }

// q8PlanePanels is never called in this build (q8HasAVX512 is false).
func q8PlanePanels(x []int8, plane, cn, p0, n int, dst []byte) {
	panic("nn: q8 panel kernel without assembly")
}
