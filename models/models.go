// Package models holds the models built into splitinfer, so the binary
// works without any model file: the default model is the seed network
// trained on MNIST (seednet_mnist.onnx, opset 17, input "input"
// float32[batch,1,32,32], output "logits" float32[batch,10]).
package models

import (
	_ "embed"
	"errors"
	"fmt"
	"sort"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// ErrUnknown reports a name that is not a built-in model.
var ErrUnknown = errors.New("models: unknown model")

// DefaultName is the name of the model Default returns.
const DefaultName = "seednet_mnist"

//go:embed seednet_mnist.onnx
var seednetMNIST []byte

// builtin maps names to ONNX model bytes.
var builtin = map[string][]byte{
	"seednet_mnist": seednetMNIST,
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

// Bytes returns the serialized (ONNX) form of built-in model name. The
// slice is shared: callers must not modify it.
func Bytes(name string) ([]byte, error) {
	b, ok := builtin[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (built-in models: %v)", ErrUnknown, name, Names())
	}
	return b, nil
}

// Load decodes built-in model name into an optimized graph (see onnx.Decode).
// Each call returns a new graph that the caller may modify.
func Load(name string) (*nn.Graph, error) {
	b, err := Bytes(name)
	if err != nil {
		return nil, err
	}
	g, err := onnx.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("models: %s: %w", name, err)
	}
	return g, nil
}

// Default returns the default model (DefaultName).
func Default() (*nn.Graph, error) { return Load(DefaultName) }
