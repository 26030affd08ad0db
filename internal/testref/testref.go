// Package testref locates the shared reference models and outputs
// (../shared/refs beside the checkout) for tests. The product never needs them.
package testref

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
)

// RepoRoot returns the directory holding go.mod, searching upward from the
// working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testref: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Goldens lists what testdata/refs holds of the shared references: the
// MNIST models, their int8 variants, ONNX Runtime's outputs and the
// figures (mobilenet_v2, 14 MB, is left out). `go test ./internal/testref
// -update` copies them again from ../shared/refs.
var Goldens = []string{"README.md", "figures.json", "seednet_mnist", "seednet_mnist.onnx", "seednet_mnist_int8_qdq_pc.onnx",
	"tinyresnet_mnist", "tinyresnet_mnist.onnx", "tinyresnet_mnist_int8_qdq_pc.onnx"}

// SharedDir is the shared reference directory: $SPLITINFER_REFS, else
// ../shared/refs beside the repository root ("" when neither holds the
// references).
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SPLITINFER_REFS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "refs")
	}
	if _, err := os.Stat(filepath.Join(dir, "seednet_mnist.onnx")); err != nil {
		return ""
	}
	return dir
}

// GoldenDir is the committed copy of the references (Goldens).
func GoldenDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "internal", "testref", "testdata", "refs")
}

// Dir returns the reference directory: the shared one (SharedDir) when
// present, else the committed goldens (GoldenDir), so the suite runs
// without ../shared.
func Dir(t testing.TB) string {
	t.Helper()
	if dir := SharedDir(t); dir != "" {
		return dir
	}
	return GoldenDir(t)
}

// Path joins elem onto Dir. A reference the goldens lack (mobilenet_v2)
// skips the test when ../shared is absent.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{Dir(t)}, elem...)...)
	if _, err := os.Stat(p); err != nil && SharedDir(t) == "" {
		t.Skipf("testref: %s is not among the committed goldens and ../shared/refs is absent", filepath.Join(elem...))
	}
	return p
}

// MNISTTrain loads the MNIST training split from where mnist.Locate finds
// it in the test's environment (the GoMNIST module in the module cache, or
// $SPLITINFER_MNIST_DIR).
func MNISTTrain() (*mnist.Set, error) {
	dir, err := mnist.Locate(os.Getenv)
	if err != nil {
		return nil, err
	}
	return mnist.Train(dir)
}
