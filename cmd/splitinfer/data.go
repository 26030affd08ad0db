package main

import (
	"os"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
)

// mnistTest is the MNIST test split: from $SPLITINFER_MNIST_DIR when set,
// else the copy embedded in the binary.
func mnistTest() (*mnist.Set, error) {
	if dir := os.Getenv(mnist.EnvDir); dir != "" {
		return mnist.Load(dir, "t10k")
	}
	return mnist.Test()
}

// mnistTrain is the MNIST training split, where mnist.Locate finds it in
// this process's environment.
func mnistTrain() (*mnist.Set, error) {
	dir, err := mnist.Locate(os.Getenv)
	if err != nil {
		return nil, err
	}
	return mnist.Train(dir)
}

// fitHeld is what a fit bound to a model's cut works on: the model
// compiled, the cut tensor (early: pipeline.EarlyCut), the first fitN MNIST
// training images to fit on and the last heldN, never the test set, to
// choose on.
type fitHeld struct {
	prog       *nn.Program
	cut        string
	fit, held  *nn.Tensor
	fitLabels  []uint8
	heldLabels []uint8
}

func loadFitHeld(g *nn.Graph, cut string, fitN, heldN int) (*fitHeld, error) {
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	if cut == "early" {
		if cut, err = pipeline.EarlyCut(prog); err != nil {
			return nil, err
		}
	}
	train, err := mnistTrain()
	if err != nil {
		return nil, err
	}
	images := func(lo, hi int) (*nn.Tensor, error) {
		return nn.FromFloat32(train.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
	}
	n := train.Len()
	d := &fitHeld{prog: prog, cut: cut}
	if d.fit, err = images(0, fitN); err != nil {
		return nil, err
	}
	if d.held, err = images(n-heldN, n); err != nil {
		return nil, err
	}
	d.fitLabels, d.heldLabels = train.Labels[:fitN], train.Labels[n-heldN:]
	return d, nil
}
