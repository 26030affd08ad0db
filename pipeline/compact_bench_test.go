package pipeline

import (
	"runtime"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/cputime"

	"github.com/splitinfer/splitinfer/nn"
)

// BenchmarkRequestCut encodes and decodes the bundled model's early-cut
// activations (32x8x8 int8) side by side: as a version 1 request (raw
// int8, and zstd) and as a compact request (2-bit codec). The bytes/op
// metric is the message size; cpu-ns/op the benchmark goroutine's thread
// CPU time per op (a loaded host inflates ns/op, not this), measured beside
// the head's own run ("head").
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
	for _, tc := range []struct {
		name string
		enc  RequestEncoder
	}{
		{"v1", RequestEncoder{Model: model}},
		{"v1-zstd", RequestEncoder{Model: model, Codec: CodecZstd}},
		{"compact", RequestEncoder{Model: model, Compact: f.cc}},
	} {
		id := tc.enc.NewID(f.cut)
		deadline := time.Now().Add(time.Hour)
		bodies := make([][]byte, len(f.heads))
		size := 0
		for i, h := range f.heads {
			enc, err := tc.enc.Encode(id, []string{f.cut}, []*nn.Tensor{h}, deadline)
			if err != nil {
				b.Fatal(err)
			}
			bodies[i] = append([]byte(nil), enc.Body...)
			size += len(enc.Body)
		}
		b.Run(tc.name+"/encode", func(b *testing.B) {
			i := 0
			cpu(b, func() {
				if _, err := tc.enc.Encode(id, []string{f.cut}, f.heads[i%len(f.heads):i%len(f.heads)+1], deadline); err != nil {
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
					_, err = DecodeCompactRequest(body, Limits{}, time.Now(), lookup)
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
