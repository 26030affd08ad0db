//go:build amd64 && !purego

package nn

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:generate go run ./internal/nchwcgen

// nchwcHave: the kernels need AVX-512F, or AVX2 and FMA; nchwcWide picks
// the AVX-512 ones (a variable so that tests can run the AVX2 ones too).
var (
	nchwcHave = hasDW512 || nchwcAVX2
	nchwcWide = hasDW512
	nchwcAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

// nchwcISAs lists the kernels' widths (nchwcWide) the CPU runs.
func nchwcISAs() []bool {
	var w []bool
	if hasDW512 {
		w = append(w, true)
	}
	if nchwcAVX2 {
		w = append(w, false)
	}
	return w
}

// nchwcAsm lets nchwcRun run the assembly (a variable so that tests can run
// the Go reference through the same driver).
var nchwcAsm = true

// nchwcArgs is nchwcRows for the assembly kernels, strides in bytes, with
// room for the kernels' loop state; the field offsets are fixed by
// conv_nchwc_amd64.s (nchwcgen's o* constants).
type nchwcArgs struct {
	x, w, tile        *float32
	cg, kh, kw        int
	xcs, drow, dcol   int
	wbs, n, ldt       int
	chunks, rows, xrs int
	y, r, bias        *float32
	ldy, yrs, mlast   int
	lo, hi            float32
	cb, xbs, xpx, ypx int
	state             [12]int
	groups, xgs, ygs  int
	gstate            [4]int
	wskip             int
}

var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.n)-80]
var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.y)-120]
var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.lo)-168]
var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.cb)-176]
var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.state)-208]
var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.groups)-304]
var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.wskip)-360]

// nchwcGroupedFits reports whether a grouped call a has a kernel: the
// AVX-512 ones of stride 1, 2-3 groups of 2-8 pixels (nchwcgen's
// maxGroups and groupCols).
func nchwcGroupedFits(a *nchwcRows) bool {
	c := &a.c
	return nchwcWide && c.s == 1 && a.groups <= nchwcMaxGroups && c.n >= 2 && c.n <= nchwcGroupCols &&
		a.groups*c.n <= nchwcMaxPixels(c.f) && a.xgs >= 0 && a.ygs >= 0
}

// nchwcRun runs one kernel call.
func nchwcRun(a *nchwcRows) {
	c := &a.c
	blocked := c.px == 16
	groups := max(a.groups, 1)
	if !nchwcHave || !nchwcAsm || c.n > nchwcMaxPixels(c.f) || c.f > nchwcMaxBlocks() || c.s < 1 || c.s > 2 || !nchwcWide && !nchwcAVX2 || c.px != 1 && !blocked || c.cb < 1 ||
		groups > 1 && !nchwcGroupedFits(a) {
		nchwcRowsRef(a)
		return
	}
	// The last elements read and written, which the slices must hold.
	last := (a.rows-1)*a.yrs + a.chunks*c.n - 1 + ((c.f-1)*16+a.mlast-1)*a.ldy
	ypx := 4
	if a.blocked {
		last = 16*((c.f-1)*a.ldy+(a.rows-1)*a.yrs+(groups-1)*a.ygs+a.chunks*c.n-1) + 15
		ypx = 64
	}
	_ = a.y[last]
	args := nchwcArgs{x: &c.x[0], w: &c.w[0], tile: &c.tile[0], cg: c.cg, kh: c.kh, kw: c.kw,
		xcs: 4 * c.xcs, drow: 4 * c.drow, dcol: 4 * c.dcol, wbs: 4 * c.wbs, n: c.n, ldt: 4 * c.ldt,
		chunks: a.chunks, rows: a.rows, xrs: 4 * a.xrs, y: &a.y[0], bias: &a.bias[0],
		ldy: 4 * a.ldy, yrs: ypx * a.yrs, mlast: a.mlast, lo: a.lo, hi: a.hi,
		cb: c.cb, xbs: 4 * c.xbs, xpx: 4 * c.px, ypx: ypx,
		groups: groups, xgs: 4 * a.xgs, ygs: ypx * a.ygs, wskip: 4 * c.wskip}
	_ = c.x[(a.rows-1)*a.xrs+(groups-1)*a.xgs+(a.chunks*c.n-1)*c.s*c.px+(c.cb-1)*c.xbs+(c.cg-1)*c.xcs+(c.kh-1)*c.drow+(c.kw-1)*c.dcol]
	_ = c.w[(c.f-1)*c.wbs+(c.cb*c.cg-1)*(c.kh*c.kw*16+c.wskip)+c.kh*c.kw*16-1]
	tn := (groups*c.n + 15) / 16 * 256 // a block's tile
	if !a.blocked {
		tn = max(tn, ((groups-1)*c.n+16)*16) // the transposing store reads 16 pixels a group
	}
	_ = c.tile[(c.f-1)*c.ldt+tn-1]
	_ = a.bias[c.f*16-1]
	if c.ldt < tn {
		panic("nn: nchwc tile blocks overlap")
	}
	if a.r != nil {
		_ = a.r[last]
		args.r = &a.r[0]
	}
	// One kernel per input layout (b), block count (f), stride (s):
	// key b<<5 | f<<2 | s, f 0 for the AVX2 ones.
	key := c.f<<2 | c.s
	if !nchwcWide {
		key = c.s
	}
	if blocked {
		key |= 1 << 5
	}
	switch key {
	case 0<<5 | 1:
		nchwcF1S1AVX2(&args)
	case 0<<5 | 2:
		nchwcF1S2AVX2(&args)
	case 0<<5 | 1<<2 | 1:
		nchwcF1S1AVX512(&args)
	case 0<<5 | 1<<2 | 2:
		nchwcF1S2AVX512(&args)
	case 0<<5 | 2<<2 | 1:
		nchwcF2S1AVX512(&args)
	case 0<<5 | 2<<2 | 2:
		nchwcF2S2AVX512(&args)
	case 0<<5 | 3<<2 | 1:
		nchwcF3S1AVX512(&args)
	case 0<<5 | 3<<2 | 2:
		nchwcF3S2AVX512(&args)
	case 0<<5 | 4<<2 | 1:
		nchwcF4S1AVX512(&args)
	case 0<<5 | 4<<2 | 2:
		nchwcF4S2AVX512(&args)
	case 1<<5 | 1:
		nchwcF1S1BAVX2(&args)
	case 1<<5 | 2:
		nchwcF1S2BAVX2(&args)
	case 1<<5 | 1<<2 | 1:
		nchwcF1S1BAVX512(&args)
	case 1<<5 | 1<<2 | 2:
		nchwcF1S2BAVX512(&args)
	case 1<<5 | 2<<2 | 1:
		nchwcF2S1BAVX512(&args)
	case 1<<5 | 2<<2 | 2:
		nchwcF2S2BAVX512(&args)
	case 1<<5 | 3<<2 | 1:
		nchwcF3S1BAVX512(&args)
	case 1<<5 | 3<<2 | 2:
		nchwcF3S2BAVX512(&args)
	case 1<<5 | 4<<2 | 1:
		nchwcF4S1BAVX512(&args)
	case 1<<5 | 4<<2 | 2:
		nchwcF4S2BAVX512(&args)
	}
}

