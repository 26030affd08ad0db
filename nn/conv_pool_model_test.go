package nn_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/splitinfer/splitinfer/internal/cnnzoo"
	"github.com/splitinfer/splitinfer/nn"
)

// TestPoolFusion runs seednet, tinyresnet and the VGG-style model with
// pathStem and the MaxPools fused into convolutions (seednet's first pool
// into its grey stem, its second into pathNCHWc; VGG's five) against the
// same runs without them, at batches 1, 7 and 32 on 1 and 2 threads: the
// outputs must be the same bit for bit, and with the kernels the pools
// must run inside the convolutions (tinyresnet has none).
func TestPoolFusion(t *testing.T) {
	defer nn.SetStem(true)
	defer nn.SetNCHWcPool(true)
	vgg, vin := zooModel(cnnzoo.VGG, 32)
	seed, sin := loadRef(t, "seednet_mnist")
	tiny, tin := loadRef(t, "tinyresnet_mnist")
	for _, c := range []struct {
		model  string
		g      *nn.Graph
		in     *nn.Tensor
		pooled []string
	}{
		{"seednet_mnist", seed, sin, []string{"/conv1/Conv", "/conv2/Conv"}},
		{"tinyresnet_mnist", tiny, tin, nil},
		{"vgg", vgg, vin, []string{"Conv_3", "Conv_8", "Conv_17", "Conv_26", "Conv_35"}},
	} {
		g, in := c.g, c.in
		p, err := nn.Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range []int{1, 7, 32} {
			x := batchOf(in, batch)
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/b%d/t%d", c.model, batch, threads), func(t *testing.T) {
					var out [2][]float32
					for i, on := range []bool{false, true} {
						nn.SetStem(on)
						nn.SetNCHWcPool(on)
						r := p.NewRunner(threads)
						o, err := r.Run(x)
						if err != nil {
							t.Fatal(err)
						}
						out[i] = slices.Clone(o[0].F32)
						if got := nn.PooledConvs(r); on && batch == 1 && nn.StemKernels() && nn.NCHWcKernels() && !slices.Equal(got, c.pooled) {
							t.Errorf("pooled stems %v, want %v", got, c.pooled)
						}
					}
					if !slices.Equal(out[0], out[1]) {
						t.Fatalf("output differs with the pools fused")
					}
				})
			}
		}
	}
}
