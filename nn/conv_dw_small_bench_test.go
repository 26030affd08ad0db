package nn

import "testing"

// BenchmarkDWSmall compares, on MobileNetV2's small depthwise layers, the
// per-channel dw3 path ("old") with the many-channel kernel ("new"), one
// thread.
func BenchmarkDWSmall(b *testing.B) {
	benchPathToggle(b, &dwSmallOn, []convBench{
		{"576x14x14s2", 1, 576, 14, 14, 576, 3, 2, 576},
		{"192x28x28s2", 1, 192, 28, 28, 192, 3, 2, 192},
		{"192x28x28s1", 1, 192, 28, 28, 192, 3, 1, 192},
		{"960x7x7s1", 1, 960, 7, 7, 960, 3, 1, 960},
		{"576x14x14s1", 1, 576, 14, 14, 576, 3, 1, 576},
		{"384x14x14s1", 1, 384, 14, 14, 384, 3, 1, 384},
	})
}

// benchPathToggle times each convolution with the path switch *on false
// ("old") and true ("new"), one thread, fused Relu.
func benchPathToggle(b *testing.B, on *bool, benches []convBench) {
	for _, cb := range benches {
		for _, v := range []bool{false, true} {
			name := cb.name + "/old"
			if v {
				name = cb.name + "/new"
			}
			b.Run(name, func(b *testing.B) {
				saved := *on
				*on = v
				defer func() { *on = saved }()
				benchConvKernel(b, cb, false, actRelu, 1)
			})
		}
	}
}
