package actcode

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkCodec times one 32x8x8 message (the bundled model's cut) at 2
// bits: quantize + encode, and decode + dequantize.
func BenchmarkCodec(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	train := synthetic(rng, 500, 32, 8, 8, false)
	cd, err := Fit(train, 32, 8, 8, FitConfig{Bits: 2})
	if err != nil {
		b.Fatal(err)
	}
	s := synthetic(rng, 1, 32, 8, 8, false)[0]
	enc, dec := cd.NewEncoder(), cd.NewDecoder()
	msg, _ := enc.Encode(s)
	msg = append([]byte(nil), msg...)
	vals := make([]float32, cd.Elements())
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := enc.Encode(s); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(msg)), "bytes/msg")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := dec.Decode(msg, vals); err != nil {
				b.Fatal(err)
			}
		}
	})
}
