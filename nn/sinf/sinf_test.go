package sinf

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

// testModel is a small quantized graph with dense float, per-channel int8,
// int32 and a 90%-sparse float constant.
func testModel() *Model {
	r := rand.New(rand.NewPCG(1, 1))
	w8 := nn.New(nn.Int8, 4, 2, 3, 3)
	for i := range w8.I8 {
		w8.I8[i] = int8(r.IntN(255) - 127)
	}
	w8.Quant = &nn.Quant{Scale: []float32{0.1, 0.2, 0.3, 0.4}, ZeroPoint: []int32{0, 0, 0, 0}}
	b := nn.New(nn.Int32, 4)
	for i := range b.I32 {
		b.I32[i] = int32(r.IntN(1000) - 500)
	}
	sp := nn.New(nn.Float32, 10, 64)
	for i := range sp.F32 {
		if r.IntN(10) == 0 {
			sp.F32[i] = r.Float32() - 0.5
		}
	}
	dense := nn.New(nn.Float32, 3)
	dense.F32[0], dense.F32[1], dense.F32[2] = 1, -2, 3.5
	g := &nn.Graph{
		Name:    "t",
		Opset:   17,
		Meta:    map[string]string{"producer": "test"},
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 2, 8, 8}}}},
		Outputs: []nn.ValueInfo{{Name: "y", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 4, 8, 8}}}},
		Consts:  map[string]*nn.Tensor{"w": w8, "b": b, "sparse": sp, "dense": dense},
		Nodes: []*nn.Node{
			{Name: "q", Op: "QuantizeLinear", Inputs: []string{"x", "s", "z"}, Outputs: []string{"xq"}},
			{Name: "conv", Op: "QLinearConvInt8", Inputs: []string{"xq", "w", "b"}, Outputs: []string{"yq"}, Attrs: map[string]nn.Attr{
				"pads":    {Kind: nn.AttrInts, Ints: []int64{1, 1, 1, 1}},
				"w_scale": {Kind: nn.AttrFloats, Floats: []float32{0.1, 0.2, 0.3, 0.4}},
				"x_scale": {Kind: nn.AttrFloat, Float: 0.05},
				"relu":    {Kind: nn.AttrInt, Int: 1},
				"mode":    {Kind: nn.AttrString, Str: "x"},
				"names":   {Kind: nn.AttrStrings, Strs: []string{"a", ""}},
				"t":       {Kind: nn.AttrTensor, Tensor: dense},
			}},
			{Name: "dq", Op: "DequantizeLinear", Inputs: []string{"yq", "s", "z"}, Outputs: []string{"y"}},
		},
	}
	g.Consts["s"] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{0.05}}
	g.Consts["z"] = &nn.Tensor{DType: nn.Int8, Shape: []int{}, I8: []int8{-3}}
	return &Model{Graph: g, Calibration: &Calibration{
		Method: "percentile", Percentile: 99.99, Samples: 512, Source: "unit",
		Ranges: []Range{{Tensor: "x", Min: 0, Max: 1, Scale: 1.0 / 255, ZeroPoint: -128}},
	}}
}

func TestRoundTrip(t *testing.T) {
	m := testModel()
	b, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Hash() != m2.Hash() {
		t.Fatalf("hash changed: %s -> %s", m.Hash(), m2.Hash())
	}
	if !reflect.DeepEqual(m.Calibration, m2.Calibration) {
		t.Fatalf("calibration %+v -> %+v", m.Calibration, m2.Calibration)
	}
	for name, c := range m.Graph.Consts {
		c2 := m2.Graph.Consts[name]
		if !bytes.Equal(c.Bytes(), c2.Bytes()) || !slices.Equal(c.Shape, c2.Shape) || !reflect.DeepEqual(c.Quant, c2.Quant) {
			t.Fatalf("constant %s differs after the round trip", name)
		}
	}
	if m2.Graph.Meta["producer"] != "test" || m2.Graph.Opset != 17 || m2.Graph.Inputs[0].Type.Shape[0] != -1 {
		t.Fatalf("graph header lost: %+v", m2.Graph)
	}
	// The sparse constant is stored as bitmap+values: the file is smaller
	// than the dense bytes of the constants.
	dense := 0
	for _, c := range m.Graph.Consts {
		dense += len(c.Bytes())
	}
	if len(b) >= dense {
		t.Fatalf("file %d bytes, dense constants alone %d: sparse encoding not used", len(b), dense)
	}
	// Re-encoding is deterministic.
	b2, _ := Encode(m2)
	if !bytes.Equal(b, b2) {
		t.Fatal("re-encoding differs")
	}
	// Save/Load.
	path := filepath.Join(t.TempDir(), "m.sinf")
	if err := Save(path, m); err != nil {
		t.Fatal(err)
	}
	m3, err := Load(path)
	if err != nil || m3.Hash() != m.Hash() {
		t.Fatalf("load: %v", err)
	}
}

