package nn

import (
	"fmt"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// TestBatchChunksMatchWholeBatch: a batch run in chunks of images (one
// sub-runner per thread) gives the whole batch's outputs, for a convolution
// net (conv, pools, Gemm) at several batches, chunk sizes and thread
// counts; a graph whose operands broadcast across the batch runs whole.
func TestBatchChunksMatchWholeBatch(t *testing.T) {
	r := newRand(21)
	g := smallConvNet(r)
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	saved := chunkBytes
	defer func() { chunkBytes = saved }()
	for _, batch := range []int{2, 6, 8} {
		shape := append([]int{batch}, g.Inputs[0].Type.Shape[1:]...)
		x := randT(r, shape...)
		chunkBytes = 0
		whole, err := p.NewRunner(1).Run(x)
		if err != nil {
			t.Fatal(err)
		}
		want := whole[0].Clone()
		for _, cb := range []int{1, 1 << 12, 1 << 20} {
			for _, threads := range []int{1, 2, 3} {
				t.Run(fmt.Sprintf("b%d_bytes%d_t%d", batch, cb, threads), func(t *testing.T) {
					chunkBytes = cb
					run := p.NewRunner(threads)
					got, err := run.Run(x)
					if err != nil {
						t.Fatal(err)
					}
					if !run.chunk.on {
						t.Fatal("not chunked")
					}
					if run.chunk.n%run.chunk.c != 0 {
						t.Fatalf("chunk %d does not divide %d", run.chunk.c, run.chunk.n)
					}
					want64 := make([]float64, len(want.F32))
					for i, v := range want.F32 {
						want64[i] = float64(v)
					}
					checkClose(t, "chunked", got[0], want.Shape, want64)
					// Warm runs allocate nothing.
					if !raceEnabled {
						if a := allocstest.Steady(3, func() { _, _ = run.Run(x) }); a != 0 {
							t.Fatalf("warm chunked run allocates %v times", a)
						}
					}
				})
			}
		}
	}
	// Broadcast across what would be the batch: not chunked, right result.
	a := i64T([]int{2, 2}, 1, 2, 3, 4)
	b := i64T([]int{2}, 10, 20)
	got := opCase{op: "Mul", inputs: []*Tensor{a, b}}.mustRun(t)[0]
	if want := []int64{10, 40, 30, 80}; fmt.Sprint(got.I64) != fmt.Sprint(want) {
		t.Fatalf("int64 Mul = %v, want %v", got.I64, want)
	}
}
