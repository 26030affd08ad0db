package nn_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// BenchmarkModel runs the reference models end to end on their ONNX Runtime
// test input (seednet and tinyresnet: 8 MNIST images; mobilenet_v2: 2
// images of 224x224), optimized as loaded (BatchNorm folded, activations
// fused) and without FuseActivations, on 1 and 2 threads.
func BenchmarkModel(b *testing.B) {
	for _, m := range []string{"seednet_mnist", "tinyresnet_mnist", "mobilenet_v2"} {
		fused, err := onnx.Load(testref.Path(b, m+".onnx"))
		if err != nil {
			b.Fatal(err)
		}
		raw, err := onnx.Load(testref.Path(b, m+".onnx"), onnx.WithoutOptimize())
		if err != nil {
			b.Fatal(err)
		}
		in, err := onnx.ReadTensor(filepath.Join(testref.Path(b, m, "test_data_set_0"), "input_0.pb"))
		if err != nil {
			b.Fatal(err)
		}
		for _, v := range []struct {
			name string
			g    *nn.Graph
		}{{"optimized", fused}, {"unoptimized", raw}} {
			p, err := nn.Compile(v.g)
			if err != nil {
				b.Logf("%s %s: %v", m, v.name, err)
				continue
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", m, v.name, threads), func(b *testing.B) {
					r := p.NewRunner(threads)
					if _, err := r.Run(in); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := r.Run(in); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// TestModelWarmRunAllocatesNothing checks the reference models' warm runs
// on one thread. With more threads the kernels themselves allocate nothing
// (TestParallelConvAllocatesNothingAndWorkersExit), but blas.Sgemm takes its
// packing memory from a per-P sync.Pool, which can miss when a GEMM runs on
// another P: those allocations are only logged.
func TestModelWarmRunAllocatesNothing(t *testing.T) {
	if nn.RaceEnabled {
		t.Skip("race detector on: sync.Pool drops items at random")
	}
	models := []string{"seednet_mnist", "tinyresnet_mnist"}
	if !testing.Short() {
		models = append(models, "mobilenet_v2")
	}
	for _, m := range models {
		g, err := onnx.Load(testref.Path(t, m+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		in, err := onnx.ReadTensor(filepath.Join(testref.Path(t, m, "test_data_set_0"), "input_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		p, err := nn.Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			r := p.NewRunner(threads)
			if _, err := r.Run(in); err != nil {
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(3, func() {
				if _, err := r.Run(in); err != nil {
					t.Fatal(err)
				}
			}); a != 0 {
				if threads == 1 {
					t.Errorf("%s threads=%d: warm run allocates %v times", m, threads, a)
				} else {
					t.Logf("%s threads=%d: warm run allocates %v times", m, threads, a)
				}
			}
		}
	}
}
