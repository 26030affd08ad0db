package nn

import (
	"math"
	"sort"
)

// Less common operators of exported models, in plain Go: IsNaN, IsInf,
// Hardmax, LpNormalization, GlobalLpPool, MeanVarianceNormalization,
// CumSum, TopK, GatherElements and Trilu.

func init() {
	Register("IsNaN", func(bc *BuildContext) (Kernel, error) {
		return &predKernel{op: "IsNaN", f: func(x float32) bool { return x != x }}, nil
	})
	Register("IsInf", func(bc *BuildContext) (Kernel, error) {
		neg, pos := bc.Node.AttrInt("detect_negative", 1) != 0, bc.Node.AttrInt("detect_positive", 1) != 0
		return &predKernel{op: "IsInf", f: func(x float32) bool {
			return (pos && math.IsInf(float64(x), 1)) || (neg && math.IsInf(float64(x), -1))
		}}, nil
	})
	Register("Hardmax", func(bc *BuildContext) (Kernel, error) {
		return &axisKernel{op: "Hardmax", axis: int(bc.Node.AttrInt("axis", -1)), run: hardmax}, nil
	})
	Register("LpNormalization", func(bc *BuildContext) (Kernel, error) {
		p := bc.Node.AttrInt("p", 2)
		if p != 1 && p != 2 {
			return nil, unsupportedErrf("LpNormalization p %d (1 or 2)", p)
		}
		return &axisKernel{op: "LpNormalization", axis: int(bc.Node.AttrInt("axis", -1)), run: func(x, y []float32, n, inner int) {
			lpNormalize(x, y, n, inner, p)
		}}, nil
	})
	Register("GlobalLpPool", func(bc *BuildContext) (Kernel, error) {
		return &globalLpKernel{p: float64(bc.Node.AttrInt("p", 2))}, nil
	})
	Register("MeanVarianceNormalization", func(bc *BuildContext) (Kernel, error) {
		return &mvnKernel{axes: bc.Node.AttrInts("axes", []int{0, 2, 3})}, nil
	})
	Register("CumSum", func(bc *BuildContext) (Kernel, error) {
		return &cumSumKernel{exclusive: bc.Node.AttrInt("exclusive", 0) != 0, reverse: bc.Node.AttrInt("reverse", 0) != 0}, nil
	})
	Register("TopK", func(bc *BuildContext) (Kernel, error) {
		k := bc.Const(bc.Node.Input(1))
		if k == nil || k.DType != Int64 || k.Len() != 1 || k.I64[0] < 0 {
			return nil, unsupportedErrf("TopK with K %q not a constant non-negative int64", bc.Node.Input(1))
		}
		// sorted=0 leaves the order unspecified: sorted is one valid order.
		return &topKKernel{k: int(k.I64[0]), axis: int(bc.Node.AttrInt("axis", -1)), largest: bc.Node.AttrInt("largest", 1) != 0}, nil
	})
	Register("GatherElements", func(bc *BuildContext) (Kernel, error) {
		return &gatherElemsKernel{axis: int(bc.Node.AttrInt("axis", 0))}, nil
	})
	Register("Trilu", func(bc *BuildContext) (Kernel, error) {
		return &triluKernel{upper: bc.Node.AttrInt("upper", 1) != 0}, nil
	})
}

// predKernel maps float32 elements to bools (uint8 0/1).
type predKernel struct {
	op string
	f  func(float32) bool
}

func (k *predKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	if err := needF32(k.op, in, 0); err != nil {
		return nil, err
	}
	return []Type{{DType: Uint8, Shape: in[0].Shape}}, nil
}

func (k *predKernel) Run(rc *RunContext, in, out []*Tensor) error {
	for i, v := range in[0].F32 {
		out[0].U8[i] = 0
		if k.f(v) {
			out[0].U8[i] = 1
		}
	}
	return nil
}

// axisKernel applies run to each line of a float32 tensor along axis:
// n values inner apart, the line starting at x[0].
type axisKernel struct {
	op   string
	axis int
	run  func(x, y []float32, n, inner int)
}

func (k *axisKernel) OutputTypes(in []Type) ([]Type, error) {
	return alongAxisTypes(k.op, k.axis, in)
}

// MACs counts a few operations per element as one.
func (k *axisKernel) MACs(in, out []Type) int64 { return elemCount(out) }

