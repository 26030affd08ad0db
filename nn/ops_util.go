package nn

import (
	"fmt"
	"math"
)

// Helpers shared by the float32 operator builders: input checks, attribute
// decoding and error constructors. Every error wraps ErrShape, ErrDType or
// ErrUnsupported and names what is wrong.

func shapeErrf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrShape}, args...)...)
}

func dtypeErrf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrDType}, args...)...)
}

func unsupportedErrf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUnsupported}, args...)...)
}

// needInputs checks that in has at least n present inputs at the front.
func needInputs(op string, in []Type, n int) error {
	if len(in) < n {
		return fmt.Errorf("%w: %s needs %d inputs, got %d", ErrMissing, op, n, len(in))
	}
	for i := 0; i < n; i++ {
		if in[i].DType == Undefined {
			return fmt.Errorf("%w: %s input %d is absent", ErrMissing, op, i)
		}
	}
	return nil
}

// needF32 checks that input i is float32.
func needF32(op string, in []Type, i int) error {
	if in[i].DType != Float32 {
		return dtypeErrf("%s input %d is %v, want float32", op, i, in[i].DType)
	}
	return nil
}

// present reports whether optional input i is given.
func present(in []Type, i int) bool { return i < len(in) && in[i].DType != Undefined }

// presentT reports whether optional tensor input i is given.
func presentT(in []*Tensor, i int) bool { return i < len(in) && in[i] != nil }

// normAxis maps an axis in [-rank, rank) (or [-rank, rank] with inclusive)
// into [0, rank) (or [0, rank]), failing with ErrShape when it is out of range.
func normAxis(op string, axis, rank int, inclusive bool) (int, error) {
	hi := rank
	if inclusive {
		hi = rank + 1
	}
	if axis < -rank || axis >= hi {
		return 0, shapeErrf("%s axis %d out of range for rank %d", op, axis, rank)
	}
	if axis < 0 {
		axis += rank
	}
	return axis, nil
}

// prod multiplies dims; a negative (dynamic) dimension gives -1.
func prod(dims []int) int { return NumElements(dims) }

// checkShape rejects negative dimensions (dynamic dims are allowed only
// where an op says so) and overflowing shapes.
func checkShape(op string, i int, s []int) error {
	if NumElements(s) < 0 {
		return shapeErrf("%s input %d has dynamic or invalid shape %v", op, i, s)
	}
	return nil
}

// attrFloatAny reads a float attribute also when it was stored as an int.
func attrFloatAny(n *Node, name string, def float32) float32 {
	a, ok := n.Attrs[name]
	if !ok {
		return def
	}
	switch a.Kind {
	case AttrFloat:
		return a.Float
	case AttrInt:
		return float32(a.Int)
	}
	return def
}

// hasAttr reports whether node n carries attribute name.
func hasAttr(n *Node, name string) bool {
	_, ok := n.Attrs[name]
	return ok
}

// constInts reads a constant int64 (or int32) tensor as ints.
func constInts(t *Tensor) ([]int, error) {
	switch t.DType {
	case Int64:
		out := make([]int, len(t.I64))
		for i, v := range t.I64 {
			out[i] = int(v)
		}
		return out, nil
	case Int32:
		out := make([]int, len(t.I32))
		for i, v := range t.I32 {
			out[i] = int(v)
		}
		return out, nil
	}
	return nil, dtypeErrf("integer constant is %v, want int64", t.DType)
}

// intsOrInput returns the int list given as constant input i (opset >= 13
// style) or, when that input is absent, as attribute name. ok is false when
// neither is present. A non-constant input is an error.
func intsOrInput(bc *BuildContext, i int, name string) (vals []int, ok bool, err error) {
	if in := bc.Node.Input(i); in != "" {
		c := bc.Const(in)
		if c == nil {
			return nil, false, unsupportedErrf("%s input %d (%q) must be a constant", bc.Node.Op, i, in)
		}
		v, err := constInts(c)
		return v, true, err
	}
	if a, has := bc.Node.Attrs[name]; has {
		if a.Kind != AttrInts {
			return nil, false, shapeErrf("%s attribute %s must be a list of ints", bc.Node.Op, name)
		}
		return bc.Node.AttrInts(name, nil), true, nil
	}
	return nil, false, nil
}

// copyTensorData copies src's data into dst (same dtype, dst already sized).
func copyTensorData(dst, src *Tensor) {
	copy(dst.Bytes(), src.Bytes())
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }

var (
	negInf32 = float32(math.Inf(-1))
	posInf32 = float32(math.Inf(1))
)
