package nn

import "slices"

// The layout pass: pathNCHWc convolutions (conv_nchwc.go) hand each other
// their values in NCHW16c, [N][C/16][H][W][16], a pixel's 16 channels of a
// block side by side, as ONNX Runtime's MLAS and oneDNN do: the producer
// stores its tiles as they are (no transpose into NCHW) and the consumer
// reads 16 consecutive channels per pixel. A Runner decides it when it
// plans for its input shapes (Runner.layout), after the run-time fusions:
// a value is blocked only when every kernel that reads it takes NCHW16c,
// so graph outputs, values a split sends, and every other reader keep
// seeing NCHW, and no reorder is ever run.

// toNCHW16c writes x, n images of c planes h x w (c a multiple of 16),
// into dst in NCHW16c with a zero border of b pixels around each plane.
func toNCHW16c(dst, x []float32, n, c, h, w, b int) {
	clear(dst[:n*c*(h+2*b)*(w+2*b)])
	eachNCHW16c(n, c, h, w, b, func(i, o int) { dst[o] = x[i] })
}

// fromNCHW16c is the inverse of toNCHW16c.
func fromNCHW16c(dst, x []float32, n, c, h, w, b int) {
	eachNCHW16c(n, c, h, w, b, func(i, o int) { dst[i] = x[o] })
}

// eachNCHW16c calls f with the offset of every value of an NCHW tensor
// (n, c, h, w) and its offset in NCHW16c with a border of b pixels.
func eachNCHW16c(n, c, h, w, b int, f func(i, o int)) {
	wb, hb := w+2*b, h+2*b
	for i := 0; i < n*c*h*w; i++ {
		ch, p := i/(h*w), i%(h*w)
		f(i, ((ch&^15)*hb*wb+((p/w+b)*wb+p%w+b)*16)+ch&15)
	}
}

// blockedFits reports whether j's channels split into whole NCHW16c blocks
// per group where k reads or writes NCHW16c, and a bordered input's
// border covers the pads.
func (j *convJob) blockedFits() bool {
	k := j.k
	return (!k.xBlocked || j.Cg%16 == 0) && (!k.yBlocked || j.Mg%16 == 0) &&
		(k.xBorder == 0 || k.xBlocked && k.bordered(&j.g)) && (k.yBorder == 0 || k.yBlocked)
}

// bordered reports whether k's input has a zero border (layout.go) at
// least as wide as each of g's pads: pathNCHWc reads it in place.
func (k *convKernel) bordered(g *geom) bool {
	b := k.xBorder
	return b > 0 && g.PT <= b && g.PL <= b && g.PB <= b && g.PR <= b
}

// layoutOn lets Runner.layout hand values over in NCHW16c (a variable so
// that benchmarks and tests can compare).
var layoutOn = true

