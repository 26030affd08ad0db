package train

import (
	"math"

	"github.com/splitinfer/splitinfer/nn"
)

// workspace holds one goroutine's activations, activation gradients,
// parameter gradients and layer scratch for up to cap samples.
type workspace struct {
	cap   int
	act   [][]float32 // per value
	grad  [][]float32 // per value
	pgrad [][]float32 // per param
	col   [][]float32 // per layer: conv im2col of every sample
	arg   [][]int32   // per layer: maxpool argmax
	bn    [][]float32 // per layer: BatchNorm statistics of the chunk (training)
	dcol  []float32
	tmp   []float32 // conv GEMM output / gathered output gradient
	dyt   []float32 // transposed output gradient of a Gemm
	train bool
}

func newWorkspace(n *Net, capacity int, train bool) *workspace {
	ws := &workspace{cap: capacity, train: train}
	ws.act = make([][]float32, len(n.Values))
	for v, s := range n.Values {
		ws.act[v] = make([]float32, capacity*s.Size())
	}
	ws.col = make([][]float32, len(n.Layers))
	ws.arg = make([][]int32, len(n.Layers))
	maxCol, maxOut, maxTmp := 0, 0, 0
	for i, l := range n.Layers {
		switch l.Kind {
		case Gemm:
			maxOut = max(maxOut, l.outShape.C)
		case Conv:
			if l.Depthwise {
				continue
			}
			group := min(capacity, evalGroup)
			if train {
				group = capacity
			}
			sz := l.colRows * l.outHW
			maxCol = max(maxCol, sz)
			maxTmp = max(maxTmp, group*l.outShape.C*l.outHW)
			ws.col[i] = make([]float32, group*sz)
		case MaxPool:
			if train {
				ws.arg[i] = make([]int32, capacity*l.outShape.Size())
			}
		}
	}
	if train {
		ws.bn = newBNStats(n)
	}
	ws.tmp = make([]float32, maxTmp)
	if train {
		ws.grad = make([][]float32, len(n.Values))
		for v, s := range n.Values {
			if v == 0 {
				continue // the input needs no gradient
			}
			ws.grad[v] = make([]float32, capacity*s.Size())
		}
		ws.pgrad = make([][]float32, len(n.Params))
		for i, p := range n.Params {
			ws.pgrad[i] = make([]float32, len(p.Data))
		}
		ws.dcol = make([]float32, capacity*maxCol)
		ws.dyt = make([]float32, maxOut*capacity)
	}
	return ws
}

// forward runs the net on the first bs samples already in ws.act[0].
func (n *Net) forward(ws *workspace, bs int) {
	for i, l := range n.Layers {
		in := ws.act[l.In[0]][:bs*l.inShape.Size()]
		out := ws.act[l.Out][:bs*l.outShape.Size()]
		switch l.Kind {
		case Conv:
			if l.Depthwise {
				dwForward(l, in, out, bs)
				break
			}
			convForward(l, ws, i, in, out, bs)
		case Gemm:
			k, m := l.inShape.Size(), l.outShape.C
			nn.SgemmNT(bs, m, k, in, k, l.W.Data, k, out, m, false)
			for s := 0; s < bs; s++ {
				row := out[s*m : (s+1)*m]
				for j, b := range l.B.Data[:m] {
					row[j] += b
				}
			}
		case Relu:
			if l.Max > 0 {
				for j, v := range in {
					out[j] = min(max(v, 0), l.Max)
				}
				break
			}
			for j, v := range in {
				out[j] = max(v, 0)
			}
		case MaxPool:
			var arg []int32
			if ws.train {
				arg = ws.arg[i][:len(out)]
			}
			maxPoolForward(l, in, out, arg, bs)
		case AvgPool:
			avgPoolForward(l, in, out, bs)
		case GlobalAvgPool:
			hw := l.inShape.H * l.inShape.W
			inv := 1 / float32(hw)
			for j := range out {
				var s float32
				for _, v := range in[j*hw : (j+1)*hw] {
					s += v
				}
				out[j] = s * inv
			}
		case Add:
			in2 := ws.act[l.In[1]][:len(out)]
			for j, v := range in {
				out[j] = v + in2[j]
			}
		case Flatten:
			copy(out, in)
		case BatchNorm:
			bnForward(l, ws, i, in, out, bs)
		}
	}
}

