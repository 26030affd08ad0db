//go:build !race

package quantize

import (
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/cnnzoo"
	"github.com/splitinfer/splitinfer/nn"
)

// TestZooInt8WarmRunAllocatesNothing quantizes the SqueezeNet-,
// MobileNetV3-, DenseNet- and ShuffleNetV2-style models of internal/cnnzoo (64x64) and checks that warm
// runs of the int8 graphs allocate nothing at 1 and 2 threads and batches
// 1, 4 and 32 (nn's TestModelWarmRunAllocatesNothing covers the float
// models and the int8 reference models). MobileNetV3's HardSwish and
// HardSigmoid run as LookupInt8 tables, DenseNet's BatchNormalization-ReLU
// pairs as tables per channel, SqueezeNet's and DenseNet's Concats and ShuffleNet's channel shuffles on int8. Not under -race: sync.Pool drops
// items at random there.
func TestZooInt8WarmRunAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	calib := nn.New(nn.Float32, 4, 3, 64, 64)
	for i := range calib.F32 {
		calib.F32[i] = r.Float32()
	}
	for _, m := range []struct {
		name   string
		build  func(int) *nn.Graph
		lookup bool
	}{{"squeezenet_style", cnnzoo.SqueezeNet, false}, {"mobilenetv3_style", cnnzoo.MobileNetV3, true}, {"densenet_style", cnnzoo.DenseNet, true},
		{"shufflenetv2_style", cnnzoo.ShuffleNetV2, false}} {
		t.Run(m.name, func(t *testing.T) {
			res, err := Quantize(m.build(64), calib)
			if err != nil {
				t.Fatal(err)
			}
			ops := map[string]int{}
			for _, n := range res.Graph.Nodes {
				ops[n.Op]++
			}
			if ops["QLinearConvInt8"] == 0 || (ops["LookupInt8"] > 0) != m.lookup {
				t.Fatalf("int8 graph ops %v", ops)
			}
			p, err := nn.Compile(res.Graph)
			if err != nil {
				t.Fatal(err)
			}
			for _, batch := range []int{1, 4, 32} {
				x := nn.New(nn.Float32, batch, 3, 64, 64)
				for i := range x.F32 {
					x.F32[i] = calib.F32[i%len(calib.F32)]
				}
				for _, threads := range []int{1, 2} {
					run := p.NewRunner(threads)
					step := func() {
						if _, err := run.Run(x); err != nil {
							t.Fatal(err)
						}
					}
					for range 3 {
						step()
					}
					if a := testing.AllocsPerRun(3, step); a != 0 {
						t.Errorf("batch %d, %d threads: warm run allocates %v times", batch, threads, a)
					}
				}
			}
		})
	}
}