func (k *axisKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	ax, err := normAxis(k.op, k.axis, len(s), false)
	if err != nil {
		return err
	}
	outer, n, inner := NumElements(s[:ax]), s[ax], NumElements(s[ax+1:])
	x, y := in[0].F32, out[0].F32
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			off := o*n*inner + i
			k.run(x[off:], y[off:], n, inner)
		}
	}
	return nil
}

func hardmax(x, y []float32, n, inner int) {
	best := 0
	for j := 1; j < n; j++ {
		if x[j*inner] > x[best*inner] {
			best = j
		}
	}
	for j := 0; j < n; j++ {
		y[j*inner] = 0
	}
	if n > 0 {
		y[best*inner] = 1
	}
}

func lpNormalize(x, y []float32, n, inner int, p int64) {
	var s float64
	for j := 0; j < n; j++ {
		v := float64(x[j*inner])
		if p == 1 {
			s += math.Abs(v)
		} else {
			s += v * v
		}
	}
	if p == 2 {
		s = math.Sqrt(s)
	}
	for j := 0; j < n; j++ {
		y[j*inner] = float32(float64(x[j*inner]) / s)
	}
}

// globalLpKernel is (Σ|x|^p)^(1/p) over the spatial dimensions.
type globalLpKernel struct{ p float64 }

func (k *globalLpKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needOneF32("GlobalLpPool", in); err != nil {
		return nil, err
	}
	s := in[0].Shape
	if len(s) < 3 {
		return nil, shapeErrf("GlobalLpPool of rank %d", len(s))
	}
	o := []int{s[0], s[1]}
	for range s[2:] {
		o = append(o, 1)
	}
	return []Type{{DType: Float32, Shape: o}}, nil
}

func (k *globalLpKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	hw := NumElements(s[2:])
	for i := range out[0].F32 {
		var acc float64
		for _, v := range in[0].F32[i*hw : (i+1)*hw] {
			acc += math.Pow(math.Abs(float64(v)), k.p)
		}
		out[0].F32[i] = float32(math.Pow(acc, 1/k.p))
	}
	return nil
}

// mvnKernel is (x - mean) / (std + 1e-9) over axes (ONNX's function body).
type mvnKernel struct{ axes []int }

func (k *mvnKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needOneF32("MeanVarianceNormalization", in); err != nil {
		return nil, err
	}
	for _, a := range k.axes {
		if _, err := normAxis("MeanVarianceNormalization", a, len(in[0].Shape), false); err != nil {
			return nil, err
		}
	}
	return []Type{in[0]}, nil
}

func (k *mvnKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	red := make([]bool, len(s))
	for _, a := range k.axes {
		ax, _ := normAxis("MeanVarianceNormalization", a, len(s), false)
		red[ax] = true
	}
	// Group index of each element: its coordinates along the kept axes.
	n := NumElements(s)
	group := make([]int, n)
	groups := 1
	for d := range s {
		if !red[d] {
			groups *= s[d]
		}
	}
	idx := make([]int, len(s))
	for i := 0; i < n; i++ {
		g := 0
		for d := range s {
			if !red[d] {
				g = g*s[d] + idx[d]
			}
		}
		group[i] = g
		for d := len(s) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < s[d] {
				break
			}
			idx[d] = 0
		}
	}
	sum := make([]float64, groups)
	sq := make([]float64, groups)
	cnt := float64(n / max(groups, 1))
	for i, v := range in[0].F32 {
		sum[group[i]] += float64(v)
		sq[group[i]] += float64(v) * float64(v)
	}
	for i, v := range in[0].F32 {
		g := group[i]
		m := sum[g] / cnt
		sd := math.Sqrt(max(sq[g]/cnt-m*m, 0))
		out[0].F32[i] = float32((float64(v) - m) / (sd + 1e-9))
	}
	return nil
}

// cumSumKernel sums along the axis given as input 1 (a scalar).
type cumSumKernel struct{ exclusive, reverse bool }

func (k *cumSumKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("CumSum", in, 2); err != nil {
		return nil, err
	}
	if in[0].DType != Float32 && in[0].DType != Int64 {
		return nil, dtypeErrf("CumSum of %v", in[0].DType)
	}
	if in[1].DType != Int64 && in[1].DType != Int32 || NumElements(in[1].Shape) != 1 {
		return nil, shapeErrf("CumSum axis is %v, want one integer", in[1])
	}
	return []Type{in[0]}, nil
}

