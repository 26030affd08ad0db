// Package models holds the models built into splitinfer, so the binary
// works without any model file. The default model, seednet_mnist_pq8, is
// the seed network trained in Go on MNIST, 90% of its weights pruned (then
// fine-tuned) and int8-quantized, stored as .sinf (`make model` reproduces
// it); seednet_mnist is the float reference network trained by PyTorch
// (ONNX, opset 17). Both take input "input" float32[batch,1,32,32] and give
// "logits" float32[batch,10].
package models

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/preprocess"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// ErrUnknown reports a name that is not a built-in model.
var ErrUnknown = errors.New("models: unknown model")

// DefaultName is the name of the model Default returns.
const DefaultName = "seednet_mnist_pq8"

//go:embed seednet_mnist.onnx
var seednetMNIST []byte

//go:embed seednet_mnist_pq8.sinf
var seednetMNISTPQ8 []byte

// builtin maps names to ONNX model bytes.
var builtin = map[string][]byte{
	"seednet_mnist":     seednetMNIST,
	"seednet_mnist_pq8": seednetMNISTPQ8,
}

// Names lists the built-in model names, sorted.
func Names() []string {
	names := make([]string, 0, len(builtin))
	for n := range builtin {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Has reports whether name is a built-in model.
func Has(name string) bool {
	_, ok := builtin[name]
	return ok
}

// Bytes returns the serialized (ONNX or .sinf) form of built-in model name. The
// slice is shared: callers must not modify it.
func Bytes(name string) ([]byte, error) {
	b, ok := builtin[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (built-in models: %v)", ErrUnknown, name, Names())
	}
	return b, nil
}

// Load decodes built-in model name into an optimized graph (see onnx.Decode
// and sinf.Decode), with MNIST's preprocessing declaration
// (preprocess.MNIST) and the digits as labels in its metadata.
// Each call returns a new graph that the caller may modify.
func Load(name string) (*nn.Graph, error) {
	b, err := Bytes(name)
	if err != nil {
		return nil, err
	}
	var g *nn.Graph
	if sinf.IsSinf(b) {
		m, err := sinf.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("models: %s: %w", name, err)
		}
		g = m.Graph
	} else if g, err = onnx.Decode(b); err != nil {
		return nil, fmt.Errorf("models: %s: %w", name, err)
	}
	// Every built-in model is an MNIST model; the metadata is not part of
	// the content hash, so the split's identity does not change.
	if _, ok := g.Meta[preprocess.MetaKey]; !ok {
		spec, err := preprocess.Parse(preprocess.MNIST)
		if err != nil {
			return nil, err
		}
		preprocess.Record(g, spec, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
	}
	return g, nil
}

// Default returns the default model (DefaultName).
func Default() (*nn.Graph, error) { return Load(DefaultName) }
