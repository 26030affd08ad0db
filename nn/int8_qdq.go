package nn

import (
	"fmt"
	"math"
	"unsafe"
)

// QuantizeLinear and DequantizeLinear with ONNX semantics (opset 13+
// per-axis form). Rounding and saturation: see int8.go.

func init() {
	Register("QuantizeLinear", q8BuildQuantizeLinear)
	Register("DequantizeLinear", q8BuildDequantizeLinear)
}

type q8Linear struct {
	axis     int
	quantize bool
	quant    *Quant // precomputed when scale and zero point are constants
}

func q8BuildQuantizeLinear(bc *BuildContext) (Kernel, error) {
	return q8BuildQDQ(bc, true)
}

func q8BuildDequantizeLinear(bc *BuildContext) (Kernel, error) {
	return q8BuildQDQ(bc, false)
}

func q8BuildQDQ(bc *BuildContext, quantize bool) (Kernel, error) {
	n := bc.Node
	if len(n.Inputs) < 2 || n.Input(0) == "" || n.Input(1) == "" {
		return nil, fmt.Errorf("%w: %s needs x and scale", ErrGraph, n.Op)
	}
	k := &q8Linear{axis: int(n.AttrInt("axis", 1)), quantize: quantize}
	if s := bc.InputConst(1); s != nil {
		zp := bc.InputConst(2)
		if n.Input(2) == "" || zp != nil {
			q, err := q8QuantOf(s, zp)
			if err != nil {
				return nil, err
			}
			q.Axis = k.axis
			k.quant = q
		}
	}
	return k, nil
}

// q8QuantOf reads scale (float32) and optional zero point (int8/uint8/int32) tensors.
func q8QuantOf(scale, zp *Tensor) (*Quant, error) {
	if scale.DType != Float32 || len(scale.F32) == 0 || len(scale.Shape) > 1 {
		return nil, fmt.Errorf("%w: scale must be a float32 scalar or vector, got %v", ErrQuant, scale.Type())
	}
	q := &Quant{Scale: append([]float32(nil), scale.F32...), ZeroPoint: make([]int32, len(scale.F32))}
	for _, s := range q.Scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return nil, fmt.Errorf("%w: scale %v", ErrQuant, s)
		}
	}
	if zp != nil {
		if zp.Len() != len(q.Scale) {
			return nil, fmt.Errorf("%w: %d zero points for %d scales", ErrQuant, zp.Len(), len(q.Scale))
		}
		for i := range q.ZeroPoint {
			switch zp.DType {
			case Int8:
				q.ZeroPoint[i] = int32(zp.I8[i])
			case Uint8:
				q.ZeroPoint[i] = int32(zp.U8[i])
			case Int32:
				q.ZeroPoint[i] = zp.I32[i]
			default:
				return nil, fmt.Errorf("%w: zero point dtype %v", ErrDType, zp.DType)
			}
		}
	}
	return q, nil
}

func (k *q8Linear) OutputTypes(in []Type) ([]Type, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("%w: x and scale required", ErrMissing)
	}
	x := in[0]
	if k.quantize {
		if x.DType != Float32 {
			return nil, fmt.Errorf("%w: QuantizeLinear input %v", ErrDType, x.DType)
		}
		dt := Uint8
		if len(in) > 2 && in[2].DType != Undefined {
			dt = in[2].DType
		}
		if dt != Int8 && dt != Uint8 {
			return nil, fmt.Errorf("%w: QuantizeLinear to %v", ErrDType, dt)
		}
		return []Type{{DType: dt, Shape: x.Shape}}, nil
	}
	if x.DType != Int8 && x.DType != Uint8 && x.DType != Int32 {
		return nil, fmt.Errorf("%w: DequantizeLinear input %v", ErrDType, x.DType)
	}
	return []Type{{DType: Float32, Shape: x.Shape}}, nil
}

// q8AxisSplit returns outer, channels, inner for a per-axis loop (channels 1
// when per tensor).
func q8AxisSplit(shape []int, axis, nscale int) (outer, ch, inner int, err error) {
	if nscale == 1 {
		return 1, 1, NumElements(shape), nil
	}
	r := len(shape)
	if axis < 0 {
		axis += r
	}
	if axis < 0 || axis >= r || shape[axis] != nscale {
		return 0, 0, 0, fmt.Errorf("%w: %d scales for axis %d of shape %v", ErrQuant, nscale, axis, shape)
	}
	outer = NumElements(shape[:axis])
	inner = NumElements(shape[axis+1:])
	return outer, shape[axis], inner, nil
}

func (k *q8Linear) Run(_ *RunContext, in, out []*Tensor) error {
	q := k.quant
	if q == nil {
		var zp *Tensor
		if len(in) > 2 {
			zp = in[2]
		}
		var err error
		if q, err = q8QuantOf(in[1], zp); err != nil {
			return err
		}
		q.Axis = k.axis
	}
	x, y := in[0], out[0]
	outer, ch, inner, err := q8AxisSplit(x.Shape, k.axis, len(q.Scale))
	if err != nil {
		return err
	}
	if k.quantize {
		y.Quant = q // shared and read-only: no allocation per run
		lo, hi := int32(-128), int32(127)
		if y.DType == Uint8 {
			lo, hi = 0, 255
		}
		for o := 0; o < outer; o++ {
			for c := 0; c < ch; c++ {
				s, z := q.Scale[c], q.ZeroPoint[c]
				base := (o*ch + c) * inner
				if inner > 0 {
					var dst unsafe.Pointer
					if y.DType == Int8 {
						dst = unsafe.Pointer(&y.I8[base])
					} else {
						dst = unsafe.Pointer(&y.U8[base])
					}
					if q8QuantizeFast(x.F32[base:base+inner], dst, s, z, lo, hi) {
						continue
					}
				}
				for i := base; i < base+inner; i++ {
					v := QuantizeValue(x.F32[i], s, z, lo, hi)
					if y.DType == Int8 {
						y.I8[i] = int8(v)
					} else {
						y.U8[i] = uint8(v)
					}
				}
			}
		}
		return nil
	}
	y.Quant = nil
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			s, z := q.Scale[c], q.ZeroPoint[c]
			base := (o*ch + c) * inner
			dst := y.F32[base : base+inner]
			switch x.DType {
			case Int8:
				q8Dequant(dst, x.I8[base:base+inner], z, s)
			case Uint8:
				for i, v := range x.U8[base : base+inner] {
					dst[i] = float32(int32(v)-z) * s
				}
			case Int32:
				for i, v := range x.I32[base : base+inner] {
					dst[i] = float32(int64(v)-int64(z)) * s
				}
			}
		}
	}
	return nil
}

// QuantizeValue is ONNX QuantizeLinear for one value: saturate(
// roundHalfToEven(x/scale) + zero) to [lo, hi], with x/scale in float32 and
// NaN mapping to the zero point (clamped).
func QuantizeValue(x, scale float32, zero, lo, hi int32) int32 {
	v := float64(x / scale)
	if v != v {
		v = 0
	}
	r := math.RoundToEven(v) + float64(zero)
	if r < float64(lo) {
		return lo
	}
	if r > float64(hi) {
		return hi
	}
	return int32(r)
}

// MACs counts one operation per element.
func (k *q8Linear) MACs(in, out []Type) int64 {
	if len(out) == 0 {
		return 0
	}
	return int64(NumElements(out[0].Shape))
}

// q8DequantGo is the plain-Go q8Dequant.
func q8DequantGo(dst []float32, src []int8, z int32, s float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float32(int32(v)-z) * s
	}
}
