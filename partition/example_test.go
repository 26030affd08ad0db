package partition_test

import (
	"fmt"
	"time"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
)

// A residual block: x -> conv -> {a, b} -> add -> fc. The cut after conv
// sends its output once, though two nodes read it.
func ExampleModel_Best() {
	g := &nn.Graph{
		Name:   "block",
		Inputs: []nn.ValueInfo{{Name: "x"}},
		Nodes: []*nn.Node{
			{Name: "conv", Op: "Conv", Inputs: []string{"x"}, Outputs: []string{"c"}},
			{Name: "a", Op: "Conv", Inputs: []string{"c"}, Outputs: []string{"ta"}},
			{Name: "b", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"tb"}},
			{Name: "add", Op: "Add", Inputs: []string{"ta", "tb"}, Outputs: []string{"s"}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"s"}, Outputs: []string{"y"}},
		},
		Outputs: []nn.ValueInfo{{Name: "y"}},
	}
	d, err := partition.NewDAG(g)
	if err != nil {
		panic(err)
	}
	cloud := &partition.Profile{NodesMS: map[string]float64{"conv": 2, "a": 4, "b": 1, "add": 1, "fc": 1}}
	edge := cloud.Scaled(10) // an edge ten times slower
	sizes := &partition.Sizes{Overhead: 100, Reply: 140,
		Bytes: map[string]int{"x": 600_000, "c": 50_000, "ta": 200_000, "tb": 200_000, "s": 200_000, "y": 40}}
	m, err := partition.NewModel(d, edge, cloud, sizes)
	if err != nil {
		panic(err)
	}
	for _, mbit := range []float64{1, 20, 1000} {
		best, err := m.Best(partition.Link{Bandwidth: mbit * 1e6 / 8, RTT: 20 * time.Millisecond})
		if err != nil {
			panic(err)
		}
		fmt.Printf("%4g Mbit/s: %-10s sends %v, %.1f ms\n", mbit, best.Cut.Name, best.Cut.Tensors, best.TotalMS)
	}
	// Output:
	//    1 Mbit/s: edge-only  sends [], 90.0 ms
	//   20 Mbit/s: after:conv sends [c], 67.1 ms
	// 1000 Mbit/s: cloud-only sends [x], 33.8 ms
}
