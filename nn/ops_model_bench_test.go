package nn_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/allocstest"
	"github.com/splitinfer/splitinfer/internal/cnnzoo"
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

// TestModelWarmRunAllocatesNothing checks that warm runs allocate nothing
// at 1 and 2 threads and batches 1, 4 and 32 (whole, chunked, or chunks
// shared among sub-runners): the reference models (mobilenet_v2 at batches
// 1 and 4, not in -short), the int8 ones, and the internal/cnnzoo families
// at 64x64. Kernels take their scratch from the
// Runner's RunContext, and a fan-out after the package workers went idle
// restarts them without allocating (the last case).
func TestModelWarmRunAllocatesNothing(t *testing.T) {
	if nn.RaceEnabled {
		t.Skip("race detector on: sync.Pool drops items at random")
	}
	type model struct {
		name    string
		load    func(t *testing.T) (*nn.Graph, *nn.Tensor)
		batches []int
	}
	ref := func(name string) func(t *testing.T) (*nn.Graph, *nn.Tensor) {
		return func(t *testing.T) (*nn.Graph, *nn.Tensor) { return loadRef(t, name) }
	}
	zoo := func(build func(int) *nn.Graph) func(t *testing.T) (*nn.Graph, *nn.Tensor) {
		return func(t *testing.T) (*nn.Graph, *nn.Tensor) { return zooModel(build, 64) }
	}
	refQ := func(name string) func(t *testing.T) (*nn.Graph, *nn.Tensor) {
		return func(t *testing.T) (*nn.Graph, *nn.Tensor) {
			_, in := loadRef(t, name)
			g, err := onnx.LoadQDQ(testref.Path(t, name+"_int8_qdq_pc.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			return g, in
		}
	}
	models := []model{
		{"seednet_mnist", ref("seednet_mnist"), []int{1, 4, 13, 32}},
		{"tinyresnet_mnist", ref("tinyresnet_mnist"), []int{1, 4, 13, 32}},
		{"seednet_mnist_int8", refQ("seednet_mnist"), []int{1, 4, 13, 32}},
		{"tinyresnet_mnist_int8", refQ("tinyresnet_mnist"), []int{1, 4, 13, 32}},
		{"squeezenet_style", zoo(cnnzoo.SqueezeNet), []int{1, 4, 7, 32}},
		{"mobilenetv3_style", zoo(cnnzoo.MobileNetV3), []int{1, 4, 7, 32}},
		{"resnet18_style", zoo(cnnzoo.ResNet18), []int{1, 4}},
		{"regnetx_style", zoo(cnnzoo.RegNetX), []int{1, 4}},
		{"efficientnetb0_style", zoo(cnnzoo.EfficientNetB0), []int{1, 4}},
		{"shufflenetv2_style", zoo(cnnzoo.ShuffleNetV2), []int{1, 4, 32}},
		// Chains of Concats written in place, separable MaxPools, 2x2
		// AveragePools.
		{"densenet_style", zoo(cnnzoo.DenseNet), []int{1, 4, 13}},
		{"inception_style", zoo(cnnzoo.Inception), []int{1, 7, 32}},
	}
	if !testing.Short() {
		models = append(models, model{"mobilenet_v2", ref("mobilenet_v2"), []int{1, 4}})
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			g, in := m.load(t)
			p, err := nn.Compile(g)
			if err != nil {
				t.Fatal(err)
			}
			for _, batch := range m.batches {
				x := batchOf(in, batch)
				for _, threads := range []int{1, 2} {
					r := p.NewRunner(threads)
					run := func() {
						if _, err := r.Run(x); err != nil {
							t.Fatal(err)
						}
					}
					// A few runs first: besides the Runner's buffers, they
					// warm the Go runtime's own caches (goroutine structs,
					// sudogs) for the fan-outs' hand-offs between threads.
					for range 3 {
						run()
					}
					if a := allocstest.Steady(5, run); a != 0 {
						t.Errorf("batch %d, %d threads: warm run allocates %v times", batch, threads, a)
					}
				}
			}
		})
	}
	// After the workers' idle timeout they exit; the next fan-out starts
	// them again, allocating nothing once they have run before.
	t.Run("after idle", func(t *testing.T) {
		g, in := zoo(cnnzoo.MobileNetV3)(t)
		p, err := nn.Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		r := p.NewRunner(2)
		run := func() {
			time.Sleep(nn.WorkerIdle + 20*time.Millisecond)
			if _, err := r.Run(in); err != nil {
				t.Fatal(err)
			}
		}
		run()
		if a := allocstest.Steady(3, run); a != 0 {
			t.Errorf("run after the workers went idle allocates %v times", a)
		}
	})
}

// loadRef loads reference model name as optimized by onnx.Load and its ONNX
// Runtime test input.
func loadRef(t testing.TB, name string) (*nn.Graph, *nn.Tensor) {
	t.Helper()
	g, err := onnx.Load(testref.Path(t, name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := onnx.ReadTensor(filepath.Join(testref.Path(t, name, "test_data_set_0"), "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	return g, in
}

// batchOf returns n images cycled from the images of in.
func batchOf(in *nn.Tensor, n int) *nn.Tensor {
	x := nn.New(in.DType, append([]int{n}, in.Shape[1:]...)...)
	for i := range x.F32 {
		x.F32[i] = in.F32[i%len(in.F32)]
	}
	return x
}

// zooModel builds an internal/cnnzoo model for size x size RGB images and
// an input image for it (a fixed ramp).
func zooModel(build func(int) *nn.Graph, size int) (*nn.Graph, *nn.Tensor) {
	in := nn.New(nn.Float32, 1, 3, size, size)
	for i := range in.F32 {
		in.F32[i] = float32(i%29) / 29
	}
	return build(size), in
}
