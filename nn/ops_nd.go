package nn

import "math"

// Windowed ops beyond the 1-D/2-D fast kernels: ConvTranspose (1-D to 3-D)
// and Conv, MaxPool and AveragePool over three spatial dimensions. Plain
// Go; every spatial rank is handled as 3-D with leading dimensions of
// size 1.

func init() { Register("ConvTranspose", buildConvTranspose) }

// ndWin is one spatial dimension of a windowed op.
type ndWin struct {
	in, k, s, d, pb, pe, out int
}

// ndGeom is a resolved N-D window geometry, padded to 3 spatial dims.
type ndGeom struct {
	N, C int
	dim  [3]ndWin
	rank int // spatial rank given
}

func (g *ndGeom) outShape(c int) []int {
	s := []int{g.N, c}
	for _, d := range g.dim[3-g.rank:] {
		s = append(s, d.out)
	}
	return s
}

// resolveND computes the forward (Conv, pool) geometry of input x for
// kernel kd with the attributes of a (auto_pad, ceil_mode as resolve does).
func (a *winAttrs) resolveND(x, kd []int) (ndGeom, error) {
	var g ndGeom
	sr := len(x) - 2
	if sr < 1 || sr > 3 || len(kd) != sr {
		return g, shapeErrf("%s input %v with kernel %v, want 1 to 3 spatial dimensions", a.op, x, kd)
	}
	for _, d := range x[1:] {
		if d < 0 {
			return g, shapeErrf("%s input has dynamic shape %v", a.op, x)
		}
	}
	for _, v := range [][]int{a.strides, a.dilations} {
		if v != nil && len(v) != sr {
			return g, shapeErrf("%s attributes strides %v dilations %v, want %d values", a.op, a.strides, a.dilations, sr)
		}
	}
	if a.pads != nil && len(a.pads) != 2*sr {
		return g, shapeErrf("%s pads %v, want %d values", a.op, a.pads, 2*sr)
	}
	if a.kernel != nil && len(a.kernel) != sr {
		return g, shapeErrf("%s kernel_shape %v, want %d values", a.op, a.kernel, sr)
	}
	g.N, g.C, g.rank = x[0], x[1], sr
	for i := range g.dim {
		g.dim[i] = ndWin{in: 1, k: 1, s: 1, d: 1, out: 1}
	}
	at := func(v []int, i, def int) int {
		if v == nil {
			return def
		}
		return v[i]
	}
	for i := 0; i < sr; i++ {
		w := &g.dim[3-sr+i]
		w.in, w.k = x[2+i], kd[i]
		w.s, w.d = at(a.strides, i, 1), at(a.dilations, i, 1)
		w.pb, w.pe = at(a.pads, i, 0), at(a.pads, i+sr, 0)
		if w.k < 1 || w.s < 1 || w.d < 1 || w.pb < 0 || w.pe < 0 || w.k > 1<<20 || w.s > 1<<20 || w.d > 1<<20 || w.pb > 1<<20 || w.pe > 1<<20 {
			return g, shapeErrf("%s kernel %v strides %v dilations %v pads %v out of range", a.op, kd, a.strides, a.dilations, a.pads)
		}
		keff := (w.k-1)*w.d + 1
		switch a.autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			w.out = (w.in + w.s - 1) / w.s
			total := max(0, (w.out-1)*w.s+keff-w.in)
			w.pb = total / 2
			if a.autoPad == "SAME_LOWER" {
				w.pb = total - total/2
			}
			w.pe = total - w.pb
		case "VALID":
			w.pb, w.pe = 0, 0
			fallthrough
		default:
			span := w.in + w.pb + w.pe - keff
			if span < 0 {
				return g, shapeErrf("%s window %d exceeds padded input %d", a.op, keff, w.in+w.pb+w.pe)
			}
			w.out = span/w.s + 1
			if a.ceil {
				w.out = (span+w.s-1)/w.s + 1
				if (w.out-1)*w.s >= w.in+w.pb {
					w.out--
				}
			}
		}
	}
	if NumElements(g.outShape(g.C)) < 0 || NumElements(g.outShape(g.C)) > math.MaxInt32 {
		return g, shapeErrf("%s output too large", a.op)
	}
	return g, nil
}

// convNDKernel is Conv over three spatial dimensions (direct loops).
type convNDKernel struct {
	win        winAttrs
	grp        int
	act        activation
	actA, actB float32
}