// layout decides, for the shapes in r.vals and the kernels fuse chose,
// which values pathNCHWc convolutions hand over in NCHW16c, and gives each
// convolution that reads or writes one a copy of its kernel set to do so.
//
// A value is blocked when a pathNCHWc convolution computes it with its
// output channels in whole blocks, or a 2-D MaxPool from a blocked value
// (pool_nchwc.go), it is no program input or output and no Concat view,
// and every running kernel that reads it is a pathNCHWc convolution
// reading it as its input, in whole blocks of channels per group, or as
// its fused residual while writing its own output blocked too (a residual
// is read at the output's offsets), or such a MaxPool, or a
// GlobalAveragePool (pool_gap.go).
//
// A blocked value read by padded convolutions gets a zero border as wide
// as their widest pad, which its producer writes, so that they read it in
// place instead of copying its rows into a padded buffer; a residual
// takes its reader's output's border (the same offsets again).
func (r *Runner) layout() {
	r.border = slices.Grow(r.border[:0], len(r.vals))[:len(r.vals)]
	clear(r.border)
	r.nchw16c = slices.Grow(r.nchw16c[:0], len(r.vals))[:len(r.vals)]
	clear(r.nchw16c)
	if !layoutOn {
		return
	}
	n := len(r.kern)
	conv := make([]*convKernel, n) // positions that run pathNCHWc
	cg, mg, pad := make([]int, n), make([]int, n), make([]int, n)
	for k := range r.kern {
		if c, ok := r.kern[k].(*convKernel); ok && !r.skip[k] {
			if g, i, o, ok := r.nchwcPlanned(k, c); ok {
				conv[k], cg[k], mg[k], pad[k] = c, i, o, max(g.PT, g.PL, g.PB, g.PR)
			}
		}
	}
	pools, toNCHW := r.blockedPools()
	gaps := r.blockedGAPs()
	blocked := make(map[int]bool)
	for k, c := range conv {
		if c == nil || len(r.nodeOut[k]) != 1 {
			continue
		}
		if s := r.nodeOut[k][0]; s >= 0 && mg[k]%16 == 0 && !r.fx.pinned[s] {
			blocked[s] = true
		}
	}
	for k, p := range pools {
		if s := r.nodeOut[k]; p != nil && !r.fx.pinned[s[0]] {
			blocked[s[0]] = true
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
				case pools[k] != nil:
				case gaps[k]:
				default:
					unblock(s)
				}
			}
			// A MaxPool writes NCHW16c only from NCHW16c, and reads it
			// for an NCHW output only where that costs no more than in
			// NCHW (blockedPools).
			if pools[k] != nil {
				x, y := r.nodeIn[k][0], r.nodeOut[k][0]
				if !blocked[x] {
					unblock(y)
				}
				if !blocked[y] && !toNCHW[k] {
					unblock(x)
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
	for s := range blocked {
		r.nchw16c[s] = true
	}
	border := r.border
	for k, c := range conv {
		if c != nil && blocked[r.nodeIn[k][0]] {
			s := r.nodeIn[k][0]
			border[s] = max(border[s], pad[k])
		}
	}
	for changed := true; changed; {
		changed = false
		for k, c := range conv {
			if c == nil || !c.residual || len(r.nodeIn[k]) <= convResidual || !blocked[r.nodeOut[k][0]] {
				continue
			}
			rs, o := r.nodeIn[k][convResidual], r.nodeOut[k][0]
			if border[rs] != border[o] {
				border[rs], border[o] = max(border[rs], border[o]), max(border[rs], border[o])
				changed = true
			}
		}
	}
	for k, c := range conv {
		if c == nil {
			continue
		}
		x, y := r.nodeIn[k][0], r.nodeOut[k][0]
		if blocked[x] || blocked[y] {
			cp := *c
			cp.xBlocked, cp.yBlocked = blocked[x], blocked[y]
			cp.xBorder, cp.yBorder = border[x], border[y]
			r.kern[k] = &cp
		}
	}
	for k, p := range pools {
		if p == nil {
			continue
		}
		if x, y := r.nodeIn[k][0], r.nodeOut[k][0]; blocked[x] {
			cp := *p
			cp.xBlocked, cp.yBlocked = true, blocked[y]
			cp.xBorder, cp.yBorder = border[x], border[y]
			r.kern[k] = &cp
		}
	}
	for k, ok := range gaps {
		if x := r.nodeIn[k]; ok && blocked[x[0]] {
			s := r.vals[x[0]].Shape
			r.kern[k] = newGapNCHWc(s[2], s[3], border[x[0]])
		}
	}
}

// blockedPools gives, by position, the MaxPools that can read NCHW16c
// (pool_nchwc.go) for the shapes in r.vals: 2-D windows on channels in
// whole blocks of 16; and those that may do so to write NCHW: not the
// 2x2/2 pools, whose NCHW kernel pools a batch's planes as one tall plane
// while the blocked one transposes tiles of 16 pixels (seednet's second
// pool, 16 images: 17.7 against 11.5-13.7 µs, BenchmarkMaxPoolNCHWc; a
// 3x3/2 pool of 64x56x56: 23 against 34 µs, and its producer saves its
// NCHW store's transpose).
func (r *Runner) blockedPools() (pools []*poolKernel, toNCHW []bool) {
	pools, toNCHW = make([]*poolKernel, len(r.kern)), make([]bool, len(r.kern))
	for k := range r.kern {
		p, ok := r.kern[k].(*poolKernel)
		if !ok || r.skip[k] || len(r.nodeIn[k]) != 1 || len(r.nodeOut[k]) != 1 || r.nodeIn[k][0] < 0 || r.nodeOut[k][0] < 0 {
			continue
		}
		v := r.vals[r.nodeIn[k][0]]
		if v == nil || v.DType != Float32 || len(v.Shape) != 4 {
			continue
		}
		if g, err := p.geometry([]Type{v.Type()}); err == nil && g.N >= 0 && p.blockedPoolFits(&g) {
			pools[k], toNCHW[k] = p, !g.fast2()
		}
	}
	return pools, toNCHW
}

// storageLen is the floats of value s's storage: its elements, and in
// NCHW16c with a border the border's too.
func (r *Runner) storageLen(s int) int {
	v := r.vals[s]
	if s >= len(r.border) || r.border[s] == 0 {
		return NumElements(v.Shape)
	}
	b := r.border[s]
	return v.Shape[0] * v.Shape[1] * (v.Shape[2] + 2*b) * (v.Shape[3] + 2*b)
}

// nchwcPlanned reports whether position k, running c, takes pathNCHWc for
// the types in r.vals, with its geometry and input and output channels per
// group.
func (r *Runner) nchwcPlanned(k int, c *convKernel) (g geom, cg, mg int, ok bool) {
	in := r.nodeIn[k]
	if len(in) < 2 || in[0] < 0 || in[1] < 0 || len(r.nodeOut[k]) == 0 || r.nodeOut[k][0] < 0 {
		return g, 0, 0, false
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
		return g, 0, 0, false
	}
	cg, mg = w.Shape[1], w.Shape[0]/c.grp
	return g, cg, mg, c.runsNCHWc(&g, w.F32, cg, mg, g.OH*g.OW)
}

// runsNCHWc reports whether Run takes pathNCHWc for geometry g, weights w,
// cg input and mg output channels per group and p output pixels a plane.
func (k *convKernel) runsNCHWc(g *geom, w []float32, cg, mg, p int) bool {
	if p == 0 || cg == 1 && !k.generic && !k.thin {
		return false
	}
	if k.pointwise(g) && !nchwcPointwise(cg, mg, p, k.scaled) {
		return false
	}
	return k.nchwcFits(g, w, cg, mg)
}

// stageMergeFloats bounds the constant floats (weights) of a batch stage
// that Runner.keepStage merges into the one before: reading them once per
// smaller chunk costs less than handing a value over in NCHW.
const stageMergeFloats = 1 << 17

// keepStage reports whether a batch stage of nodes [lo, hi) cut before
// lo, with the values cut there, keeps its own chunk size: not when a
// value cut there would be NCHW16c between pathNCHWc convolutions (a
// stage's inputs and outputs are NCHW: the producer would transpose it,
// the readers copy it into padded rows; tinyresnet at batch 32, 1 thread,
// its 8x8 stage merged: CPU 7,661 -> 7,373 µs) and the stage's weights are
// small enough to read once per smaller chunk (batch_chunk.go).
func (r *Runner) keepStage(lo, hi int, cut []string) bool {
	held := false
	for _, name := range cut {
		if s, ok := r.slot[name]; ok && s < len(r.nchw16c) && r.nchw16c[s] {
			held = true
		}
	}
	if !held {
		return true
	}
	floats := 0
	for k := lo; k < hi; k++ {
		for _, s := range r.nodeIn[k] {
			if v := r.vals[s]; s >= 0 && v != nil && v.DType == Float32 && isConstTensor(r.p.graph, v) {
				floats += len(v.F32)
			}
		}
	}
	return floats > stageMergeFloats
}

// thinStem reports whether the Conv of bc, built as k, is a dense stem of
// fewer than nchwcMinCg input channels (a grey image) whose output only
// pathNCHWc-sized convolutions (16k input channels), Adds (their fused
// residuals) and MaxPools feeding such convolutions read (blockedReaders):
// it then runs pathNCHWc, as fast as the depthwise and GEMM paths on so
// few channels, so that the layout pass can keep its output in NCHW16c
// with a border (tinyresnet's stem: its first 3x3 layer no longer copies
// it into padded rows, the residual stage after it runs NCHW16c
// throughout; seednet's first conv and pool hand its second conv a
// bordered NCHW16c input). It is decided from the graph, not per Runner,
// so every slice of a program sums the stem alike (a split computes what
// the whole model does, bit for bit).
func thinStem(bc *BuildContext, k *convKernel) bool {
	w := bc.InputConst(1)
	if k.nchwc == nil || k.grp != 1 || w == nil || len(w.Shape) != 4 || w.Shape[1] >= nchwcMinCg || w.Shape[0]%16 != 0 || len(bc.Node.Outputs) != 1 {
		return false
	}
	return blockedReaders(bc.Graph, bc.Node.Outputs[0], 2)
}

// blockedReaders reports whether value y of g is no graph output and has
// readers, all of them Convs reading it as their input with 16k input
// channels and one group, Adds, or (up to depth deep) single-output
// MaxPools whose outputs blockedReaders accepts.
func blockedReaders(g *Graph, y string, depth int) bool {
	for _, o := range g.Outputs {
		if o.Name == y {
			return false
		}
	}
	readers := 0
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in != y {
				continue
			}
			readers++
			cw := g.Consts[n.Input(1)]
			switch {
			case n.Op == "Add":
			case n.Op == "Conv" && i == 0 && n.AttrInt("group", 1) == 1 && cw != nil && len(cw.Shape) == 4 && cw.Shape[1]%16 == 0:
			case n.Op == "MaxPool" && depth > 0 && len(n.Outputs) == 1 && blockedReaders(g, n.Outputs[0], depth-1):
			default:
				return false
			}
		}
	}
	return readers > 0
}
