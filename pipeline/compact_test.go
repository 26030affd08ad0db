package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
)

// compactFixture is the bundled model (it carries a codec at its early
// cut), its compact cuts and the head's output for a few test images.
type compactFixture struct {
	prog  *nn.Program
	cc    *CompactCuts
	cut   string
	heads []*nn.Tensor
}

// defaultModel is the bundled model (a copy of its graph) and its program.
func defaultModel(t testing.TB) (*nn.Graph, *nn.Program) {
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	return g, prog
}

func newCompactFixture(t testing.TB, n int) *compactFixture {
	_, prog := defaultModel(t)
	cc, err := NewCompactCuts(prog)
	if err != nil || cc == nil {
		t.Fatalf("NewCompactCuts: %v, %v (the bundled model carries a codec)", cc, err)
	}
	cut, err := EarlyCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	if !cc.Has(cut) {
		t.Fatalf("no codec at the early cut %q", cut)
	}
	split, err := NewSplit(prog, []string{cut})
	if err != nil {
		t.Fatal(err)
	}
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	f := &compactFixture{prog: prog, cc: cc, cut: cut}
	r := split.Head.NewRunner(1)
	for i := 0; i < n; i++ {
		x, _ := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
		out, err := r.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		f.heads = append(f.heads, out[0].Clone())
	}
	return f
}

func (f *compactFixture) lookup(prefix []byte) *CompactCuts {
	if f.cc.Matches(prefix) {
		return f.cc
	}
	return nil
}

