package main

import (
	"os"

	"github.com/splitinfer/splitinfer/compress/recipe"
	"github.com/splitinfer/splitinfer/dataset/mnist"
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

// mnistData is where the compress and train flows find MNIST.
func mnistData() recipe.Data { return recipe.Data{Test: mnistTest, Train: mnistTrain} }
