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
// and sinf.Decode).
// Each call returns a new graph that the caller may modify.
func Load(name string) (*nn.Graph, error) {
	b, err := Bytes(name)
	if err != nil {
		return nil, err
	}
	if sinf.IsSinf(b) {
		m, err := sinf.Decode(b)
		if err != nil {
			return nil, fmt.Errorf("models: %s: %w", name, err)
		}
		return m.Graph, nil
	}
	g, err := onnx.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", name, err)
	}
	return g, nil
}

// Default returns the default model (DefaultName).
func Default() (*nn.Graph, error) { return Load(DefaultName) }