func buildConvND(bc *BuildContext) (Kernel, error) {
	w, err := readWinAttrs(bc.Node, false)
	if err != nil {
		return nil, err
	}
	k := &convNDKernel{win: w, grp: int(bc.Node.AttrInt("group", 1))}
	if k.grp < 1 {
		return nil, shapeErrf("Conv group %d must be positive", k.grp)
	}
	if k.act, k.actA, k.actB, err = readFusedActivation(bc.Node); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *convNDKernel) geometry(in []Type) (ndGeom, error) {
	if err := needInputs("Conv", in, 2); err != nil {
		return ndGeom{}, err
	}
	for i := 0; i < 3; i++ {
		if present(in, i) {
			if err := needF32("Conv", in, i); err != nil {
				return ndGeom{}, err
			}
		}
	}
	x, w := in[0].Shape, in[1].Shape
	if len(w) != len(x) {
		return ndGeom{}, shapeErrf("Conv weights %v do not match input %v", w, x)
	}
	g, err := k.win.resolveND(x, w[2:])
	if err != nil {
		return g, err
	}
	if g.C != w[1]*k.grp || w[0]%k.grp != 0 || w[0] == 0 {
		return g, shapeErrf("Conv input %v, weights %v, group %d do not match", x, w, k.grp)
	}
	if present(in, 2) && (len(in[2].Shape) != 1 || in[2].Shape[0] != w[0]) {
		return g, shapeErrf("Conv bias has shape %v, want [%d]", in[2].Shape, w[0])
	}
	return g, nil
}

func (k *convNDKernel) OutputTypes(in []Type) ([]Type, error) {
	g, err := k.geometry(in)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: g.outShape(in[1].Shape[0])}}, nil
}

// MACs is N·M·out·(C/group)·kernel.
func (k *convNDKernel) MACs(in, out []Type) int64 {
	if _, err := k.geometry(in); err != nil {
		return 0
	}
	return elemCount(out) * int64(NumElements(in[1].Shape[1:]))
}

func (k *convNDKernel) Run(rc *RunContext, in, out []*Tensor) error {
	g, err := k.geometry([]Type{in[0].Type(), in[1].Type()})
	if err != nil {
		return err
	}
	x, w, y := in[0].F32, in[1].F32, out[0].F32
	M := in[1].Shape[0]
	Mg, Cg := M/k.grp, g.C/k.grp
	D, H, W := g.dim[0], g.dim[1], g.dim[2]
	inPlane, outPlane := D.in*H.in*W.in, D.out*H.out*W.out
	kvol := D.k * H.k * W.k
	for n := 0; n < g.N; n++ {
		for m := 0; m < M; m++ {
			yp := y[(n*M+m)*outPlane : (n*M+m+1)*outPlane]
			fillBias(yp, in, m)
			gr := m / Mg
			for c := 0; c < Cg; c++ {
				xp := x[(n*g.C+gr*Cg+c)*inPlane:]
				wk := w[(m*Cg+c)*kvol:]
				for kd := 0; kd < D.k; kd++ {
					for kh := 0; kh < H.k; kh++ {
						for kw := 0; kw < W.k; kw++ {
							wv := wk[(kd*H.k+kh)*W.k+kw]
							offW := kw*W.d - W.pb
							lo, hi := validRange(W.in, W.out, W.s, offW)
							for od := 0; od < D.out; od++ {
								id := od*D.s - D.pb + kd*D.d
								if id < 0 || id >= D.in {
									continue
								}
								for oh := 0; oh < H.out; oh++ {
									ih := oh*H.s - H.pb + kh*H.d
									if ih < 0 || ih >= H.in {
										continue
									}
									xr := xp[(id*H.in+ih)*W.in:]
									yr := yp[(od*H.out+oh)*W.out:]
									for ow := lo; ow < hi; ow++ {
										yr[ow] += wv * xr[ow*W.s+offW]
									}
								}
							}
						}
					}
				}
			}
			applyAct(k.act, k.actA, k.actB, yp)
		}
	}
	return nil
}

// fillBias sets the output plane of channel m to the optional bias in[2].
func fillBias(yp []float32, in []*Tensor, m int) {
	b := float32(0)
	if presentT(in, 2) {
		b = in[2].F32[m]
	}
	for i := range yp {
		yp[i] = b
	}
}

// poolNDKernel is MaxPool/AveragePool over three spatial dimensions.
type poolNDKernel struct {
	win        winAttrs
	max        bool
	includePad bool
}

func (k *poolNDKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.win.op, in, 1); err != nil {
		return nil, err
	}
	if err := needF32(k.win.op, in, 0); err != nil {
		return nil, err
	}
	g, err := k.win.resolveND(in[0].Shape, k.win.kernel)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: g.outShape(g.C)}}, nil
}

// MACs counts one operation per window element.
func (k *poolNDKernel) MACs(in, out []Type) int64 {
	return elemCount(out) * int64(NumElements(k.win.kernel))
}

