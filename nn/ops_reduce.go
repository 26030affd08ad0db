package nn

import "math"

// Reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd,
// ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp (axes
// as attribute before opset 13/18, as input after; keepdims;
// noop_with_empty_axes), and ArgMax/ArgMin (select_last_index).

type reduceKind uint8

const (
	rdMean reduceKind = iota
	rdSum
	rdMax
	rdMin
	rdProd
	rdL1
	rdL2
	rdSumSquare
	rdLogSum
	rdLogSumExp
)

func init() {
	for op, kind := range map[string]reduceKind{
		"ReduceMean": rdMean, "ReduceSum": rdSum, "ReduceMax": rdMax, "ReduceMin": rdMin, "ReduceProd": rdProd,
		"ReduceL1": rdL1, "ReduceL2": rdL2, "ReduceSumSquare": rdSumSquare, "ReduceLogSum": rdLogSum, "ReduceLogSumExp": rdLogSumExp,
	} {
		Register(op, func(bc *BuildContext) (Kernel, error) {
			axes, has, err := intsOrInput(bc, 1, "axes")
			if err != nil {
				return nil, err
			}
			k := &reduceKernel{op: op, kind: kind, axes: axes,
				keep: bc.Node.AttrInt("keepdims", 1) != 0,
				noop: bc.Node.AttrInt("noop_with_empty_axes", 0) != 0 && (!has || len(axes) == 0)}
			return k, nil
		})
	}
	for _, op := range []string{"ArgMax", "ArgMin"} {
		Register(op, func(bc *BuildContext) (Kernel, error) {
			return &argKernel{op: op, max: op == "ArgMax", axis: int(bc.Node.AttrInt("axis", 0)),
				keep: bc.Node.AttrInt("keepdims", 1) != 0, last: bc.Node.AttrInt("select_last_index", 0) != 0}, nil
		})
	}
}

type reduceKernel struct {
	op   string
	kind reduceKind
	axes []int
	keep bool
	noop bool // noop_with_empty_axes and no axes: identity
}

// reduced marks the reduced dimensions of a rank-r input.
func (k *reduceKernel) reduced(r int) ([]bool, error) {
	red := make([]bool, r)
	if len(k.axes) == 0 {
		for i := range red {
			red[i] = !k.noop
		}
		return red, nil
	}
	for _, a := range k.axes {
		ax, err := normAxis(k.op, a, r, false)
		if err != nil {
			return nil, err
		}
		red[ax] = true
	}
	return red, nil
}

func (k *reduceKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	dt := in[0].DType
	if dt != Float32 && !(dt == Int64 && (k.kind == rdSum || k.kind == rdMax || k.kind == rdMin || k.kind == rdProd)) {
		return nil, dtypeErrf("%s on %v", k.op, dt)
	}
	red, err := k.reduced(len(in[0].Shape))
	if err != nil {
		return nil, err
	}
	out := []int{}
	for i, d := range in[0].Shape {
		switch {
		case !red[i]:
			out = append(out, d)
		case k.keep:
			out = append(out, 1)
		}
	}
	return []Type{{DType: dt, Shape: out}}, nil
}

// MACs counts one operation per input element.
func (k *reduceKernel) MACs(in, out []Type) int64 { return elemCount(in) }

