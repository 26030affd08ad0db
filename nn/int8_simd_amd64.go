//go:build amd64 && !purego

package nn

import (
	"math"
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

// q8C1Args are the arguments of q8Conv3x3C1AVX512 (offsets used by the
// assembly: keep the order).
type q8C1Args struct {
	src     *int8 // padded plane at the first input row of the output row
	ld      int   // padded row length
	ow      int
	w       *int8   // nc × 12 weight bytes (9 taps, 3 zeros)
	lanes   *q8Lane // nc lanes, Init = corr − 128·Σw
	nc      int
	idx     *[3][64]byte
	lohi    *[2]int64
	dst     *int8 // output channel 0 at the output row
	dstride int   // bytes between output channels
	shift32 int   // 1: every lane has Shift >= 32 (REQ16F)
}

//go:noescape
func q8Conv3x3C1AVX512(a *q8C1Args)

// q8C1Idx are the VPERMI2B indices: group g, pixel j, byte q holds tap
// p = 4g+q (ky = p/3, kx = p%3) of pixel j, i.e. byte 32·ky + j + kx of
// the three loaded rows (row 2 comes from the second table, index 64+).
var q8C1Idx = func() (t [3][64]byte) {
	for g := range 3 {
		for j := range 16 {
			for q := range 4 {
				if p := 4*g + q; p < 9 {
					t[g][j*4+q] = byte(32*(p/3) + j + p%3)
				}
			}
		}
	}
	return t
}()

// q8C1Rows computes output rows [oy0, oy1) of the direct 3x3 one-channel
// kernel from the padded plane pad (row length ld) into y (channel planes
// of ystride bytes, rows of ow bytes).
func (k *q8Conv) c1Rows(pad []int8, ld, oy0, oy1, ow int, y []int8, ystride int) {
	a := q8C1Args{ld: ld, ow: ow, w: &k.c1w[0], lanes: &k.c1lanes[0], nc: k.cout,
		idx: &q8C1Idx, lohi: &k.lohi, dstride: ystride}
	if k.c1shift32 {
		a.shift32 = 1
	}
	for oy := oy0; oy < oy1; oy++ {
		a.src = &pad[oy*ld]
		a.dst = &y[oy*ow]
		q8Conv3x3C1AVX512(&a)
	}
}

//go:noescape
func q8MaxPool2x2AVX512(src *int8, ld int, dst *int8, ow, rows int)

// q8MaxPool2x2Fast pools the nc planes (h×w) of x into y (oh×ow, 2·oh <= h,
// 2·ow <= w) with an assembly kernel when the CPU has one, and returns how
// many outputs of each row it wrote (0 without the CPU feature).
func q8MaxPool2x2Fast(x, y []int8, nc, h, w, oh, ow int) int {
	if nc*oh*ow == 0 || len(x) < nc*h*w || len(y) < nc*oh*ow {
		return 0
	}
	kern, done := q8MaxPool2x2AVX512, ow
	switch {
	case q8HasAVX512:
	case q8HasAVX2 && ow >= 8:
		kern, done = q8MaxPool2x2AVX2, ow&^7
	default:
		return 0
	}
	if h == 2*oh { // input row pairs are contiguous across planes
		kern(&x[0], w, &y[0], ow, nc*oh)
		return done
	}
	for c := 0; c < nc; c++ {
		kern(&x[c*h*w], w, &y[c*oh*ow], ow, oh)
	}
	return done
}

// q8GatherArgs are the arguments of q8QuadTransposeAVX512 (offsets used by
// the assembly: keep the order).
type q8GatherArgs struct {
	src  *int8      // padded channel-last plane
	idx  *[16]int32 // byte offset of each pixel's window (tap 0, channel 0)
	taps *int32     // byte offset of each tap from the window origin
	ntap int
	cq   int   // groups of 4 bytes per tap (run)
	dst  *byte // ntap·cq·64 bytes
}

//go:noescape
func q8QuadTransposeAVX512(a *q8GatherArgs)

// q8QuadPanel writes one panel (see q8GatherArgs) by 16x16 transposes
// (q8QuadTransposeAVX512) into dst, which holds the panel and
// q8PanelSlack bytes after it; the caller guarantees every offset is
// inside src, 63 readable bytes past every run, and q8HasAVX512.
func q8QuadPanel(src []int8, idx *[16]int32, taps []int32, cq int, dst []byte) {
	_ = dst[len(taps)*cq*64+q8PanelSlack-1]
	a := q8GatherArgs{src: &src[0], idx: idx, taps: &taps[0], ntap: len(taps), cq: cq, dst: &dst[0]}
	q8QuadTransposeAVX512(&a)
}

//go:noescape
func q8QuantizeAVX512(x *float32, n int, dst unsafe.Pointer, scale float32, zero, lo, hi int32)

// q8QuantizeFast quantizes x into dst (int8 or uint8 bytes, len(x) of
// them) like QuantizeValue when the CPU has AVX-512 or AVX2.
func q8QuantizeFast(x []float32, dst unsafe.Pointer, scale float32, zero, lo, hi int32) bool {
	switch {
	case len(x) == 0:
		return false
	case q8HasAVX512:
		q8QuantizeAVX512(&x[0], len(x), dst, scale, zero, lo, hi)
		return true
	case q8HasAVX2:
		q8QuantizeAVX2Tail(x, dst, scale, zero, lo, hi)
		return true
	}
	return false
}

//go:noescape
func q8RowToNHWC16AVX512(src *int8, plane int, dst *int8, cn, groups int, perm *[64]byte)

// q8NHWCPerm is the VPERMB index: output byte 16·p + c is gathered byte
// 4·c + p (pixel p of channel c).
var q8NHWCPerm = func() (t [64]byte) {
	for p := range 4 {
		for c := range 16 {
			t[16*p+c] = byte(4*c + p)
		}
	}
	return t
}()

// q8NHWCRowsFast copies channels [c0, c0+16·k) of rows [0, h) (w pixels,
// planes of h·w in x) channel-last into t (row iy, pixel ix at
// ((iy+pt)·wp + ix+pl)·cn + c) for the pixels in whole groups of 4, and
// returns how many pixels per row it did (0 without the CPU feature).
func q8NHWCRowsFast(x []int8, h, w, cn, pt, pl, wp int, t []int8) int {
	if !q8HasAVX512 || cn%16 != 0 || w < 4 || h*w*cn > math.MaxInt32 {
		return 0
	}
	groups := w / 4
	for c := 0; c < cn; c += 16 {
		for iy := 0; iy < h; iy++ {
			q8RowToNHWC16AVX512(&x[c*h*w+iy*w], h*w, &t[((iy+pt)*wp+pl)*cn+c], cn, groups, &q8NHWCPerm)
		}
	}
	return 4 * groups
}

// The assembly reads these layouts at fixed offsets: compile-time checks.
var (
	_ = [1]struct{}{}[unsafe.Sizeof(q8Lane{})-32]
	_ = [1]struct{}{}[unsafe.Offsetof(q8Lane{}.Shift32)-24]
	_ = [1]struct{}{}[unsafe.Offsetof(q8C1Args{}.dstride)-72]
	_ = [1]struct{}{}[unsafe.Offsetof(q8C1Args{}.shift32)-80]
	_ = [1]struct{}{}[unsafe.Offsetof(q8GatherArgs{}.dst)-40]
)

// q8PlaneArgs are the arguments of q8PlanePanelsAVX512 (offsets used by
// the assembly: keep the order).
type q8PlaneArgs struct {
	src     *int8   // channel 0 of the first group at the first pixel
	offs    *[3]int // byte offsets of lanes 1-3 (channels) from lane 0
	step    int     // bytes between groups of 4 channels
	groups  int
	n       int // pixels from src on (the last panel's are masked)
	panels  int
	dst     *byte // first group of the first panel
	dstride int   // bytes between panels
	perm    *[64]byte
}

//go:noescape
func q8PlanePanelsAVX512(a *q8PlaneArgs)

// q8PanelPerm is the VPERMB index: output byte 4·j + q is byte 16·q + j
// (pixel j of channel q).
var q8PanelPerm = func() (t [64]byte) {
	for j := range 16 {
		for q := range 4 {
			t[4*j+q] = byte(16*q + j)
		}
	}
	return t
}()

// q8PlanePanels writes the quad-packed panels (blas.GemmS8Quad's B) of the
// n pixels from p0 of the cn channel planes x (plane bytes apart) into
// dst, biased to u8; the bytes of a last group's missing channels and of
// a last panel's missing pixels are left to values that do not matter.
// The caller guarantees q8HasAVX512.
func q8PlanePanels(x []int8, plane, cn, p0, n int, dst []byte) {
	if n <= 0 || cn <= 0 {
		return
	}
	cq, panels := (cn+3)/4, (n+15)/16
	_ = x[(cn-1)*plane+p0+n-1]
	_ = dst[panels*cq*64-1]
	a := q8PlaneArgs{src: &x[p0], step: 4 * plane, groups: cn / 4, n: n, panels: panels,
		dst: &dst[0], dstride: cq * 64, perm: &q8PanelPerm}
	offs := [3]int{plane, 2 * plane, 3 * plane}
	a.offs = &offs
	if a.groups > 0 {
		q8PlanePanelsAVX512(&a)
	}
	if r := cn % 4; r > 0 {
		// The last group's missing lanes read its first channel again.
		for q := range offs {
			if offs[q] = 0; q+1 < r {
				offs[q] = (q + 1) * plane
			}
		}
		c0 := cn &^ 3
		a.src, a.groups, a.dst = &x[c0*plane+p0], 1, &dst[c0*16]
		q8PlanePanelsAVX512(&a)
	}
}

var _ = [1]struct{}{}[unsafe.Offsetof(q8PlaneArgs{}.perm)-64]
