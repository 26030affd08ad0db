//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func maxSame3AVX512(a *same3Args)

//go:noescape
func maxSame3AVX2(a *same3Args)

// same3Args is the contract of both kernels (fixed by
// pool_same3_amd64.s and pool_same3_avx2_amd64.s).
type same3Args struct {
	y, x    *float32
	n, w    int     // values, plane width
	masks   *uint16 // same3Plan.masks
	period  int
	special int             // set when x holds a NaN or a -0
	lanes   *[256][8]uint32 // AVX2: same3Lanes
}

// same3Lanes[b] has all bits set in the lanes of b's set bits: the AVX2
// kernel's vector form of a byte of mask.
var same3Lanes = func() (t [256][8]uint32) {
	for b := range t {
		for i := range 8 {
			if b&(1<<i) != 0 {
				t[b][i] = ^uint32(0)
			}
		}
	}
	return t
}()

// same3AVX512: the AVX-512 kernel needs AVX-512F and DQ (VFPCLASSPS);
// else the AVX2 one runs. Tests turn it off to compare both.
var (
	same3AVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	same3Have   = same3AVX512 || cpu.X86.HasAVX2
)

// maxSame3Fast pools x (whole planes) into y and reports whether the
// result is maxPlane's: not when x holds a NaN or a -0.
func maxSame3Fast(p *same3Plan, x, y []float32) bool {
	if !same3Have {
		return false
	}
	a := same3Args{y: &y[0], x: &x[0], n: len(x), w: p.w, masks: &p.masks[0], period: p.period, lanes: &same3Lanes}
	if same3AVX512 {
		maxSame3AVX512(&a)
	} else {
		maxSame3AVX2(&a)
	}
	return a.special == 0
}
