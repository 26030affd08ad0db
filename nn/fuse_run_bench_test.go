package nn_test

import (
	"testing"

	"github.com/splitinfer/splitinfer/internal/cnnzoo"
	"github.com/splitinfer/splitinfer/nn"
)

// BenchmarkRunFusion times models with the run-time fusions of whole
// blocks (residual Add into the Conv, squeeze-and-excitation Mul into the
// Conv, Concat in place) on and off, at batch 1 on 1 and 2 threads, and
// reports the process CPU time per run (cpu-µs/op, both threads), which
// waiting for a CPU on a loaded machine does not inflate.
//
//	go test -run X -bench RunFusion -count 5 ./nn/
func BenchmarkRunFusion(b *testing.B) {
	type model struct {
		name string
		load func(b *testing.B) (*nn.Graph, *nn.Tensor)
	}
	ref := func(name string) func(b *testing.B) (*nn.Graph, *nn.Tensor) {
		return func(b *testing.B) (*nn.Graph, *nn.Tensor) {
			g, in := loadRef(b, name)
			return g, firstImage(in)
		}
	}
	zoo := func(build func(int) *nn.Graph) func(b *testing.B) (*nn.Graph, *nn.Tensor) {
		return func(b *testing.B) (*nn.Graph, *nn.Tensor) { return zooModel(build, 224) }
	}
	models := []model{
		{"tinyresnet_mnist", ref("tinyresnet_mnist")},
		{"mobilenet_v2", ref("mobilenet_v2")},
		{"squeezenet_style", zoo(cnnzoo.SqueezeNet)},
		{"mobilenetv3_style", zoo(cnnzoo.MobileNetV3)},
	}
	defer nn.SetRunFusion(true, true, true)
	for _, m := range models {
		b.Run(m.name, func(b *testing.B) {
			g, x := m.load(b)
			p, err := nn.Compile(g)
			if err != nil {
				b.Fatal(err)
			}
			for _, threads := range []int{1, 2} {
				for _, on := range []bool{false, true} {
					name := "t" + string(rune('0'+threads)) + "/fused"
					if !on {
						name = "t" + string(rune('0'+threads)) + "/unfused"
					}
					b.Run(name, func(b *testing.B) {
						nn.SetRunFusion(on, on, on)
						r := p.NewRunner(threads)
						if _, err := r.Run(x); err != nil {
							b.Fatal(err)
						}
						b.ReportAllocs()
						b.ResetTimer()
						c0 := nn.ProcessCPUSeconds()
						for i := 0; i < b.N; i++ {
							if _, err := r.Run(x); err != nil {
								b.Fatal(err)
							}
						}
						if c1 := nn.ProcessCPUSeconds(); c1 > 0 {
							b.ReportMetric((c1-c0)*1e6/float64(b.N), "cpu-µs/op")
						}
					})
				}
			}
		})
	}
}
