package edgeworker_test

import (
	"context"
	"fmt"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
)

// An application that embeds the edge classifies its own images: one call
// from encoded images to the top classes. Here the worker has no NATS
// connection and runs the whole model locally (Fallback); with a
// connection the same call goes through the split.
func ExamplePredictor_Predict() {
	g, err := models.Default() // records MNIST's preprocessing and the digits as labels
	if err != nil {
		panic(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		panic(err)
	}
	w, err := edgeworker.New(nil, prog, edgeworker.Config{Fallback: true})
	if err != nil {
		panic(err)
	}
	p, err := edgeworker.NewPredictor(w, g, edgeworker.PredictorConfig{Name: "digits"})
	if err != nil {
		panic(err)
	}
	set, err := mnist.Test()
	if err != nil {
		panic(err)
	}
	png, err := set.PNG(0) // a 28x28 grey PNG, as a camera app would send
	if err != nil {
		panic(err)
	}
	resp, err := p.Predict(context.Background(), &edgeworker.PredictRequest{
		ID:      "frame-1",
		Inputs:  []edgeworker.Input{{Name: "input", Images: [][]byte{png}}},
		Outputs: []edgeworker.OutputRequest{{Name: "logits", Classes: 1}},
	})
	if err != nil {
		panic(err)
	}
	best := resp.Outputs[0].Classes[0][0]
	fmt.Printf("%s: digit %s (label of image 0: %d)\n", resp.ID, best.Label, set.Labels[0])
	// Output: frame-1: digit 7 (label of image 0: 7)
}
