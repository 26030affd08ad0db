package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedOutput checks that the committed kernels in package blas are
// what asmgen writes now: edit the generator, then run go generate there.
func TestCommittedOutput(t *testing.T) {
	for name, want := range generate() {
		got, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from asmgen's output: run go generate in nn/internal/blas", name)
		}
	}
}
