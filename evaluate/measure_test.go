package evaluate

import (
	"context"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
)

// TestMeasure: the built-in model is MNIST-shaped and measured with its
// accuracy; a model of another input gets its size only (accuracy -1).
func TestMeasure(t *testing.T) {
	test, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	g, err := models.Load("seednet_mnist")
	if err != nil {
		t.Fatal(err)
	}
	m, err := Measure(context.Background(), g, test, 200, 2)
	if err != nil {
		t.Fatal(err)
	}
	// conv 1->16 3x3, conv 16->32, fc 2048->128, fc 128->10 (DEVELOPERS.md).
	const params = 160 + 4640 + 2048*128 + 128 + 128*10 + 10
	if !MNISTShaped(g) || m.Params != params || m.MACs <= 0 || m.Images != 200 || m.Accuracy < 0.9 {
		t.Errorf("seednet_mnist: %+v", m)
	}
	other := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 3}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Nodes:   []*nn.Node{{Name: "relu", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}
	m, err = Measure(context.Background(), other, test, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if MNISTShaped(other) || m.Accuracy != -1 || m.Params != 0 || m.Images != 0 {
		t.Errorf("non-MNIST model: %+v", m)
	}
}
