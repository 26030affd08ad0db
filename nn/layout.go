package nn

// The layout pass: pathNCHWc convolutions (conv_nchwc.go) hand each other
// their values in NCHW16c, [N][C/16][H][W][16], a pixel's 16 channels of a
// block side by side, as ONNX Runtime's MLAS and oneDNN do: the producer
// stores its tiles as they are (no transpose into NCHW) and the consumer
// reads 16 consecutive channels per pixel. A Runner decides it when it
// plans for its input shapes (Runner.layout), after the run-time fusions:
// a value is blocked only when every kernel that reads it takes NCHW16c,
// so graph outputs, values a split sends, and every other reader keep
// seeing NCHW, and no reorder is ever run.

// toNCHW16c writes x, n images of c planes of hw floats (c a multiple of
// 16), into dst in NCHW16c.
func toNCHW16c(dst, x []float32, n, c, hw int) {
	for i := 0; i < n*c; i++ {
		img, ch := i/c, i%c
		d := dst[(img*c+ch&^15)*hw+ch&15:]
		for p, v := range x[i*hw : (i+1)*hw] {
			d[p*16] = v
		}
	}
}

// fromNCHW16c is the inverse of toNCHW16c.
func fromNCHW16c(dst, x []float32, n, c, hw int) {
	for i := 0; i < n*c; i++ {
		img, ch := i/c, i%c
		s := x[(img*c+ch&^15)*hw+ch&15:]
		for p := range dst[i*hw : (i+1)*hw] {
			dst[i*hw+p] = s[p*16]
		}
	}
}

// blockedFits reports whether j's channels split into whole NCHW16c blocks
// per group where k reads or writes NCHW16c.
func (j *convJob) blockedFits() bool {
	return (!j.k.xBlocked || j.Cg%16 == 0) && (!j.k.yBlocked || j.Mg%16 == 0)
}

// layoutOn lets Runner.layout hand values over in NCHW16c (a variable so
// that benchmarks and tests can compare).
var layoutOn = true

// layout decides, for the shapes in r.vals and the kernels fuse chose,
// which values pathNCHWc convolutions hand over in NCHW16c, and gives each
// convolution that reads or writes one a copy of its kernel set to do so.
//
// A value is blocked when a pathNCHWc convolution computes it with its
// output channels in whole blocks, it is no program input or output and
// no Concat view, and every running kernel that reads it is a pathNCHWc
// convolution reading it as its input, in whole blocks of channels per
// group, or as its fused residual while writing its own output blocked
// too (a residual is read at the output's offsets).
func (r *Runner) layout() {
	if !layoutOn {
		return
	}
	n := len(r.kern)
	conv := make([]*convKernel, n) // positions that run pathNCHWc
	cg, mg := make([]int, n), make([]int, n)
	for k := range r.kern {
		if c, ok := r.kern[k].(*convKernel); ok && !r.skip[k] {
			if i, o, ok := r.nchwcPlanned(k, c); ok {
				conv[k], cg[k], mg[k] = c, i, o
			}
		}
	}
	blocked := make(map[int]bool)
	for k, c := range conv {
		if c == nil || len(r.nodeOut[k]) != 1 {
			continue
		}
		if s := r.nodeOut[k][0]; s >= 0 && mg[k]%16 == 0 && !r.fx.pinned[s] {
			blocked[s] = true
		}
	}
	for _, v := range r.views {
		delete(blocked, v.slot)
		delete(blocked, v.parent)
	}
	// Readers first, then a residual and its reader's output agree: each
	// pass only unblocks, so the loop ends.
	for changed := true; changed; {
		changed = false
		unblock := func(s int) {
			if blocked[s] {
				delete(blocked, s)
				changed = true
			}
		}
		for k := range r.kern {
			if r.skip[k] {
				continue
			}
			for j, s := range r.nodeIn[k] {
				if !blocked[s] {
					continue
				}
				c := conv[k]
				switch {
				case c != nil && j == 0 && cg[k]%16 == 0:
				case c != nil && j == convResidual && c.residual && blocked[r.nodeOut[k][0]]:
				default:
					unblock(s)
				}
			}
			if c := conv[k]; c != nil && c.residual && len(r.nodeIn[k]) > convResidual {
				if rs, o := r.nodeIn[k][convResidual], r.nodeOut[k][0]; blocked[rs] != blocked[o] {
					unblock(rs)
					unblock(o)
				}
			}
		}
	}
	for k, c := range conv {
		if c == nil {
			continue
		}
		xb, yb := blocked[r.nodeIn[k][0]], blocked[r.nodeOut[k][0]]
		if xb || yb {
			cp := *c
			cp.xBlocked, cp.yBlocked = xb, yb
			r.kern[k] = &cp
		}
	}
}

// nchwcPlanned reports whether position k, running c, takes pathNCHWc for
// the types in r.vals, and its input and output channels per group.
func (r *Runner) nchwcPlanned(k int, c *convKernel) (cg, mg int, ok bool) {
	in := r.nodeIn[k]
	if len(in) < 2 || in[0] < 0 || in[1] < 0 || len(r.nodeOut[k]) == 0 || r.nodeOut[k][0] < 0 {
		return 0, 0, false
	}
	var types [3]Type
	for i := 0; i < 3 && i < len(in); i++ {
		if in[i] >= 0 && r.vals[in[i]] != nil {
			types[i] = r.vals[in[i]].Type()
		}
	}
	g, err := c.geometry(types[:min(len(in), 3)])
	w := r.vals[in[1]]
	if err != nil || g.N < 0 || w.DType != Float32 || len(w.Shape) != 4 || r.vals[in[0]].DType != Float32 {
		return 0, 0, false
	}
	cg, mg = w.Shape[1], w.Shape[0]/c.grp
	return cg, mg, c.runsNCHWc(&g, w.F32, cg, mg, g.OH*g.OW)
}

// runsNCHWc reports whether Run takes pathNCHWc for geometry g, weights w,
// cg input and mg output channels per group and p output pixels a plane.
func (k *convKernel) runsNCHWc(g *geom, w []float32, cg, mg, p int) bool {
	if p == 0 || cg == 1 && !k.generic {
		return false
	}
	if k.pointwise(g) && !nchwcPointwise(cg, p, k.scaled) {
		return false
	}
	return k.nchwcFits(g, w, cg, mg)
}
