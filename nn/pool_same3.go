package nn

// "Same" 3x3 MaxPool (stride 1, one pixel of padding on every side, so
// the output plane is the input plane: Inception's pools) over a run of
// whole planes taken as one flat row: each vector of 16 values takes the
// maximum of the values a row above and below, then of its neighbours to
// the left and right, each under a mask of the lanes whose neighbour lies
// inside the plane. Lanes stay full on small planes (a 7x7 plane is 49
// values, not 7 rows of 16 lanes each), and there is no padded copy. The
// masks repeat every period vectors (16·period is a multiple of the
// plane), so a table serves any run of planes.
//
// The kernel takes plain VMAXPS maxima, which keep one operand's NaN and
// give either zero for ±0; it reports whether its input held a NaN or a
// -0, and then the run is pooled again by maxPlane, so that the result is
// maxPlane's bit for bit.

// same3Plan is the kernel's plan of a geometry.
type same3Plan struct {
	h, w   int
	period int      // vectors
	masks  []uint16 // per vector: the lanes whose neighbour above, below, left, right is in the plane
}

// same3MaxPeriod bounds the mask table (vectors).
const same3MaxPeriod = 1024

// same3Fits reports whether the kernel takes g.
func same3Fits(g *geom) bool {
	if !same3Have || g.rank != 2 || g.KH != 3 || g.KW != 3 || g.SH != 1 || g.SW != 1 || g.DH != 1 || g.DW != 1 ||
		g.PT != 1 || g.PL != 1 || g.PB != 1 || g.PR != 1 || g.H < 1 || g.W < 1 || g.OH != g.H || g.OW != g.W {
		return false
	}
	return same3Period(g.H*g.W) <= same3MaxPeriod
}

// same3Period is the vectors after which a plane of hw values starts on a
// vector's first lane again.
func same3Period(hw int) int {
	a, b := hw, 16
	for b != 0 {
		a, b = b, a%b
	}
	return hw / a
}

// init plans g; the masks reuse p's slice, and a plan of the same plane
// size is kept.
func (p *same3Plan) init(g *geom) {
	if p.h == g.H && p.w == g.W && p.masks != nil {
		return
	}
	p.h, p.w, p.period = g.H, g.W, same3Period(g.H*g.W)
	p.masks = append(p.masks[:0], make([]uint16, 4*p.period)...)
	r, c := 0, 0
	for i := range 16 * p.period {
		m := p.masks[4*(i/16):][:4]
		bit := uint16(1) << (i % 16)
		if r > 0 {
			m[0] |= bit
		}
		if r < g.H-1 {
			m[1] |= bit
		}
		if c > 0 {
			m[2] |= bit
		}
		if c < g.W-1 {
			m[3] |= bit
		}
		if c++; c == g.W {
			c, r = 0, r+1
			if r == g.H {
				r = 0
			}
		}
	}
}

// maxPlanes pools the n planes of x into y.
func (p *same3Plan) maxPlanes(g *geom, x, y []float32, n int) {
	hw := g.H * g.W
	if n == 0 || hw == 0 {
		return
	}
	x, y = x[:n*hw], y[:n*hw]
	if maxSame3Fast(p, x, y) {
		return
	}
	for q := range n {
		maxPlane(g, x[q*hw:(q+1)*hw], y[q*hw:(q+1)*hw])
	}
}