func (k *poolNDKernel) Run(rc *RunContext, in, out []*Tensor) error {
	g, err := k.win.resolveND(in[0].Shape, k.win.kernel)
	if err != nil {
		return err
	}
	D, H, W := g.dim[0], g.dim[1], g.dim[2]
	inPlane, outPlane := D.in*H.in*W.in, D.out*H.out*W.out
	x, y := in[0].F32, out[0].F32
	for p := 0; p < g.N*g.C; p++ {
		xp, yp := x[p*inPlane:(p+1)*inPlane], y[p*outPlane:(p+1)*outPlane]
		o := 0
		for od := 0; od < D.out; od++ {
			for oh := 0; oh < H.out; oh++ {
				for ow := 0; ow < W.out; ow++ {
					acc := float32(0)
					if k.max {
						acc = float32(math.Inf(-1))
					}
					for kd := 0; kd < D.k; kd++ {
						id := od*D.s - D.pb + kd*D.d
						if id < 0 || id >= D.in {
							continue
						}
						for kh := 0; kh < H.k; kh++ {
							ih := oh*H.s - H.pb + kh*H.d
							if ih < 0 || ih >= H.in {
								continue
							}
							for kw := 0; kw < W.k; kw++ {
								iw := ow*W.s - W.pb + kw*W.d
								if iw < 0 || iw >= W.in {
									continue
								}
								v := xp[(id*H.in+ih)*W.in+iw]
								if k.max {
									if v > acc || v != v {
										acc = v
									}
								} else {
									acc += v
								}
							}
						}
					}
					if !k.max {
						cnt := windowCount(od, D.s, D.pb, D.k, D.d, D.in, D.pe, k.includePad) *
							windowCount(oh, H.s, H.pb, H.k, H.d, H.in, H.pe, k.includePad) *
							windowCount(ow, W.s, W.pb, W.k, W.d, W.in, W.pe, k.includePad)
						if cnt > 0 {
							acc /= float32(cnt)
						}
					}
					yp[o] = acc
					o++
				}
			}
		}
	}
	return nil
}

// convTransposeKernel is ConvTranspose: X [N, C, spatial], W [C, M/group,
// kernel], optional B [M]; strides, dilations, pads, output_padding,
// output_shape and auto_pad as ONNX Runtime computes them.
type convTransposeKernel struct {
	win         winAttrs
	grp         int
	outPad      []int
	outputShape []int
}

func buildConvTranspose(bc *BuildContext) (Kernel, error) {
	w, err := readWinAttrs(bc.Node, false)
	if err != nil {
		return nil, err
	}
	k := &convTransposeKernel{win: w, grp: int(bc.Node.AttrInt("group", 1)),
		outPad: bc.Node.AttrInts("output_padding", nil), outputShape: bc.Node.AttrInts("output_shape", nil)}
	if k.grp < 1 {
		return nil, shapeErrf("ConvTranspose group %d must be positive", k.grp)
	}
	return k, nil
}

