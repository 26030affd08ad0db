package nn

import "testing"

// BenchmarkDWSmall compares, on MobileNetV2's small depthwise layers, the
// per-channel dw3 path ("old") with the many-channel kernel ("new"), one
// thread.
func BenchmarkDWSmall(b *testing.B) {
	for _, cb := range []convBench{
		{"576x14x14s2", 1, 576, 14, 14, 576, 3, 2, 576},
		{"192x28x28s2", 1, 192, 28, 28, 192, 3, 2, 192},
		{"192x28x28s1", 1, 192, 28, 28, 192, 3, 1, 192},
		{"960x7x7s1", 1, 960, 7, 7, 960, 3, 1, 960},
		{"576x14x14s1", 1, 576, 14, 14, 576, 3, 1, 576},
		{"384x14x14s1", 1, 384, 14, 14, 384, 3, 1, 384},
	} {
		for _, on := range []bool{false, true} {
			name := cb.name + "/old"
			if on {
				name = cb.name + "/new"
			}
			b.Run(name, func(b *testing.B) {
				saved := dwSmallOn
				dwSmallOn = on
				defer func() { dwSmallOn = saved }()
				benchConvKernel(b, cb, false, actRelu, 1)
			})
		}
	}
}
