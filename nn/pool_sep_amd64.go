//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func maxRowsAVX512(a *sepRowsArgs)

//go:noescape
func hmaxAVX512(a *sepRowsArgs)

// sepRowsArgs is the contract of both kernels (fixed by pool_sep_amd64.s).
type sepRowsArgs struct {
	dst, src *float32
	offs     *int // maxRows: kh offsets (floats) per row
	rows, n  int  // rows; values (maxRows) or outputs (hmax) per row
	ldd, lds int  // row strides of dst and src, in floats
	k, d, s  int  // taps per row, their step and the output stride (hmax), kh (maxRows)
	planes   int  // maxRows: planes, their rows' offsets each xps floats further
	xps      int
	special  int // maxRows: set when the values it read held a NaN or a -0
}

// sepMaxHave: the kernels need AVX-512F and DQ (VFPCLASSPS).
var sepMaxHave = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ

// maxRowsFast reports whether it set the rows, as maxRowsGo would: not
// when x held a NaN or a -0 (its plain maxima might differ).
func maxRowsFast(dst []float32, ld int, x []float32, xps, planes int, offs []int, kh, n int) bool {
	if !sepMaxHave {
		return false
	}
	a := sepRowsArgs{dst: &dst[0], src: &x[0], offs: &offs[0], rows: len(offs) / kh, n: n, ldd: ld, k: kh, planes: planes, xps: xps}
	maxRowsAVX512(&a)
	return a.special == 0
}

// hmaxFast takes rows that hold no NaN and no -0 only.
func hmaxFast(y []float32, ow int, rows []float32, ld, nrows, k, d, s int) bool {
	if !sepMaxHave || s < 1 || s > 2 {
		return false
	}
	hmaxAVX512(&sepRowsArgs{dst: &y[0], src: &rows[0], rows: nrows, n: ow, ldd: ow, lds: ld, k: k, d: d, s: s})
	return true
}
