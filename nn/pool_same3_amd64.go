//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func maxSame3AVX512(a *same3Args)

// same3Args is the contract of maxSame3AVX512 (fixed by
// pool_same3_amd64.s).
type same3Args struct {
	y, x    *float32
	n, w    int     // values, plane width
	masks   *uint16 // same3Plan.masks
	period  int
	special int // set when x holds a NaN or a -0
}

// same3Have: the kernel needs AVX-512F and DQ (VFPCLASSPS).
var same3Have = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// maxSame3Fast pools x (whole planes) into y and reports whether the
// result is maxPlane's: not when x holds a NaN or a -0.
func maxSame3Fast(p *same3Plan, x, y []float32) bool {
	if !same3Have {
		return false
	}
	a := same3Args{y: &y[0], x: &x[0], n: len(x), w: p.w, masks: &p.masks[0], period: p.period}
	maxSame3AVX512(&a)
	return a.special == 0
}
