package nn

// im2col by whole rows of "phase planes": for a convolution with stride 1
// or 2 (and any dilation), each input channel's padded rows are split into
// SH×SW phase planes, plane (a, b) holding padded[i·SH + a][j·SW + b]. A
// kernel tap then reads, for every output pixel (oh, ow), element
// (oh + di, ow + dj) of one plane, so that in "plane coordinates"
// q = oh·wq + ow the patch row of a tap is one contiguous run of the plane:
// im2col is K copies of np = (rows-1)·wq + OW floats instead of K·rows
// short segments. The GEMM then computes the output in plane coordinates
// (the wq-OW columns between rows are computed and dropped) and the rows are
// compacted into the output.

// phaseLayout is the plane geometry for a block of output rows.
type phaseLayout struct {
	rows   int // output rows of the block
	hq, wq int // plane rows and columns
	np     int // GEMM columns: (rows-1)·wq + OW
}

// phaseMinOW is the output width below which the plain im2col is used: on
// narrow images the columns computed between rows cost more GEMM work
// than the row-by-row copies save. A variable so that benchmarks can
// compare both.
var phaseMinOW = 0

// phaseOK reports whether the phase-plane im2col applies to g.
func phaseOK(g *geom) bool {
	return (g.SH == 1 || g.SH == 2) && (g.SW == 1 || g.SW == 2) && g.OH > 0 && g.OW > 0 && g.OW >= phaseMinOW
}

func newPhaseLayout(g *geom, rows int) phaseLayout {
	r := (rows-1)*g.SH + (g.KH-1)*g.DH + 1 // padded input rows used
	wp := g.W + g.PL + g.PR
	l := phaseLayout{rows: rows, hq: (r + g.SH - 1) / g.SH, wq: (wp + g.SW - 1) / g.SW}
	l.np = (rows-1)*l.wq + g.OW
	return l
}

// planeSize is the scratch of one channel's planes, in floats.
func (l *phaseLayout) planeSize(g *geom) int { return g.SH * g.SW * l.hq * l.wq }

// fillPlanes writes the phase planes of the channel plane x (H×W) for the
// output rows starting at oh0 into dst (planeSize floats).
func (l *phaseLayout) fillPlanes(g *geom, x, dst []float32, oh0 int) {
	r0 := oh0*g.SH - g.PT // input row of plane row 0, phase 0
	last := oh0*g.SH + (l.rows-1)*g.SH + (g.KH-1)*g.DH - g.PT
	for a := 0; a < g.SH; a++ {
		used := false
		for kh := 0; kh < g.KH; kh++ {
			used = used || kh*g.DH%g.SH == a
		}
		if !used {
			continue // no tap reads this row phase (a 1x1 window with stride 2)
		}
		for i := 0; i < l.hq; i++ {
			ih := r0 + i*g.SH + a
			var xr []float32
			if ih >= 0 && ih < g.H && ih <= last {
				xr = x[ih*g.W : (ih+1)*g.W]
			}
			d0 := dst[(a*g.SW*l.hq+i)*l.wq:][:l.wq]
			switch {
			case xr == nil:
				clear(d0)
				if g.SW == 2 {
					clear(dst[((a*2+1)*l.hq+i)*l.wq:][:l.wq])
				}
			case g.SW == 1:
				n := min(g.W, l.wq-g.PL)
				zeroPad(d0[:g.PL])
				copy(d0[g.PL:], xr[:n])
				zeroPad(d0[g.PL+n:])
			default:
				// Planes b = 0, 1 hold padded columns 2j + b. When the row
				// covers columns PL..PL+W-1, only the rest is cleared.
				d1 := dst[((a*2+1)*l.hq+i)*l.wq:][:l.wq]
				if g.PL < 0 || g.PL+g.W > 2*l.wq {
					clear(d0)
					clear(d1)
					deinterleave(d0, d1, xr, g.PL)
					continue
				}
				deinterleave(d0, d1, xr, g.PL)
				for pc := 0; pc < g.PL; pc++ {
					if pc%2 == 0 {
						d0[pc/2] = 0
					} else {
						d1[pc/2] = 0
					}
				}
				for pc := g.PL + g.W; pc < 2*l.wq; pc++ {
					if pc%2 == 0 {
						d0[pc/2] = 0
					} else {
						d1[pc/2] = 0
					}
				}
			}
		}
	}
}

// tapOffset is where the patch row of tap (kh, kw) starts in the planes.
func (l *phaseLayout) tapOffset(g *geom, kh, kw int) int {
	a, di := kh*g.DH%g.SH, kh*g.DH/g.SH
	b, dj := kw*g.DW%g.SW, kw*g.DW/g.SW
	return ((a*g.SW+b)*l.hq+di)*l.wq + dj
}

// im2colPhase writes the K×np patch matrix of output rows
// [oh0, oh0+l.rows) of the cg-channel input x into col, using planes
// (planeSize floats) as scratch.
func im2colPhase(g *geom, l *phaseLayout, x []float32, cg, oh0 int, col, planes []float32) {
	planes = planes[:l.planeSize(g)]
	l.eachTapRow(g, x, cg, oh0, planes, func(row, off int) {
		copy(col[row*l.np:(row+1)*l.np], planes[off:off+l.np])
	})
}

// eachTapRow fills the planes of each of the cg channels of x in turn and
// calls patchRow for each of the channel's taps, with the patch row's index
// (channel-major, then kh, kw) and the tap's offset into the planes.
func (l *phaseLayout) eachTapRow(g *geom, x []float32, cg, oh0 int, planes []float32, patchRow func(row, off int)) {
	HW := g.H * g.W
	row := 0
	for c := 0; c < cg; c++ {
		l.fillPlanes(g, x[c*HW:(c+1)*HW], planes, oh0)
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				patchRow(row, l.tapOffset(g, kh, kw))
				row++
			}
		}
	}
}

// compactRows copies the m rows of a GEMM result in plane coordinates
// (src, m×np) into the output rows [oh0, oh0+l.rows) of m planes of y
// (plane stride P).
func compactRows(g *geom, l *phaseLayout, src []float32, m int, y []float32, P, oh0 int) {
	for i := 0; i < m; i++ {
		s := src[i*l.np : (i+1)*l.np]
		d := y[i*P+oh0*g.OW : i*P+(oh0+l.rows)*g.OW]
		for o := 0; o < l.rows; o++ {
			copy(d[o*g.OW:(o+1)*g.OW], s[o*l.wq:o*l.wq+g.OW])
		}
	}
}
