package nn_test

import (
	"fmt"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
)

// q8Head slices built-in model name from its input to the output of its
// second max pool (seednet's edge head: conv, ReLU, pool, conv, ReLU, pool).
func q8Head(b *testing.B, name string) *nn.Program {
	g, err := models.Load(name)
	if err != nil {
		b.Fatal(err)
	}
	p, err := nn.Compile(g)
	if err != nil {
		b.Fatal(err)
	}
	var cut string
	pools := 0
	for _, n := range g.Nodes {
		if n.Op == "MaxPool" || n.Op == "MaxPoolInt8" {
			if pools++; pools == 2 {
				cut = n.Outputs[0]
				break
			}
		}
	}
	if cut == "" {
		b.Fatalf("%s: no second max pool", name)
	}
	h, err := p.Slice([]string{g.Inputs[0].Name}, []string{cut})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkSeedHead compares the float32 seednet head with the int8 head
// of the bundled quantized model (input quantization included), batch 1
// and 32, 1 and 2 threads, in one run:
//
//	go test -run X -bench SeedHead -count 5 ./nn/
func BenchmarkSeedHead(b *testing.B) {
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	for _, batch := range []int{1, 32} {
		x := nn.New(nn.Float32, batch, 1, mnist.Rows, mnist.Cols)
		for i := 0; i < batch; i++ {
			copy(x.F32[i*mnist.Rows*mnist.Cols:], set.Image(i))
		}
		for _, threads := range []int{1, 2} {
			for _, m := range []struct{ kind, name string }{{"fp32", "seednet_mnist"}, {"int8", "seednet_mnist_pq8"}} {
				b.Run(fmt.Sprintf("b%d/t%d/%s", batch, threads, m.kind), func(b *testing.B) {
					r := q8Head(b, m.name).NewRunner(threads)
					if _, err := r.Run(x); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := r.Run(x); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
