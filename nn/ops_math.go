package nn

import "math"

// Element-wise math in plain Go: unary functions (Tanh, Elu, Selu,
// Softplus, Softsign, Exp, Log, Sqrt, Neg, Abs, Reciprocal, Floor, Ceil,
// Erf, ...), PRelu, Pow, comparisons (bool results are uint8 0/1), Where,
// and the variadic Sum, Mean, Max and Min, all with numpy broadcasting.
// CNNs spend little time here; the convolutions dominate.

func init() {
	unary := map[string]func(n *Node) func(float32) float32{
		"Tanh":       func(*Node) func(float32) float32 { return f64(math.Tanh) },
		"Exp":        func(*Node) func(float32) float32 { return f64(math.Exp) },
		"Log":        func(*Node) func(float32) float32 { return f64(math.Log) },
		"Sqrt":       func(*Node) func(float32) float32 { return f64(math.Sqrt) },
		"Erf":        func(*Node) func(float32) float32 { return f64(math.Erf) },
		"Sin":        func(*Node) func(float32) float32 { return f64(math.Sin) },
		"Cos":        func(*Node) func(float32) float32 { return f64(math.Cos) },
		"Tan":        func(*Node) func(float32) float32 { return f64(math.Tan) },
		"Asin":       func(*Node) func(float32) float32 { return f64(math.Asin) },
		"Acos":       func(*Node) func(float32) float32 { return f64(math.Acos) },
		"Atan":       func(*Node) func(float32) float32 { return f64(math.Atan) },
		"Sinh":       func(*Node) func(float32) float32 { return f64(math.Sinh) },
		"Cosh":       func(*Node) func(float32) float32 { return f64(math.Cosh) },
		"Asinh":      func(*Node) func(float32) float32 { return f64(math.Asinh) },
		"Acosh":      func(*Node) func(float32) float32 { return f64(math.Acosh) },
		"Atanh":      func(*Node) func(float32) float32 { return f64(math.Atanh) },
		"Floor":      func(*Node) func(float32) float32 { return f64(math.Floor) },
		"Ceil":       func(*Node) func(float32) float32 { return f64(math.Ceil) },
		"Round":      func(*Node) func(float32) float32 { return f64(math.RoundToEven) },
		"Reciprocal": func(*Node) func(float32) float32 { return func(x float32) float32 { return 1 / x } },
		"Softsign":   func(*Node) func(float32) float32 { return func(x float32) float32 { return x / (1 + abs32(x)) } },
		"Softplus": func(*Node) func(float32) float32 {
			return func(x float32) float32 {
				v := float64(x)
				if v > 0 {
					return float32(v + math.Log1p(math.Exp(-v)))
				}
				return float32(math.Log1p(math.Exp(v)))
			}
		},
		"Elu": func(n *Node) func(float32) float32 {
			a := float64(attrFloatAny(n, "alpha", 1))
			return func(x float32) float32 {
				if x >= 0 {
					return x
				}
				return float32(a * math.Expm1(float64(x)))
			}
		},
		"Celu": func(n *Node) func(float32) float32 {
			a := float64(attrFloatAny(n, "alpha", 1))
			return func(x float32) float32 {
				return float32(math.Max(0, float64(x)) + math.Min(0, a*math.Expm1(float64(x)/a)))
			}
		},
		"Selu": func(n *Node) func(float32) float32 {
			a := float64(attrFloatAny(n, "alpha", 1.67326319217681884765625))
			gm := float64(attrFloatAny(n, "gamma", 1.05070102214813232421875))
			return func(x float32) float32 {
				if x > 0 {
					return float32(gm * float64(x))
				}
				return float32(gm * a * math.Expm1(float64(x)))
			}
		},
		"ThresholdedRelu": func(n *Node) func(float32) float32 {
			a := attrFloatAny(n, "alpha", 1)
			return func(x float32) float32 {
				if x > a {
					return x
				}
				return 0
			}
		},
		"Mish": func(*Node) func(float32) float32 {
			return func(x float32) float32 {
				v := float64(x)
				return float32(v * math.Tanh(math.Log1p(math.Exp(v))))
			}
		},
	}
	for op, mk := range unary {
		Register(op, func(bc *BuildContext) (Kernel, error) { return &mathKernel{op: op, f: mk(bc.Node)}, nil })
	}
	Register("Neg", func(bc *BuildContext) (Kernel, error) {
		return &mathKernel{op: "Neg", f: func(x float32) float32 { return -x }, i: func(x int64) int64 { return -x }}, nil
	})
	Register("Abs", func(bc *BuildContext) (Kernel, error) {
		return &mathKernel{op: "Abs", f: abs32, i: func(x int64) int64 { return max(x, -x) }}, nil
	})
	Register("Sign", func(bc *BuildContext) (Kernel, error) {
		return &mathKernel{op: "Sign", f: func(x float32) float32 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return x
		}, i: func(x int64) int64 { return int64(min(max(x, -1), 1)) }}, nil
	})
	Register("PRelu", func(bc *BuildContext) (Kernel, error) { return &bcastKernel{op: "PRelu", arity: 2, kind: bkPRelu}, nil })
	Register("Pow", func(bc *BuildContext) (Kernel, error) { return &bcastKernel{op: "Pow", arity: 2, kind: bkPow}, nil })
	for op, kind := range map[string]bcastKind{"Equal": bkEq, "Less": bkLt, "Greater": bkGt, "LessOrEqual": bkLe, "GreaterOrEqual": bkGe} {
		Register(op, func(bc *BuildContext) (Kernel, error) { return &bcastKernel{op: op, arity: 2, kind: kind}, nil })
	}
	for op, kind := range map[string]bcastKind{"And": bkAnd, "Or": bkOr, "Xor": bkXor} {
		Register(op, func(bc *BuildContext) (Kernel, error) { return &bcastKernel{op: op, arity: 2, kind: kind}, nil })
	}
	Register("Not", func(bc *BuildContext) (Kernel, error) { return &bcastKernel{op: "Not", arity: 1, kind: bkNot}, nil })
	Register("Where", func(bc *BuildContext) (Kernel, error) { return &bcastKernel{op: "Where", arity: 3, kind: bkWhere}, nil })
	for op, kind := range map[string]bcastKind{"Sum": bkSum, "Mean": bkMean, "Max": bkMax, "Min": bkMin} {
		Register(op, func(bc *BuildContext) (Kernel, error) { return &bcastKernel{op: op, arity: -1, kind: kind}, nil })
	}
	Register("Mod", func(bc *BuildContext) (Kernel, error) {
		return &bcastKernel{op: "Mod", arity: 2, kind: bkMod, fmod: bc.Node.AttrInt("fmod", 0) != 0}, nil
	})
}

