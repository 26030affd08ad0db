package blas

import (
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

type s8Impl struct {
	name string
	fn   func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int)
}

func s8Impls() []s8Impl {
	impls := []s8Impl{{"GemmS8", GemmS8}, {"go", gemmS8Go}, {"packed", func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
		GemmS8Packed(PackS8(m, k, a, lda), n, b, ldb, c, ldc)
	}}}
	for _, kern := range s8Kernels() {
		impls = append(impls, s8Impl{kern.name, func(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
			gemmS8Packed(kern, m, n, k, a, lda, b, ldb, c, ldc)
		}})
	}
	return impls
}

// randS8 fills a slice with mode 0: uniform, 1: only -128 and 127,
// 2: only -128, 3: mixed extremes and zeros.
func randS8(r *rand.Rand, n, mode int) []int8 {
	s := make([]int8, n)
	for i := range s {
		switch mode {
		case 0:
			s[i] = int8(r.IntN(256) - 128)
		case 1:
			s[i] = []int8{-128, 127}[r.IntN(2)]
		case 2:
			s[i] = -128
		default:
			s[i] = []int8{-128, 127, 0, -1, 1}[r.IntN(5)]
		}
	}
	return s
}

func checkS8(t *testing.T, r *rand.Rand, impl s8Impl, m, n, k, pad, off, modeA, modeB int) {
	t.Helper()
	lda, ldb, ldc := k+pad, k+2*pad, n+pad
	a := randS8(r, off+m*lda, modeA)
	b := randS8(r, off+n*ldb, modeB)
	const sentinel = -777
	c := make([]int32, off+m*ldc+pad)
	for i := range c {
		c[i] = sentinel
	}
	want := append([]int32(nil), c...)
	gemmS8Ref(m, n, k, a[off:], lda, b[off:], ldb, want[off:], ldc)
	impl.fn(m, n, k, a[off:], lda, b[off:], ldb, c[off:], ldc)
	for idx := range c {
		if c[idx] != want[idx] {
			i, j := (idx-off)/ldc, (idx-off)%ldc
			t.Fatalf("%s m=%d n=%d k=%d pad=%d off=%d modes=%d/%d: C[%d,%d] (index %d) = %d, want %d",
				impl.name, m, n, k, pad, off, modeA, modeB, i, j, idx, c[idx], want[idx])
		}
	}
}

func TestGemmS8Ladder(t *testing.T) {
	for _, impl := range s8Impls() {
		t.Run(impl.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			step := 1
			if testing.Short() {
				step = 3
			}
			for mi := 0; mi < len(ladder); mi += step {
				for ni := 0; ni < len(ladder); ni += step {
					for ki := 0; ki < len(ladder); ki += step {
						m, n, k := ladder[mi], ladder[ni], ladder[ki]
						mode := (m + 2*n + 3*k) % 4
						checkS8(t, r, impl, m, n, k, (m+k)%3, (n+k)%5, mode, (mode+1)%4)
					}
				}
			}
			for _, s := range [][3]int{{37, 1000, 147}, {33, 700, 1001}, {1, 3, 4099}, {20, 33, 144}, {70, 17, 576}} {
				for mode := 0; mode < 4; mode++ {
					checkS8(t, r, impl, s[0], s[1], s[2], 3, 1, mode, 3-mode)
				}
			}
		})
	}
}

// TestGemmS8Wrap checks that sums past the int32 range wrap like the
// reference: 140000 products of -128·-128 exceed 2³¹.
func TestGemmS8Wrap(t *testing.T) {
	const k = 140000
	a := randS8(nil, 2*k, 2)
	b := randS8(nil, 3*k, 2)
	want := make([]int32, 6)
	gemmS8Ref(2, 3, k, a, k, b, k, want, 3)
	if want[0] >= 0 {
		t.Fatalf("reference did not wrap: %d", want[0])
	}
	for _, impl := range s8Impls() {
		c := make([]int32, 6)
		impl.fn(2, 3, k, a, k, b, k, c, 3)
		for i := range c {
			if c[i] != want[i] {
				t.Errorf("%s: C[%d] = %d, want %d", impl.name, i, c[i], want[i])
			}
		}
	}
}

func TestGemmS8NoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector on: sync.Pool drops items at random")
	}
	m, n, k := 32, 256, 144
	a, b, c := make([]int8, m*k), make([]int8, n*k), make([]int32, m*n)
	GemmS8(m, n, k, a, k, b, k, c, n)
	if got := allocstest.Steady(20, func() { GemmS8(m, n, k, a, k, b, k, c, n) }); got != 0 {
		t.Errorf("GemmS8 allocates %v per call", got)
	}
	if got := allocstest.Steady(20, func() { GemmS8(1, n, k, a, k, b, k, c, n) }); got != 0 {
		t.Errorf("GemmS8 m=1 allocates %v per call", got)
	}
	pa := PackS8(m, k, a, k)
	if got := allocstest.Steady(20, func() { GemmS8Packed(pa, n, b, k, c, n) }); got != 0 {
		t.Errorf("GemmS8Packed allocates %v per call", got)
	}
}
