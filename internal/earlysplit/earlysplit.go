// Package earlysplit gives tests a built-in model split at its early cut
// (pipeline.EarlyCut) and MNIST test images for it.
package earlysplit

import (
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
)

// Load returns built-in model name, compiled, and its early cut.
func Load(t testing.TB, name string) (*nn.Graph, *nn.Program, string) {
	t.Helper()
	g, err := models.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	cut, err := pipeline.EarlyCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	return g, prog, cut
}

// Images returns MNIST test images lo..hi (float32 NCHW) and their labels.
func Images(t testing.TB, lo, hi int) (*nn.Tensor, []uint8) {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	x, err := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
	if err != nil {
		t.Fatal(err)
	}
	return x, set.Labels[lo:hi]
}
