package nn

import (
	"fmt"
	"testing"
)

// spinJob does a fixed amount of arithmetic per item.
type spinJob struct {
	out []float32
}

func (s *spinJob) runRange(lo, hi, _ int) {
	for i := lo; i < hi; i++ {
		v := float32(i)
		for k := 0; k < 1000; k++ {
			v = v*0.999 + 1
		}
		s.out[i] = v
	}
}

// BenchmarkParallelFor measures the fork-join helper on CPU-bound work of
// 64 and 1024 items (about 1 µs each) on 1 and 2 blocks.
func BenchmarkParallelFor(b *testing.B) {
	for _, n := range []int{64, 1024} {
		for _, blocks := range []int{1, 2} {
			b.Run(fmt.Sprintf("items%d/blocks%d", n, blocks), func(b *testing.B) {
				j := &spinJob{out: make([]float32, n)}
				rc := new(RunContext)
				for i := 0; i < b.N; i++ {
					rc.parallelFor(blocks, n, j)
				}
			})
		}
	}
}

// BenchmarkParallelForSmall measures a fan-out of two items of about 1 µs
// each on two blocks: the fork-join cost of a small layer at batch 1.
func BenchmarkParallelForSmall(b *testing.B) {
	j := &spinJob{out: make([]float32, 2)}
	rc := new(RunContext)
	for i := 0; i < b.N; i++ {
		rc.parallelFor(2, 2, j)
	}
}
