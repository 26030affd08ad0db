//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func maxRowsAVX512(a *sepRowsArgs)

//go:noescape
func hmaxAVX512(a *sepRowsArgs)

//go:noescape
func maxRowsAVX2(a *sepRowsArgs)

//go:noescape
func hmaxAVX2(a *sepRowsArgs)

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

// sepMaxAVX512: the AVX-512 kernels need AVX-512F and DQ (VFPCLASSPS);
// else the AVX2 ones run (pool_sep_avx2_amd64.s). Tests turn it off to
// compare both.
var (
	sepMaxAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
	sepMaxHave   = sepMaxAVX512 || cpu.X86.HasAVX2
)

// maxRowsFast reports whether it set the rows, as maxRowsGo would: not
// when x held a NaN or a -0 (its plain maxima might differ).
func maxRowsFast(dst []float32, ld int, x []float32, xps, planes int, offs []int, kh, n int) bool {
	if !sepMaxHave {
		return false
	}
	a := sepRowsArgs{dst: &dst[0], src: &x[0], offs: &offs[0], rows: len(offs) / kh, n: n, ldd: ld, k: kh, planes: planes, xps: xps}
	if sepMaxAVX512 {
		maxRowsAVX512(&a)
	} else {
		maxRowsAVX2(&a)
	}
	return a.special == 0
}

// hmaxFast takes rows that hold no NaN and no -0 only.
func hmaxFast(y []float32, ow int, rows []float32, ld, nrows, k, d, s int) bool {
	if !sepMaxHave || s < 1 || s > 2 {
		return false
	}
	a := sepRowsArgs{dst: &y[0], src: &rows[0], rows: nrows, n: ow, ldd: ow, lds: ld, k: k, d: d, s: s}
	if sepMaxAVX512 {
		hmaxAVX512(&a)
	} else {
		hmaxAVX2(&a)
	}
	return true
}
