package actcode

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
)

// synthetic makes post-ReLU-like activations: blobs of positive values on
// a zero background, one blob position per sample shared by the channels
// (as a digit's strokes are), and, when signed, negative values in the
// odd channels.
func synthetic(rng *rand.Rand, n, c, h, w int, signed bool) [][]float32 {
	out := make([][]float32, n)
	for s := range out {
		v := make([]float32, c*h*w)
		cy, cx := rng.IntN(h), rng.IntN(w)
		for ch := 0; ch < c; ch++ {
			gain := float32(ch%5+1) * 0.3
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					d := (y-cy)*(y-cy) + (x-cx)*(x-cx)
					if d <= 2+ch%3 && rng.Float32() < 0.8 {
						v[(ch*h+y)*w+x] = gain * (0.2 + rng.Float32())
					}
					if signed && ch%2 == 1 && rng.Float32() < 0.3 {
						v[(ch*h+y)*w+x] = -gain * rng.Float32()
					}
				}
			}
		}
		out[s] = v
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name    string
		c, h, w int
		signed  bool
		bits    int
		dz      float32
	}{
		{"8x8 unsigned 2 bits", 16, 8, 8, false, 2, 0},
		{"8x8 unsigned 1 bit", 16, 8, 8, false, 1, 0},
		{"8x8 unsigned 8 bits", 16, 8, 8, false, 8, 0},
		{"signed 4 bits dead zone", 8, 6, 5, true, 4, 0.7},
		{"rank 2", 64, 1, 1, true, 3, 0},
		{"one element", 1, 1, 1, false, 5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			train := synthetic(rng, 300, tc.c, tc.h, tc.w, tc.signed)
			cd, err := Fit(train, tc.c, tc.h, tc.w, FitConfig{Bits: tc.bits, DeadZone: tc.dz})
			if err != nil {
				t.Fatal(err)
			}
			enc, dec := cd.NewEncoder(), cd.NewDecoder()
			want := make([]int16, cd.Elements())
			got := make([]int16, cd.Elements())
			vals := make([]float32, cd.Elements())
			total, nonzero := 0, 0
			for _, s := range synthetic(rng, 100, tc.c, tc.h, tc.w, tc.signed) {
				if err := cd.Quantize(s, want); err != nil {
					t.Fatal(err)
				}
				msg, err := enc.Encode(s)
				if err != nil {
					t.Fatal(err)
				}
				total += len(msg)
				if err := dec.DecodeLevels(msg, got); err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("element %d: decoded level %d, encoded %d", i, got[i], want[i])
					}
					if want[i] != 0 {
						nonzero++
					}
				}
				// Values come back within half a step (unclipped, outside the dead zone).
				if err := dec.Decode(msg, vals); err != nil {
					t.Fatal(err)
				}
				hw := tc.h * tc.w
				for i, v := range s {
					step := cd.Step[i/hw]
					if l := want[i]; l != 0 && int(math.Abs(float64(l))) < cd.maxLevel(i/hw) && math.Abs(float64(vals[i]-v)) > float64(step)/2*1.0001 {
						t.Fatalf("element %d: %v came back as %v (step %v)", i, v, vals[i], step)
					}
					if v == 0 && vals[i] != 0 {
						t.Fatalf("element %d: zero came back as %v", i, vals[i])
					}
				}
			}
			raw := 100 * cd.Elements() * tc.bits / 8
			t.Logf("%d bytes for %d raw (%d non-zero levels)", total, raw, nonzero)
			if tc.c*tc.h*tc.w >= 64 && total >= raw {
				t.Errorf("coded %d bytes, more than the %d bytes of %d-bit levels", total, raw, tc.bits)
			}
		})
	}
}

