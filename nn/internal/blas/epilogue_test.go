package blas

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

type epImpl struct {
	name string
	fn   func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, ep Epilogue)
}

func epImpls() []epImpl {
	impls := []epImpl{
		{"SgemmEp", SgemmEp},
		{"SgemmPackedEp", func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, ep Epilogue) {
			SgemmPackedEp(PackA(m, k, a, lda), n, b, ldb, c, ldc, acc, ep)
		}},
		{"SgemmPackedEpWS", func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, ep Epilogue) {
			SgemmPackedEpWS(&testWS, PackA(m, k, a, lda), n, b, ldb, c, ldc, acc, ep)
		}},
	}
	for _, kern := range f32Kernels() {
		impls = append(impls, epImpl{kern.name, func(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool, ep Epilogue) {
			ep.check(m)
			sgemmDriver(nil, kern, nil, m, n, k, a, lda, b, ldb, false, c, ldc, acc, &ep)
		}})
	}
	return impls
}

func TestSgemmEpilogue(t *testing.T) {
	inf := float32(math.Inf(1))
	for _, impl := range epImpls() {
		t.Run(impl.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(17, 18))
			sizes := []int{1, 5, 8, 13, 16, 17, 33, 70}
			// n <= 4 with k past one depth block: the matrix-vector path.
			shapes := [][3]int{{40, 70, 600}, {193, 37, 257}, {100, 1, 600}, {13, 3, 300}, {8, 4, 513}, {5, 2, 257}, {1000, 1, 1024}}
			for _, m := range sizes {
				for _, n := range sizes {
					for _, k := range []int{1, 9, 31} {
						shapes = append(shapes, [3]int{m, n, k})
					}
				}
			}
			for si, s := range shapes {
				m, n, k := s[0], s[1], s[2]
				var bias []float32
				if si%3 != 0 {
					bias = randF32(r, m)
				}
				eps := []Epilogue{NoClamp(bias), {Bias: bias, Lo: 0, Hi: inf}, {Bias: bias, Lo: 0, Hi: 0.5}}
				ep := eps[si%len(eps)]
				pad, off, acc := si%3, si%5, si%2 == 0
				lda, ldb, ldc := k+pad, n+pad, n+pad
				a := randF32(r, off+m*lda)
				b := randF32(r, off+k*ldb)
				c := make([]float32, off+m*ldc)
				for i := range c {
					c[i] = float32(r.NormFloat64())
				}
				want := append([]float32(nil), c...)
				sgemmRef(m, n, k, a[off:], lda, b[off:], ldb, want[off:], ldc, acc)
				ep.apply(m, n, want[off:], ldc)
				bound := make([]float32, m*n)
				sgemmRef(m, n, k, absF32(a[off:]), lda, absF32(b[off:]), ldb, bound, n, false)

				impl.fn(m, n, k, a[off:], lda, b[off:], ldb, c[off:], ldc, acc, ep)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						got, w := c[off+i*ldc+j], want[off+i*ldc+j]
						tol := 1e-5*float64(bound[i*n+j]) + 1e-5
						if d := math.Abs(float64(got - w)); !(d <= tol) {
							t.Fatalf("m=%d n=%d k=%d acc=%v bias=%v lo=%g hi=%g: C[%d,%d]=%g want %g",
								m, n, k, acc, bias != nil, ep.Lo, ep.Hi, i, j, got, w)
						}
					}
				}
			}
		})
	}
}

// TestEpilogueNaN checks that a NaN survives the clamp (as max/min in Go).
func TestEpilogueNaN(t *testing.T) {
	const m, n, k = 16, 64, 8
	for _, impl := range epImpls() {
		a, b := make([]float32, m*k), make([]float32, k*n)
		a[3*k] = float32(math.NaN()) // row 3 of C is NaN
		c := make([]float32, m*n)
		impl.fn(m, n, k, a, k, b, n, c, n, false, Epilogue{Lo: 0, Hi: 6})
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				if isNaN := c[i*n+j] != c[i*n+j]; isNaN != (i == 3) {
					t.Fatalf("%s: C[%d,%d] = %v", impl.name, i, j, c[i*n+j])
				}
			}
		}
	}
}

func TestEpilogueBadPanics(t *testing.T) {
	for name, ep := range map[string]Epilogue{
		"short bias": {Bias: make([]float32, 1), Hi: 1},
		"lo > hi":    {Lo: 1, Hi: 0},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil {
					t.Fatal("no panic")
				}
			}()
			SgemmEp(2, 2, 2, make([]float32, 4), 2, make([]float32, 4), 2, make([]float32, 4), 2, false, ep)
		})
	}
}

func TestEpilogueNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("race detector on: sync.Pool drops items at random")
	}
	m, n, k := 32, 256, 144
	a, b, c, bias := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n), make([]float32, m)
	ep := Epilogue{Bias: bias, Lo: 0, Hi: 6}
	SgemmEp(m, n, k, a, k, b, n, c, n, false, ep)
	if got := allocstest.Steady(20, func() { SgemmEp(m, n, k, a, k, b, n, c, n, false, ep) }); got != 0 {
		t.Errorf("SgemmEp allocates %v per call", got)
	}
	pa := PackA(m, k, a, k)
	if got := allocstest.Steady(20, func() { SgemmPackedEp(pa, n, b, n, c, n, false, ep) }); got != 0 {
		t.Errorf("SgemmPackedEp allocates %v per call", got)
	}
}
