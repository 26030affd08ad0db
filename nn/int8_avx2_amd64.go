//go:build amd64 && !purego

package nn

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// AVX2 paths of the int8 kernels (int8_avx2_amd64.s): the requantization
// and depthwise kernels on CPUs without AVX-512 VNNI (GODEBUG=cpu.avx512f=off
// times them on one that has it), and the depthwise kernel everywhere.

var q8HasAVX2 = cpu.X86.HasAVX2

//go:noescape
func q8RequantAVX2(acc *int32, n int, dst *int8, p *q8Lane, lohi *[2]int64)

// q8RequantAVX2Lane requantizes acc into dst with the AVX2 kernel when the
// CPU has it and the lane shifts by 32 or more, and reports whether it did.
// A partial last block of 8 goes through a copy on the stack.
func q8RequantAVX2Lane(acc []int32, dst []int8, p *q8Lane, lohi *[2]int64) bool {
	if !q8HasAVX2 || p.Shift < 32 || len(acc) == 0 || len(dst) < len(acc) {
		return false
	}
	n8 := len(acc) &^ 7
	if n8 > 0 {
		q8RequantAVX2(unsafe.SliceData(acc), n8, unsafe.SliceData(dst), p, lohi)
	}
	if n8 < len(acc) {
		var a [8]int32
		var d [8]int8
		copy(a[:], acc[n8:])
		q8RequantAVX2(&a[0], 8, &d[0], p, lohi)
		copy(dst[n8:len(acc)], d[:])
	}
	return true
}

// q8DWArgs are the arguments of q8DepthwiseRowAVX2 (offsets used by the
// assembly: keep the order).
type q8DWArgs struct {
	src  *int8  // padded plane at the output row's first input byte
	offs *int32 // entry byte offsets from src
	wts  *int32 // entry weight pairs: uint16(w0) | uint16(w1)<<16
	nent int
	acc  *int32 // roundUp(n, 16) sums
	n    int    // outputs
	step int    // input bytes per output: 1 or 2
}

//go:noescape
func q8DepthwiseRowAVX2(a *q8DWArgs)

// q8DWRow computes n outputs of one depthwise row into acc (at least
// roundUp(n, 16) long) with the entries offs/wts; src must hold every
// byte the blocks of 16 read (q8DWSlack past the last row's end).
func q8DWRow(src []int8, offs, wts []int32, acc []int32, n, step int) {
	a := q8DWArgs{src: &src[0], offs: &offs[0], wts: &wts[0], nent: len(offs), acc: &acc[0], n: n, step: step}
	q8DepthwiseRowAVX2(&a)
}

var _ = [1]struct{}{}[unsafe.Offsetof(q8DWArgs{}.step)-48]

//go:noescape
func q8MaxPool2x2AVX2(src *int8, ld int, dst *int8, ow, rows int)

//go:noescape
func q8QuantizeAVX2(x *float32, n int, dst unsafe.Pointer, scale float32, zero, lo, hi int32)

// q8QuantizeAVX2Tail runs q8QuantizeAVX2 over x (any length): a partial
// last block of 8 goes through a copy on the stack.
func q8QuantizeAVX2Tail(x []float32, dst unsafe.Pointer, scale float32, zero, lo, hi int32) {
	n8 := len(x) &^ 7
	if n8 > 0 {
		q8QuantizeAVX2(&x[0], n8, dst, scale, zero, lo, hi)
	}
	if n8 < len(x) {
		var a [8]float32
		var d [8]byte
		copy(a[:], x[n8:])
		q8QuantizeAVX2(&a[0], 8, unsafe.Pointer(&d[0]), scale, zero, lo, hi)
		copy(unsafe.Slice((*byte)(unsafe.Add(dst, n8)), len(x)-n8), d[:])
	}
}

//go:noescape
func q8PairRowAVX2(a, b *int8, n int, dst *byte, stride int)

