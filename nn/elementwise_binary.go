package nn

import "errors"

// Binary element-wise operators with numpy multidirectional broadcasting:
// Add, Sub, Mul, Div on float32 (and int64/int32, for shape arithmetic).
// Fast paths: same shape, scalar operand, and an operand that varies along a
// single axis only (a per-channel bias or scale).

type binOp uint8

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
)

var binNames = [...]string{"Add", "Sub", "Mul", "Div"}

// maxBroadcastRank bounds the rank of broadcast operands (iteration state
// lives on the stack).
const maxBroadcastRank = 8

var errDivZero = errors.New("nn: integer division by zero")

func init() {
	for op, name := range binNames {
		k := &binaryKernel{op: binOp(op)}
		Register(name, func(bc *BuildContext) (Kernel, error) { return k, nil })
	}
}

type binaryKernel struct{ op binOp }

// broadcastShape returns the numpy broadcast of a and b. A negative
// (dynamic) dimension broadcasts like an unknown size.
func broadcastShape(op string, a, b []int) ([]int, error) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := len(a) - n + i; j >= 0 {
			da = a[j]
		}
		if j := len(b) - n + i; j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		case da < 0:
			out[i] = db
		case db < 0:
			out[i] = da
		default:
			return nil, shapeErrf("%s cannot broadcast %v with %v", op, a, b)
		}
	}
	return out, nil
}

func (k *binaryKernel) OutputTypes(in []Type) ([]Type, error) {
	name := binNames[k.op]
	if err := needInputs(name, in, 2); err != nil {
		return nil, err
	}
	if in[0].DType != in[1].DType {
		return nil, dtypeErrf("%s operands are %v and %v", name, in[0].DType, in[1].DType)
	}
	switch in[0].DType {
	case Float32, Int64, Int32:
	default:
		return nil, dtypeErrf("%s on %v", name, in[0].DType)
	}
	if len(in[0].Shape) > maxBroadcastRank || len(in[1].Shape) > maxBroadcastRank {
		return nil, shapeErrf("%s operand rank above %d", name, maxBroadcastRank)
	}
	s, err := broadcastShape(name, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: in[0].DType, Shape: s}}, nil
}

func (k *binaryKernel) Run(rc *RunContext, in, out []*Tensor) error {
	a, b, y := in[0], in[1], out[0]
	switch y.DType {
	case Float32:
		return binaryRun(k.op, a.Shape, b.Shape, y.Shape, a.F32, b.F32, y.F32)
	case Int64:
		if k.op == opDiv && hasZero(b.I64) {
			return errDivZero
		}
		return binaryRun(k.op, a.Shape, b.Shape, y.Shape, a.I64, b.I64, y.I64)
	case Int32:
		if k.op == opDiv && hasZero(b.I32) {
			return errDivZero
		}
		return binaryRun(k.op, a.Shape, b.Shape, y.Shape, a.I32, b.I32, y.I32)
	}
	return dtypeErrf("%s on %v", binNames[k.op], y.DType)
}

// MACs counts one operation per output element.
func (k *binaryKernel) MACs(in, out []Type) int64 { return elemCount(out) }

type numeric interface {
	~float32 | ~int64 | ~int32
}

func hasZero[T numeric](s []T) bool {
	for _, v := range s {
		if v == 0 {
			return true
		}
	}
	return false
}

