package train_test

import (
	"context"
	"fmt"

	"github.com/splitinfer/splitinfer/compress/train"
)

// Example trains a small seed network, prunes it and exports it as a graph.
func Example() {
	net, err := train.SeedNet(8, 16, 64, 1)
	if err != nil {
		panic(err)
	}
	// Eight blank images of each class stand in for MNIST here.
	data := train.Dataset{Images: make([]float32, 80*32*32), Labels: make([]uint8, 80)}
	for i := range data.Labels {
		data.Labels[i] = uint8(i % 10)
	}
	fmt.Println("params:", net.NumParams(), "MACs:", net.MACs())
	if _, err := net.PruneChannels(0.5); err != nil {
		panic(err)
	}
	if _, err := net.PruneGlobal(0.5); err != nil {
		panic(err)
	}
	if _, err := train.Fit(context.Background(), net, data, train.Config{Epochs: 1, Batch: 16, Seed: 1}); err != nil {
		panic(err)
	}
	g, err := net.ToGraph("student")
	if err != nil {
		panic(err)
	}
	fmt.Printf("pruned params: %d MACs: %d sparsity: %.2f nodes: %d\n", net.NumParams(), net.MACs(), net.Sparsity(), len(g.Nodes))
	// Output:
	// params: 67498 MACs: 434816
	// pruned params: 33818 MACs: 144000 sparsity: 0.50 nodes: 10
}
