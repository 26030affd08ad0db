package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestGapNCHWcMatchesNCHW runs the blocked GlobalAveragePool (pool_gap.go;
// the AVX-512 kernel where the CPU has it, and the Go loop) against
// globalAvgKernel's sum32 on NCHW planes, bit for bit, for planes of 1 to
// 300 pixels (every accumulator and tail case of both sum orders) in
// NCHW16c without and with a border (holding values that must not be
// read), on values of mixed magnitudes, where the order of the sums shows.
func TestGapNCHWcMatchesNCHW(t *testing.T) {
	r := newRand(53)
	asm := binLineAsm
	defer func() { binLineAsm = asm }()
	const n, c = 2, 32
	for hw := 1; hw <= 300; hw++ {
		h, w := 1, hw
		for d := 2; d*d <= hw; d++ {
			if hw%d == 0 {
				h, w = d, hw/d
			}
		}
		x := randT(r, n, c, h, w).F32
		for i := range x {
			x[i] *= float32(math.Pow(10, float64(i%7-3)))
		}
		for _, on := range []bool{false, true} {
			if on && !asm {
				continue
			}
			binLineAsm = on
			want := make([]float32, n*c)
			for q := range want {
				want[q] = sum32(x[q*hw:(q+1)*hw]) / float32(hw)
			}
			for _, b := range []int{0, 1, 2} {
				t.Run(fmt.Sprintf("%dx%d/b%d/asm%v", h, w, b, on), func(t *testing.T) {
					xb := make([]float32, n*c*(h+2*b)*(w+2*b))
					toNCHW16c(xb, x, n, c, h, w, b)
					if b > 0 {
						// The border must not be read.
						for i := range xb[:16*(w+2*b)] {
							xb[i] = float32(math.NaN())
						}
					}
					k := newGapNCHWc(h, w, b)
					got := make([]float32, n*c)
					j := gapNCHWcJob{k: k, x: xb, y: got}
					j.runRange(0, n*c/16, 0)
					for q := range want {
						if math.Float32bits(got[q]) != math.Float32bits(want[q]) {
							t.Fatalf("channel %d: %v, want %v", q, got[q], want[q])
						}
					}
				})
			}
		}
	}
}
