package onnx_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// BenchmarkModel times one single-threaded run of each reference model
// (loaded with the default optimizations) at batch 1 and 32; the input is
// the first image of the model's test data set, repeated.
func BenchmarkModel(b *testing.B) {
	short := map[string]string{"seednet_mnist": "seednet", "tinyresnet_mnist": "tinyresnet", "mobilenet_v2": "mobilenet_v2"}
	for _, m := range refModels {
		g, err := onnx.Load(testref.Path(b, m+".onnx"))
		if err != nil {
			b.Fatal(err)
		}
		p, err := nn.Compile(g)
		if err != nil {
			b.Fatal(err)
		}
		ref, err := onnx.ReadTensor(filepath.Join(testref.Path(b, m, "test_data_set_0"), "input_0.pb"))
		if err != nil {
			b.Fatal(err)
		}
		per := ref.Len() / ref.Shape[0]
		for _, batch := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/b%d", short[m], batch), func(b *testing.B) {
				shape := append([]int{batch}, ref.Shape[1:]...)
				x := nn.New(nn.Float32, shape...)
				for i := 0; i < batch; i++ {
					copy(x.F32[i*per:(i+1)*per], ref.F32[:per])
				}
				r := p.NewRunner(1)
				if _, err := r.Run(x); err != nil { // plan and warm up
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := r.Run(x); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(batch)/1e3, "µs/image")
			})
		}
	}
}