// backward propagates ws.grad[n.Output] (already set for bs samples) back
// through the net, accumulating parameter gradients into ws.pgrad.
func (n *Net) backward(ws *workspace, bs int) {
	for v := 1; v < len(n.Values); v++ {
		if v != n.Output {
			clear(ws.grad[v][:bs*n.Values[v].Size()])
		}
	}
	for i := len(n.Layers) - 1; i >= 0; i-- {
		l := n.Layers[i]
		dy := ws.grad[l.Out][:bs*l.outShape.Size()]
		var dx []float32
		if l.In[0] != 0 {
			dx = ws.grad[l.In[0]][:bs*l.inShape.Size()]
		}
		switch l.Kind {
		case Conv:
			if l.Depthwise {
				dwBackward(l, ws, dy, dx, bs)
				break
			}
			convBackward(l, ws, i, dy, dx, bs)
		case Gemm:
			k, m := l.inShape.Size(), l.outShape.C
			x := ws.act[l.In[0]][:bs*k]
			dw := ws.pgrad[l.W.index]
			db := ws.pgrad[l.B.index]
			// dW (m x k) += dYᵀ (m x bs) · X (bs x k)
			dyt := ws.dyt[:m*bs]
			for s := 0; s < bs; s++ {
				for j, g := range dy[s*m : (s+1)*m] {
					dyt[j*bs+s] = g
					db[j] += g
				}
			}
			nn.Sgemm(m, k, bs, dyt, bs, x, k, dw, k, true)
			if dx != nil {
				// dX (bs x k) += dY (bs x m) · W (m x k)
				nn.Sgemm(bs, k, m, dy, m, l.W.Data, k, dx, k, true)
			}
		case Relu:
			if dx != nil {
				y := ws.act[l.Out][:len(dy)]
				for j, g := range dy {
					if y[j] > 0 && (l.Max == 0 || y[j] < l.Max) {
						dx[j] += g
					}
				}
			}
		case MaxPool:
			if dx != nil {
				maxPoolBackward(l, ws.arg[i][:len(dy)], dy, dx, bs)
			}
		case AvgPool:
			if dx != nil {
				avgPoolBackward(l, dy, dx, bs)
			}
		case GlobalAvgPool:
			if dx != nil {
				hw := l.inShape.H * l.inShape.W
				inv := 1 / float32(hw)
				for j, g := range dy {
					g *= inv
					d := dx[j*hw : (j+1)*hw]
					for t := range d {
						d[t] += g
					}
				}
			}
		case Add:
			if dx != nil {
				for j, g := range dy {
					dx[j] += g
				}
			}
			if l.In[1] != 0 {
				dx2 := ws.grad[l.In[1]][:len(dy)]
				for j, g := range dy {
					dx2[j] += g
				}
			}
		case Flatten:
			if dx != nil {
				for j, g := range dy {
					dx[j] += g
				}
			}
		case BatchNorm:
			bnBackward(l, ws, i, dy, dx, bs)
		}
	}
}

// im2col writes the patches of one sample x (C x H x W) into col: C*KH*KW
// rows of OH*OW values, row r starting at col[r*ld].
func im2col(l *Layer, x, col []float32, ld int) {
	in, oh, ow := l.inShape, l.outShape.H, l.outShape.W
	eachPatchRow(l, func(r, c, ky, kx int) {
		plane := x[c*in.H*in.W : (c+1)*in.H*in.W]
		dst := col[r*ld : r*ld+oh*ow]
		for y := 0; y < oh; y++ {
			iy := y*l.SH - l.PadT + ky
			drow := dst[y*ow : (y+1)*ow]
			if iy < 0 || iy >= in.H {
				clear(drow)
				continue
			}
			src := plane[iy*in.W : (iy+1)*in.W]
			if l.SW == 1 {
				// contiguous run: ix = x - PadL + kx
				off := kx - l.PadL
				for xx := range drow {
					ix := xx + off
					if ix >= 0 && ix < in.W {
						drow[xx] = src[ix]
					} else {
						drow[xx] = 0
					}
				}
				continue
			}
			for xx := range drow {
				ix := xx*l.SW - l.PadL + kx
				if ix >= 0 && ix < in.W {
					drow[xx] = src[ix]
				} else {
					drow[xx] = 0
				}
			}
		}
	})
}

// col2im accumulates col (C*KH*KW rows of OH*OW, row r at col[r*ld]) into
// dx (C x H x W).
func col2im(l *Layer, col, dx []float32, ld int) {
	in, oh, ow := l.inShape, l.outShape.H, l.outShape.W
	eachPatchRow(l, func(r, c, ky, kx int) {
		plane := dx[c*in.H*in.W : (c+1)*in.H*in.W]
		src := col[r*ld : r*ld+oh*ow]
		for y := 0; y < oh; y++ {
			iy := y*l.SH - l.PadT + ky
			if iy < 0 || iy >= in.H {
				continue
			}
			drow := plane[iy*in.W : (iy+1)*in.W]
			for xx, g := range src[y*ow : (y+1)*ow] {
				ix := xx*l.SW - l.PadL + kx
				if ix >= 0 && ix < in.W {
					drow[ix] += g
				}
			}
		}
	})
}

