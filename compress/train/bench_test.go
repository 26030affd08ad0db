package train

import (
	"context"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"testing"
)

// BenchmarkTrainSeedNet measures training throughput of the seed network
// (one epoch over 512 random images, batch 128); b.N epochs.
func BenchmarkTrainSeedNet(b *testing.B) {
	n, err := SeedNet(16, 32, 128, 1)
	if err != nil {
		b.Fatal(err)
	}
	d := randomData(n.Input, 512, 10, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Fit(context.Background(), n, d, Config{Batch: 128, Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(512*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkStructuredPruning runs the reference seed network in the
// inference engine before and after removing half of its conv channels
// (weights as loaded; speed does not depend on fine-tuning). Compare the
// sub-benchmarks of one run.
func BenchmarkStructuredPruning(b *testing.B) {
	g, err := onnx.Load(testref.Path(b, "seednet_mnist.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	dense, err := FromGraph(g)
	if err != nil {
		b.Fatal(err)
	}
	pruned := dense.Clone()
	if _, err := pruned.PruneChannels(0.5); err != nil {
		b.Fatal(err)
	}
	const batch = 32
	x := randomData(dense.Input, batch, 10, 1)
	in, _ := nn.FromFloat32(x.Images, batch, 1, 32, 32)
	for _, c := range []struct {
		name string
		net  *Net
	}{{"dense", dense}, {"pruned50", pruned}} {
		eg, err := c.net.ToGraph(c.name)
		if err != nil {
			b.Fatal(err)
		}
		p, err := nn.Compile(eg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			r := p.NewRunner(1)
			b.ReportMetric(float64(c.net.MACs()), "MACs/image")
			for i := 0; i < b.N; i++ {
				if _, err := r.Run(in); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
