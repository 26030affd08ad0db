package pipeline

import (
	"fmt"
	"math"

	"github.com/splitinfer/splitinfer/nn"
)

// FromNN makes a wire tensor from an nn tensor (float32, int8 or uint8).
// Data aliases t's storage: encode the message before t changes.
func FromNN(name string, t *nn.Tensor) (Tensor, error) {
	if t == nil {
		return Tensor{}, fmt.Errorf("%w: tensor %q is nil", ErrBadRequest, name)
	}
	if !IsWireDType(t.DType) {
		return Tensor{}, fmt.Errorf("%w: tensor %q has dtype %v (wire carries float32, int8, uint8)", ErrBadRequest, name, t.DType)
	}
	if t.Len() != nn.NumElements(t.Shape) {
		return Tensor{}, fmt.Errorf("%w: tensor %q has %d values for shape %v", ErrBadRequest, name, t.Len(), t.Shape)
	}
	w := Tensor{Name: name, DType: t.DType.String(), Shape: make([]int64, len(t.Shape)), Data: t.Bytes()}
	for i, d := range t.Shape {
		w.Shape[i] = int64(d)
	}
	if w.Data == nil {
		w.Data = []byte{}
	}
	if q := t.Quant; q != nil && t.DType != nn.Float32 {
		w.Scale = append([]float32(nil), q.Scale...)
		w.ZeroPoint = append([]int32(nil), q.ZeroPoint...)
		w.Axis = q.Axis
	}
	return w, nil
}

// Quantize makes a wire tensor holding float32 tensor t quantized per
// tensor to dt (nn.Uint8 or nn.Int8) over its min..max range (which always
// includes 0), marked for dequantization by the receiver. It is lossy: the
// error per element is at most half a step, (max-min)/255/2.
func Quantize(name string, t *nn.Tensor, dt nn.DType) (Tensor, error) {
	if t == nil || t.DType != nn.Float32 {
		return Tensor{}, fmt.Errorf("%w: only float32 tensors are quantized for the wire", ErrBadRequest)
	}
	if dt != nn.Uint8 && dt != nn.Int8 {
		return Tensor{}, fmt.Errorf("%w: wire quantization to %v", ErrBadRequest, dt)
	}
	if t.Len() != nn.NumElements(t.Shape) {
		return Tensor{}, fmt.Errorf("%w: tensor %q has %d values for shape %v", ErrBadRequest, name, t.Len(), t.Shape)
	}
	lo, hi := float32(0), float32(0)
	for _, v := range t.F32 {
		if v != v || math.IsInf(float64(v), 0) {
			return Tensor{}, fmt.Errorf("%w: tensor %q holds %v", ErrBadRequest, name, v)
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	scale := (hi - lo) / 255
	if scale == 0 {
		scale = 1
	}
	qmin := float32(0)
	if dt == nn.Int8 {
		qmin = -128
	}
	zp := int32(math.Round(float64(qmin - lo/scale)))
	w := Tensor{Name: name, DType: dt.String(), Shape: make([]int64, len(t.Shape)),
		Scale: []float32{scale}, ZeroPoint: []int32{zp}, Dequant: true, Data: make([]byte, len(t.F32))}
	for i, d := range t.Shape {
		w.Shape[i] = int64(d)
	}
	for i, v := range t.F32 {
		q := int32(math.Round(float64(v/scale))) + zp
		q = max(int32(qmin), min(int32(qmin)+255, q))
		w.Data[i] = byte(int8(q)) // two's complement for int8, plain for uint8
		if dt == nn.Uint8 {
			w.Data[i] = byte(q)
		}
	}
	return w, nil
}

// ToNN converts a validated wire tensor (from DecodeRequest/DecodeReply or
// FromNN) into an nn tensor, copying the data. A tensor marked Dequant
// comes back as float32.
func (w *Tensor) ToNN() (*nn.Tensor, error) {
	dt, err := wireDType(w.DType)
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q: dtype %q", ErrBadRequest, w.Name, w.DType)
	}
	if err := checkTensor(w, len(w.Data), DefaultLimits.MaxRank); err != nil {
		return nil, err
	}
	shape := make([]int, len(w.Shape))
	for i, d := range w.Shape {
		shape[i] = int(d)
	}
	if w.Dequant {
		out := nn.New(nn.Float32, shape...)
		axisLen, inner := 1, 1
		if len(w.Scale) > 1 {
			axisLen = shape[w.Axis]
			for _, d := range shape[w.Axis+1:] {
				inner *= d
			}
		}
		for i, b := range w.Data {
			c := 0
			if axisLen > 1 {
				c = (i / inner) % axisLen
			}
			q := int32(b)
			if dt == nn.Int8 {
				q = int32(int8(b))
			}
			out.F32[i] = w.Scale[c] * float32(q-w.ZeroPoint[c])
		}
		return out, nil
	}
	t, err := nn.FromBytes(dt, shape, w.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q: %v", ErrBadRequest, w.Name, err)
	}
	if len(w.Scale) > 0 {
		t.Quant = &nn.Quant{Scale: append([]float32(nil), w.Scale...), ZeroPoint: append([]int32(nil), w.ZeroPoint...), Axis: w.Axis}
	}
	return t, nil
}