func TestSubgraphHash(t *testing.T) {
	m := testModel()
	g := m.Graph
	head := SubgraphHash(g, []int{0, 1})
	tail := SubgraphHash(g, []int{2})
	if head == tail || head == m.Hash() {
		t.Fatal("sub-graph hashes collide")
	}
	// Same halves after a round trip, and a changed weight changes only the head.
	b, _ := Encode(m)
	m2, _ := Decode(b)
	if SubgraphHash(m2.Graph, []int{0, 1}) != head || SubgraphHash(m2.Graph, []int{2}) != tail {
		t.Fatal("sub-graph hash not stable across the file")
	}
	m2.Graph.Consts["w"].I8[0]++
	if SubgraphHash(m2.Graph, []int{0, 1}) == head || SubgraphHash(m2.Graph, []int{2}) != tail {
		t.Fatal("weight change not reflected in the head hash only")
	}
}

func TestMalformed(t *testing.T) {
	b, err := Encode(testModel())
	if err != nil {
		t.Fatal(err)
	}
	resum := func(x []byte) []byte {
		s := sha256.Sum256(x[headerLen:])
		copy(x[20:52], s[:])
		return x
	}
	cases := map[string]struct {
		data []byte
		want error
	}{
		"empty":       {nil, ErrTrunc},
		"header cut":  {b[:30], ErrTrunc},
		"payload cut": {b[:len(b)-10], ErrTrunc},
		"trailing":    {append(append([]byte(nil), b...), 0), ErrFormat},
		"magic":       {append([]byte("ONNX...."), b[8:]...), ErrFormat},
		"version": {func() []byte {
			x := append([]byte(nil), b...)
			x[8] = 9
			return x
		}(), ErrVersion},
		"tampered byte": {func() []byte {
			x := append([]byte(nil), b...)
			x[len(x)/2] ^= 1
			return x
		}(), ErrChecksum},
		// Tampered weight with a recomputed checksum: the stored content hash catches it.
		"tampered weight, checksum fixed": {func() []byte {
			x := append([]byte(nil), b...)
			w := testModel().Graph.Consts["w"].Bytes()
			i := bytes.Index(x, w)
			if i < 0 {
				panic("weights not found in the file")
			}
			x[i+5] ^= 0x40
			return resum(x)
		}(), ErrChecksum},
	}
	for name, c := range cases {
		_, err := Decode(c.data)
		if err == nil {
			t.Errorf("%s: decoded", name)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", name, err, c.want)
		}
		t.Logf("%s: %v", name, err)
	}
	// Every truncation point fails cleanly.
	for i := 0; i < len(b); i += 7 {
		if _, err := Decode(b[:i]); err == nil {
			t.Fatalf("truncated at %d: decoded", i)
		}
	}
}

func FuzzReadSinf(f *testing.F) {
	b, err := Encode(testModel())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:headerLen])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The fuzzer rarely matches the checksum, so also decode the data
		// as a payload behind a valid header.
		for _, in := range [][]byte{data, withHeader(data)} {
			m, err := Decode(in)
			if err != nil {
				continue
			}
			out, err := Encode(m)
			if err != nil {
				t.Fatalf("decoded model does not re-encode: %v", err)
			}
			m2, err := Decode(out)
			if err != nil || m2.Hash() != m.Hash() {
				t.Fatalf("re-decode: %v", err)
			}
		}
	})
}

func withHeader(payload []byte) []byte {
	var w writer
	w.b.WriteString(Magic)
	w.b.Write([]byte{1, 0, 0, 0})
	w.u64(uint64(len(payload)))
	s := sha256.Sum256(payload)
	w.b.Write(s[:])
	w.b.Write(payload)
	return w.b.Bytes()
}