func (k *reduceKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0], out[0]
	red, err := k.reduced(len(x.Shape))
	if err != nil {
		return err
	}
	// Offsets into the output for each input element: the input walked
	// with the output's strides, 0 along reduced dimensions.
	kept := make([]int, len(x.Shape))
	for i, d := range x.Shape {
		kept[i] = d
		if red[i] {
			kept[i] = 1
		}
	}
	bc := newBroadcast(x.Shape, kept)
	n := y.Len()
	count := 1
	if n > 0 {
		count = x.Len() / n
	}
	if x.DType == Int64 {
		acc := make([]int64, n)
		init := int64(0)
		switch k.kind {
		case rdMax:
			init = math.MinInt64
		case rdMin:
			init = math.MaxInt64
		case rdProd:
			init = 1
		}
		for i := range acc {
			acc[i] = init
		}
		bc.each(func(o int, off []int) {
			v, a := x.I64[o], &acc[off[0]]
			switch k.kind {
			case rdSum:
				*a += v
			case rdMax:
				*a = max(*a, v)
			case rdMin:
				*a = min(*a, v)
			case rdProd:
				*a *= v
			}
		})
		copy(y.I64, acc)
		return nil
	}
	acc := make([]float64, n)
	init := 0.0
	switch k.kind {
	case rdMax, rdLogSumExp:
		init = math.Inf(-1)
	case rdMin:
		init = math.Inf(1)
	case rdProd:
		init = 1
	}
	for i := range acc {
		acc[i] = init
	}
	if k.kind == rdLogSumExp {
		// Stable: the maximum first, then the sum of exp(x - max).
		bc.each(func(o int, off []int) { acc[off[0]] = math.Max(acc[off[0]], float64(x.F32[o])) })
		mx := append([]float64(nil), acc...)
		for i := range acc {
			acc[i] = 0
		}
		bc.each(func(o int, off []int) {
			m := mx[off[0]]
			if !math.IsInf(m, 0) {
				acc[off[0]] += math.Exp(float64(x.F32[o]) - m)
			}
		})
		for i := range acc {
			if math.IsInf(mx[i], 0) {
				acc[i] = mx[i]
			} else {
				acc[i] = mx[i] + math.Log(acc[i])
			}
		}
	} else {
		bc.each(func(o int, off []int) {
			v, a := float64(x.F32[o]), &acc[off[0]]
			switch k.kind {
			case rdMean, rdSum, rdLogSum:
				*a += v
			case rdMax:
				if v > *a || v != v {
					*a = v
				}
			case rdMin:
				if v < *a || v != v {
					*a = v
				}
			case rdProd:
				*a *= v
			case rdL1:
				*a += math.Abs(v)
			case rdL2, rdSumSquare:
				*a += v * v
			}
		})
	}
	for i, a := range acc {
		switch k.kind {
		case rdMean:
			a /= float64(count)
		case rdL2:
			a = math.Sqrt(a)
		case rdLogSum:
			a = math.Log(a)
		}
		y.F32[i] = float32(a)
	}
	return nil
}

// argKernel is ArgMax/ArgMin along one axis; ties go to the first index,
// or the last with select_last_index.
type argKernel struct {
	op              string
	max, keep, last bool
	axis            int
}

func (k *argKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	if dt := in[0].DType; dt != Float32 && dt != Int64 && dt != Int32 && dt != Uint8 && dt != Int8 {
		return nil, dtypeErrf("%s on %v", k.op, dt)
	}
	s := in[0].Shape
	ax, err := normAxis(k.op, k.axis, len(s), false)
	if err != nil {
		return nil, err
	}
	out := append([]int{}, s[:ax]...)
	if k.keep {
		out = append(out, 1)
	}
	out = append(out, s[ax+1:]...)
	return []Type{{DType: Int64, Shape: out}}, nil
}

func (k *argKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	ax, err := normAxis(k.op, k.axis, len(s), false)
	if err != nil {
		return err
	}
	outer, n, inner := NumElements(s[:ax]), s[ax], NumElements(s[ax+1:])
	if n == 0 {
		return shapeErrf("%s over an empty axis of %v", k.op, s)
	}
	get := asFloat64(in[0])
	y := out[0].I64
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			best, bi := get(base), 0
			for j := 1; j < n; j++ {
				v := get(base + j*inner)
				better := v > best
				if !k.max {
					better = v < best
				}
				if better || (k.last && v == best) {
					best, bi = v, j
				}
			}
			y[o*inner+i] = int64(bi)
		}
	}
	return nil
}
