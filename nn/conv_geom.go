package nn

// Window geometry shared by Conv, MaxPool and AveragePool: one or two
// spatial dimensions (a 1-D op is handled as 2-D with height 1), strides,
// dilations, explicit pads or auto_pad, and ceil_mode for pools.

// winAttrs are a windowed op's attributes as given on the node.
type winAttrs struct {
	op        string
	kernel    []int // kernel_shape (nil: taken from the weights)
	strides   []int
	pads      []int // begin..., end...
	dilations []int
	autoPad   string
	ceil      bool
}

// geom is the resolved geometry for one input shape.
type geom struct {
	N, C, H, W     int // input
	KH, KW         int
	SH, SW, DH, DW int
	PT, PL, PB, PR int // pads: top, left, bottom, right
	OH, OW         int
	rank           int // spatial rank, 1 or 2
}

func readWinAttrs(n *Node, pool bool) (winAttrs, error) {
	a := winAttrs{
		op:        n.Op,
		kernel:    n.AttrInts("kernel_shape", nil),
		strides:   n.AttrInts("strides", nil),
		pads:      n.AttrInts("pads", nil),
		dilations: n.AttrInts("dilations", nil),
		autoPad:   n.AttrString("auto_pad", "NOTSET"),
		ceil:      pool && n.AttrInt("ceil_mode", 0) != 0,
	}
	switch a.autoPad {
	case "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "":
	default:
		return a, unsupportedErrf("%s auto_pad %q", n.Op, a.autoPad)
	}
	if pool && a.kernel == nil {
		return a, shapeErrf("%s needs attribute kernel_shape", n.Op)
	}
	return a, nil
}

// resolve computes the geometry for input shape x (N, C, spatial...) and
// kernel spatial size kdims (from kernel_shape or the weights).
func (a *winAttrs) resolve(x []int, kdims []int) (geom, error) {
	var g geom
	if len(x) != 3 && len(x) != 4 {
		return g, shapeErrf("%s input has shape %v, want rank 3 or 4 (N, C, spatial)", a.op, x)
	}
	// A dynamic batch (negative N) passes through to the output; every
	// other dimension must be known.
	for _, d := range x[1:] {
		if d < 0 {
			return g, shapeErrf("%s input has dynamic shape %v", a.op, x)
		}
	}
	sr := len(x) - 2
	g.rank = sr
	if len(kdims) != sr {
		return g, shapeErrf("%s kernel %v has rank %d, input spatial rank is %d", a.op, kdims, len(kdims), sr)
	}
	chk := func(name string, v []int, n int) error {
		if v != nil && len(v) != n {
			return shapeErrf("%s attribute %s=%v, want %d values", a.op, name, v, n)
		}
		return nil
	}
	if err := chk("strides", a.strides, sr); err != nil {
		return g, err
	}
	if err := chk("dilations", a.dilations, sr); err != nil {
		return g, err
	}
	if err := chk("pads", a.pads, 2*sr); err != nil {
		return g, err
	}
	if a.kernel != nil {
		if err := chk("kernel_shape", a.kernel, sr); err != nil {
			return g, err
		}
		for i, k := range a.kernel {
			if k != kdims[i] {
				return g, shapeErrf("%s kernel_shape %v does not match weights %v", a.op, a.kernel, kdims)
			}
		}
	}
	at := func(v []int, i, def int) int {
		if v == nil {
			return def
		}
		return v[i]
	}
	// Spatial parameters per dimension, height first; for 1-D the height is 1.
	var in, k, s, d, pb, pe, out [2]int
	for i := 0; i < 2; i++ {
		in[i], k[i], s[i], d[i], out[i] = 1, 1, 1, 1, 1
	}
	off := 2 - sr
	for i := 0; i < sr; i++ {
		j := i + off
		in[j] = x[2+i]
		k[j] = kdims[i]
		s[j] = at(a.strides, i, 1)
		d[j] = at(a.dilations, i, 1)
		pb[j] = at(a.pads, i, 0)
		pe[j] = at(a.pads, i+sr, 0)
		if k[j] < 1 || s[j] < 1 || d[j] < 1 || pb[j] < 0 || pe[j] < 0 {
			return g, shapeErrf("%s kernel %v strides %v dilations %v pads %v: sizes must be positive", a.op, kdims, a.strides, a.dilations, a.pads)
		}
		if k[j] > 1<<20 || s[j] > 1<<20 || d[j] > 1<<20 || pb[j] > 1<<20 || pe[j] > 1<<20 {
			return g, shapeErrf("%s window parameters too large", a.op)
		}
		keff := (k[j]-1)*d[j] + 1
		switch a.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			out[j] = (in[j] + s[j] - 1) / s[j]
			total := (out[j]-1)*s[j] + keff - in[j]
			if total < 0 {
				total = 0
			}
			if a.autoPad == "SAME_UPPER" {
				pb[j] = total / 2
			} else {
				pb[j] = total - total/2
			}
			pe[j] = total - pb[j]
		case "VALID":
			pb[j], pe[j] = 0, 0
			fallthrough
		default:
			span := in[j] + pb[j] + pe[j] - keff
			if span < 0 {
				return g, shapeErrf("%s window %d (dilated) exceeds padded input %d", a.op, keff, in[j]+pb[j]+pe[j])
			}
			if a.ceil {
				out[j] = (span+s[j]-1)/s[j] + 1
				// The last window must start inside the input or the begin padding.
				if (out[j]-1)*s[j] >= in[j]+pb[j] {
					out[j]--
				}
			} else {
				out[j] = span/s[j] + 1
			}
		}
	}
	g.N, g.C = x[0], x[1]
	g.H, g.W = in[0], in[1]
	g.KH, g.KW = k[0], k[1]
	g.SH, g.SW = s[0], s[1]
	g.DH, g.DW = d[0], d[1]
	g.PT, g.PL, g.PB, g.PR = pb[0], pb[1], pe[0], pe[1]
	g.OH, g.OW = out[0], out[1]
	if NumElements([]int{max(g.N, 1), g.C, g.OH, g.OW}) < 0 {
		return g, shapeErrf("%s output too large", a.op)
	}
	return g, nil
}

// outShape is the output shape N, C, spatial... for c output channels.
func (g *geom) outShape(c int) []int {
	if g.rank == 1 {
		return []int{g.N, c, g.OW}
	}
	return []int{g.N, c, g.OH, g.OW}
}

// validRange returns the output columns [lo, hi) whose input column
// o*s + off falls inside [0, n).
func validRange(n, outN, s, off int) (lo, hi int) {
	if off >= 0 {
		lo = 0
	} else {
		lo = (-off + s - 1) / s
	}
	num := n - 1 - off
	if num < 0 {
		return 0, 0
	}
	hi = num/s + 1
	if hi > outN {
		hi = outN
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}
