// Package nn is splitinfer's inference engine: tensors, a graph IR that is a
// DAG of nodes over named tensors, float32 and int8 kernels, and an executor
// that runs a whole graph or any sub-graph of it. It has no knowledge of
// NATS, OpenTelemetry or files: package nn/onnx reads and writes ONNX.
package nn

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Errors returned by the engine. Callers match them with errors.Is.
var (
	ErrShape       = errors.New("nn: shape mismatch")
	ErrDType       = errors.New("nn: unsupported dtype")
	ErrUnsupported = errors.New("nn: unsupported operator")
	ErrGraph       = errors.New("nn: invalid graph")
	ErrMissing     = errors.New("nn: missing input")
)

// DType is the element type of a tensor.
type DType uint8

// Element types. The numeric values are splitinfer's own (they travel in
// model files and on the wire) and never change.
const (
	Undefined DType = 0
	Float32   DType = 1
	Int8      DType = 2
	Uint8     DType = 3
	Int32     DType = 4
	Int64     DType = 5
)

// Size is the size of one element in bytes (0 for Undefined).
func (d DType) Size() int {
	switch d {
	case Float32, Int32:
		return 4
	case Int8, Uint8:
		return 1
	case Int64:
		return 8
	}
	return 0
}

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Int8:
		return "int8"
	case Uint8:
		return "uint8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// ParseDType is the inverse of DType.String.
func ParseDType(s string) (DType, error) {
	for d := Float32; d <= Int64; d++ {
		if d.String() == s {
			return d, nil
		}
	}
	return Undefined, fmt.Errorf("%w: %q", ErrDType, s)
}

// Quant holds affine quantization parameters: real = Scale * (q - ZeroPoint).
// With one scale the parameters are per tensor; otherwise there is one scale
// and zero point per index of dimension Axis (per channel).
type Quant struct {
	Scale     []float32
	ZeroPoint []int32
	Axis      int
}

// PerTensor reports whether q has a single scale.
func (q *Quant) PerTensor() bool { return len(q.Scale) == 1 }

// Tensor is a dense N-dimensional array in row-major (NCHW for images) order.
// Exactly one of the data slices is in use, the one matching DType.
type Tensor struct {
	DType DType
	Shape []int
	F32   []float32
	I8    []int8
	U8    []uint8
	I32   []int32
	I64   []int64
	// Quant is set on quantized (int8, uint8, int32 accumulator) tensors.
	Quant *Quant
}

// NumElements is the product of shape's dimensions (1 for a scalar).
// It returns -1 if a dimension is negative or the product overflows int.
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > math.MaxInt/d {
			return -1
		}
		n *= d
	}
	return n
}

// New allocates a zeroed tensor.
func New(dt DType, shape ...int) *Tensor {
	t := &Tensor{DType: dt, Shape: append([]int(nil), shape...)}
	t.alloc(NumElements(shape))
	return t
}

// FromFloat32 wraps data (not copied) in a float32 tensor of the given shape.
func FromFloat32(data []float32, shape ...int) (*Tensor, error) {
	if n := NumElements(shape); n != len(data) {
		return nil, fmt.Errorf("%w: %d values for shape %v", ErrShape, len(data), shape)
	}
	return &Tensor{DType: Float32, Shape: append([]int(nil), shape...), F32: data}, nil
}

func (t *Tensor) alloc(n int) {
	switch t.DType {
	case Float32:
		t.F32 = make([]float32, n)
	case Int8:
		t.I8 = make([]int8, n)
	case Uint8:
		t.U8 = make([]uint8, n)
	case Int32:
		t.I32 = make([]int32, n)
	case Int64:
		t.I64 = make([]int64, n)
	}
}

// Len is the number of elements held.
func (t *Tensor) Len() int {
	switch t.DType {
	case Float32:
		return len(t.F32)
	case Int8:
		return len(t.I8)
	case Uint8:
		return len(t.U8)
	case Int32:
		return len(t.I32)
	case Int64:
		return len(t.I64)
	}
	return 0
}

// Resize sets the shape and makes the data slice fit it, reusing the
// backing array when it is large enough (no allocation in steady state).
func (t *Tensor) Resize(shape []int) {
	t.Shape = append(t.Shape[:0], shape...)
	n := NumElements(shape)
	switch t.DType {
	case Float32:
		t.F32 = grow(t.F32, n)
	case Int8:
		t.I8 = grow(t.I8, n)
	case Uint8:
		t.U8 = grow(t.U8, n)
	case Int32:
		t.I32 = grow(t.I32, n)
	case Int64:
		t.I64 = grow(t.I64, n)
	}
}

func grow[E any](s []E, n int) []E {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]E, n)
}

// Bytes returns the tensor's data as little-endian bytes without copying
// (the byte slice aliases the tensor's storage).
func (t *Tensor) Bytes() []byte {
	switch t.DType {
	case Float32:
		return asBytes(t.F32)
	case Int8:
		return asBytes(t.I8)
	case Uint8:
		return t.U8
	case Int32:
		return asBytes(t.I32)
	case Int64:
		return asBytes(t.I64)
	}
	return nil
}

func asBytes[E any](s []E) []byte {
	if len(s) == 0 {
		return nil
	}
	var z E
	return unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), len(s)*int(unsafe.Sizeof(z)))
}

// FromBytes builds a tensor of the given dtype and shape from little-endian
// bytes, copying them. len(data) must equal NumElements(shape)*dt.Size().
func FromBytes(dt DType, shape []int, data []byte) (*Tensor, error) {
	if dt.Size() == 0 {
		return nil, fmt.Errorf("%w: %v", ErrDType, dt)
	}
	n := NumElements(shape)
	if n < 0 || n > len(data) || n*dt.Size() != len(data) {
		return nil, fmt.Errorf("%w: %d bytes for %v %v", ErrShape, len(data), dt, shape)
	}
	t := New(dt, shape...)
	copy(t.Bytes(), data)
	return t, nil
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := New(t.DType, t.Shape...)
	copy(c.Bytes(), t.Bytes())
	if t.Quant != nil {
		q := *t.Quant
		q.Scale = append([]float32(nil), q.Scale...)
		q.ZeroPoint = append([]int32(nil), q.ZeroPoint...)
		c.Quant = &q
	}
	return c
}

// Type is a tensor's dtype and shape, without data.
func (t *Tensor) Type() Type { return Type{DType: t.DType, Shape: t.Shape} }

// Type describes a tensor without its data. In a graph's declared inputs a
// negative dimension is dynamic (typically the batch).
type Type struct {
	DType DType
	Shape []int
}

func (ty Type) String() string { return fmt.Sprintf("%v%v", ty.DType, ty.Shape) }

// Bytes is the size of a tensor of this type in bytes, or -1 if a dimension is dynamic.
func (ty Type) Bytes() int {
	n := NumElements(ty.Shape)
	if n < 0 {
		return -1
	}
	return n * ty.DType.Size()
}
