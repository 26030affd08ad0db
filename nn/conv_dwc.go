package nn

import "math/bits"

// Depthwise convolution on channel-blocked tiles (pathDWC), for any window,
// stride, dilation and pads, one output per input channel: per image and
// block of 16 channels, the planes are transposed into a zero-bordered tile
// of [pixel][16] floats (the layout ONNX Runtime's NCHWc kernels use), each
// output pixel is the sum of window taps as 16-lane FMAs with the taps'
// weight vectors, and the [pixel][16] result is transposed back into the
// planes, clamped in the kernel and any other activation applied to the 16
// planes while they are in L1. On small planes (7x7, 14x14) vectors along
// a row waste most of their lanes; here none are wasted but the channel
// tail's.

// dwcPlan is the tile of one geometry: a unit of pathDWC is (image,
// 16-channel block, chunk of ohb output rows), its tile the window rows of
// the chunk's outputs.
type dwcPlan struct {
	hp, wp int // tile rows and columns (pixels)
	ohb    int // output rows per chunk
	chunks int // chunks per plane
	cols   int // input columns copied (the others are never read)
	blocks int // 16-channel blocks per image
}

// dwcMaxTile bounds the tile and the output tile (floats each) so that
// both stay in L2; larger planes are cut into chunks of output rows. A
// variable so that tests can cut small planes.
var dwcMaxTile = 1 << 17

func (p *dwcPlan) tileFloats() int { return p.hp * p.wp * 16 }

// scratch is the floats of a worker's tile and output tile.
func (p *dwcPlan) scratch(g *geom) int { return p.tileFloats() + 16*p.ohb*g.OW }

// dwcLayout sets p for g with c channels and reports whether pathDWC takes
// g.
func dwcLayout(g *geom, c int, p *dwcPlan) bool {
	if g.rank != 2 || g.KH < 1 || g.KW < 1 || g.SH < 1 || (g.SW != 1 && g.SW != 2) || g.DH < 1 || g.DW < 1 ||
		g.PT < 0 || g.PL < 0 || g.OH < 1 || g.OW < 1 || g.H < 1 || g.W < 1 || c < 1 {
		return false
	}
	p.wp = (g.OW-1)*g.SW + (g.KW-1)*g.DW + 1
	p.cols = min(g.W, p.wp-g.PL)
	p.blocks = (c + 15) / 16
	// The most output rows whose windows and outputs fit dwcMaxTile.
	p.ohb = min(g.OH, (dwcMaxTile/(16*p.wp)-(g.KH-1)*g.DH-1)/g.SH+1, dwcMaxTile/(16*g.OW))
	if p.cols <= 0 || p.ohb < 1 {
		return false
	}
	p.chunks = (g.OH + p.ohb - 1) / p.ohb
	p.ohb = (g.OH + p.chunks - 1) / p.chunks // equal chunks
	p.hp = (p.ohb-1)*g.SH + (g.KH-1)*g.DH + 1
	return true
}

// dwcArgs is the contract of the compute kernels: for output rows r < oh
// and columns q < ow, lanes l < 16,
//
//	o[(r·ow + q)·16 + l] = min(max(bias[l] + Σ_{kh, kw} w[(kh·kw + kw)·16 + l]·t[r·rs + q·S + kh·drow + kw·dcol + l], lo), hi)
//
// with rs, drow, dcol in bytes and S 64·stride. Field offsets are fixed by
// conv_dwc_amd64.s.
type dwcArgs struct {
	t, w, bias, o *float32
	oh, ow        int
	kh, kw        int
	rs            int
	drow, dcol    int
	lo, hi        float32
}

// dwcSlideOn lets stride-1 undilated rows run the sliding-window kernel (a
// variable so that benchmarks can compare).
var dwcSlideOn = true

// dwcForceGo makes dwcRows and dwcTr16 run the Go reference kernels (tests
// compare them with the assembly).
var dwcForceGo = false

// dwcTr16 writes dst[c·ldd + r] = src[r·lds + c] for rows r < nr of src
// (rows past nr read as zero) and columns c < nc, storing only the lanes r
// of smask.
func dwcTr16(dst []float32, ldd int, src []float32, lds, nr, nc int, smask uint64) {
	if nr < 1 || nr > 16 || nc < 1 || nc > 16 || smask == 0 || smask > 0xffff ||
		len(src) < (nr-1)*lds+nc || len(dst) < (nc-1)*ldd+bits.Len64(smask) {
		panic("nn: dwcTr16 out of bounds")
	}
	if dwcHave && !dwcForceGo {
		dwcTr16Asm(dst, ldd, src, lds, nr, nc, smask)
		return
	}
	for c := 0; c < nc; c++ {
		for r := 0; r < 16; r++ {
			if smask>>r&1 == 0 {
				continue
			}
			var v float32
			if r < nr {
				v = src[r*lds+c]
			}
			dst[c*ldd+r] = v
		}
	}
}