// eachPatchRow calls row for each row r of a conv layer's patch matrix:
// input channel c and kernel tap (ky, kx), in im2col's order.
func eachPatchRow(l *Layer, row func(r, c, ky, kx int)) {
	r := 0
	for c := 0; c < l.inShape.C; c++ {
		for ky := 0; ky < l.KH; ky++ {
			for kx := 0; kx < l.KW; kx++ {
				row(r, c, ky, kx)
				r++
			}
		}
	}
}

// evalGroup is how many samples one conv GEMM covers in inference.
const evalGroup = 32

// convForward computes a convolution as one GEMM per group of samples:
// the patches of the group side by side (C*KH*KW rows of group*OH*OW), so
// that the GEMM is wide. In training the group is the whole chunk and the
// patches stay for the backward pass.
func convForward(l *Layer, ws *workspace, li int, in, out []float32, bs int) {
	isz, osz := l.inShape.Size(), l.outShape.Size()
	rows, hw, oc := l.colRows, l.outHW, l.outShape.C
	group := evalGroup
	if ws.train {
		group = bs
	}
	for g0 := 0; g0 < bs; g0 += group {
		gs := min(group, bs-g0)
		ld := gs * hw
		col := ws.col[li][:rows*ld]
		for s := 0; s < gs; s++ {
			im2col(l, in[(g0+s)*isz:(g0+s+1)*isz], col[s*hw:], ld)
		}
		tmp := ws.tmp[:oc*ld]
		nn.Sgemm(oc, ld, rows, l.W.Data, rows, col, ld, tmp, ld, false)
		for s := 0; s < gs; s++ {
			y := out[(g0+s)*osz : (g0+s+1)*osz]
			for c, b := range l.B.Data[:oc] {
				src := tmp[c*ld+s*hw : c*ld+(s+1)*hw]
				dst := y[c*hw : (c+1)*hw]
				for j, v := range src {
					dst[j] = v + b
				}
			}
		}
	}
}

func convBackward(l *Layer, ws *workspace, li int, dy, dx []float32, bs int) {
	isz, osz := l.inShape.Size(), l.outShape.Size()
	rows, hw, oc := l.colRows, l.outHW, l.outShape.C
	dw := ws.pgrad[l.W.index]
	db := ws.pgrad[l.B.index]
	ld := bs * hw
	col := ws.col[li][:rows*ld]
	// Gather dY as oc rows of bs*hw, matching the patches' layout.
	g := ws.tmp[:oc*ld]
	for s := 0; s < bs; s++ {
		for c := 0; c < oc; c++ {
			src := dy[s*osz+c*hw : s*osz+(c+1)*hw]
			copy(g[c*ld+s*hw:c*ld+(s+1)*hw], src)
			var t float32
			for _, v := range src {
				t += v
			}
			db[c] += t
		}
	}
	// dW (oc x rows) += dY (oc x bs*hw) · colᵀ
	nn.SgemmNT(oc, rows, ld, g, ld, col, ld, dw, rows, true)
	if dx != nil {
		// dcol (rows x bs*hw) = Wᵀ (rows x oc) · dY
		dcol := ws.dcol[:rows*ld]
		nn.Sgemm(rows, ld, oc, l.wt, oc, g, ld, dcol, ld, false)
		for s := 0; s < bs; s++ {
			col2im(l, dcol[s*hw:], dx[s*isz:(s+1)*isz], ld)
		}
	}
}

// prepareStep computes per-step read-only data shared by the workers
// (transposed conv weights).
func (n *Net) prepareStep() {
	for _, l := range n.Layers {
		switch l.Kind {
		case Conv:
			if l.Depthwise {
				continue
			}
			oc, rows := l.outShape.C, l.colRows
			if len(l.wt) != oc*rows {
				l.wt = make([]float32, oc*rows)
			}
			for o := 0; o < oc; o++ {
				for r, v := range l.W.Data[o*rows : (o+1)*rows] {
					l.wt[r*oc+o] = v
				}
			}
		}
	}
}

