package evaluate

import (
	"context"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/inspect"
)

// Measurement is a model's size and, for an MNIST-shaped model, accuracy.
type Measurement struct {
	// Accuracy on the test images, -1 when the model is not MNIST-shaped.
	Accuracy float64
	// Params counts the parameters, MACs the multiply-accumulates per image.
	Params, MACs int64
	// Images is how many test images were evaluated.
	Images int
}

// MNISTShaped reports whether g takes one float32 [N, 1, 32, 32] input,
// what the MNIST evaluation, calibration and training feed.
func MNISTShaped(g *nn.Graph) bool {
	if len(g.Inputs) != 1 {
		return false
	}
	in := g.Inputs[0].Type
	return in.DType == nn.Float32 && len(in.Shape) == 4 && (in.Shape[1] < 0 || in.Shape[1] == 1) &&
		(in.Shape[2] < 0 || in.Shape[2] == mnist.Rows) && (in.Shape[3] < 0 || in.Shape[3] == mnist.Cols)
}

// Measure returns g's parameter count and MACs per image and, when g is
// MNIST-shaped, its accuracy on the first n images of test (0: all), in
// batches of 100 on threads goroutines.
func Measure(ctx context.Context, g *nn.Graph, test *mnist.Set, n, threads int) (Measurement, error) {
	ins, err := inspect.Graph(g, g.Name)
	if err != nil {
		return Measurement{}, err
	}
	m := Measurement{Accuracy: -1, Params: ins.TotalParams, MACs: ins.TotalMACs}
	if !MNISTShaped(g) {
		return m, nil
	}
	ev, err := MNIST(ctx, g, test, n, 100, threads)
	if err != nil {
		return Measurement{}, err
	}
	m.Accuracy, m.Images = ev.Accuracy, ev.Images
	return m, nil
}
