package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
)

func TestResolve(t *testing.T) {
	ref, err := os.ReadFile(testref.Path(t, "tinyresnet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	noExt := filepath.Join(dir, "tinyresnet")
	if err := os.WriteFile(noExt, ref, 0o644); err != nil {
		t.Fatal(err)
	}
	junk := filepath.Join(dir, "junk.bin")
	if err := os.WriteFile(junk, []byte("\x00\x01 not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		spec, name, err string
	}{
		{"", "seednet_mnist_pq8", ""}, // the default: pruned int8 seed network
		{"seednet_mnist", "seednet_mnist", ""},
		{testref.Path(t, "tinyresnet_mnist.onnx"), "tinyresnet_mnist", ""},
		{noExt, "tinyresnet", ""}, // found by content
		{testref.Path(t, "seednet_mnist_int8_qdq_pc.onnx"), "seednet_mnist_int8_qdq_pc", ""},
		{junk, "", "unknown format"},
		{dir, "", "directory"},
		{"no-such-model", "", "neither a readable file nor a built-in model"},
	}
	for _, c := range cases {
		g, name, err := Resolve(c.spec)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.spec, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if name != c.name || len(g.Nodes) == 0 {
			t.Errorf("%q: name %q, %d nodes", c.spec, name, len(g.Nodes))
		}
	}
	// A QDQ model is lowered onto the int8 kernels.
	g, _, err := Resolve(testref.Path(t, "seednet_mnist_int8_qdq_pc.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	int8Ops := 0
	for _, n := range g.Nodes {
		if strings.HasSuffix(n.Op, "Int8") {
			int8Ops++
		}
	}
	if int8Ops == 0 {
		t.Error("QDQ model not lowered onto int8 kernels")
	}
}