// q8PairRow writes (a[i], b[i]) as int16 pairs to dst[i·cp] and dst[i·cp+1]
// for every i < len(a) (a channel pair of a channel-last int16 plane with
// cp channels per pixel); the caller guarantees q8HasAVX2.
func q8PairRow(a, b []int8, dst []int16, cp int) {
	n := len(a)
	b = b[:n]
	n16 := n &^ 15
	if n16 > 0 {
		_ = dst[(n16-1)*cp+1]
		q8PairRowAVX2(&a[0], &b[0], n16, (*byte)(unsafe.Pointer(&dst[0])), 2*cp)
	}
	for i := n16; i < n; i++ {
		dst[i*cp], dst[i*cp+1] = int16(a[i]), int16(b[i])
	}
}

// q8ImplArgs are the arguments of q8ImplicitAVX2 and q8Implicit8AVX2
// (offsets used by the assembly: keep the order). The kernels step pix,
// acc and ntile as they go.
type q8ImplArgs struct {
	src     *int8  // int16 channel-last plane (bytes)
	pix     *int32 // byte offset of each pixel's window (tap 0, channel 0), 6 per tile
	taps    *int32 // byte offset of each tap from the window origin
	ntap    int
	cq      int    // channel pairs per tap
	w       *int16 // ntap·cq groups of 8 channels × 2 int16
	acc     *int32 // row of channel 0 at the first tile's first pixel
	ld      int    // bytes between channel rows
	wstride int    // bytes between the weights of two blocks of 8 channels
	ntile   int
}

//go:noescape
func q8ImplicitAVX2(a *q8ImplArgs)

//go:noescape
func q8Implicit8AVX2(a *q8ImplArgs)

// q8ImplTiles computes the tiles of 6 pixels (pix[6i:6i+6], 6
// accumulators apart in acc's rows) by 16 output channels, or by 8 when !two
// (q8ImplArgs; the weights of the second block of 8 channels are wstride
// int16s after the first's); each tile writes 8 accumulators per channel
// row, the last two junk (the next tile's, or slack). The caller
// guarantees every offset is inside src and q8HasAVX2.
func q8ImplTiles(src []int8, pix []int32, taps []int32, cq int, w []int16, wstride int, two bool, acc []int32, ld int) {
	nt := len(pix) / 6
	_ = pix[6*nt-1]
	a := q8ImplArgs{src: &src[0], pix: &pix[0], taps: &taps[0], ntap: len(taps), cq: cq, w: &w[0], acc: &acc[0],
		ld: 4 * ld, wstride: 2 * wstride, ntile: nt}
	if two {
		_ = w[wstride+len(taps)*cq*16-1]
		_ = acc[15*ld+6*nt+1]
		q8ImplicitAVX2(&a)
		return
	}
	_ = w[len(taps)*cq*16-1]
	_ = acc[7*ld+6*nt+1]
	q8Implicit8AVX2(&a)
}

var _ = [1]struct{}{}[unsafe.Offsetof(q8ImplArgs{}.ntile)-72]

//go:noescape
func q8Implicit4AVX2(a *q8ImplArgs)

// q8ImplTile4 is q8ImplTiles for one tile of 4 pixels (pix[:4]; pix[4:6]
// are read, not used) by 16 channels, writing 4 accumulators per channel
// row.
func q8ImplTile4(src []int8, pix []int32, taps []int32, cq int, w []int16, wstride int, acc []int32, ld int) {
	_ = pix[5]
	_ = w[wstride+len(taps)*cq*16-1]
	_ = acc[15*ld+3]
	a := q8ImplArgs{src: &src[0], pix: &pix[0], taps: &taps[0], ntap: len(taps), cq: cq, w: &w[0], acc: &acc[0],
		ld: 4 * ld, wstride: 2 * wstride, ntile: 1}
	q8Implicit4AVX2(&a)
}

// q8AddLane holds QLinearAddInt8's constants for q8AddAVX2 (offsets used
// by the assembly: keep the order).
type q8AddLane struct {
	ma, mb, c0, hz int64
	shl            int64 // 32 − s
	lo, hi         int64
}

//go:noescape
func q8AddAVX2(a, b *int8, n int, y *int8, p *q8AddLane)

