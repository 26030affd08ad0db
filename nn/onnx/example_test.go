package onnx_test

import (
	"fmt"
	"log"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// Load an ONNX model, compile it and classify the first MNIST test image.
func Example() {
	g, err := onnx.Load("../../models/seednet_mnist.onnx") // optimized on load
	if err != nil {
		log.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		log.Fatal(err)
	}
	set, err := mnist.Test()
	if err != nil {
		log.Fatal(err)
	}
	x, err := nn.FromFloat32(set.Image(0), 1, 1, mnist.Rows, mnist.Cols)
	if err != nil {
		log.Fatal(err)
	}
	out, err := prog.NewRunner(1).Run(x)
	if err != nil {
		log.Fatal(err)
	}
	logits := out[0].F32
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	fmt.Printf("logits %v, predicted %d, label %d\n", out[0].Shape, best, set.Labels[0])
	// Output: logits [1 10], predicted 7, label 7
}