// TestCompactRequest: a compact request is a 26-byte header and the coded
// activations; Size is what Encode sends; the cloud's decode gives the
// model's full hash, the cut's tensor name and the activations the codec
// reconstructs, in the cut's int8 quantization; the deadline travels as
// the time left.
func TestCompactRequest(t *testing.T) {
	f := newCompactFixture(t, 20)
	e := RequestEncoder{Model: ModelHash(f.prog.Graph()), Compact: f.cc}
	codec, err := actcode.Lookup(f.prog.Graph(), f.cut)
	if err != nil {
		t.Fatal(err)
	}
	dec := codec.NewDecoder()
	enc := codec.NewEncoder()
	vals := make([]float32, codec.Elements())
	for i, h := range f.heads {
		id := e.NewID(f.cut)
		if len(id) != 16 {
			t.Fatalf("compact id %q", id)
		}
		now := time.Now()
		got, err := e.Encode(id, []string{f.cut}, []*nn.Tensor{h}, now.Add(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Compact || got.HeaderBytes != 26 || got.PayloadBytes+got.HeaderBytes != len(got.Body) || got.Elements != 2048 {
			t.Fatalf("image %d: compact %v, header %d + payload %d for %d bytes, %d elements", i, got.Compact, got.HeaderBytes, got.PayloadBytes, len(got.Body), got.Elements)
		}
		if n, err := e.Size([]string{f.cut}, []*nn.Tensor{h}); err != nil || n != len(got.Body) {
			t.Errorf("image %d: Size %d (%v), sent %d", i, n, err, len(got.Body))
		}
		if !IsCompact(got.Body) {
			t.Fatal("IsCompact false for a compact request")
		}
		req, err := DecodeCompactRequest(got.Body, Limits{}, now, f.lookup)
		if err != nil {
			t.Fatal(err)
		}
		if req.ID != id || req.Model != ModelHash(f.prog.Graph()) || req.Cut != f.cut || len(req.Tensors) != 1 || !req.Compact {
			t.Fatalf("decoded %+v", req)
		}
		if dl := req.DeadlineTime(); dl.Before(now.Add(9*time.Second)) || dl.After(now.Add(10*time.Second+time.Millisecond)) {
			t.Errorf("deadline %v after sending, want about 10s", dl.Sub(now))
		}
		back, err := req.Tensors[0].ToNN()
		if err != nil {
			t.Fatal(err)
		}
		if back.DType != nn.Int8 || back.Quant == nil || back.Quant.Scale[0] != h.Quant.Scale[0] || back.Len() != h.Len() {
			t.Fatalf("decoded tensor %v, quant %+v; sent %v %+v", back.Type(), back.Quant, h.Type(), h.Quant)
		}
		// What the cloud gets is the codec's reconstruction.
		if err := actcode.RealValues(h, vals); err != nil {
			t.Fatal(err)
		}
		msg, _ := enc.Encode(vals)
		if err := dec.Decode(msg, vals); err != nil {
			t.Fatal(err)
		}
		want := nn.New(nn.Int8, h.Shape...)
		want.Quant = h.Quant
		if err := actcode.SetRealValues(want, vals); err != nil {
			t.Fatal(err)
		}
		for j := range want.I8 {
			if want.I8[j] != back.I8[j] {
				t.Fatalf("image %d element %d: %d, the codec gives %d", i, j, back.I8[j], want.I8[j])
			}
		}
	}
	// A non-compact id is refused, not sent.
	if _, err := e.Encode(NewRequestID(), []string{f.cut}, f.heads[:1], time.Time{}); !errors.Is(err, ErrBadRequest) {
		t.Errorf("nuid id on a compact cut: %v, want ErrBadRequest", err)
	}
}

// TestBudgetCode: a deadline travels in one byte as the largest budget
// not above the time left, within 10% of it (or 1 ms), up to the scale's
// end.
func TestBudgetCode(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, 0, time.Millisecond, 7 * time.Millisecond, 30 * time.Millisecond,
		999 * time.Millisecond, 10 * time.Second, time.Minute, time.Hour} {
		k := budgetCode(d)
		if k < 1 || k >= len(budgetMs) {
			t.Fatalf("%v: code %d", d, k)
		}
		got := time.Duration(budgetMs[k]) * time.Millisecond
		want := max(d, time.Millisecond)
		if end := time.Duration(budgetMs[len(budgetMs)-1]) * time.Millisecond; want > end {
			want = end
		}
		if got > want || (got < want-want/10 && want-got > time.Millisecond) {
			t.Errorf("%v: code %d stands for %v", d, k, got)
		}
	}
	if end := time.Duration(budgetMs[len(budgetMs)-1]) * time.Millisecond; end < 5*time.Minute {
		t.Errorf("the scale ends at %v", end)
	}
}

// TestCompactRequestRejects: each way a compact request can be wrong gets
// its code and a message naming the cause.
func TestCompactRequestRejects(t *testing.T) {
	f := newCompactFixture(t, 1)
	e := RequestEncoder{Model: ModelHash(f.prog.Graph()), Compact: f.cc}
	good, err := e.Encode(NewCompactID(), []string{f.cut}, f.heads, time.Now().Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var r compactRequest
	if err := msgpack.Unmarshal(good.Body, &r); err != nil {
		t.Fatal(err)
	}
	remarshal := func(change func(*compactRequest)) []byte {
		c := r
		change(&c)
		b, err := msgpack.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		b    []byte
		lim  Limits
		code Code
		msg  string
	}{
		{"other model", remarshal(func(c *compactRequest) { c.Tag = newTag(c.id(), []byte("123456"), c.codec()) }), Limits{}, CodeModelMismatch, "not served"},
		{"other codec tables", remarshal(func(c *compactRequest) { c.Tag = newTag(c.id(), c.model(), c.codec()+1) }), Limits{}, CodeModelMismatch, "codec"},
		{"cut without codec", remarshal(func(c *compactRequest) { c.Cut = 1 }), Limits{}, CodeBadRequest, "no compact coding"},
		{"version", remarshal(func(c *compactRequest) { c.Version = 2 }), Limits{}, CodeBadRequest, "version"},
		{"short tag", remarshal(func(c *compactRequest) { c.Tag = c.Tag[:17] }), Limits{}, CodeBadRequest, "tag"},
		{"negative budget", remarshal(func(c *compactRequest) { c.Budget = -1 }), Limits{}, CodeBadRequest, "budget"},
		{"budget code past the scale", remarshal(func(c *compactRequest) { c.Budget = 128 }), Limits{}, CodeBadRequest, "budget"},
		{"oversized data", remarshal(func(c *compactRequest) { c.Data = make([]byte, 5000) }), Limits{}, CodeBadRequest, "bytes"},
		{"truncated", good.Body[:len(good.Body)-3], Limits{}, CodeBadRequest, "msgpack"},
		{"trailing", append(append([]byte(nil), good.Body...), 0), Limits{}, CodeBadRequest, "trailing"},
		{"too large", good.Body, Limits{MaxMessageBytes: 50}, CodeTooLarge, "limit"},
		{"a map", []byte{0x80}, Limits{}, CodeBadRequest, "not a compact"},
	} {
		_, err := DecodeCompactRequest(tc.b, tc.lim, time.Now(), f.lookup)
		e := AsError(err)
		if e == nil || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: %v, want code %d mentioning %q", tc.name, err, tc.code, tc.msg)
		}
	}
	// Cuts without a codec still go as version 1 requests.
	other := Cuts(f.prog)[1].Tensor
	split, err := NewSplit(f.prog, []string{other})
	if err != nil {
		t.Fatal(err)
	}
	x := nn.New(nn.Float32, 1, 1, mnist.Rows, mnist.Cols)
	mid, err := split.Head.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	id := e.NewID(other)
	v1, err := e.Encode(id, []string{other}, mid, time.Time{})
	if err != nil || v1.Compact || IsCompact(v1.Body) || len(id) != 22 {
		t.Fatalf("cut %q without codec: compact %v, id %q, %v", other, v1.Compact, id, err)
	}
	if _, err := DecodeRequest(v1.Body, Limits{}); err != nil {
		t.Fatal(err)
	}
}

func FuzzDecodeCompactRequest(f *testing.F) {
	fx := newCompactFixture(f, 3)
	e := RequestEncoder{Model: ModelHash(fx.prog.Graph()), Compact: fx.cc}
	for _, h := range fx.heads {
		enc, err := e.Encode(NewCompactID(), []string{fx.cut}, []*nn.Tensor{h}, time.Now().Add(time.Second))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc.Body)
	}
	for _, b := range imageRequests(f, fx, 3) {
		f.Add(b)
	}
	f.Add([]byte{0x97, 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := DecodeCompactRequest(b, Limits{MaxMessageBytes: 1 << 16}, time.Now(), fx.lookup)
		if err != nil {
			if AsError(err).Code == CodeInternal {
				t.Fatalf("internal error on input: %v", err)
			}
			return
		}
		if len(req.Tensors) != 1 {
			t.Fatalf("%d tensors", len(req.Tensors))
		}
		if _, err := req.Tensors[0].ToNN(); err != nil {
			t.Fatalf("accepted request's tensor does not convert: %v", err)
		}
	})
}