// q8AddFast runs q8AddAVX2 over a, b into y when the CPU has AVX2 and the
// shift s is in [10, 32] (see the kernel), and reports whether it did. A
// partial last block of 8 goes through copies on the stack.
func q8AddFast(a, b, y []int8, ma, mb, c0, hz int64, s uint8, lo, hi int32) bool {
	if !q8HasAVX2 || s < 10 || s > 32 || len(a) == 0 {
		return false
	}
	p := q8AddLane{ma: ma, mb: mb, c0: c0, hz: hz, shl: 32 - int64(s), lo: int64(lo), hi: int64(hi)}
	n8 := len(a) &^ 7
	if n8 > 0 {
		q8AddAVX2(&a[0], &b[0], n8, &y[0], &p)
	}
	if n8 < len(a) {
		var ta, tb, ty [8]int8
		copy(ta[:], a[n8:])
		copy(tb[:], b[n8:])
		q8AddAVX2(&ta[0], &tb[0], 8, &ty[0], &p)
		copy(y[n8:len(a)], ty[:])
	}
	return true
}

var _ = [1]struct{}{}[unsafe.Offsetof(q8AddLane{}.hi)-48]

//go:noescape
func q8MaxAVX2(dst, a, b *int8, n int)

// q8MaxBytes writes max(a[i], b[i]) to dst[i] for i < len(dst) (a and b
// at least as long; dst may be a or b).
func q8MaxBytes(dst, a, b []int8) {
	a, b = a[:len(dst)], b[:len(dst)]
	n32 := 0
	if q8HasAVX2 {
		if n32 = len(dst) &^ 31; n32 > 0 {
			q8MaxAVX2(unsafe.SliceData(dst), unsafe.SliceData(a), unsafe.SliceData(b), n32)
		}
	}
	q8MaxBytesGo(dst[n32:], a[n32:], b[n32:])
}

//go:noescape
func q8EvensAVX2(dst, src *int8, n int)

// q8Evens writes src[2i] to dst[i] for i < len(dst) (src at least
// 2·len(dst)-1 long).
func q8Evens(dst, src []int8) {
	n16 := 0
	if q8HasAVX2 && len(src) >= 2*len(dst) {
		if n16 = len(dst) &^ 15; n16 > 0 {
			q8EvensAVX2(unsafe.SliceData(dst), unsafe.SliceData(src), n16)
		}
	}
	q8EvensGo(dst[n16:], src[2*n16:])
}

//go:noescape
func q8DequantAVX2(dst *float32, src *int8, n int, z int32, s float32)

// q8Dequant writes float32(src[i] - z)·s to dst[i] for i < len(dst).
func q8Dequant(dst []float32, src []int8, z int32, s float32) {
	src = src[:len(dst)]
	n16 := 0
	if q8HasAVX2 {
		if n16 = len(dst) &^ 15; n16 > 0 {
			q8DequantAVX2(unsafe.SliceData(dst), unsafe.SliceData(src), n16, z, s)
		}
	}
	q8DequantGo(dst[n16:], src[n16:], z, s)
}

//go:noescape
func q8OctNHWC16AVX2(src *int8, plane, n int, dst *byte, px int)

// q8OctRow writes channels c..c+7 (planes plane bytes apart in x, pixels
// [p0, p0+n) of each) as int16 into t from element o on, one pixel every
// cp elements: t[o + i·cp + j] = x[(c+j)·plane + p0 + i]. Whole blocks of
// 8 pixels take the AVX2 transposes, the rest this loop; the caller
// guarantees q8HasAVX2.
func q8OctRow(x []int8, plane, c, p0, n int, t []int16, o, cp int) {
	if n <= 0 {
		return
	}
	_ = x[(c+7)*plane+p0+n-1]
	_ = t[o+(n-1)*cp+7]
	n8 := n &^ 7
	if n8 > 0 {
		q8OctNHWC16AVX2(&x[c*plane+p0], plane, n8, (*byte)(unsafe.Pointer(&t[o])), 2*cp)
	}
	for i := n8; i < n; i++ {
		d := t[o+i*cp : o+i*cp+8 : o+i*cp+8]
		for j := range d {
			d[j] = int16(x[(c+j)*plane+p0+i])
		}
	}
}