// binaryRun computes y = a op b with broadcasting; shapes are the tensors'.
func binaryRun[T numeric](op binOp, as, bs, ys []int, a, b, y []T) error {
	n := len(y)
	if len(a) == n && len(b) == n && sameShape(as, bs) {
		binLine(op, y, a, b, 1, 1)
		return nil
	}
	if len(b) == 1 && len(a) == n {
		binLine(op, y, a, b, 1, 0)
		return nil
	}
	if len(a) == 1 && len(b) == n {
		binLine(op, y, a, b, 0, 1)
		return nil
	}
	rank := len(ys)
	if rank > maxBroadcastRank {
		return shapeErrf("%s rank %d above %d", binNames[op], rank, maxBroadcastRank)
	}
	// Strides of a and b over the output's dimensions (0 where broadcast).
	var sa, sb, dims [maxBroadcastRank]int
	fill := func(s []int, st *[maxBroadcastRank]int) {
		acc := 1
		for i := rank - 1; i >= 0; i-- {
			j := len(s) - rank + i
			if j >= 0 && s[j] != 1 {
				st[i] = acc
				acc *= s[j]
			}
		}
	}
	fill(as, &sa)
	fill(bs, &sb)
	copy(dims[:], ys)
	// Per-channel fast path: a is full size and b varies along one axis only.
	if len(a) == n {
		axis, count := -1, 0
		for i := 0; i < rank; i++ {
			if sb[i] != 0 {
				axis = i
				count++
			}
		}
		if count == 1 && sa[rank-1] == 1 {
			outer := NumElements(ys[:axis])
			inner := NumElements(ys[axis+1:])
			c := ys[axis]
			if inner == 1 {
				// b is a row vector along the last axis.
				for o := 0; o < outer; o++ {
					binLine(op, y[o*c:(o+1)*c], a[o*c:(o+1)*c], b, 1, 1)
				}
				return nil
			}
			off := 0
			for o := 0; o < outer; o++ {
				for ch := 0; ch < c; ch++ {
					binLine(op, y[off:off+inner], a[off:off+inner], b[ch:ch+1], 1, 0)
					off += inner
				}
			}
			return nil
		}
	}
	if rank == 0 {
		binLine(op, y, a, b, 1, 1)
		return nil
	}
	bcastRec(op, 0, rank, &dims, &sa, &sb, y, a, b, 0, 0, 0)
	return nil
}

// bcastRec walks the output dimensions; the innermost is a strided line.
func bcastRec[T numeric](op binOp, d, rank int, dims, sa, sb *[maxBroadcastRank]int, y, a, b []T, oy, oa, ob int) {
	n := dims[d]
	if d == rank-1 {
		binLine(op, y[oy:oy+n], a[oa:], b[ob:], sa[d], sb[d])
		return
	}
	inner := 1
	for i := d + 1; i < rank; i++ {
		inner *= dims[i]
	}
	for i := 0; i < n; i++ {
		bcastRec(op, d+1, rank, dims, sa, sb, y, a, b, oy+i*inner, oa+i*sa[d], ob+i*sb[d])
	}
}

// binLine computes y[i] = a[i*sa] op b[i*sb] for i < len(y). Strides 0
// and 1 (the common cases) have their own loops; any other stride works.
func binLine[T numeric](op binOp, y, a, b []T, sa, sb int) {
	n := len(y)
	if n == 0 {
		return
	}
	if yf, ok := any(y).([]float32); ok && binLineFast(op, yf, any(a).([]float32), any(b).([]float32), sa, sb) {
		return
	}
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = a[i] + b[i]
			}
		case opSub:
			for i := range y {
				y[i] = a[i] - b[i]
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range y {
				y[i] = a[i] / b[i]
			}
		}
	case sa == 1 && sb == 0:
		a = a[:n]
		v := b[0]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = a[i] + v
			}
		case opSub:
			for i := range y {
				y[i] = a[i] - v
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * v
			}
		case opDiv:
			for i := range y {
				y[i] = a[i] / v
			}
		}
	case sa == 0 && sb == 1:
		b = b[:n]
		v := a[0]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = v + b[i]
			}
		case opSub:
			for i := range y {
				y[i] = v - b[i]
			}
		case opMul:
			for i := range y {
				y[i] = v * b[i]
			}
		case opDiv:
			for i := range y {
				y[i] = v / b[i]
			}
		}
	default:
		for i := range y {
			y[i] = binScalar(op, a[i*sa], b[i*sb])
		}
	}
}

func binScalar[T numeric](op binOp, x, z T) T {
	switch op {
	case opAdd:
		return x + z
	case opSub:
		return x - z
	case opMul:
		return x * z
	}
	return x / z
}