func maxPoolForward(l *Layer, in, out []float32, arg []int32, bs int) {
	is, os := l.inShape, l.outShape
	planes := bs * is.C
	if l.KH == 2 && l.KW == 2 && l.SH == 2 && l.SW == 2 && l.PadT == 0 && l.PadL == 0 && os.H*2 <= is.H && os.W*2 <= is.W {
		maxPool2x2(in, out, arg, planes, is.H, is.W, os.H, os.W)
		return
	}
	for p := 0; p < planes; p++ {
		src := in[p*is.H*is.W : (p+1)*is.H*is.W]
		dst := out[p*os.H*os.W : (p+1)*os.H*os.W]
		for y := 0; y < os.H; y++ {
			for x := 0; x < os.W; x++ {
				best := float32(math.Inf(-1))
				bi := int32(-1)
				for ky := 0; ky < l.KH; ky++ {
					iy := y*l.SH - l.PadT + ky
					if iy < 0 || iy >= is.H {
						continue
					}
					for kx := 0; kx < l.KW; kx++ {
						ix := x*l.SW - l.PadL + kx
						if ix < 0 || ix >= is.W {
							continue
						}
						if v := src[iy*is.W+ix]; v > best || bi < 0 {
							best, bi = v, int32(iy*is.W+ix)
						}
					}
				}
				o := y*os.W + x
				dst[o] = best
				if arg != nil {
					arg[p*os.H*os.W+o] = bi
				}
			}
		}
	}
}

func maxPoolBackward(l *Layer, arg []int32, dy, dx []float32, bs int) {
	is, os := l.inShape, l.outShape
	planes := bs * is.C
	ohw, ihw := os.H*os.W, is.H*is.W
	for p := 0; p < planes; p++ {
		d := dx[p*ihw : (p+1)*ihw]
		for o, g := range dy[p*ohw : (p+1)*ohw] {
			if a := arg[p*ohw+o]; a >= 0 {
				d[a] += g
			}
		}
	}
}

// avgWindow returns the valid window of output (y, x) and its divisor.
func avgWindow(l *Layer, y, x int) (y0, y1, x0, x1 int, div float32) {
	is := l.inShape
	y0 = y*l.SH - l.PadT
	x0 = x*l.SW - l.PadL
	y1, x1 = y0+l.KH, x0+l.KW
	if l.CountIncludePad {
		div = float32((min(y1, is.H+l.PadB) - y0) * (min(x1, is.W+l.PadR) - x0))
	}
	y0, x0 = max(y0, 0), max(x0, 0)
	y1, x1 = min(y1, is.H), min(x1, is.W)
	if !l.CountIncludePad {
		div = float32((y1 - y0) * (x1 - x0))
	}
	return
}

func avgPoolForward(l *Layer, in, out []float32, bs int) {
	is, os := l.inShape, l.outShape
	planes := bs * is.C
	for p := 0; p < planes; p++ {
		src := in[p*is.H*is.W : (p+1)*is.H*is.W]
		dst := out[p*os.H*os.W : (p+1)*os.H*os.W]
		for y := 0; y < os.H; y++ {
			for x := 0; x < os.W; x++ {
				y0, y1, x0, x1, div := avgWindow(l, y, x)
				var s float32
				for iy := y0; iy < y1; iy++ {
					for _, v := range src[iy*is.W+x0 : iy*is.W+x1] {
						s += v
					}
				}
				if div > 0 {
					s /= div
				}
				dst[y*os.W+x] = s
			}
		}
	}
}

func avgPoolBackward(l *Layer, dy, dx []float32, bs int) {
	is, os := l.inShape, l.outShape
	planes := bs * is.C
	for p := 0; p < planes; p++ {
		d := dx[p*is.H*is.W : (p+1)*is.H*is.W]
		g := dy[p*os.H*os.W : (p+1)*os.H*os.W]
		for y := 0; y < os.H; y++ {
			for x := 0; x < os.W; x++ {
				y0, y1, x0, x1, div := avgWindow(l, y, x)
				if div <= 0 {
					continue
				}
				v := g[y*os.W+x] / div
				for iy := y0; iy < y1; iy++ {
					row := d[iy*is.W+x0 : iy*is.W+x1]
					for j := range row {
						row[j] += v
					}
				}
			}
		}
	}
}

// maxPool2x2 is the common 2x2 stride 2 unpadded max pooling.
func maxPool2x2(in, out []float32, arg []int32, planes, ih, iw, oh, ow int) {
	for p := 0; p < planes; p++ {
		src := in[p*ih*iw : (p+1)*ih*iw]
		dst := out[p*oh*ow : (p+1)*oh*ow]
		for y := 0; y < oh; y++ {
			r0 := src[2*y*iw : 2*y*iw+iw]
			r1 := src[(2*y+1)*iw : (2*y+1)*iw+iw]
			drow := dst[y*ow : (y+1)*ow]
			for x := range drow {
				i := 2 * x
				best, bi := r0[i], 2*y*iw+i
				if v := r0[i+1]; v > best {
					best, bi = v, 2*y*iw+i+1
				}
				if v := r1[i]; v > best {
					best, bi = v, (2*y+1)*iw+i
				}
				if v := r1[i+1]; v > best {
					best, bi = v, (2*y+1)*iw+i+1
				}
				drow[x] = best
				if arg != nil {
					arg[p*oh*ow+y*ow+x] = int32(bi)
				}
			}
		}
	}
}
