package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// ladder holds sizes around every micro-tile edge (6, 16) and primes.
var ladder = []int{1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 15, 16, 17, 23, 31, 32, 33, 47, 53, 64, 67, 70}

// bigShapes cross the kc, mc and nc block edges.
var bigShapes = [][3]int{ // m, n, k
	{193, 37, 257},
	{16, 3100, 20},
	{40, 70, 600},
	{1, 300, 513},
	{200, 1, 300},
	{32, 256, 144}, // seednet conv2
}

// f32Impl is one float32 path under test, with the reference's signature.
type f32Impl struct {
	name   string
	transB bool
	fn     func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool)
}

func f32Impls() []f32Impl {
	impls := []f32Impl{
		{"Sgemm", false, Sgemm},
		{"SgemmNT", true, SgemmNT},
		{"go", false, sgemmGo},
		{"go-nt", true, sgemmNTGo},
		{"packedA", false, func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			SgemmPacked(PackA(m, k, a, lda), n, b, ldb, c, ldc, acc)
		}},
		{"packedA-nt", true, func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			SgemmPackedNT(PackA(m, k, a, lda), n, b, ldb, c, ldc, acc)
		}},
		{"packedB", false, func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			SgemmPackedBWS(nil, m, a, lda, PackB(k, n, b, ldb, false), c, ldc, acc)
		}},
		{"packedB-nt", true, func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
			SgemmPackedBWS(new(Workspace), m, a, lda, PackB(k, n, b, ldb, true), c, ldc, acc)
		}},
	}
	for _, kern := range f32Kernels() {
		impls = append(impls,
			f32Impl{kern.name, false, func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
				sgemmPacked(kern, m, n, k, a, lda, b, ldb, false, c, ldc, acc)
			}},
			f32Impl{kern.name + "-nt", true, func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
				sgemmPacked(kern, m, n, k, a, lda, b, ldb, true, c, ldc, acc)
			}})
	}
	return impls
}

func randF32(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		switch r.IntN(8) {
		case 0:
			s[i] = 0 // exercise zero skipping
		default:
			s[i] = float32(r.NormFloat64())
		}
	}
	return s
}

// transpose returns the rows×cols matrix x (stride ld) transposed, dense.
func transpose(x []float32, rows, cols, ld int) []float32 {
	t := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			t[j*rows+i] = x[i*ld+j]
		}
	}
	return t
}

func absF32(x []float32) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(math.Abs(float64(v)))
	}
	return y
}

// checkF32 runs impl on an m×n×k problem with padded strides and slice
// offsets and compares it to the reference within a bound scaled by Σ|a||b|.
func checkF32(t *testing.T, r *rand.Rand, impl f32Impl, m, n, k, pad, off int, acc bool) {
	t.Helper()
	lda, ldc := k+pad, n+pad
	bRows, bCols := k, n
	if impl.transB {
		bRows, bCols = n, k
	}
	ldb := bCols + pad
	a := randF32(r, off+m*lda)
	b := randF32(r, off+bRows*ldb)
	const sentinel = -12345.5
	c := make([]float32, off+m*ldc+pad)
	for i := range c {
		c[i] = sentinel
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			c[off+i*ldc+j] = float32(r.NormFloat64())
		}
	}
	// Reference on the same data: B as k×n.
	bKN, ldbKN := b[off:], ldb
	if impl.transB {
		bKN, ldbKN = transpose(b[off:], n, k, ldb), n
	}
	want := append([]float32(nil), c...)
	sgemmRef(m, n, k, a[off:], lda, bKN, ldbKN, want[off:], ldc, acc)
	bound := make([]float32, m*n)
	sgemmRef(m, n, k, absF32(a[off:]), lda, absF32(bKN), ldbKN, bound, n, false)

	impl.fn(m, n, k, a[off:], lda, b[off:], ldb, c[off:], ldc, acc)
	for idx := range c {
		i, j := (idx-off)/ldc, (idx-off)%ldc
		inside := idx >= off && i < m && j < n
		if !inside {
			if c[idx] != sentinel {
				t.Fatalf("%s m=%d n=%d k=%d: wrote outside C at %d", impl.name, m, n, k, idx)
			}
			continue
		}
		tol := 1e-5*float64(bound[i*n+j]) + 1e-6
		if acc {
			tol += 1e-6 * math.Abs(float64(want[idx]))
		}
		if d := math.Abs(float64(c[idx] - want[idx])); !(d <= tol) {
			t.Fatalf("%s m=%d n=%d k=%d pad=%d off=%d acc=%v: C[%d,%d]=%g want %g (tol %g)",
				impl.name, m, n, k, pad, off, acc, i, j, c[idx], want[idx], tol)
		}
	}
}

