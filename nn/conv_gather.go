package nn

// gatherRows copies rows runs of n floats, src[r·stride:][:n] for r < rows,
// into dst back to back (dst[r·n:][:n]): im2colExact's plain-Go path takes
// the patch rows of narrow outputs from the padded planes with it.
func gatherRows(dst, src []float32, rows, n, stride int) {
	if rows <= 0 || n <= 0 {
		return
	}
	if len(dst) < rows*n || len(src) < (rows-1)*stride+n {
		panic("nn: gatherRows out of bounds")
	}
	for r := 0; r < rows; r++ {
		copy(dst[r*n:(r+1)*n], src[r*stride:r*stride+n])
	}
}

// im2colExact writes the K×(rows·OW) patch matrix of output rows
// [oh0, oh0+l.rows) of the cg-channel input x into col: like im2colPhase it
// reads the patch rows from the phase planes, but only the OW columns of
// each output row, so that the GEMM computes no columns between rows and
// writes the output in place (no compactRows). For narrow outputs (8x8,
// 16x16), where the wq-OW padding columns are a large share of the GEMM.
func im2colExact(g *geom, l *phaseLayout, x []float32, cg, oh0 int, col, planes []float32) {
	HW := g.H * g.W
	np := l.rows * g.OW
	if im2colExactFast(g, x[:cg*HW], cg, oh0, l.rows, col[:g.KH*g.KW*cg*np]) {
		return
	}
	planes = planes[:l.planeSize(g)]
	l.eachTapRow(g, x, cg, oh0, planes, func(row, off int) {
		gatherRows(col[row*np:(row+1)*np], planes[off:], l.rows, g.OW, l.wq)
	})
}

// im2colExactArgs is the contract of the assembly im2colExact (field
// offsets fixed by conv_gather_amd64.s): for each of channels planes of x
// (planeBytes apart) and each tap t (taps: rowBase = kh·DH − PT,
// colOff = (kw·DW − PL)·4 bytes, load masks lo | hi<<16 of the 32 input
// columns from colOff that lie in the row) it writes rows output rows of
// OW floats (stMask): input row ih = oh·SH + rowBase, lanes idx[ow] =
// SW·ow of those 32 columns, or zeros when ih is outside [0, H).
type im2colExactArgs struct {
	dst, x      *float32
	taps        *int32
	nTaps       int
	channels    int
	planeBytes  int
	rowInBytes  int
	rowOutBytes int
	oh0, rows   int
	sh, h       int
	stMask      uint64
	idx         [16]int32
}

// im2colExactFits reports whether the assembly im2colExact takes g: OW up
// to 16, SW 1 or 2, at most 49 taps.
func im2colExactFits(g *geom) bool {
	return g.OW > 0 && g.OW <= 16 && (g.SW == 1 || g.SW == 2) && g.KH*g.KW <= 49
}

// im2colExactTaps fills the tap table of the assembly im2colExact and
// reports whether the geometry fits it (im2colExactFits).
func im2colExactTaps(g *geom, tab *[49 * 3]int32) bool {
	if !im2colExactFits(g) {
		return false
	}
	for kh := 0; kh < g.KH; kh++ {
		for kw := 0; kw < g.KW; kw++ {
			t := (kh*g.KW + kw) * 3
			col := kw*g.DW - g.PL
			var m uint32
			for l := 0; l < 32; l++ {
				if c := col + l; c >= 0 && c < g.W && l <= g.SW*(g.OW-1) {
					m |= 1 << l
				}
			}
			tab[t], tab[t+1], tab[t+2] = int32(kh*g.DH-g.PT), int32(col*4), int32(m)
		}
	}
	return true
}
