package blas

import (
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// testWS is the workspace of the SgemmPackedEpWS case of TestSgemmEpilogue.
var testWS Workspace

// TestWorkspaceMatchesPool: SgemmPackedWS gives SgemmPacked's result
// bit for bit, and allocates nothing from a new goroutine once its
// workspace has grown (the pool may miss there).
func TestWorkspaceMatchesPool(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 40, 300, 150
	a, b := randF32(r, m*k), randF32(r, k*n)
	pa := PackA(m, k, a, k)
	want, got := make([]float32, m*n), make([]float32, m*n)
	SgemmPacked(pa, n, b, n, want, n, false)
	var ws Workspace
	SgemmPackedWS(&ws, pa, n, b, n, got, n, false)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("c[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	done := make(chan float64)
	go func() {
		done <- allocstest.Steady(5, func() {
			SgemmPackedEpWS(&ws, pa, n, b, n, got, n, true, NoClamp(nil))
		})
	}()
	if allocs := <-done; allocs != 0 {
		t.Errorf("SgemmPackedEpWS allocates %v times per call", allocs)
	}
}
