package actcode

import (
	"errors"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// TestTuneBuiltin fits codecs at the bundled model's early cut (the int8
// conv blocks' output) and checks what the partition and run rely on: the
// 8-bit codec keeps the uncoded accuracy, fewer bits send fewer bytes,
// the choice respects the budget, and the chosen codec travels in the
// .sinf file.
func TestTuneBuiltin(t *testing.T) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	const cutName = "MaxPool_5_out_QuantizeLinear_Output"
	cut, err := NewCut(prog, cutName)
	if err != nil {
		t.Fatal(err)
	}
	if cut.C != 32 || cut.H != 8 || cut.W != 8 || cut.Example.DType != nn.Int8 {
		t.Fatalf("cut %dx%dx%d %v, want 32x8x8 int8", cut.C, cut.H, cut.W, cut.Example.DType)
	}
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	images := func(lo, hi int) *nn.Tensor {
		x, err := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	tu, err := cut.Tune(images(0, 1000), images(1000, 1600), set.Labels[1000:1600], TuneConfig{Bits: []int{8, 3, 1}, MaxAccuracyDrop: 0.004, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	c8, c3, c1 := tu.Candidates[0], tu.Candidates[1], tu.Candidates[2]
	for _, c := range tu.Candidates {
		t.Logf("%d bits: %.1f bytes (%.3f bits/element), accuracy %.4f (uncoded %.4f)", c.Bits, c.Bytes, c.BitsPerElement, c.Accuracy, tu.Uncoded.Accuracy)
	}
	if c8.Accuracy < tu.Uncoded.Accuracy-0.002 {
		t.Errorf("8 bits: accuracy %.4f, uncoded %.4f", c8.Accuracy, tu.Uncoded.Accuracy)
	}
	if !(c1.Bytes < c3.Bytes && c3.Bytes < c8.Bytes && c8.Bytes < 2048) {
		t.Errorf("bytes at 1, 3, 8 bits: %.1f %.1f %.1f; want increasing and below 2048 (int8)", c1.Bytes, c3.Bytes, c8.Bytes)
	}
	if tu.Chosen < 0 {
		t.Fatal("no candidate within budget")
	}
	ch := tu.Candidates[tu.Chosen]
	if ch.Accuracy < tu.Uncoded.Accuracy-0.004 {
		t.Errorf("chosen %d bits at accuracy %.4f, beyond the budget", ch.Bits, ch.Accuracy)
	}
	for _, c := range tu.Candidates {
		if c.Accuracy >= tu.Uncoded.Accuracy-0.004 && c.Bytes < ch.Bytes {
			t.Errorf("chose %d bits (%.1f bytes) over %d bits (%.1f bytes) within budget", ch.Bits, ch.Bytes, c.Bits, c.Bytes)
		}
	}

	// The codec travels in the model file and outside its content hash.
	hash := nn.Hash(g)
	if err := Attach(g, cutName, ch.Codec); err != nil {
		t.Fatal(err)
	}
	b, err := sinf.Encode(&sinf.Model{Graph: g})
	if err != nil {
		t.Fatal(err)
	}
	m, err := sinf.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Lookup(m.Graph, cutName)
	if err != nil || back == nil {
		t.Fatalf("codec lost in the .sinf file: %v", err)
	}
	if back.Fingerprint() != ch.Codec.Fingerprint() || nn.Hash(m.Graph) != hash {
		t.Error("codec fingerprint or model hash changed through the file")
	}
	if cs := Cuts(m.Graph); len(cs) != 1 || cs[0] != cutName {
		t.Errorf("Cuts = %v", cs)
	}
	if c, err := Lookup(m.Graph, "other"); c != nil || err != nil {
		t.Errorf("Lookup of a cut without codec: %v, %v", c, err)
	}
}

// TestBuiltinCodecExportsToONNX: the bundled model's codec is text in its
// metadata, so the model exports to ONNX (whose metadata values are UTF-8
// strings) and the codec comes back from the ONNX file unchanged, with the
// model's content hash.
func TestBuiltinCodecExportsToONNX(t *testing.T) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	cuts := Cuts(g)
	if len(cuts) == 0 {
		t.Fatal("the bundled model carries no activation codec")
	}
	b, err := onnx.Encode(g)
	if err != nil {
		t.Fatalf("ONNX export of the bundled model: %v", err)
	}
	back, err := onnx.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if nn.Hash(back) != nn.Hash(g) {
		t.Errorf("content hash %s after the ONNX round trip, want %s", nn.Hash(back), nn.Hash(g))
	}
	for _, cut := range cuts {
		want, err := Lookup(g, cut)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Lookup(back, cut)
		if err != nil || got == nil || got.Fingerprint() != want.Fingerprint() {
			t.Errorf("cut %s: codec after the ONNX round trip %v, %v; want fingerprint %x", cut, got, err, want.Fingerprint())
		}
	}
	g.Meta[MetaPrefix+cuts[0]] = "not base64!"
	if _, err := Lookup(g, cuts[0]); !errors.Is(err, ErrFormat) {
		t.Errorf("Lookup of a non-base64 codec: %v, want ErrFormat", err)
	}
}
