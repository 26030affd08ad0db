package blas

import (
	"math/rand/v2"
	"sync"
	"testing"
)

// TestConcurrentBlocks runs every entry point from several goroutines on
// disjoint column blocks of one C, as the engine's callers do, and checks
// the result against one single-threaded call of the reference.
func TestConcurrentBlocks(t *testing.T) {
	const m, n, k, workers = 37, 203, 150, 4
	r := rand.New(rand.NewPCG(13, 14))
	a, b := randF32(r, m*k), randF32(r, k*n)
	want := make([]float32, m*n)
	sgemmRef(m, n, k, a, k, b, n, want, n, false)
	bound := make([]float32, m*n)
	sgemmRef(m, n, k, absF32(a), k, absF32(b), n, bound, n, false)
	pa := PackA(m, k, a, k)

	a8, b8 := randS8(r, m*k, 0), randS8(r, n*k, 3)
	want8 := make([]int32, m*n)
	gemmS8Ref(m, n, k, a8, k, b8, k, want8, n)
	pa8 := PackS8(m, k, a8, k)

	c := make([]float32, m*n)
	cp := make([]float32, m*n)
	c8 := make([]int32, m*n)
	c8p := make([]int32, m*n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		j0, j1 := w*n/workers, (w+1)*n/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 20; rep++ {
				Sgemm(m, j1-j0, k, a, k, b[j0:], n, c[j0:], n, false)
				SgemmPacked(pa, j1-j0, b[j0:], n, cp[j0:], n, false)
				GemmS8(m, j1-j0, k, a8, k, b8[j0*k:], k, c8[j0:], n)
				GemmS8Packed(pa8, j1-j0, b8[j0*k:], k, c8p[j0:], n)
			}
		}()
	}
	wg.Wait()
	for i := range want {
		tol := 1e-5*bound[i] + 1e-6
		if d := c[i] - want[i]; d > tol || d < -tol {
			t.Fatalf("Sgemm: C[%d]=%g want %g", i, c[i], want[i])
		}
		if d := cp[i] - want[i]; d > tol || d < -tol {
			t.Fatalf("SgemmPacked: C[%d]=%g want %g", i, cp[i], want[i])
		}
		if c8[i] != want8[i] || c8p[i] != want8[i] {
			t.Fatalf("GemmS8: C[%d]=%d/%d want %d", i, c8[i], c8p[i], want8[i])
		}
	}
}
