package nn

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestBatchNormalization(t *testing.T) {
	r := newRand(40)
	for _, shape := range [][]int{{1, 3}, {2, 4, 5, 5}, {3, 2, 7}} {
		c := shape[1]
		x := randT(r, shape...)
		scale, bias, mean := randT(r, c), randT(r, c), randT(r, c)
		vr := randT(r, c)
		for i := range vr.F32 {
			vr.F32[i] = vr.F32[i]*vr.F32[i] + 0.1
		}
		got := opCase{op: "BatchNormalization", attrs: map[string]Attr{"epsilon": fltA(1e-3)},
			inputs: []*Tensor{x, scale, bias, mean, vr}, consts: map[int]bool{1: true, 2: true, 3: true, 4: true}}.mustRun(t)[0]
		inner := len(x.F32) / (shape[0] * c)
		want := make([]float64, len(x.F32))
		for i, v := range x.F32 {
			ch := (i / inner) % c
			want[i] = float64(scale.F32[ch])*(float64(v)-float64(mean.F32[ch]))/math.Sqrt(float64(vr.F32[ch])+float64(float32(1e-3))) + float64(bias.F32[ch])
		}
		checkClose(t, fmt.Sprint("bn", shape), got, shape, want)
	}
	x := randT(r, 2, 3, 4)
	if _, err := (opCase{op: "BatchNormalization", inputs: []*Tensor{x, randT(r, 2), randT(r, 3), randT(r, 3), randT(r, 3)}}).run(); !errors.Is(err, ErrShape) {
		t.Fatalf("bad scale: err = %v", err)
	}
	if _, err := (opCase{op: "BatchNormalization", attrs: map[string]Attr{"training_mode": intA(1)}, inputs: []*Tensor{x, randT(r, 3), randT(r, 3), randT(r, 3), randT(r, 3)}}).run(); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("training mode: err = %v", err)
	}
}

func TestSoftmax(t *testing.T) {
	r := newRand(41)
	softmaxRef := func(x []float32, shape []int, axis int, legacy bool) []float64 {
		outer := NumElements(shape[:axis])
		n, inner := shape[axis], NumElements(shape[axis+1:])
		if legacy {
			n, inner = NumElements(shape[axis:]), 1
		}
		out := make([]float64, len(x))
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				s := 0.0
				for j := 0; j < n; j++ {
					s += math.Exp(float64(x[(o*n+j)*inner+i]))
				}
				for j := 0; j < n; j++ {
					k := (o*n+j)*inner + i
					out[k] = math.Exp(float64(x[k])) / s
				}
			}
		}
		return out
	}
	cases := []struct {
		shape []int
		axis  *int64
		opset int
		eff   int
	}{
		{[]int{2, 10}, nil, 13, 1},
		{[]int{2, 3, 4}, nil, 17, 2},
		{[]int{2, 3, 4}, ptr(int64(1)), 17, 1},
		{[]int{2, 3, 4}, ptr(int64(-3)), 13, 0},
		{[]int{2, 3, 4}, nil, 11, 1}, // legacy: flattened from axis 1
		{[]int{2, 3, 4}, ptr(int64(2)), 11, 2},
	}
	for _, c := range cases {
		x := randT(r, c.shape...)
		for i := range x.F32 {
			x.F32[i] *= 10
		}
		attrs := map[string]Attr{}
		if c.axis != nil {
			attrs["axis"] = intA(*c.axis)
		}
		got := opCase{op: "Softmax", attrs: attrs, inputs: []*Tensor{x}, opset: c.opset}.mustRun(t)[0]
		checkClose(t, fmt.Sprint("softmax", c.shape, c.opset), got, c.shape, softmaxRef(x.F32, c.shape, c.eff, c.opset < 13))
	}
	if _, err := (opCase{op: "Softmax", attrs: map[string]Attr{"axis": intA(3)}, inputs: []*Tensor{randT(r, 2, 3, 4)}}).run(); !errors.Is(err, ErrShape) {
		t.Fatalf("bad axis: err = %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