// TestEncodeRejects: levels the codec cannot code are an error, not a
// wrong message.
func TestEncodeRejects(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cd, err := Fit(synthetic(rng, 50, 4, 4, 4, false), 4, 4, 4, FitConfig{Bits: 2})
	if err != nil {
		t.Fatal(err)
	}
	enc := cd.NewEncoder()
	lv := make([]int16, cd.Elements())
	lv[3] = 4 // max 3 at 2 bits
	if _, err := enc.EncodeLevels(lv); !errors.Is(err, ErrData) {
		t.Errorf("level 4 at 2 bits: %v, want ErrData", err)
	}
	lv[3] = -1 // unsigned channel
	if _, err := enc.EncodeLevels(lv); !errors.Is(err, ErrData) {
		t.Errorf("negative level in an unsigned channel: %v, want ErrData", err)
	}
	if _, err := enc.Encode(make([]float32, 5)); !errors.Is(err, ErrShape) {
		t.Errorf("5 values: %v, want ErrShape", err)
	}
	if err := cd.NewDecoder().Decode(make([]byte, cd.MaxMessage()+1), make([]float32, cd.Elements())); !errors.Is(err, ErrData) {
		t.Errorf("oversized message: %v, want ErrData", err)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	cd, err := Fit(synthetic(rng, 100, 6, 5, 5, true), 6, 5, 5, FitConfig{Bits: 3, DeadZone: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	b, err := cd.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	cd2, err := Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := cd2.MarshalBinary()
	if !bytes.Equal(b, b2) || cd.Fingerprint() != cd2.Fingerprint() {
		t.Fatal("codec changed through MarshalBinary/Unmarshal")
	}
	s := synthetic(rng, 1, 6, 5, 5, true)[0]
	m1, _ := cd.NewEncoder().Encode(s)
	m2, _ := cd2.NewEncoder().Encode(s)
	if !bytes.Equal(m1, m2) {
		t.Error("the reloaded codec codes differently")
	}
	// Another table, another fingerprint.
	b2[len(b2)-1]++
	cd3, err := Unmarshal(b2)
	if err != nil {
		t.Fatal(err)
	}
	if cd3.Fingerprint() == cd.Fingerprint() {
		t.Error("a changed table kept the fingerprint")
	}
	for _, bad := range []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", b[:len(b)-1]},
		{"trailing", append(append([]byte(nil), b...), 0)},
		{"version", func() []byte { c := append([]byte(nil), b...); c[4] = 9; return c }()},
		{"bits", func() []byte { c := append([]byte(nil), b...); c[5] = 9; return c }()},
		{"huge shape", func() []byte { c := append([]byte(nil), b...); c[6], c[7], c[8] = 0xff, 0xff, 0xff; return c }()},
		{"zero step", func() []byte { c := append([]byte(nil), b...); copy(c[22:26], []byte{0, 0, 0, 0}); return c }()},
	} {
		if _, err := Unmarshal(bad.b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", bad.name, err)
		}
	}
}

// TestRangeCoderTermination: the trimmed termination decodes every
// sequence exactly, including ones that end in long runs of zero bytes.
func TestRangeCoderTermination(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var e rangeEncoder
	var d rangeDecoder
	for trial := 0; trial < 2000; trial++ {
		n := rng.IntN(400)
		bits := make([]bool, n)
		probs := make([]uint32, n)
		for i := range bits {
			probs[i] = 1 + rng.Uint32N(probOne-1)
			switch trial % 3 {
			case 0:
				bits[i] = rng.Uint32N(probOne) >= probs[i]
			case 1:
				bits[i] = false // all-zero decisions: long zero runs
			default:
				bits[i] = rng.IntN(2) == 0
			}
		}
		e.reset(nil)
		for i, b := range bits {
			e.encode(probs[i], b)
		}
		msg := e.finish()
		if len(e.out) > 0 && e.out[0] != 0 {
			t.Fatalf("trial %d: first byte %#x, want 0", trial, e.out[0])
		}
		d.reset(msg)
		for i, b := range bits {
			if got := d.decode(probs[i]); got != b {
				t.Fatalf("trial %d: decision %d of %d decoded %v", trial, i, n, got)
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	train := synthetic(rng, 100, 8, 4, 4, true)
	cd, err := Fit(train, 8, 4, 4, FitConfig{Bits: 4})
	if err != nil {
		f.Fatal(err)
	}
	enc := cd.NewEncoder()
	for _, s := range train[:4] {
		m, _ := enc.Encode(s)
		f.Add(append([]byte(nil), m...))
	}
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 200))
	dec := cd.NewDecoder()
	lv := make([]int16, cd.Elements())
	f.Fuzz(func(t *testing.T, msg []byte) {
		if err := dec.DecodeLevels(msg, lv); err != nil {
			if len(msg) <= cd.MaxMessage() {
				t.Fatalf("%d bytes rejected: %v", len(msg), err)
			}
			return
		}
		// Whatever decoded is a valid message: it re-encodes and decodes
		// to the same levels.
		m, err := enc.EncodeLevels(lv)
		if err != nil {
			t.Fatalf("decoded levels do not encode: %v", err)
		}
		lv2 := make([]int16, len(lv))
		if err := cd.NewDecoder().DecodeLevels(m, lv2); err != nil {
			t.Fatal(err)
		}
		for i := range lv {
			if lv[i] != lv2[i] {
				t.Fatalf("element %d: %d then %d", i, lv[i], lv2[i])
			}
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	rng := rand.New(rand.NewPCG(11, 12))
	cd, _ := Fit(synthetic(rng, 20, 2, 2, 3, true), 2, 2, 3, FitConfig{Bits: 2})
	b, _ := cd.MarshalBinary()
	f.Add(b)
	f.Add([]byte("SIAC\x01\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Unmarshal(b)
		if err != nil {
			return
		}
		b2, err := c.MarshalBinary()
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("accepted codec does not marshal back: %v", err)
		}
		lv := make([]int16, c.Elements())
		_ = c.NewDecoder().DecodeLevels([]byte{1, 2, 3}, lv)
	})
}

// TestTensorCoding: EncodeTensor codes what RealValues then Encode code,
// and DecodeTensor gives what Decode then SetRealValues give, for each
// dtype and quantization layout (per channel, per tensor, and runs that
// split channels, which take the value-by-value path).
func TestTensorCoding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const c, h, w = 4, 3, 5
	train := synthetic(rng, 100, c, h, w, true)
	cd, err := Fit(train, c, h, w, FitConfig{Bits: 3})
	if err != nil {
		t.Fatal(err)
	}
	perChannel := &nn.Quant{Axis: 1, Scale: []float32{0.01, 0.02, 0.05, 0.1}, ZeroPoint: []int32{0, 3, -2, 10}}
	perTensor := &nn.Quant{Axis: -1, Scale: []float32{0.03}, ZeroPoint: []int32{5}}
	perRow := &nn.Quant{Axis: 2, Scale: []float32{0.01, 0.04, 0.08}, ZeroPoint: []int32{0, 1, 2}}
	cases := []struct {
		name  string
		dtype nn.DType
		q     *nn.Quant
	}{
		{"float32", nn.Float32, nil},
		{"int8 per channel", nn.Int8, perChannel},
		{"int8 per tensor", nn.Int8, perTensor},
		{"uint8 per channel", nn.Uint8, perChannel},
		{"int8 per row", nn.Int8, perRow},
	}
	enc, dec := cd.NewEncoder(), cd.NewDecoder()
	vals := make([]float32, cd.Elements())
	for _, tc := range cases {
		for _, s := range synthetic(rng, 5, c, h, w, true) {
			src := nn.New(tc.dtype, 1, c, h, w)
			src.Quant = tc.q
			if err := SetRealValues(src, s); err != nil {
				t.Fatal(err)
			}
			if err := RealValues(src, vals); err != nil {
				t.Fatal(err)
			}
			m, err := enc.Encode(vals)
			if err != nil {
				t.Fatal(err)
			}
			msg := append([]byte(nil), m...)
			if got, err := enc.EncodeTensor(src); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("%s: EncodeTensor %x (%v), Encode %x", tc.name, got, err, msg)
			}
			want := nn.New(tc.dtype, 1, c, h, w)
			want.Quant = tc.q
			if err := cd.NewDecoder().Decode(msg, vals); err != nil {
				t.Fatal(err)
			}
			if err := SetRealValues(want, vals); err != nil {
				t.Fatal(err)
			}
			got := nn.New(tc.dtype, 1, c, h, w)
			got.Quant = tc.q
			if err := dec.DecodeTensor(msg, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("%s: %v, want %v", tc.name, got.Bytes(), want.Bytes())
			}
		}
	}
	if err := dec.DecodeTensor(nil, nn.New(nn.Int8, 1, 2)); !errors.Is(err, ErrShape) {
		t.Errorf("decode, wrong size: %v", err)
	}
	if _, err := enc.EncodeTensor(nn.New(nn.Int8, 1, 2)); !errors.Is(err, ErrShape) {
		t.Errorf("encode, wrong size: %v", err)
	}
}
