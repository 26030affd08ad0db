package pipeline

import (
	"runtime"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/internal/cputime"

	"github.com/splitinfer/splitinfer/nn"
)

// BenchmarkRequestCut encodes and decodes the bundled model's early-cut
// activations (32x8x8 int8) side by side: as a version 1 request (raw
// int8, and zstd) and as a compact request (2-bit codec). The bytes/op
// metric is the message size; cpu-ns/op the benchmark goroutine's thread
// CPU time per op (a loaded host inflates ns/op, not this), measured beside
// the head's own run ("head"); and the model input (1x1x32x32 float32)
// as computed, as a PNG and quantized to 1 bit (a codec at the input).
func BenchmarkRequestCut(b *testing.B) {
	f := newCompactFixture(b, 16)
	model := ModelHash(f.prog.Graph())
	lookup := f.lookup
	cpu := func(b *testing.B, body func()) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0, ok := cputime.Thread()
		n := 0
		for b.Loop() {
			body()
			n++
		}
		if t1, _ := cputime.Thread(); ok && n > 0 {
			b.ReportMetric(float64(t1-t0)/float64(n), "cpu-ns/op")
		}
	}
	split, err := NewSplit(f.prog, []string{f.cut})
	if err != nil {
		b.Fatal(err)
	}
	x := nn.New(nn.Float32, 1, 1, 32, 32)
	head := split.Head.NewRunner(1)
	b.Run("head", func(b *testing.B) {
		cpu(b, func() {
			if _, err := head.Run(x); err != nil {
				b.Fatal(err)
			}
		})
	})
	in := f.prog.Inputs()[0]
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	var inputs []*nn.Tensor
	for i := range f.heads {
		x, _ := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
		inputs = append(inputs, x)
	}
	// the same model with 1-bit codecs at the input (the quantized input)
	g1, p1 := defaultModel(b)
	_, cc1, _ := attachCodecs(b, g1, p1, in, 1)
	lookup1 := func([]byte) *CompactCuts { return cc1 }
	for _, tc := range []struct {
		name   string
		enc    RequestEncoder
		cut    string
		ts     []*nn.Tensor
		lookup func([]byte) *CompactCuts
	}{
		{"v1", RequestEncoder{Model: model}, f.cut, f.heads, lookup},
		{"v1-zstd", RequestEncoder{Model: model, Codec: CodecZstd}, f.cut, f.heads, lookup},
		{"compact", RequestEncoder{Model: model, Compact: f.cc}, f.cut, f.heads, lookup},
		{"input-v1", RequestEncoder{Model: model}, in, inputs, lookup},
		{"input-png", RequestEncoder{Model: model, Compact: f.cc}, in, inputs, lookup},
		{"input-1bit", RequestEncoder{Model: model, Compact: cc1, Bits: 1}, in, inputs, lookup1},
	} {
		id := tc.enc.NewID(tc.cut)
		deadline := time.Now().Add(time.Hour)
		bodies := make([][]byte, len(tc.ts))
		size := 0
		for i, h := range tc.ts {
			enc, err := tc.enc.Encode(id, []string{tc.cut}, []*nn.Tensor{h}, deadline)
			if err != nil {
				b.Fatal(err)
			}
			bodies[i] = append([]byte(nil), enc.Body...)
			size += len(enc.Body)
		}
		b.Run(tc.name+"/encode", func(b *testing.B) {
			i := 0
			cpu(b, func() {
				if _, err := tc.enc.Encode(id, []string{tc.cut}, tc.ts[i%len(tc.ts):i%len(tc.ts)+1], deadline); err != nil {
					b.Fatal(err)
				}
				i++
			})
			b.ReportMetric(float64(size)/float64(len(bodies)), "msgbytes")
		})
		b.Run(tc.name+"/decode", func(b *testing.B) {
			i := 0
			cpu(b, func() {
				body := bodies[i%len(bodies)]
				var err error
				if IsCompact(body) {
					_, err = DecodeCompactRequest(body, Limits{}, time.Now(), tc.lookup)
				} else {
					_, err = DecodeRequest(body, Limits{})
				}
				if err != nil {
					b.Fatal(err)
				}
				i++
			})
		})
	}
}