func (k *convTransposeKernel) geometry(in []Type) (ndGeom, int, error) {
	var g ndGeom
	if err := needInputs("ConvTranspose", in, 2); err != nil {
		return g, 0, err
	}
	for i := 0; i < 3; i++ {
		if present(in, i) {
			if err := needF32("ConvTranspose", in, i); err != nil {
				return g, 0, err
			}
		}
	}
	x, w := in[0].Shape, in[1].Shape
	sr := len(x) - 2
	if sr < 1 || sr > 3 || len(w) != len(x) {
		return g, 0, shapeErrf("ConvTranspose input %v weights %v, want 1 to 3 spatial dimensions", x, w)
	}
	for _, d := range x[1:] {
		if d < 0 {
			return g, 0, shapeErrf("ConvTranspose input has dynamic shape %v", x)
		}
	}
	if x[1] != w[0] || x[1]%k.grp != 0 {
		return g, 0, shapeErrf("ConvTranspose input %v, weights %v, group %d do not match", x, w, k.grp)
	}
	M := w[1] * k.grp
	if present(in, 2) && (len(in[2].Shape) != 1 || in[2].Shape[0] != M) {
		return g, 0, shapeErrf("ConvTranspose bias has shape %v, want [%d]", in[2].Shape, M)
	}
	a := &k.win
	chk := func(v []int, n int) bool { return v == nil || len(v) == n }
	if !chk(a.strides, sr) || !chk(a.dilations, sr) || !chk(a.pads, 2*sr) || !chk(k.outPad, sr) || !chk(a.kernel, sr) {
		return g, 0, shapeErrf("ConvTranspose attributes do not match %d spatial dimensions", sr)
	}
	outShape := k.outputShape
	if len(outShape) > sr {
		outShape = outShape[len(outShape)-sr:]
	}
	at := func(v []int, i, def int) int {
		if v == nil {
			return def
		}
		return v[i]
	}
	g.N, g.C, g.rank = x[0], x[1], sr
	for i := range g.dim {
		g.dim[i] = ndWin{in: 1, k: 1, s: 1, d: 1, out: 1}
	}
	for i := 0; i < sr; i++ {
		d := &g.dim[3-sr+i]
		d.in, d.k = x[2+i], w[2+i]
		d.s, d.d = at(a.strides, i, 1), at(a.dilations, i, 1)
		adj := at(k.outPad, i, 0)
		if d.k < 1 || d.s < 1 || d.d < 1 || adj < 0 || d.k > 1<<20 || d.s > 1<<20 || d.d > 1<<20 {
			return g, 0, shapeErrf("ConvTranspose window parameters out of range")
		}
		keff := (d.k-1)*d.d + 1
		full := (d.in-1)*d.s + adj + keff
		switch {
		case outShape != nil || a.autoPad == "SAME_UPPER" || a.autoPad == "SAME_LOWER":
			if outShape != nil {
				d.out = outShape[i]
			} else {
				d.out = d.in * d.s
			}
			total := max(0, full-d.out)
			// As ONNX Runtime: SAME_UPPER puts the odd pad at the end,
			// SAME_LOWER and an explicit output_shape at the start.
			if a.autoPad == "SAME_UPPER" {
				d.pb = total / 2
			} else {
				d.pb = total - total/2
			}
			d.pe = total - d.pb
		default:
			d.pb, d.pe = at(a.pads, i, 0), at(a.pads, i+sr, 0)
			if a.autoPad == "VALID" {
				d.pb, d.pe = 0, 0
			}
			d.out = full - d.pb - d.pe
		}
		if d.out < 1 || d.pb < 0 || d.pe < 0 {
			return g, 0, shapeErrf("ConvTranspose output size %d for input %v", d.out, x)
		}
	}
	if NumElements(g.outShape(M)) < 0 || NumElements(g.outShape(M)) > math.MaxInt32 {
		return g, 0, shapeErrf("ConvTranspose output too large")
	}
	return g, M, nil
}

func (k *convTransposeKernel) OutputTypes(in []Type) ([]Type, error) {
	g, m, err := k.geometry(in)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: g.outShape(m)}}, nil
}

// MACs is N·C·in·(M/group)·kernel.
func (k *convTransposeKernel) MACs(in, out []Type) int64 {
	if _, _, err := k.geometry(in); err != nil {
		return 0
	}
	return elemCount(in) * int64(NumElements(in[1].Shape[1:]))
}

func (k *convTransposeKernel) Run(rc *RunContext, in, out []*Tensor) error {
	g, M, err := k.geometry([]Type{in[0].Type(), in[1].Type()})
	if err != nil {
		return err
	}
	x, w, y := in[0].F32, in[1].F32, out[0].F32
	Mg, Cg := M/k.grp, g.C/k.grp
	D, H, W := g.dim[0], g.dim[1], g.dim[2]
	inPlane, outPlane := D.in*H.in*W.in, D.out*H.out*W.out
	kvol := D.k * H.k * W.k
	for n := 0; n < g.N; n++ {
		for m := 0; m < M; m++ {
			yp := y[(n*M+m)*outPlane : (n*M+m+1)*outPlane]
			fillBias(yp, in, m)
			gr, mg := m/Mg, m%Mg
			for c := 0; c < Cg; c++ {
				ci := gr*Cg + c
				xp := x[(n*g.C+ci)*inPlane:]
				wk := w[(ci*Mg+mg)*kvol:]
				for kd := 0; kd < D.k; kd++ {
					for kh := 0; kh < H.k; kh++ {
						for kw := 0; kw < W.k; kw++ {
							wv := wk[(kd*H.k+kh)*W.k+kw]
							if wv == 0 {
								continue
							}
							for id := 0; id < D.in; id++ {
								od := id*D.s - D.pb + kd*D.d
								if od < 0 || od >= D.out {
									continue
								}
								for ih := 0; ih < H.in; ih++ {
									oh := ih*H.s - H.pb + kh*H.d
									if oh < 0 || oh >= H.out {
										continue
									}
									xr := xp[(id*H.in+ih)*W.in : (id*H.in+ih+1)*W.in]
									yr := yp[(od*H.out+oh)*W.out : (od*H.out+oh+1)*W.out]
									off := kw*W.d - W.pb
									for iw, v := range xr {
										if ow := iw*W.s + off; ow >= 0 && ow < W.out {
											yr[ow] += wv * v
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	return nil
}
