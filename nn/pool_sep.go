package nn

// Separable MaxPool: the maximum over a KHxKW window is the maximum over
// KW columns of the maxima over KH rows. Per plane, one pass takes for
// every output row the elementwise maximum of its window's input rows
// into a row padded with -inf on both sides (maxRows), and a second the
// maximum of KW taps along each such row, at stride 1 or 2 (hmaxRows:
// stride 2 gathers the even lanes of two vectors). A window row in the
// padding is replaced by one inside the image (the maximum is the same).
// A 3x3 window costs 2 + 2 vector maxima per 16 values, against 8 for the
// taps of the direct kernel, each with its own masked load and, at stride
// 2, a permute: ResNet's stem pool (3x3 s2 on 112x112x64) and Inception's
// 3x3 pools. The kernels take plain maxima: when the input holds a NaN or
// a -0, the rows are computed again in Go, as is the pass along them, so
// that a NaN in a window gives NaN and ±0 gives +0, as in maxPlane.

// sepMaxPlan is the separable kernel's plan of a geometry.
type sepMaxPlan struct {
	rowLen int   // floats of a padded row
	offs   []int // per output row, KH input row offsets (all inside the image)
	empty  []int // output rows whose window lies wholly in the padding
}

// sepMaxFits reports whether the separable kernel takes g.
func sepMaxFits(g *geom) bool {
	return sepMaxHave && g.rank == 2 && (g.SW == 1 || g.SW == 2) && g.KH >= 1 && g.KW >= 1 &&
		g.SH >= 1 && g.DH >= 1 && g.DW >= 1 && g.OH > 0 && g.OW > 0 && g.W > 0 && g.H > 0
}

// init plans g; offs and empty reuse the slices of p.
func (p *sepMaxPlan) init(g *geom) {
	blocks := (g.OW + 15) / 16
	// The row: PL values of -inf, the input row's W, then -inf to the last
	// value a 16-output block reads.
	p.rowLen = max(g.PL+g.W, g.SW*16*blocks+(g.KW-1)*g.DW)
	p.offs, p.empty = p.offs[:0], p.empty[:0]
	for oh := 0; oh < g.OH; oh++ {
		first := -1
		for kh := 0; kh < g.KH && first < 0; kh++ {
			if ih := oh*g.SH - g.PT + kh*g.DH; ih >= 0 && ih < g.H {
				first = ih
			}
		}
		if first < 0 {
			p.empty = append(p.empty, oh)
			first = 0
		}
		for kh := 0; kh < g.KH; kh++ {
			ih := oh*g.SH - g.PT + kh*g.DH
			if ih < 0 || ih >= g.H {
				ih = first
			}
			p.offs = append(p.offs, ih*g.W)
		}
	}
}

// sepMaxScratch bounds a worker's padded rows (floats): the planes of a
// call share them, as many as fit (at least one), so that small planes
// (Inception's 7x7 and 14x14) cost two kernel calls per group, not per
// plane.
const sepMaxScratch = 8192

// scratch is the floats of one worker: the padded rows of its planes.
func (p *sepMaxPlan) scratch(g *geom) int {
	per := g.OH * p.rowLen
	return max(per, sepMaxScratch/per*per)
}

// maxPlanes pools the n planes of x into y; rows is the worker's
// scratch, whose padding it sets.
func (p *sepMaxPlan) maxPlanes(g *geom, x, y, rows []float32, n int) {
	per := g.OH * p.rowLen
	group := max(1, len(rows)/per)
	rows = rows[:min(group, n)*per]
	for r := range len(rows) / p.rowLen {
		row := rows[r*p.rowLen : (r+1)*p.rowLen]
		fillF32(row[:g.PL], negInf32)
		fillF32(row[g.PL+g.W:], negInf32)
	}
	hw, ohw := g.H*g.W, g.OH*g.OW
	for p0 := 0; p0 < n; p0 += group {
		m := min(group, n-p0)
		plain := maxRows(rows[g.PL:], p.rowLen, x[p0*hw:], hw, m, p.offs, g.KH, g.W)
		hmaxRows(y[p0*ohw:], g.OW, rows, p.rowLen, m*g.OH, g.KW, g.DW, g.SW, plain)
		for q := range m {
			for _, oh := range p.empty {
				fillF32(y[(p0+q)*ohw+oh*g.OW:][:g.OW], negInf32)
			}
		}
	}
}

// maxRows sets, for each of planes planes (x's plane q at q·xps) and
// each row r of offs, dst[(q·rows + r)·ld + i] = max over k < kh of
// x[q·xps + offs[r·kh+k] + i], for i < n (rows = len(offs)/kh). It
// reports whether the assembly kernel set them, which it does only when
// the values it read hold no NaN and no -0.
func maxRows(dst []float32, ld int, x []float32, xps, planes int, offs []int, kh, n int) (plain bool) {
	rows := len(offs) / kh
	if rows == 0 || n == 0 || planes == 0 {
		return false
	}
	_ = dst[(planes*rows-1)*ld+n-1]
	for _, o := range offs {
		_ = x[(planes-1)*xps+o+n-1]
	}
	if maxRowsFast(dst, ld, x, xps, planes, offs, kh, n) {
		return true
	}
	maxRowsGo(dst, ld, x, xps, planes, offs, kh, n)
	return false
}

// hmaxRows sets y[r·ow + o] = max over t < k of row r's value s·o + t·d
// (rows ld apart), s being 1 or 2, for o < ow and r < nrows; a row
// extends to the last value a 16-output block reads. The assembly kernel
// runs only on plain rows: maxRows' that hold no NaN and no -0.
func hmaxRows(y []float32, ow int, rows []float32, ld, nrows, k, d, s int, plain bool) {
	if nrows == 0 || ow == 0 {
		return
	}
	_ = y[nrows*ow-1]
	_ = rows[(nrows-1)*ld+s*16*((ow+15)/16)+(k-1)*d-1]
	if plain && hmaxFast(y, ow, rows, ld, nrows, k, d, s) {
		return
	}
	hmaxRowsGo(y, ow, rows, ld, nrows, k, d, s)
}

func maxRowsGo(dst []float32, ld int, x []float32, xps, planes int, offs []int, kh, n int) {
	rows := len(offs) / kh
	for q := range planes {
		for r := range rows {
			d := dst[(q*rows+r)*ld:][:n]
			o := offs[r*kh : (r+1)*kh]
			xp := x[q*xps:]
			copy(d, xp[o[0]:o[0]+n])
			for _, off := range o[1:] {
				for i, v := range xp[off : off+n] {
					d[i] = max(d[i], v)
				}
			}
		}
	}
}

func hmaxRowsGo(y []float32, ow int, rows []float32, ld, nrows, k, d, s int) {
	for r := range nrows {
		yr, row := y[r*ow:(r+1)*ow], rows[r*ld:]
		for o := range yr {
			m := row[s*o]
			for t := 1; t < k; t++ {
				m = max(m, row[s*o+t*d])
			}
			yr[o] = m
		}
	}
}