// TestCompactWidths: a model whose tuning record keeps several widths
// lets the edge send any of them (RequestEncoder.Bits) and the cloud
// decode each by its fingerprint; a width the record lacks is refused.
func TestCompactWidths(t *testing.T) {
	g, prog := defaultModel(t)
	cut, err := EarlyCut(prog)
	if err != nil {
		t.Fatal(err)
	}
	prog, cc, x := attachCodecs(t, g, prog, cut, 2, 4)
	_, codecs, err := actcode.LookupRecord(g, cut)
	if err != nil || len(codecs) != 2 {
		t.Fatalf("record: %d codecs, %v", len(codecs), err)
	}
	split, err := NewSplit(prog, []string{cut})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := split.Head.NewRunner(1).Run(x(0, 1))
	if err != nil {
		t.Fatal(err)
	}
	lookup := func([]byte) *CompactCuts { return cc }
	for i, bits := range []int{2, 4} {
		e := RequestEncoder{Model: ModelHash(g), Compact: cc, Bits: bits}
		enc, err := e.Encode(NewCompactID(), []string{cut}, mid, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		var r compactRequest
		if err := msgpack.Unmarshal(enc.Body, &r); err != nil || r.codec() != codecs[i].Fingerprint() {
			t.Fatalf("%d bits: fingerprint %08x, want %08x (%v)", bits, r.codec(), codecs[i].Fingerprint(), err)
		}
		if _, err := DecodeCompactRequest(enc.Body, Limits{}, time.Now(), lookup); err != nil {
			t.Fatalf("%d bits: %v", bits, err)
		}
	}
	e := RequestEncoder{Model: ModelHash(g), Compact: cc, Bits: 3}
	if _, err := e.Encode(NewCompactID(), []string{cut}, mid, time.Time{}); !errors.Is(err, ErrBadRequest) || !strings.Contains(err.Error(), "[2 4]") {
		t.Errorf("3 bits: %v, want a 400 listing the widths", err)
	}
}

// attachCodecs tunes codecs of the given widths at cut of g (prog is g
// compiled) on MNIST test images (a fixture) and returns g compiled
// again, its compact cuts and a batch maker for MNIST test images.
func attachCodecs(t testing.TB, g *nn.Graph, prog *nn.Program, cut string, bits ...int) (*nn.Program, *CompactCuts, func(lo, hi int) *nn.Tensor) {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	x := func(lo, hi int) *nn.Tensor {
		t, _ := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		return t
	}
	if _, err := actcode.TuneAndAttach(g, prog, cut, x(0, 200), x(200, 300), set.Labels[200:300],
		actcode.TuneConfig{Bits: bits, MaxAccuracyDrop: 0.5}, nil); err != nil {
		t.Fatal(err)
	}
	if prog, err = nn.Compile(g); err != nil {
		t.Fatal(err)
	}
	cc, err := NewCompactCuts(prog)
	if err != nil {
		t.Fatal(err)
	}
	return prog, cc, x
}
