package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedOutput checks that the committed conv_nchwc_amd64.s is what
// nchwcgen writes now: edit the generator, then run go generate in nn.
func TestCommittedOutput(t *testing.T) {
	got, err := os.ReadFile(filepath.Join("..", "..", out))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, generate()) {
		t.Errorf("%s differs from nchwcgen's output: run go generate in nn", out)
	}
}
