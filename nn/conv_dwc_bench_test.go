package nn

import (
	"fmt"
	"testing"
)

// dwBenches are the depthwise layers of EfficientNet-B0, MobileNetV3,
// MobileNetV2 and ConvNeXt-T, and 5x5 on 112x112 planes (name: channels,
// input plane, window, stride).
var dwBenches = []convBench{
	{"effb0_dw3_112", 1, 32, 112, 112, 32, 3, 1, 32},
	{"effb0_dw3_112s2", 1, 96, 112, 112, 96, 3, 2, 96},
	{"effb0_dw3_56", 1, 144, 56, 56, 144, 3, 1, 144},
	{"effb0_dw5_56s2", 1, 144, 56, 56, 144, 5, 2, 144},
	{"effb0_dw5_28", 1, 240, 28, 28, 240, 5, 1, 240},
	{"effb0_dw3_28s2", 1, 240, 28, 28, 240, 3, 2, 240},
	{"effb0_dw3_14", 1, 480, 14, 14, 480, 3, 1, 480},
	{"effb0_dw5_14", 1, 672, 14, 14, 672, 5, 1, 672},
	{"effb0_dw5_14s2", 1, 672, 14, 14, 672, 5, 2, 672},
	{"effb0_dw5_7", 1, 1152, 7, 7, 1152, 5, 1, 1152},
	{"effb0_dw3_7", 1, 1152, 7, 7, 1152, 3, 1, 1152},
	{"mbv3_dw3_56s2", 1, 72, 56, 56, 72, 3, 2, 72},
	{"mbv3_dw5_28s2", 1, 72, 56, 56, 72, 5, 2, 72},
	{"mbv3_dw3_28", 1, 88, 28, 28, 88, 3, 1, 88},
	{"mbv3_dw5_14s2", 1, 288, 14, 14, 288, 5, 2, 288},
	{"mbv3_dw5_7", 1, 576, 7, 7, 576, 5, 1, 576},
	{"mbv2_dw3_14", 1, 384, 14, 14, 384, 3, 1, 384},
	{"mbv2_dw3_7", 1, 960, 7, 7, 960, 3, 1, 960},
	{"mbv2_dw3_28", 1, 192, 28, 28, 192, 3, 1, 192},
	{"dw5_112", 1, 32, 112, 112, 32, 5, 1, 32},
	{"dw5_112s2", 1, 96, 112, 112, 96, 5, 2, 96},
	{"convnext_dw7_56", 1, 96, 56, 56, 96, 7, 1, 96},
	{"convnext_dw7_28", 1, 192, 28, 28, 192, 7, 1, 192},
	{"convnext_dw7_14", 1, 384, 14, 14, 384, 7, 1, 384},
	{"convnext_dw7_7", 1, 768, 7, 7, 768, 7, 1, 768},
}

// BenchmarkDWC compares pathDWC with the path the geometry takes without
// it, at 1 thread with a fused ReLU (cpu-µs/op).
func BenchmarkDWC(b *testing.B) {
	for _, cb := range dwBenches {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/dwc=%v", cb.name, on), func(b *testing.B) {
				saved, savedOn := dwcAny, dwcOn
				dwcAny, dwcOn = on, on
				defer func() { dwcAny, dwcOn = saved, savedOn }()
				benchConvKernel(b, cb, false, actRelu, 1)
			})
		}
	}
}

// BenchmarkDWCSlide compares, on the stride-1 layers of dwBenches run on
// pathDWC, the sliding-window kernel ("new") with FMAs reading every tap
// ("old"), one thread.
func BenchmarkDWCSlide(b *testing.B) {
	saved := dwcAny
	dwcAny = true
	defer func() { dwcAny = saved }()
	var s1 []convBench
	for _, cb := range dwBenches {
		if cb.st == 1 {
			s1 = append(s1, cb)
		}
	}
	benchPathToggle(b, &dwcSlideOn, s1)
}
