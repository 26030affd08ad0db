package onnx_test

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// fuzzSeedModels are the small reference models used as fuzz seeds.
var fuzzSeedModels = []string{"tinyresnet_mnist.onnx", "tinyresnet_mnist_int8_qdq_pc.onnx", "seednet_mnist_int8_qdq_pc.onnx"}

func refSeed(t testing.TB, name string) []byte {
	dir := os.Getenv("SPLITINFER_REFS")
	if dir == "" {
		dir = filepath.Join(testref.RepoRoot(t), "..", "shared", "refs")
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil
	}
	return b
}

// corrupt returns deterministic corruptions of b: truncations and byte flips.
func corrupt(b []byte, seed int64) [][]byte {
	r := rand.New(rand.NewSource(seed))
	var out [][]byte
	for _, frac := range []int{2, 3, 10} {
		out = append(out, b[:len(b)/frac])
	}
	for k := 0; k < 6; k++ {
		c := append([]byte(nil), b...)
		for j := 0; j < 1+k*4; j++ {
			c[r.Intn(len(c))] = byte(r.Intn(256))
		}
		out = append(out, c)
	}
	return out
}

// FuzzDecode checks that no input makes Decode (with the optimizer) or
// Compile of a decoded graph panic, and that whatever decodes re-encodes.
func FuzzDecode(f *testing.F) {
	tiny := marshal(f, tinyModel())
	seeds := [][]byte{tiny, nil, {0x0a}, {0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f}}
	seeds = append(seeds, corrupt(tiny, 1)...)
	for i, name := range fuzzSeedModels {
		if b := refSeed(f, name); b != nil {
			seeds = append(seeds, b)
			seeds = append(seeds, corrupt(b, int64(i+2))...)
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := onnx.Decode(data, onnx.WithoutOptimize()); err != nil {
			return
		}
		g, err := onnx.Decode(data)
		if err != nil {
			return
		}
		if _, err := onnx.Encode(g); err != nil {
			t.Fatalf("decoded graph does not encode: %v", err)
		}
		_, _ = nn.Compile(g)
	})
}

// FuzzDecodeTensor does the same for TensorProto files.
func FuzzDecodeTensor(f *testing.F) {
	b, err := onnx.EncodeTensor("x", mustF32(f, []float32{1, 2, 3, 4}, 2, 2))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	for _, s := range corrupt(b, 9) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := onnx.DecodeTensor(data)
		if err != nil {
			return
		}
		if x.Len() != nn.NumElements(x.Shape) {
			t.Fatalf("decoded %d values for shape %v", x.Len(), x.Shape)
		}
		if _, err := onnx.EncodeTensor("", x); err != nil {
			t.Fatalf("decoded tensor does not encode: %v", err)
		}
	})
}