func TestSgemmLadder(t *testing.T) {
	for _, impl := range f32Impls() {
		t.Run(impl.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			step := 1
			if testing.Short() {
				step = 3
			}
			for mi := 0; mi < len(ladder); mi += step {
				for ni := 0; ni < len(ladder); ni += step {
					for ki := 0; ki < len(ladder); ki += step {
						m, n, k := ladder[mi], ladder[ni], ladder[ki]
						pad, off := (m+n+k)%4, (m*n+k)%7
						checkF32(t, r, impl, m, n, k, pad, off, (m+n+k)%2 == 0)
					}
				}
			}
			for _, s := range bigShapes {
				for _, acc := range []bool{false, true} {
					checkF32(t, r, impl, s[0], s[1], s[2], 3, 5, acc)
				}
			}
		})
	}
}

func TestSgemmZeroSizes(t *testing.T) {
	for _, impl := range f32Impls()[:2] {
		for _, acc := range []bool{false, true} {
			c := []float32{7, 7, 7, 7}
			impl.fn(2, 2, 0, nil, 0, nil, 2, c, 2, acc)
			want := float32(7)
			if !acc {
				want = 0
			}
			for _, v := range c {
				if v != want {
					t.Fatalf("%s k=0 acc=%v: C=%v", impl.name, acc, c)
				}
			}
			impl.fn(0, 3, 3, nil, 3, make([]float32, 9), 3, nil, 3, acc)
		}
	}
}

func TestBadDimsPanic(t *testing.T) {
	cases := map[string]func(){
		"negative": func() { Sgemm(-1, 1, 1, nil, 1, nil, 1, nil, 1, false) },
		"short c":  func() { Sgemm(2, 2, 2, make([]float32, 4), 2, make([]float32, 4), 2, make([]float32, 3), 2, false) },
		"short a":  func() { SgemmNT(2, 2, 2, make([]float32, 3), 2, make([]float32, 4), 2, make([]float32, 4), 2, false) },
		"bad ldb":  func() { GemmS8(2, 2, 2, make([]int8, 4), 2, make([]int8, 4), 1, make([]int32, 4), 2) },
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || fmt.Sprint(r)[:6] != "blas: " {
					t.Fatalf("recovered %v, want a blas: panic", r)
				}
			}()
			f()
		})
	}
}

func TestSgemmNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector on: sync.Pool drops items at random")
	}
	m, n, k := 32, 256, 144
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	Sgemm(m, n, k, a, k, b, n, c, n, false) // warm the pool
	if got := allocstest.Steady(20, func() { Sgemm(m, n, k, a, k, b, n, c, n, false) }); got != 0 {
		t.Errorf("Sgemm allocates %v per call", got)
	}
	if got := allocstest.Steady(20, func() { SgemmNT(m, k, n, c, n, b, n, a, k, false) }); got != 0 {
		t.Errorf("SgemmNT allocates %v per call", got)
	}
	pa := PackA(m, k, a, k)
	if got := allocstest.Steady(20, func() { SgemmPacked(pa, n, b, n, c, n, false) }); got != 0 {
		t.Errorf("SgemmPacked allocates %v per call", got)
	}
	// Batch 1 (the dot-product path).
	if got := allocstest.Steady(20, func() { SgemmNT(1, 128, 144, a, 144, b, 144, c, 128, false) }); got != 0 {
		t.Errorf("SgemmNT m=1 allocates %v per call", got)
	}
}
