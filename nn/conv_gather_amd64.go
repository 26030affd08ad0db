//go:build amd64 && !purego

package nn

import "unsafe"

//go:noescape
func im2colExactAVX512(a *im2colExactArgs)

// im2colExactAsm tells conv.go whether pathExact has its assembly kernel.
var im2colExactAsm = hasDW512

// im2colExactFast runs the assembly im2colExact when the CPU and the
// geometry allow, straight from the input planes (no phase planes).
func im2colExactFast(g *geom, x []float32, cg, oh0, rows int, col []float32) bool {
	var tab [49 * 3]int32
	if !hasDW512 || cg <= 0 || rows <= 0 || !im2colExactTaps(g, &tab) {
		return false
	}
	if len(col) < g.KH*g.KW*cg*rows*g.OW || len(x) < cg*g.H*g.W || (oh0+rows-1)*g.SH+(g.KH-1)*g.DH-g.PT >= g.H+g.PB {
		panic("nn: im2colExact out of bounds")
	}
	a := im2colExactArgs{
		dst: &col[0], x: &x[0], taps: &tab[0], nTaps: g.KH * g.KW, channels: cg,
		planeBytes: g.H * g.W * 4, rowInBytes: g.W * 4, rowOutBytes: g.OW * 4,
		oh0: oh0, rows: rows, sh: g.SH, h: g.H, stMask: 1<<g.OW - 1,
	}
	for ow := 0; ow < g.OW; ow++ {
		a.idx[ow] = int32(g.SW * ow)
	}
	im2colExactAVX512(&a)
	return true
}

// Offsets the assembly kernel relies on.
var _ = [1]struct{}{}[unsafe.Offsetof(im2colExactArgs{}.idx)-104]