func f64(f func(float64) float64) func(float32) float32 {
	return func(x float32) float32 { return float32(f(float64(x))) }
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// mathKernel applies f to every float32 element (or i to every int64 one).
type mathKernel struct {
	op string
	f  func(float32) float32
	i  func(int64) int64
}

func (k *mathKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	if in[0].DType != Float32 && !(k.i != nil && in[0].DType == Int64) {
		return nil, dtypeErrf("%s on %v", k.op, in[0].DType)
	}
	return []Type{in[0]}, nil
}

// MACs counts one operation per element.
func (k *mathKernel) MACs(in, out []Type) int64 { return elemCount(out) }

func (k *mathKernel) Run(rc *RunContext, in, out []*Tensor) error {
	if in[0].DType == Int64 {
		y := out[0].I64
		for j, v := range in[0].I64 {
			y[j] = k.i(v)
		}
		return nil
	}
	y := out[0].F32
	for j, v := range in[0].F32 {
		y[j] = k.f(v)
	}
	return nil
}

// bcastKind selects what a bcastKernel computes.
type bcastKind uint8

const (
	bkPRelu bcastKind = iota
	bkPow
	bkEq
	bkLt
	bkGt
	bkLe
	bkGe
	bkAnd
	bkOr
	bkXor
	bkNot
	bkWhere
	bkSum
	bkMean
	bkMax
	bkMin
	bkMod
)

// bcastKernel is an element-wise op over numpy-broadcast inputs (arity
// inputs, or any number >= 1 when arity is -1).
type bcastKernel struct {
	op    string
	arity int
	kind  bcastKind
	fmod  bool
}

func (k *bcastKernel) OutputTypes(in []Type) ([]Type, error) {
	n := k.arity
	if n < 0 {
		n = len(in)
		if n == 0 {
			return nil, shapeErrf("%s needs at least one input", k.op)
		}
	}
	if err := needInputs(k.op, in, n); err != nil {
		return nil, err
	}
	var shape []int
	for i := 0; i < n; i++ {
		if len(in[i].Shape) > maxBroadcastRank {
			return nil, shapeErrf("%s operand rank above %d", k.op, maxBroadcastRank)
		}
		s, err := broadcastShape(k.op, shape, in[i].Shape)
		if err != nil {
			return nil, err
		}
		shape = s
	}
	dt := in[0].DType
	switch k.kind {
	case bkPRelu, bkMean:
		if err := needSame(k.op, in[:n], Float32); err != nil {
			return nil, err
		}
	case bkPow:
		if dt != Float32 || (in[1].DType != Float32 && in[1].DType != Int64 && in[1].DType != Int32) {
			return nil, dtypeErrf("Pow of %v by %v", dt, in[1].DType)
		}
	case bkEq, bkLt, bkGt, bkLe, bkGe:
		if err := needSame(k.op, in[:n], dt); err != nil {
			return nil, err
		}
		dt = Uint8
	case bkAnd, bkOr, bkXor, bkNot:
		if err := needSame(k.op, in[:n], Uint8); err != nil {
			return nil, err
		}
	case bkWhere:
		if in[0].DType != Uint8 || in[1].DType != in[2].DType {
			return nil, dtypeErrf("Where(%v, %v, %v), want a bool condition and two values of one type", in[0].DType, in[1].DType, in[2].DType)
		}
		dt = in[1].DType
	case bkSum, bkMax, bkMin, bkMod:
		if err := needSame(k.op, in[:n], dt); err != nil {
			return nil, err
		}
		if dt != Float32 && dt != Int64 && dt != Int32 {
			return nil, dtypeErrf("%s on %v", k.op, dt)
		}
	}
	return []Type{{DType: dt, Shape: shape}}, nil
}

// needSame checks that every type in is dt.
func needSame(op string, in []Type, dt DType) error {
	for i, t := range in {
		if t.DType != dt {
			return dtypeErrf("%s input %d is %v, want %v", op, i, t.DType, dt)
		}
	}
	return nil
}

// MACs counts one operation per output element and input.
func (k *bcastKernel) MACs(in, out []Type) int64 { return elemCount(out) * int64(max(len(in)-1, 1)) }

func (k *bcastKernel) Run(rc *RunContext, in, out []*Tensor) error {
	n := k.arity
	if n < 0 {
		n = len(in)
	}
	shapes := make([][]int, n)
	for i := range shapes {
		shapes[i] = in[i].Shape
	}
	bc := newBroadcast(out[0].Shape, shapes...)
	y := out[0]
	switch k.kind {
	case bkPRelu:
		x, s := in[0].F32, in[1].F32
		bc.each(func(o int, off []int) {
			v := x[off[0]]
			if v < 0 {
				v *= s[off[1]]
			}
			y.F32[o] = v
		})
	case bkPow:
		x := in[0].F32
		e := asFloat64(in[1])
		bc.each(func(o int, off []int) { y.F32[o] = pow32(x[off[0]], e(off[1])) })
	case bkEq, bkLt, bkGt, bkLe, bkGe:
		a, b := asFloat64(in[0]), asFloat64(in[1])
		if in[0].DType == Int64 {
			a, b = nil, nil
		}
		bc.each(func(o int, off []int) {
			var c int
			if a == nil {
				c = cmp3(in[0].I64[off[0]], in[1].I64[off[1]])
			} else {
				c = cmpF(a(off[0]), b(off[1]))
			}
			y.U8[o] = b2u(compareHolds(k.kind, c))
		})
	case bkAnd, bkOr, bkXor:
		a, b := in[0].U8, in[1].U8
		bc.each(func(o int, off []int) {
			p, q := a[off[0]] != 0, b[off[1]] != 0
			var r bool
			switch k.kind {
			case bkAnd:
				r = p && q
			case bkOr:
				r = p || q
			default:
				r = p != q
			}
			y.U8[o] = b2u(r)
		})
	case bkNot:
		for j, v := range in[0].U8 {
			y.U8[j] = b2u(v == 0)
		}
	case bkWhere:
		c := in[0].U8
		sz := y.DType.Size()
		yb, xb, zb := y.Bytes(), in[1].Bytes(), in[2].Bytes()
		bc.each(func(o int, off []int) {
			if c[off[0]] != 0 {
				copy(yb[o*sz:(o+1)*sz], xb[off[1]*sz:(off[1]+1)*sz])
			} else {
				copy(yb[o*sz:(o+1)*sz], zb[off[2]*sz:(off[2]+1)*sz])
			}
		})
	case bkSum, bkMean, bkMax, bkMin, bkMod:
		switch y.DType {
		case Float32:
			src := make([][]float32, n)
			for i := range src {
				src[i] = in[i].F32
			}
			variadic(k, bc, src, y.F32)
		case Int64:
			src := make([][]int64, n)
			for i := range src {
				src[i] = in[i].I64
			}
			variadic(k, bc, src, y.I64)
		case Int32:
			src := make([][]int32, n)
			for i := range src {
				src[i] = in[i].I32
			}
			variadic(k, bc, src, y.I32)
		}
	}
	return nil
}

// variadic folds the inputs of Sum, Mean, Max, Min (and Mod) element-wise.
func variadic[T numeric](k *bcastKernel, bc broadcast, src [][]T, y []T) {
	bc.each(func(o int, off []int) {
		acc := src[0][off[0]]
		for i := 1; i < len(src); i++ {
			v := src[i][off[i]]
			switch k.kind {
			case bkSum, bkMean:
				acc += v
			case bkMax:
				if v > acc || v != v {
					acc = v
				}
			case bkMin:
				if v < acc || v != v {
					acc = v
				}
			case bkMod:
				acc = modOf(acc, v, k.fmod)
			}
		}
		if k.kind == bkMean {
			acc /= T(len(src))
		}
		y[o] = acc
	})
}

func modOf[T numeric](a, b T, fmod bool) T {
	switch x := any(a).(type) {
	case float32:
		y := any(b).(float32)
		r := float32(math.Mod(float64(x), float64(y)))
		if !fmod && r != 0 && (r < 0) != (y < 0) {
			r += y
		}
		return any(r).(T)
	case int64:
		return any(modInt(x, any(b).(int64), fmod)).(T)
	case int32:
		return any(int32(modInt(int64(x), int64(any(b).(int32)), fmod))).(T)
	}
	return a
}

func modInt(a, b int64, fmod bool) int64 {
	if b == 0 {
		return 0
	}
	r := a % b
	if !fmod && r != 0 && (r < 0) != (b < 0) {
		r += b
	}
	return r
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func cmp3(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// cmpF compares floats; 2 means unordered (NaN), for which every
// comparison but != fails.
func cmpF(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	case a == b:
		return 0
	}
	return 2
}

func compareHolds(kind bcastKind, c int) bool {
	switch kind {
	case bkEq:
		return c == 0
	case bkLt:
		return c == -1
	case bkGt:
		return c == 1
	case bkLe:
		return c == -1 || c == 0
	case bkGe:
		return c == 1 || c == 0
	}
	return false
}

// asFloat64 reads element i of a numeric tensor as float64.
func asFloat64(t *Tensor) func(i int) float64 {
	switch t.DType {
	case Float32:
		return func(i int) float64 { return float64(t.F32[i]) }
	case Int64:
		return func(i int) float64 { return float64(t.I64[i]) }
	case Int32:
		return func(i int) float64 { return float64(t.I32[i]) }
	case Uint8:
		return func(i int) float64 { return float64(t.U8[i]) }
	case Int8:
		return func(i int) float64 { return float64(t.I8[i]) }
	}
	return func(int) float64 { return math.NaN() }
}

func pow32(x float32, e float64) float32 {
	switch e {
	case 2:
		return x * x
	case 1:
		return x
	case 0.5:
		return float32(math.Sqrt(float64(x)))
	}
	return float32(math.Pow(float64(x), e))
}

// broadcast walks an output shape and the flat offsets of inputs
// broadcast to it (numpy rules: shapes aligned at the right, size-1
// dimensions repeated).
type broadcast struct {
	out     []int
	strides [][]int // per input, per output dimension; 0 where broadcast
}

func newBroadcast(out []int, shapes ...[]int) broadcast {
	b := broadcast{out: out, strides: make([][]int, len(shapes))}
	for i, s := range shapes {
		st := make([]int, len(out))
		acc := 1
		for d := len(s) - 1; d >= 0; d-- {
			od := len(out) - len(s) + d
			if s[d] != 1 && od >= 0 {
				st[od] = acc
			}
			acc *= s[d]
		}
		b.strides[i] = st
	}
	return b
}

// each calls fn for every output element with its flat index and the
// inputs' flat offsets (fn must not keep off).
func (b broadcast) each(fn func(o int, off []int)) {
	n := NumElements(b.out)
	if n <= 0 {
		return
	}
	r := len(b.out)
	cnt := make([]int, r)
	off := make([]int, len(b.strides))
	for o := 0; o < n; o++ {
		fn(o, off)
		for d := r - 1; d >= 0; d-- {
			cnt[d]++
			for i, st := range b.strides {
				off[i] += st[d]
			}
			if cnt[d] < b.out[d] {
				break
			}
			for i, st := range b.strides {
				off[i] -= st[d] * b.out[d]
			}
			cnt[d] = 0
		}
	}
}