// dwcRows computes rows output rows of the output tile o ([rows·OW][16])
// from the padded tile t with weights w ([KH·KW][16]) and bias (16),
// clamped to [lo, hi].
func dwcRows(g *geom, p *dwcPlan, rows int, t, w, bias, o []float32, lo, hi float32) {
	kt := g.KH * g.KW
	if rows < 1 || len(t) < ((rows-1)*g.SH+(g.KH-1)*g.DH+1)*p.wp*16 || len(w) < 16*kt || len(bias) < 16 || len(o) < 16*rows*g.OW {
		panic("nn: dwcRows out of bounds")
	}
	rs, drow, dcol, ps := 16*g.SH*p.wp, 16*g.DH*p.wp, 16*g.DW, 16*g.SW
	if dwcHave && !dwcForceGo {
		a := dwcArgs{t: &t[0], w: &w[0], bias: &bias[0], o: &o[0], oh: rows, ow: g.OW, kh: g.KH, kw: g.KW,
			rs: 4 * rs, drow: 4 * drow, dcol: 4 * dcol, lo: lo, hi: hi}
		dwcRowsAsm(&a, g.SW, g.DW)
		return
	}
	var acc [16]float32
	for r := 0; r < rows; r++ {
		for q := 0; q < g.OW; q++ {
			copy(acc[:], bias[:16])
			for kh := 0; kh < g.KH; kh++ {
				for kw := 0; kw < g.KW; kw++ {
					wv := w[(kh*g.KW+kw)*16 : (kh*g.KW+kw)*16+16]
					off := r*rs + q*ps + kh*drow + kw*dcol
					tv := t[off : off+16]
					for l := range acc {
						acc[l] += wv[l] * tv[l]
					}
				}
			}
			ov := o[(r*g.OW+q)*16 : (r*g.OW+q)*16+16]
			for l, v := range acc {
				ov[l] = min(max(v, lo), hi)
			}
		}
	}
}

// packDWC writes the weights w of m depthwise channels (kt taps each) as
// [block][tap][16] into dst (the channel tail's lanes zero).
func packDWC(dst, w []float32, m, kt int) {
	clear(dst[:(m+15)/16*16*kt])
	for c := 0; c < m; c++ {
		blk := dst[c/16*16*kt:]
		for t := 0; t < kt; t++ {
			blk[t*16+c%16] = w[c*kt+t]
		}
	}
}

// dwcWeights returns the packed weights of w when k packed them (constant
// weights), else nil.
func (k *convKernel) dwcWeights(w []float32) []float32 {
	if k.dwc == nil || len(w) != k.wlen || &w[0] != k.wptr {
		return nil
	}
	return k.dwc
}

// dwc computes units [lo, hi) of pathDWC (image, channel block, chunk of
// output rows) with buf the worker's scratch (tile and output tile).
func (j *convJob) dwc(lo, hi int, buf []float32) {
	g, p := &j.g, &j.dwcp
	kt, HW := g.KH*g.KW, g.H*g.W
	tile := buf[:p.tileFloats()]
	o := buf[p.tileFloats():p.scratch(g)]
	ep, fused := j.k.epilogue(nil)
	var bias [16]float32
	for u := lo; u < hi; u++ {
		n, r := u/(p.blocks*p.chunks), u%(p.blocks*p.chunks)
		cb, ck := r/p.chunks, r%p.chunks
		c0 := cb * 16
		nc := min(16, j.M-c0)
		oh0 := ck * p.ohb
		rows := min(p.ohb, g.OH-oh0)
		x := j.x[(n*g.C+c0)*HW : (n*g.C+c0+nc)*HW]
		// The chunk's window rows: input rows at column PL, zeros around.
		ih0 := oh0*g.SH - g.PT
		for tr := range (rows-1)*g.SH + (g.KH-1)*g.DH + 1 {
			row := tile[tr*p.wp*16 : (tr+1)*p.wp*16]
			ih := ih0 + tr
			if ih < 0 || ih >= g.H {
				clear(row)
				continue
			}
			clear(row[:g.PL*16])
			clear(row[(g.PL+p.cols)*16:])
			for iw := 0; iw < p.cols; iw += 16 {
				dwcTr16(row[(g.PL+iw)*16:], 16, x[ih*g.W+iw:], HW, nc, min(16, p.cols-iw), 0xffff)
			}
		}
		clear(bias[:])
		if j.b != nil {
			copy(bias[:nc], j.b[c0:c0+nc])
		}
		dwcRows(g, p, rows, tile, j.wc[cb*16*kt:(cb+1)*16*kt], bias[:], o, ep.Lo, ep.Hi)
		yoff := (n*j.M+c0)*j.P + oh0*g.OW
		y := j.y[yoff : (n*j.M+c0+nc)*j.P]
		np := rows * g.OW
		for p0 := 0; p0 < np; p0 += 16 {
			k := min(16, np-p0)
			dwcTr16(y[p0:], j.P, o[p0*16:], 16, k, nc, 1<<k-1)
		}
		if fused {
			continue
		}
		if p.chunks == 1 {
			j.finish(yoff, nc*j.P)
			continue
		}
		for c := range nc {
			j.finish(yoff+c*j.P, np)
		}
	}
}

// dwcOn enables pathDWC where dwcPays, dwcAny for every geometry it takes
// (also on the Go kernels; variables so that tests and benchmarks can
// compare).
var dwcOn, dwcAny = true, false

// dwcPays reports whether pathDWC beats the other depthwise paths on g:
// every window but 3x3, and 3x3 onto rows of at most 8 outputs, where the
// direct 3x3 kernels fill half a vector (BenchmarkDWC, cpu-µs at 1 thread:
// EfficientNet-B0's 5x5 on 7x7 215 -> 53, 14x14 s2 190 -> 46, 56x56 s2
// 268 -> 130, 3x3 on 7x7 44 -> 32; 3x3 on 14x14 39 against 44 stays).
func dwcPays(g *geom) bool {
	return g.KH != 3 || g.KW != 3 || g.OW <= 8
}
