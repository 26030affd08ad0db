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

// Dir returns the reference directory: $SPLITINFER_REFS, else ../shared/refs
// beside the repository root. When it is missing the test is skipped, except
// under CI (CI=true), where it fails: CI always has the references.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("SPLITINFER_REFS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "..", "shared", "refs")
	}
	if _, err := os.Stat(filepath.Join(dir, "seednet_mnist.onnx")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testref: reference models not found in %s", dir)
		}
		t.Skipf("testref: reference models not found in %s", dir)
	}
	return dir
}

// Path joins elem onto Dir.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Dir(t)}, elem...)...)
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
