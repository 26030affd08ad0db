package nn_test

import (
	"runtime"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

// BenchmarkModelBatch1 runs each reference model, optimized as loaded, on
// the first image of its ONNX Runtime test input (batch 1): the latency the
// bench harness compares with ONNX Runtime. On one thread it also reports
// the thread's CPU time per run (cpu-µs/op), which waiting for a CPU on a
// loaded machine does not inflate.
//
//	go test -run X -bench ModelBatch1 -count 5 ./nn/
func BenchmarkModelBatch1(b *testing.B) {
	for _, m := range []string{"seednet_mnist", "tinyresnet_mnist", "mobilenet_v2"} {
		g, in := loadRef(b, m)
		x := firstImage(in)
		p, err := nn.Compile(g)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			b.Run(m+"/t"+string(rune('0'+threads)), func(b *testing.B) { benchRuns(b, p, x, threads) })
		}
	}
}

// benchRuns times warm runs of p on x with a runner of threads, on a
// locked OS thread; on one thread it also reports the thread's CPU time
// per run (cpu-µs/op).
func benchRuns(b *testing.B, p *nn.Program, x *nn.Tensor, threads int) {
	r := p.NewRunner(threads)
	if _, err := r.Run(x); err != nil {
		b.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	c0 := nn.ThreadCPUSeconds()
	for i := 0; i < b.N; i++ {
		if _, err := r.Run(x); err != nil {
			b.Fatal(err)
		}
	}
	if c1 := nn.ThreadCPUSeconds(); threads == 1 && c1 > 0 {
		b.ReportMetric((c1-c0)*1e6/float64(b.N), "cpu-µs/op")
	}
}

// firstImage returns image 0 of the batch t as a batch of one.
func firstImage(t *nn.Tensor) *nn.Tensor {
	s := append([]int{1}, t.Shape[1:]...)
	x := nn.New(nn.Float32, s...)
	copy(x.F32, t.F32[:len(x.F32)])
	return x
}
