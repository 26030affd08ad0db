package models

import (
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
)

// TestDefaultIsPrunedInt8: the bundled default model is the pruned int8
// seed network (make model) and keeps its accuracy on MNIST test images.
func TestDefaultIsPrunedInt8(t *testing.T) {
	g, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	int8Ops, zeros, weights := 0, 0, 0
	for _, n := range g.Nodes {
		if n.Op == "QLinearConvInt8" || n.Op == "QLinearGemmInt8" {
			int8Ops++
			if w := g.Consts[n.Input(1)]; w != nil && w.DType == nn.Int8 {
				for _, v := range w.I8 {
					if v == 0 {
						zeros++
					}
				}
				weights += len(w.I8)
			}
		}
	}
	if int8Ops != 4 || weights == 0 || float64(zeros)/float64(weights) < 0.85 {
		t.Errorf("%d int8 conv/gemm nodes, %d of %d int8 weights zero; want 4 nodes, >= 85%% zeros", int8Ops, zeros, weights)
	}
	if b, _ := Bytes(DefaultName); len(b) > 100_000 {
		t.Errorf("default model is %d bytes", len(b))
	}
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	x, _ := nn.FromFloat32(set.Batch(0, n), n, 1, mnist.Rows, mnist.Cols)
	out, err := p.NewRunner(2).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i := 0; i < n; i++ {
		row := out[0].F32[i*10 : (i+1)*10]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == int(set.Labels[i]) {
			correct++
		}
	}
	if acc := float64(correct) / n; acc < 0.98 {
		t.Errorf("accuracy %.4f on the first %d test images", acc, n)
	}
}
