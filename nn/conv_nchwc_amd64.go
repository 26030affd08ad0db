//go:build amd64 && !purego

package nn

import "unsafe"

//go:generate go run ./internal/nchwcgen

// nchwcHave: the kernels need AVX-512F.
var nchwcHave = hasDW512

// nchwcAsm lets nchwcTile and nchwcStoreTile run the assembly (a variable
// so that tests can run the Go references through the same driver).
var nchwcAsm = true

// nchwcArgs is nchwcCall for the assembly kernels, strides in bytes; the
// field offsets are fixed by conv_nchwc_amd64.s.
type nchwcArgs struct {
	x, w, tile      *float32
	cg, kh, kw      int
	xcs, drow, dcol int
	wbs, n, ldt     int
}

var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.n)-80]
var _ = [1]struct{}{}[unsafe.Offsetof(nchwcArgs{}.ldt)-88]

// nchwcTile runs one kernel call.
func nchwcTile(c *nchwcCall) {
	if !nchwcHave || !nchwcAsm || c.n > nchwcMaxPixels(c.f) {
		nchwcTileRef(c)
		return
	}
	// The last reads, which the slices must hold.
	_ = c.x[(c.cg-1)*c.xcs+(c.kh-1)*c.drow+(c.kw-1)*c.dcol+(c.n-1)*c.s]
	_ = c.w[(c.f-1)*c.wbs+c.cg*c.kh*c.kw*16-1]
	_ = c.tile[(c.f-1)*c.ldt+c.n*16-1]
	a := nchwcArgs{x: &c.x[0], w: &c.w[0], tile: &c.tile[0], cg: c.cg, kh: c.kh, kw: c.kw,
		xcs: 4 * c.xcs, drow: 4 * c.drow, dcol: 4 * c.dcol, wbs: 4 * c.wbs, n: c.n, ldt: 4 * c.ldt}
	switch c.f<<2 | c.s {
	case 1<<2 | 1:
		nchwcF1S1AVX512(&a)
	case 1<<2 | 2:
		nchwcF1S2AVX512(&a)
	case 2<<2 | 1:
		nchwcF2S1AVX512(&a)
	case 2<<2 | 2:
		nchwcF2S2AVX512(&a)
	case 3<<2 | 1:
		nchwcF3S1AVX512(&a)
	case 3<<2 | 2:
		nchwcF3S2AVX512(&a)
	case 4<<2 | 1:
		nchwcF4S1AVX512(&a)
	default:
		nchwcF4S2AVX512(&a)
	}
}

// nchwcStoreArgs is nchwcStoreCall for the assembly (ldy in bytes; r nil
// for none); the field offsets are fixed by conv_nchwc_amd64.s.
type nchwcStoreArgs struct {
	tile, y, r, bias *float32
	ldy, n, m        int
	lo, hi           float32
}

var _ = [1]struct{}{}[unsafe.Offsetof(nchwcStoreArgs{}.lo)-56]

// nchwcStoreTile runs one store.
func nchwcStoreTile(s *nchwcStoreCall) {
	if !nchwcHave || !nchwcAsm {
		nchwcStoreRef(s)
		return
	}
	_ = s.tile[255]
	_ = s.y[(s.m-1)*s.ldy+s.n-1]
	_ = s.bias[s.m-1]
	a := nchwcStoreArgs{tile: &s.tile[0], y: &s.y[0], bias: &s.bias[0], ldy: 4 * s.ldy, n: s.n, m: s.m, lo: s.lo, hi: s.hi}
	if s.r != nil {
		_ = s.r[(s.m-1)*s.ldy+s.n-1]
		a.r = &s.r[0]
	}
	nchwcStoreAVX512(&a)
}

//go:noescape
func nchwcStoreAVX512(a *nchwcStoreArgs)

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
