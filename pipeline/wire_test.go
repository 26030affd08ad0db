package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/splitinfer/splitinfer/nn"
)

func f32Tensor(name string, shape []int64, vals ...float32) Tensor {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: "float32", Shape: shape, Data: b}
}

func validRequest() *Request {
	return &Request{
		ID: "req-1", Model: "abc", Cut: "pool2", Deadline: 12345,
		Tensors: []Tensor{
			f32Tensor("pool2", []int64{1, 2, 2}, 1, 2, 3, 4),
			{Name: "q", DType: "int8", Shape: []int64{3}, Scale: []float32{0.5}, ZeroPoint: []int32{-3}, Data: []byte{1, 0xff, 7}},
		},
	}
}

func TestRequestRoundTrip(t *testing.T) {
	for _, codec := range []Codec{CodecNone, CodecZstd} {
		t.Run(string(codec), func(t *testing.T) {
			r := validRequest()
			r.Codec = codec
			b, err := EncodeRequest(r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(b, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := validRequest()
			want.Version = Version
			want.Codec = codec
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestReplyRoundTrip(t *testing.T) {
	r := &Reply{ID: "x", Codec: CodecZstd, Outputs: []Tensor{f32Tensor("logits", []int64{1, 2}, -1, 1)}, Worker: "w1", QueueNs: 5, ComputeNs: 7}
	b, err := EncodeReply(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeReply(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Err() != nil || got.Worker != "w1" || got.ComputeNs != 7 || !bytes.Equal(got.Outputs[0].Data, r.Outputs[0].Data) {
		t.Errorf("reply round trip: %+v", got)
	}
	e := &Reply{ID: "y", Code: CodeModelMismatch, Message: "hash"}
	b, _ = EncodeReply(e)
	got, err = DecodeReply(b, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(got.Err(), ErrModelMismatch) {
		t.Errorf("error reply decoded as %v", got.Err())
	}
}

// heapGrowth runs f and reports how much the heap grew while it ran.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func encodeRaw(t *testing.T, v any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRequestRejects(t *testing.T) {
	nest := bytes.Repeat([]byte{0x91}, 1<<20)
	nest = append(nest, 0xc0)
	mapNest := append([]byte{0x81, 0xa2, 'i', 'd'}, nest...)

	mk := func(mut func(r *Request)) []byte {
		r := validRequest()
		r.Version = Version
		mut(r)
		return encodeRaw(t, r)
	}
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	bomb := zw.EncodeAll(make([]byte, 64<<20), nil) // 64 MiB of zeros in a few KiB
	zw.Close()
	tests := []struct {
		name string
		msg  []byte
		code Code
	}{
		{"array32 bomb", []byte{0xdd, 0xff, 0xff, 0xff, 0xff}, CodeBadRequest},
		{"map32 bomb", []byte{0xdf, 0xff, 0xff, 0xff, 0xff}, CodeBadRequest},
		{"array32 bomb in map", []byte{0x81, 0xa7, 't', 'e', 'n', 's', 'o', 'r', 's', 0xdd, 0xff, 0xff, 0xff, 0xff}, CodeBadRequest},
		{"map32 bomb in map", []byte{0x81, 0xa7, 't', 'e', 'n', 's', 'o', 'r', 's', 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff}, CodeBadRequest},
		{"bin32 bomb in map", []byte{0x81, 0xa2, 'i', 'd', 0xc6, 0xff, 0xff, 0xff, 0xff}, CodeBadRequest},
		{"str32 bomb in map", []byte{0x81, 0xa2, 'i', 'd', 0xdb, 0x7f, 0xff, 0xff, 0xff}, CodeBadRequest},
		{"1 MiB nest of arrays", nest, CodeBadRequest},
		{"1 MiB nest in a map", mapNest, CodeBadRequest},
		{"empty", nil, CodeBadRequest},
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), CodeBadRequest},
		{"invalid byte", []byte{0x81, 0xc1, 0xc0}, CodeBadRequest},
		{"trailing bytes", append(mk(func(*Request) {}), 0x00), CodeBadRequest},
		{"truncated", mk(func(*Request) {})[:40], CodeBadRequest},
		{"too large", make([]byte, DefaultLimits.MaxMessageBytes+1), CodeTooLarge},
		{"shape disagrees with data", mk(func(r *Request) { r.Tensors[0].Shape = []int64{1, 2, 3} }), CodeBadRequest},
		{"data disagrees with shape", mk(func(r *Request) { r.Tensors[0].Data = r.Tensors[0].Data[:12] }), CodeBadRequest},
		{"negative dim", mk(func(r *Request) { r.Tensors[0].Shape = []int64{-1, -4} }), CodeBadRequest},
		{"huge shape", mk(func(r *Request) { r.Tensors[0].Shape = []int64{1 << 30, 1 << 30, 1 << 30} }), CodeTooLarge},
		{"rank", mk(func(r *Request) { r.Tensors[0].Shape = []int64{1, 1, 1, 1, 1, 1, 1, 1, 4} }), CodeBadRequest},
		{"dtype", mk(func(r *Request) { r.Tensors[0].DType = "float64" }), CodeBadRequest},
		{"version", mk(func(r *Request) { r.Version = 99 }), CodeBadRequest},
		{"no id", mk(func(r *Request) { r.ID = "" }), CodeBadRequest},
		{"no tensors", mk(func(r *Request) { r.Tensors = nil }), CodeBadRequest},
		{"codec", mk(func(r *Request) { r.Codec = "lz4" }), CodeBadRequest},
		{"scale count", mk(func(r *Request) { r.Tensors[1].Scale = []float32{1, 2} }), CodeBadRequest},
		{"zero scale", mk(func(r *Request) { r.Tensors[1].Scale = []float32{0} }), CodeBadRequest},
		{"NaN scale", mk(func(r *Request) { r.Tensors[1].Scale = []float32{float32(math.NaN())} }), CodeBadRequest},
		{"zero point range", mk(func(r *Request) { r.Tensors[1].ZeroPoint = []int32{200} }), CodeBadRequest},
		{"float with scale", mk(func(r *Request) { r.Tensors[0].Scale = []float32{1}; r.Tensors[0].ZeroPoint = []int32{0} }), CodeBadRequest},
		{"zstd garbage", mk(func(r *Request) { r.Codec = CodecZstd }), CodeBadRequest},
		{"zstd bomb", mk(func(r *Request) {
			r.Codec = CodecZstd
			r.Tensors = []Tensor{{Name: "x", DType: "uint8", Shape: []int64{16}, Data: bomb}}
		}), CodeBadRequest},
		{"decoded too large", mk(func(r *Request) {
			r.Codec = CodecZstd
			r.Tensors = []Tensor{{Name: "x", DType: "uint8", Shape: []int64{128 << 20}, Data: bomb}}
		}), CodeTooLarge},
		{"wrong top-level type", encodeRaw(t, []int{1, 2}), CodeBadRequest},
		{"field of wrong type", encodeRaw(t, map[string]any{"v": 1, "id": "a", "tensors": "x"}), CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			grew := heapGrowth(func() { _, err = DecodeRequest(tc.msg, Limits{}) })
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is not a *pipeline.Error", err)
			}
			if e.Code != tc.code {
				t.Errorf("code %d (%v), want %d", e.Code, err, tc.code)
			}
			if limit := uint64(len(tc.msg))*4 + 1<<20; grew > limit {
				t.Errorf("decoding %d bytes allocated %d bytes (limit %d)", len(tc.msg), grew, limit)
			}
		})
	}
}

func TestPrecheckAccepts(t *testing.T) {
	vals := []any{
		nil, true, 1, -1, 300, -300, 70000, -70000, int64(1) << 40, uint64(1) << 63, 1.5, float32(2.5),
		"", "short", string(make([]byte, 300)), string(make([]byte, 70000)),
		[]byte{1, 2}, make([]byte, 300), make([]byte, 70000),
		[]int{}, make([]int, 20), make([]int, 300), map[string]int{"a": 1},
		map[string][]string{"a": {"b", "c"}},
	}
	for _, v := range vals {
		b := encodeRaw(t, v)
		if err := Precheck(b, 4, 1<<20); err != nil {
			t.Errorf("Precheck(%T) = %v", v, err)
		}
	}
	// Extensions (a time.Time uses ext -1).
	var ext bytes.Buffer
	enc := msgpack.NewEncoder(&ext)
	_ = enc.EncodeExtHeader(5, 3)
	ext.Write([]byte{1, 2, 3})
	if err := Precheck(ext.Bytes(), 4, 16); err != nil {
		t.Errorf("ext8: %v", err)
	}
	for _, n := range []int{1, 2, 4, 8, 16} {
		b := append([]byte{map[int]byte{1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8}[n], 1}, make([]byte, n)...)
		if err := Precheck(b, 4, 16); err != nil {
			t.Errorf("fixext%d: %v", n, err)
		}
		if err := Precheck(b[:len(b)-1], 4, 16); err == nil {
			t.Errorf("truncated fixext%d accepted", n)
		}
	}
	// The pre-check alone stops the bombs, whatever the container limit.
	for _, bomb := range [][]byte{
		{0xdd, 0xff, 0xff, 0xff, 0xff},
		{0xdf, 0xff, 0xff, 0xff, 0xff},
		append(bytes.Repeat([]byte{0x91}, 1<<20), 0xc0),
		append(bytes.Repeat([]byte{0xdc, 0x00, 0x01}, 1<<18), 0xc0),
	} {
		if err := Precheck(bomb, 6, 1<<30); !errors.Is(err, ErrBadRequest) {
			t.Errorf("Precheck(% x...) = %v", bomb[:min(len(bomb), 6)], err)
		}
	}
	if err := Precheck(encodeRaw(t, make([]int, 300)), 4, 100); err == nil {
		t.Error("array above maxLen accepted")
	}
	if err := Precheck(encodeRaw(t, [][][]int{{{1}}}), 2, 100); err == nil {
		t.Error("nesting above maxDepth accepted")
	}
}

func TestTensorConversions(t *testing.T) {
	x, _ := nn.FromFloat32([]float32{-1, 0, 0.5, 2, 3, -0.25}, 1, 2, 3)
	w, err := FromNN("x", x)
	if err != nil {
		t.Fatal(err)
	}
	back, err := w.ToNN()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.F32, x.F32) || !reflect.DeepEqual(back.Shape, x.Shape) {
		t.Errorf("float32 round trip: %v %v", back.Shape, back.F32)
	}
	for _, dt := range []nn.DType{nn.Uint8, nn.Int8} {
		q, err := Quantize("x", x, dt)
		if err != nil {
			t.Fatal(err)
		}
		if len(q.Data) != 6 || q.DType != dt.String() {
			t.Fatalf("%v: quantized to %d bytes of %s", dt, len(q.Data), q.DType)
		}
		d, err := q.ToNN()
		if err != nil {
			t.Fatal(err)
		}
		step := q.Scale[0]
		for i, v := range x.F32 {
			if diff := math.Abs(float64(d.F32[i] - v)); diff > float64(step)/2+1e-6 {
				t.Errorf("%v: element %d: %v back as %v (step %v)", dt, i, v, d.F32[i], step)
			}
		}
		if d.F32[1] != 0 {
			t.Errorf("%v: zero is not exact: %v", dt, d.F32[1])
		}
	}
	i8 := nn.New(nn.Int8, 2, 2)
	i8.I8[0], i8.I8[3] = -5, 7
	i8.Quant = &nn.Quant{Scale: []float32{0.1, 0.2}, ZeroPoint: []int32{0, 1}, Axis: 0}
	w, err = FromNN("i", i8)
	if err != nil {
		t.Fatal(err)
	}
	back, err = w.ToNN()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.I8, i8.I8) || !reflect.DeepEqual(back.Quant, i8.Quant) {
		t.Errorf("int8 per-channel round trip: %v %+v", back.I8, back.Quant)
	}
	if _, err := FromNN("l", nn.New(nn.Int64, 2)); !errors.Is(err, ErrBadRequest) {
		t.Errorf("int64 tensor: %v", err)
	}
	bad := Tensor{Name: "b", DType: "float32", Shape: []int64{3}, Data: make([]byte, 8)}
	if _, err := bad.ToNN(); !errors.Is(err, ErrBadRequest) {
		t.Errorf("short data: %v", err)
	}
}

func TestErrorHeaders(t *testing.T) {
	h := ErrorHeaders(Errorf(CodeQueueFull, "queue of %d full", 4))
	if h.Get("Nats-Service-Error-Code") != "503" || h.Get("Nats-Service-Error") != "queue of 4 full" {
		t.Errorf("headers %v", h)
	}
	e := ErrorFromHeaders(h)
	if !errors.Is(e, ErrQueueFull) || errors.Is(e, ErrDeadline) {
		t.Errorf("from headers: %v", e)
	}
	if ErrorFromHeaders(nil) != nil {
		t.Error("no headers gave an error")
	}
	if e := AsError(errors.New("boom")); e.Code != CodeInternal {
		t.Errorf("plain error became %v", e)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, codec := range []Codec{CodecNone, CodecZstd} {
		r := validRequest()
		r.Codec = codec
		b, _ := EncodeRequest(r)
		f.Add(b)
	}
	f.Add([]byte{0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x91, 0x91, 0x91, 0xc0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b, Limits{MaxMessageBytes: 1 << 16, MaxDecodedBytes: 1 << 20})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		for i := range r.Tensors {
			if _, err := r.Tensors[i].ToNN(); err != nil {
				t.Fatalf("decoded tensor does not convert: %v", err)
			}
		}
		r.Codec = CodecNone
		b2, err := EncodeRequest(r)
		if err != nil {
			t.Fatalf("decoded request does not re-encode: %v", err)
		}
		r2, err := DecodeRequest(b2, Limits{})
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if r2.ID != r.ID || len(r2.Tensors) != len(r.Tensors) {
			t.Fatalf("re-encode changed the request")
		}
	})
}

func FuzzDecodeReply(f *testing.F) {
	b, _ := EncodeReply(&Reply{ID: "a", Outputs: []Tensor{f32Tensor("y", []int64{2}, 1, 2)}})
	f.Add(b)
	b, _ = EncodeReply(&Reply{ID: "a", Code: CodeDeadline, Message: "late"})
	f.Add(b)
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeReply(b, Limits{MaxMessageBytes: 1 << 16, MaxDecodedBytes: 1 << 20})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if r.Err() == nil {
			for i := range r.Outputs {
				if _, err := r.Outputs[i].ToNN(); err != nil {
					t.Fatalf("decoded output does not convert: %v", err)
				}
			}
		}
	})
}

func TestAsErrorKeepsDetail(t *testing.T) {
	_, err := DecodeRequest([]byte{0x81, 0xa2, 'i', 'd', 0xdd, 0xff, 0xff, 0xff, 0xff}, Limits{})
	e := AsError(err)
	if e.Code != CodeBadRequest || !strings.Contains(e.Message, "4294967295 elements") || strings.HasPrefix(e.Message, "pipeline:") {
		t.Errorf("AsError = %+v", e)
	}
	if AsError(ErrDeadline) != ErrDeadline {
		t.Error("an unwrapped *Error is not returned as is")
	}
}

func TestParseWire(t *testing.T) {
	for s, want := range map[string]nn.DType{"": nn.Undefined, "float32": nn.Undefined, "uint8": nn.Uint8, "int8": nn.Int8} {
		if got, err := ParseWire(s); err != nil || got != want {
			t.Errorf("ParseWire(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if _, err := ParseWire("int4"); !errors.Is(err, ErrBadRequest) {
		t.Errorf("ParseWire(int4): %v", err)
	}
}
