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

// TestBatchChunkStages checks that the chunk grows along the program as
// the activations shrink: smallConvNet at batch 8 with 4 KB chunks runs its
// 16x16 layers one image at a time, the 8x8 ones two and the classifier
// four; a graph that reads its input again at the end (a stage taking a
// program input) stages too. Both give the whole batch's outputs, and warm
// runs allocate nothing.
func TestBatchChunkStages(t *testing.T) {
	r := newRand(22)
	skip := smallConvNet(r)
	skip.Outputs = []ValueInfo{{Name: "out"}}
	skip.Nodes = append(skip.Nodes,
		&Node{Name: "gap", Op: "GlobalAveragePool", Inputs: []string{"x"}, Outputs: []string{"gx"}},
		&Node{Name: "flatx", Op: "Flatten", Inputs: []string{"gx"}, Outputs: []string{"fx"}},
		&Node{Name: "cat", Op: "Concat", Inputs: []string{"y", "fx"}, Outputs: []string{"out"}, Attrs: map[string]Attr{"axis": intA(1)}},
	)
	saved := chunkBytes
	defer func() { chunkBytes = saved }()
	for _, c := range []struct {
		name  string
		g     *Graph
		sizes []int
	}{
		{"small", smallConvNet(r), []int{1, 2, 4}},
		{"input_read_late", skip, []int{1, 2, 4}},
	} {
		p, err := Compile(c.g)
		if err != nil {
			t.Fatal(err)
		}
		x := randT(r, 8, 1, 16, 16)
		chunkBytes = 0
		whole, err := p.NewRunner(1).Run(x)
		if err != nil {
			t.Fatal(err)
		}
		want := toF64(whole[0].F32)
		chunkBytes = 4096
		for _, threads := range []int{1, 2} {
			run := p.NewRunner(threads)
			got, err := run.Run(x)
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, st := range run.chunk.stages {
				sizes = append(sizes, st.c)
			}
			if fmt.Sprint(sizes) != fmt.Sprint(c.sizes) {
				t.Fatalf("%s: stage chunks %v, want %v", c.name, sizes, c.sizes)
			}
			checkClose(t, fmt.Sprintf("%s_t%d", c.name, threads), got[0], whole[0].Shape, want)
			if !raceEnabled {
				if a := allocstest.Steady(3, func() { _, _ = run.Run(x) }); a != 0 {
					t.Fatalf("%s: warm staged run allocates %v times", c.name, a)
				}
			}
		}
	}
}