func (k *cumSumKernel) Run(rc *RunContext, in, out []*Tensor) error {
	axis := 0
	if in[1].DType == Int64 {
		axis = int(in[1].I64[0])
	} else {
		axis = int(in[1].I32[0])
	}
	s := in[0].Shape
	ax, err := normAxis("CumSum", axis, len(s), false)
	if err != nil {
		return err
	}
	outer, n, inner := NumElements(s[:ax]), s[ax], NumElements(s[ax+1:])
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			var accF float64
			var accI int64
			for t := 0; t < n; t++ {
				j := t
				if k.reverse {
					j = n - 1 - t
				}
				at := base + j*inner
				if in[0].DType == Float32 {
					if !k.exclusive {
						accF += float64(in[0].F32[at])
					}
					out[0].F32[at] = float32(accF)
					if k.exclusive {
						accF += float64(in[0].F32[at])
					}
				} else {
					if !k.exclusive {
						accI += in[0].I64[at]
					}
					out[0].I64[at] = accI
					if k.exclusive {
						accI += in[0].I64[at]
					}
				}
			}
		}
	}
	return nil
}

// topKKernel returns the k largest (or smallest) values along axis,
// sorted, and their indices (ties: the lower index first, as ONNX Runtime).
type topKKernel struct {
	k, axis int
	largest bool
}

func (k *topKKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needOneF32("TopK", in); err != nil {
		return nil, err
	}
	s := in[0].Shape
	ax, err := normAxis("TopK", k.axis, len(s), false)
	if err != nil {
		return nil, err
	}
	if k.k > s[ax] {
		return nil, shapeErrf("TopK K %d above the axis length %d", k.k, s[ax])
	}
	o := append([]int(nil), s...)
	o[ax] = k.k
	return []Type{{DType: Float32, Shape: o}, {DType: Int64, Shape: o}}, nil
}

func (k *topKKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	ax, _ := normAxis("TopK", k.axis, len(s), false)
	outer, n, inner := NumElements(s[:ax]), s[ax], NumElements(s[ax+1:])
	idx := make([]int, n)
	x := in[0].F32
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			for j := range idx {
				idx[j] = j
			}
			sort.SliceStable(idx, func(a, b int) bool {
				va, vb := x[base+idx[a]*inner], x[base+idx[b]*inner]
				if k.largest {
					return va > vb
				}
				return va < vb
			})
			ob := o*k.k*inner + i
			for j := 0; j < k.k; j++ {
				out[0].F32[ob+j*inner] = x[base+idx[j]*inner]
				if len(out) > 1 && out[1] != nil {
					out[1].I64[ob+j*inner] = int64(idx[j])
				}
			}
		}
	}
	return nil
}

// gatherElemsKernel is y[i][j]... = x[..index on axis..] (torch.gather).
type gatherElemsKernel struct{ axis int }

func (k *gatherElemsKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("GatherElements", in, 2); err != nil {
		return nil, err
	}
	if in[0].DType != Float32 && in[0].DType != Int64 {
		return nil, dtypeErrf("GatherElements of %v", in[0].DType)
	}
	if in[1].DType != Int64 && in[1].DType != Int32 {
		return nil, dtypeErrf("GatherElements indices %v", in[1].DType)
	}
	if len(in[1].Shape) != len(in[0].Shape) {
		return nil, shapeErrf("GatherElements indices %v for data %v", in[1].Shape, in[0].Shape)
	}
	if _, err := normAxis("GatherElements", k.axis, len(in[0].Shape), false); err != nil {
		return nil, err
	}
	return []Type{{DType: in[0].DType, Shape: in[1].Shape}}, nil
}

func (k *gatherElemsKernel) Run(rc *RunContext, in, out []*Tensor) error {
	ds, is := in[0].Shape, in[1].Shape
	ax, _ := normAxis("GatherElements", k.axis, len(ds), false)
	strides := make([]int, len(ds))
	st := 1
	for d := len(ds) - 1; d >= 0; d-- {
		strides[d] = st
		st *= ds[d]
	}
	coord := make([]int, len(is))
	for i := 0; i < NumElements(is); i++ {
		var j int64
		if in[1].DType == Int64 {
			j = in[1].I64[i]
		} else {
			j = int64(in[1].I32[i])
		}
		if j < 0 {
			j += int64(ds[ax])
		}
		if j < 0 || j >= int64(ds[ax]) {
			return shapeErrf("GatherElements index %d out of range for axis of %d", j, ds[ax])
		}
		off := 0
		for d := range is {
			c := coord[d]
			if d == ax {
				c = int(j)
			}
			if c >= ds[d] {
				return shapeErrf("GatherElements indices %v exceed data %v", is, ds)
			}
			off += c * strides[d]
		}
		if in[0].DType == Float32 {
			out[0].F32[i] = in[0].F32[off]
		} else {
			out[0].I64[i] = in[0].I64[off]
		}
		for d := len(is) - 1; d >= 0; d-- {
			coord[d]++
			if coord[d] < is[d] {
				break
			}
			coord[d] = 0
		}
	}
	return nil
}

