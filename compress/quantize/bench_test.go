package quantize

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// BenchmarkModel runs the float model and its int8 quantization side by
// side (one thread): go test -run X -bench Model ./compress/quantize/
func BenchmarkModel(b *testing.B) {
	train, err := testref.MNISTTrain()
	if err != nil {
		b.Fatal(err)
	}
	calib, _ := nn.FromFloat32(train.Batch(0, 64), 64, 1, mnist.Rows, mnist.Cols)
	for _, model := range []string{"seednet_mnist", "tinyresnet_mnist"} {
		g, err := onnx.Load(testref.Path(b, model+".onnx"))
		if err != nil {
			b.Fatal(err)
		}
		res, err := Quantize(g, calib)
		if err != nil {
			b.Fatal(err)
		}
		for _, batch := range []int{1, 32} {
			x, _ := nn.FromFloat32(train.Batch(0, batch), batch, 1, mnist.Rows, mnist.Cols)
			for _, v := range []struct {
				kind string
				g    *nn.Graph
			}{{"fp32", g}, {"int8", res.Graph}} {
				b.Run(fmt.Sprintf("%s/b%d/%s", model, batch, v.kind), func(b *testing.B) {
					p, err := nn.Compile(v.g)
					if err != nil {
						b.Fatal(err)
					}
					r := p.NewRunner(1)
					if _, err := r.Run(x); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := r.Run(x); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
				})
			}
		}
	}
	// MobileNetV2 (random weights and inputs, 224x224, batch 1): depthwise
	// and pointwise convs with ReLU6.
	g, err := onnx.Load(testref.Path(b, "mobilenet_v2.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	x := nn.New(nn.Float32, 1, 3, 224, 224)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range x.F32 {
		x.F32[i] = float32(r.NormFloat64())
	}
	res, err := Quantize(g, x)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct {
		kind string
		g    *nn.Graph
	}{{"fp32", g}, {"int8", res.Graph}} {
		b.Run("mobilenet_v2/b1/"+v.kind, func(b *testing.B) {
			p, err := nn.Compile(v.g)
			if err != nil {
				b.Fatal(err)
			}
			run := p.NewRunner(1)
			if _, err := run.Run(x); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := run.Run(x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
