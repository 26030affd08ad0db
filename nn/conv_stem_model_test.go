package nn_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

// TestStemPoolFusion runs seednet and tinyresnet with pathStem (seednet's
// first pool fused into its grey stem) against the same runs without it,
// at batches 1, 7 and 32 on 1 and 2 threads: the outputs must be the same
// bit for bit, and with the stem's kernels seednet's first conv must run
// its pool (tinyresnet's stem has none).
func TestStemPoolFusion(t *testing.T) {
	defer nn.SetStem(true)
	for _, c := range []struct {
		model  string
		pooled []string
	}{{"seednet_mnist", []string{"/conv1/Conv"}}, {"tinyresnet_mnist", nil}} {
		g, in := loadRef(t, c.model)
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
						r := p.NewRunner(threads)
						o, err := r.Run(x)
						if err != nil {
							t.Fatal(err)
						}
						out[i] = slices.Clone(o[0].F32)
						if got := nn.PooledStems(r); on && batch == 1 && nn.StemKernels() && !slices.Equal(got, c.pooled) {
							t.Errorf("pooled stems %v, want %v", got, c.pooled)
						}
					}
					if !slices.Equal(out[0], out[1]) {
						t.Fatalf("output differs with pathStem")
					}
				})
			}
		}
	}
}
