package pipeline

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
)

// imageRequests encodes the first n MNIST test images as input image
// requests of the fixture's model.
func imageRequests(t testing.TB, f *compactFixture, n int) [][]byte {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	e := RequestEncoder{Model: ModelHash(f.prog.Graph()), Compact: f.cc}
	in := f.prog.Inputs()[0]
	var out [][]byte
	for i := 0; i < n; i++ {
		x, _ := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
		enc, err := e.Encode(e.NewID(in), []string{in}, []*nn.Tensor{x}, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, enc.Body)
	}
	return out
}

// TestImageCut: the bundled model (which declares MNIST's preprocessing)
// has the input image cut at index 0; an MNIST test input goes as a
// compact request carrying a 28x28 PNG, much smaller than the float32
// tensor, and the cloud's decode gives the input back bit for bit. An
// input that is no 8-bit image goes as computed.
func TestImageCut(t *testing.T) {
	f := newCompactFixture(t, 0)
	in := f.prog.Inputs()[0]
	if !f.cc.Has(in) {
		t.Fatalf("no image cut at the input %q", in)
	}
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	e := RequestEncoder{Model: ModelHash(f.prog.Graph()), Compact: f.cc}
	const n = 200
	total := 0
	for i := 0; i < n; i++ {
		x, _ := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
		id := e.NewID(in)
		enc, err := e.Encode(id, []string{in}, []*nn.Tensor{x}, time.Now().Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if !enc.Compact || enc.HeaderBytes < 26 || enc.HeaderBytes > 27 || enc.Elements != 1024 { // 27 with a payload of 256 bytes or more (bin16)
			t.Fatalf("image %d: compact %v, header %d, elements %d", i, enc.Compact, enc.HeaderBytes, enc.Elements)
		}
		if size, err := e.Size([]string{in}, []*nn.Tensor{x}); err != nil || size != len(enc.Body) {
			t.Fatalf("image %d: Size %d (%v), sent %d", i, size, err, len(enc.Body))
		}
		total += len(enc.Body)
		var r compactRequest
		if err := msgpack.Unmarshal(enc.Body, &r); err != nil || r.Cut != 0 {
			t.Fatalf("cut index %d, %v", r.Cut, err)
		}
		if cfg, err := png.DecodeConfig(bytes.NewReader(r.Data)); err != nil || cfg.Width != 28 || cfg.Height != 28 {
			t.Fatalf("payload: %+v, %v; want a 28x28 PNG", cfg, err)
		}
		req, err := DecodeCompactRequest(enc.Body, Limits{}, time.Now(), f.lookup)
		if err != nil {
			t.Fatal(err)
		}
		back, err := req.Tensors[0].ToNN()
		if err != nil {
			t.Fatal(err)
		}
		if req.Cut != in || back.DType != nn.Float32 || back.Len() != x.Len() {
			t.Fatalf("decoded cut %q, %v", req.Cut, back.Type())
		}
		for j, v := range x.F32 {
			if back.F32[j] != v {
				t.Fatalf("image %d element %d: %v, sent %v", i, j, back.F32[j], v)
			}
		}
	}
	mean := float64(total) / n
	t.Logf("input image cut: %.1f bytes per request on %d MNIST test images (float32 input: 4,096)", mean, n)
	if mean > 400 {
		t.Errorf("mean request %.1f bytes, want a PNG's few hundred", mean)
	}
	noise := nn.New(nn.Float32, 1, 1, mnist.Rows, mnist.Cols)
	for i := range noise.F32 {
		noise.F32[i] = float32(i%7) / 10
	}
	id := e.NewID(in)
	enc, err := e.Encode(id, []string{in}, []*nn.Tensor{noise}, time.Time{})
	if err != nil || enc.Compact || IsCompact(enc.Body) {
		t.Fatalf("an input no image makes: compact %v, %v; want it sent as computed", enc.Compact, err)
	}
	req, err := DecodeRequest(enc.Body, Limits{})
	if err != nil || req.ID != id {
		t.Fatalf("as computed: %+v, %v", req, err)
	}
}

// TestImageCutRejects: the cloud decodes only a PNG of exactly the
// declared size, checked from the header before any pixel is decoded.
func TestImageCutRejects(t *testing.T) {
	f := newCompactFixture(t, 0)
	good := imageRequests(t, f, 1)[0]
	var r compactRequest
	if err := msgpack.Unmarshal(good, &r); err != nil {
		t.Fatal(err)
	}
	with := func(data []byte) []byte {
		c := r
		c.Data = data
		b, err := msgpack.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	img := func(w, h int) image.Image { return image.NewGray(image.Rect(0, 0, w, h)) }
	var big, small, jp bytes.Buffer
	_ = png.Encode(&big, img(4000, 4000)) // 16 Mpixels declared, a few KB
	_ = png.Encode(&small, img(27, 28))
	_ = jpeg.Encode(&jp, img(28, 28), nil)
	for _, tc := range []struct {
		name, msg string
		data      []byte
	}{
		{"huge", "4000x4000", big.Bytes()},
		{"wrong size", "27x28", small.Bytes()},
		{"jpeg", "jpeg", jp.Bytes()},
		{"not an image", "not a PNG", []byte("hello")},
		{"truncated", "not a PNG", r.Data[:len(r.Data)/2]},
	} {
		_, err := DecodeCompactRequest(with(tc.data), Limits{}, time.Now(), f.lookup)
		e := AsError(err)
		if e == nil || e.Code != CodeBadRequest || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %v, want a 400 mentioning %q", tc.name, err, tc.msg)
		}
	}
}

// TestImageCutWithCodecs: activation codecs fitted at the input quantize
// the image: they join the PNG at the input cut, which stays the default
// (lossless), and the edge picks a width with Bits.
func TestImageCutWithCodecs(t *testing.T) {
	g, prog := defaultModel(t)
	in := prog.Inputs()[0]
	prog, cc, x := attachCodecs(t, g, prog, in, 1, 2)
	cuts := cc.Cuts()
	if len(cuts) < 1 || cuts[0].Tensor != in || !cuts[0].Image || len(cuts[0].Widths) != 2 {
		t.Fatalf("compact cuts %+v, want the input as an image with widths [1 2]", cuts)
	}
	lookup := func([]byte) *CompactCuts { return cc }
	one := x(0, 1)
	sizes := map[int]int{}
	for _, bits := range []int{0, 1, 2} {
		e := RequestEncoder{Model: ModelHash(g), Compact: cc, Bits: bits}
		enc, err := e.Encode(NewCompactID(), []string{in}, []*nn.Tensor{one}, time.Time{})
		if err != nil || !enc.Compact {
			t.Fatalf("%d bits: compact %v, %v", bits, enc.Compact, err)
		}
		var r compactRequest
		if err := msgpack.Unmarshal(enc.Body, &r); err != nil {
			t.Fatal(err)
		}
		if _, err := png.DecodeConfig(bytes.NewReader(r.Data)); (err == nil) != (bits == 0) {
			t.Errorf("%d bits: payload a PNG: %v", bits, err == nil)
		}
		req, err := DecodeCompactRequest(enc.Body, Limits{}, time.Now(), lookup)
		if err != nil {
			t.Fatalf("%d bits: %v", bits, err)
		}
		back, _ := req.Tensors[0].ToNN()
		if bits == 0 && back.F32[300] != one.F32[300] {
			t.Errorf("the PNG is not lossless")
		}
		sizes[bits] = len(enc.Body)
	}
	if !(sizes[1] < sizes[2] && sizes[2] < sizes[0]) {
		t.Errorf("request bytes by width %v: want 1 bit < 2 bits < the PNG", sizes)
	}
}