//go:noescape
func nchwcF1S1AVX512(a *nchwcArgs)

//go:noescape
func nchwcF1S2AVX512(a *nchwcArgs)

//go:noescape
func nchwcF2S1AVX512(a *nchwcArgs)

//go:noescape
func nchwcF2S2AVX512(a *nchwcArgs)

//go:noescape
func nchwcF3S1AVX512(a *nchwcArgs)

//go:noescape
func nchwcF3S2AVX512(a *nchwcArgs)

//go:noescape
func nchwcF4S1AVX512(a *nchwcArgs)

//go:noescape
func nchwcF4S2AVX512(a *nchwcArgs)

//go:noescape
func nchwcPadRowsAVX512(src, dst *float32, top, mid, bot, nv, m0, m1, wp, ss, cg, scs, pl int)

// padRows is padRowsGo (dst with nchwcSlack floats more). The assembly
// copies a row as nv vectors: the first and last masked to the floats
// inside the row, those between whole, so it takes rows whose vectors
// between the first and the last lie inside the row.
func padRows(src, dst []float32, top, mid, bot, w, wp, pl, cg, ps int) {
	_ = dst[cg*(top+mid+bot)*wp+nchwcSlack-1]
	if mid > 0 {
		_ = src[(cg-1)*ps+mid*w-1]
	}
	nv := (wp + 15) / 16
	if !hasDW512 || pl+w > wp || cg < 1 || nv > 2 && (pl > 16 || pl+w < 16*(nv-1)) {
		padRowsGo(src, dst, top, mid, bot, w, wp, pl, cg, ps)
		return
	}
	nchwcPadRowsAVX512(&src[0], &dst[0], top, mid, bot, nv, padRowMask(0, pl, w), padRowMask(nv-1, pl, w), 4*wp, 4*w, cg, 4*ps, 4*pl)
}

// padRowMask is the mask of the lanes of vector v of a padded row (pl
// zeros, then w floats) that hold the row's floats.
func padRowMask(v, pl, w int) int {
	lo, hi := min(max(pl-16*v, 0), 16), min(max(pl+w-16*v, 0), 16)
	if hi <= lo {
		return 0
	}
	return (1<<hi - 1) &^ (1<<lo - 1)
}

//go:noescape
func nchwcF1S1AVX2(a *nchwcArgs)

//go:noescape
func nchwcF1S2AVX2(a *nchwcArgs)

//go:noescape
func nchwcF1S1BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF1S2BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF2S1BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF2S2BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF3S1BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF3S2BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF4S1BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF4S2BAVX512(a *nchwcArgs)

//go:noescape
func nchwcF1S1BAVX2(a *nchwcArgs)

//go:noescape
func nchwcF1S2BAVX2(a *nchwcArgs)
