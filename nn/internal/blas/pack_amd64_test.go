//go:build amd64 && !purego

package blas

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPackA8AVXMatchesGo checks packA8 with packA8AVX against the Go loop
// alone over depths crossing whole blocks of eight columns, row strides
// and offsets, and that it writes nothing past the panel.
func TestPackA8AVXMatchesGo(t *testing.T) {
	if !packA8Asm {
		t.Skip("no AVX")
	}
	defer func() { packA8Asm = true }()
	r := rand.New(rand.NewPCG(3, 4))
	for kb := 1; kb <= 41; kb++ {
		for _, extra := range []int{0, 3, 64} {
			for _, base := range []int{0, 5} {
				lda := kb + extra + base
				a := make([]float32, base+8*lda)
				for i := range a {
					a[i] = r.Float32()
				}
				var out [2][]float32
				for i, asm := range []bool{false, true} {
					packA8Asm = asm
					out[i] = make([]float32, 8*kb+8)
					for j := range out[i] {
						out[i][j] = -1
					}
					packA8(out[i], a, base, lda, kb)
				}
				if !slices.Equal(out[0], out[1]) {
					t.Fatalf("kb %d lda %d base %d: packA8AVX differs from the Go loop", kb, lda, base)
				}
				if out[1][8*kb] != -1 || out[0][8*kb-1] != a[base+7*lda+kb-1] {
					t.Fatalf("kb %d lda %d base %d: wrong panel end", kb, lda, base)
				}
			}
		}
	}
}
