package nn

import (
	"fmt"
	"testing"
)

// actBenches are convolutions that EfficientNet-B0 follows with SiLU and
// MobileNetV3 with HardSwish, of each path.
var actBenches = []convBench{
	{"effb0_stem", 1, 3, 224, 224, 32, 3, 2, 1},
	{"effb0_dw3_112", 1, 32, 112, 112, 32, 3, 1, 32},
	{"effb0_pw16_96_112", 1, 16, 112, 112, 96, 1, 1, 1},
	{"effb0_dw3_112s2", 1, 96, 112, 112, 96, 3, 2, 96},
	{"effb0_pw24_144_56", 1, 24, 56, 56, 144, 1, 1, 1},
	{"effb0_dw3_56", 1, 144, 56, 56, 144, 3, 1, 144},
	{"effb0_dw5_28", 1, 240, 28, 28, 240, 5, 1, 240},
	{"effb0_pw112_672_14", 1, 112, 14, 14, 672, 1, 1, 1},
	{"effb0_pw192_1152_7", 1, 192, 7, 7, 1152, 1, 1, 1},
}

// BenchmarkConvAct compares, per layer at 1 thread, a fused ReLU (in the
// kernel's store) with SiLU and HardSwish (applied after the kernel).
func BenchmarkConvAct(b *testing.B) {
	for _, cb := range actBenches {
		for _, act := range []struct {
			name string
			kind activation
		}{{"relu", actRelu}, {"silu", actSwish}, {"hswish", actHardSwish}} {
			b.Run(fmt.Sprintf("%s/%s", cb.name, act.name), func(b *testing.B) { benchConvKernel(b, cb, false, act.kind, 1) })
		}
	}
}

// BenchmarkActLine times the activations on a line of 4,096 floats in L1
// (cpu-µs/op).
func BenchmarkActLine(b *testing.B) {
	r := newRand(92)
	x := randT(r, 4096).F32
	for i := range x {
		x[i] *= 8
	}
	y := make([]float32, len(x))
	for _, act := range []struct {
		name string
		kind activation
	}{{"relu", actRelu}, {"sigmoid", actSigmoid}, {"silu", actSwish}, {"hswish", actHardSwish}} {
		b.Run(act.name, func(b *testing.B) {
			benchCPU(b, true, func() { applyActTo(act.kind, 0, 0, y, x) })
		})
	}
}
