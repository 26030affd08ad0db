package nn_test

import (
	"fmt"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

// BenchmarkMNISTBatch32 runs seednet and tinyresnet on a batch of 32 on 1
// and 2 threads (on one thread it reports the thread's CPU time per run),
// with and without the layout pass (layout.go): the batch-32 cases of make
// bench whose convolutions run pathNCHWc.
//
//	go test -run X -bench MNISTBatch32 -count 5 ./nn/
func BenchmarkMNISTBatch32(b *testing.B) {
	defer nn.SetLayout(true)
	for _, m := range []string{"seednet_mnist", "tinyresnet_mnist"} {
		g, in := loadRef(b, m)
		x := batchOf(in, 32)
		p, err := nn.Compile(g)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			for _, on := range []bool{false, true} {
				b.Run(fmt.Sprintf("%s/t%d/layout=%v", m, threads, on), func(b *testing.B) {
					nn.SetLayout(on)
					benchRuns(b, p, x, threads)
				})
			}
		}
	}
}
