//go:build amd64 && !purego

package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestQ8LookupAVX2 compares the AVX2 table lookup with the table at every
// length in blocks of 32 up to 320 and three offsets, over all 256 codes
// in every position of a block, and checks nothing past the end is
// written; then q8LookupFast's AVX2 dispatch with its Go tail.
func TestQ8LookupAVX2(t *testing.T) {
	if !q8HasAVX2 {
		t.Skip("no AVX2")
	}
	table, x := q8LookupFixture(323)
	for n := 32; n <= 320; n += 32 {
		for off := range 3 {
			src := x[off : off+n]
			got := make([]int8, n+1)
			got[n] = 99
			q8LookupAVX2(&got[0], &src[0], n, table)
			for i, v := range src {
				if got[i] != table[uint8(v)] {
					t.Fatalf("n=%d off=%d: [%d] = %d, want table[%d] = %d", n, off, i, got[i], uint8(v), table[uint8(v)])
				}
			}
			if got[n] != 99 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	}
	if q8HasAVX512 {
		return // q8LookupFast takes the VBMI kernel (TestLookupFast)
	}
	for n := 1; n <= 100; n++ {
		got := make([]int8, n)
		if !q8LookupFast(got, x[:n], table) {
			t.Fatal("q8LookupFast refused with AVX2")
		}
		for i, v := range x[:n] {
			if got[i] != table[uint8(v)] {
				t.Fatalf("q8LookupFast n=%d: [%d] = %d, want %d", n, i, got[i], table[uint8(v)])
			}
		}
	}
}

// BenchmarkQ8LookupAVX2 compares q8LookupFast with the Go loop, in one
// run (GODEBUG=cpu.avx512f=off for the AVX2 path): go test -run X -bench
// Q8LookupAVX2 ./nn/
func BenchmarkQ8LookupAVX2(b *testing.B) {
	if !q8HasAVX2 {
		b.Skip("no AVX2")
	}
	table, _ := q8LookupFixture(0)
	for _, n := range []int{16, 49, 64, 1024, 16384} {
		x, y := make([]int8, n), make([]int8, n)
		r := rand.New(rand.NewPCG(1, 2))
		for i := range x {
			x[i] = int8(r.Uint32())
		}
		for _, v := range []struct {
			name string
			run  func()
		}{
			{"fast", func() { q8LookupFast(y, x, table) }},
			{"go", func() {
				for i, v := range x {
					y[i] = table[uint8(v)]
				}
			}},
		} {
			b.Run(fmt.Sprintf("n%d/%s", n, v.name), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					v.run()
				}
			})
		}
	}
}