// triluKernel keeps the upper (or lower) triangle of the last two
// dimensions, shifted by the diagonal k (input 1, default 0).
type triluKernel struct{ upper bool }

func (k *triluKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needOneF32("Trilu", in); err != nil {
		return nil, err
	}
	if len(in[0].Shape) < 2 {
		return nil, shapeErrf("Trilu of rank %d", len(in[0].Shape))
	}
	if present(in, 1) && (in[1].DType != Int64 || NumElements(in[1].Shape) != 1) {
		return nil, shapeErrf("Trilu k is %v, want one int64", in[1])
	}
	return []Type{in[0]}, nil
}

func (k *triluKernel) Run(rc *RunContext, in, out []*Tensor) error {
	diag := 0
	if presentT(in, 1) {
		diag = int(in[1].I64[0])
	}
	s := in[0].Shape
	r, c := s[len(s)-2], s[len(s)-1]
	for m := 0; m < NumElements(s[:len(s)-2]); m++ {
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				at := (m*r+i)*c + j
				keep := j-i >= diag
				if !k.upper {
					keep = j-i <= diag
				}
				out[0].F32[at] = 0
				if keep {
					out[0].F32[at] = in[0].F32[at]
				}
			}
		}
	}
	return nil
}

// needOneF32 checks that input 0 is present and float32.
func needOneF32(op string, in []Type) error {
	if err := needInputs(op, in, 1); err != nil {
		return err
	}
	return needF32(op, in, 0)
}

// maxPoolIdxKernel is a 1-D or 2-D MaxPool that also writes the Indices
// output: the flat index of each maximum in the input tensor, row-major
// ((n*C+c)*H+h)*W+w, or column-major with storage_order 1 (h + w*H within
// the plane); the first maximum of a window wins, as in ONNX Runtime.
type maxPoolIdxKernel struct {
	poolKernel
	colMajor bool
}

func (k *maxPoolIdxKernel) OutputTypes(in []Type) ([]Type, error) {
	t, err := k.poolKernel.OutputTypes(in)
	if err != nil {
		return nil, err
	}
	return []Type{t[0], {DType: Int64, Shape: t[0].Shape}}, nil
}

func (k *maxPoolIdxKernel) Run(rc *RunContext, in, out []*Tensor) error {
	g, err := k.geometry([]Type{in[0].Type()})
	if err != nil {
		return err
	}
	if g.N < 0 {
		return shapeErrf("MaxPool input has dynamic shape %v", in[0].Shape)
	}
	HW, P := g.H*g.W, g.OH*g.OW
	for nc := 0; nc < g.N*g.C; nc++ {
		x := in[0].F32[nc*HW : (nc+1)*HW]
		for oy := 0; oy < g.OH; oy++ {
			for ox := 0; ox < g.OW; ox++ {
				best, bi := float32(math.Inf(-1)), -1
				for ky := 0; ky < g.KH; ky++ {
					iy := oy*g.SH - g.PT + ky*g.DH
					if iy < 0 || iy >= g.H {
						continue
					}
					for kx := 0; kx < g.KW; kx++ {
						ix := ox*g.SW - g.PL + kx*g.DW
						if ix < 0 || ix >= g.W {
							continue
						}
						if v := x[iy*g.W+ix]; bi < 0 || v > best {
							best, bi = v, iy*g.W+ix
						}
					}
				}
				o := nc*P + oy*g.OW + ox
				out[0].F32[o] = best
				idx := int64(-1)
				if bi >= 0 {
					idx = int64(nc*HW + bi)
					if k.colMajor {
						idx = int64(nc*HW + bi/g.W + (bi%g.W)*g.H)
					}
				}
				if len(out) > 1 && out[1] != nil {
					out[1].I64[o] = idx
				}
			}
		}
	}
	return nil
}
