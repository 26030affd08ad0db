package nn

import (
	"fmt"
	"slices"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// TestBatchChunksMatchWholeBatch: a batch run in chunks of images (one
// sub-runner per thread and chunk size) gives the whole batch's outputs,
// for a convolution net (conv, pools, Gemm) at even, odd and prime batches,
// chunk sizes and thread counts; a batch that fits in one chunk on one
// thread runs whole, and so does a graph whose operands broadcast across
// the batch.
func TestBatchChunksMatchWholeBatch(t *testing.T) {
	r := newRand(21)
	g := smallConvNet(r)
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	saved := chunkBytes
	defer func() { chunkBytes = saved }()
	for _, batch := range []int{2, 3, 6, 7, 8, 13} {
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
					if whole := cb == 1<<20 && threads == 1; run.chunk.on == whole {
						t.Fatalf("chunked %v, want %v", run.chunk.on, !whole)
					}
					// k chunks of c or c-1 images cover the batch, at least
					// one per worker.
					for _, st := range run.chunk.stages {
						if st.k*st.c < batch || st.k*(st.c-1) >= batch || st.k < min(threads, batch) {
							t.Fatalf("stage of %d chunks of %d for a batch of %d on %d threads", st.k, st.c, batch, threads)
						}
					}
					want64 := make([]float64, len(want.F32))
					for i, v := range want.F32 {
						want64[i] = float64(v)
					}
					// The classifier sums 256 products, in another order on
					// fewer rows.
					checkCloseScaled(t, "chunked", got[0], want.Shape, want64, 4*8*8)
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
// four; at batch 13 the same in chunks of two and one, and four and three;
// a graph that reads its input again at the end (a stage taking a program
// input) stages too. All give the whole batch's outputs, and warm runs
// allocate nothing.
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
		name   string
		g      *Graph
		batch  int
		sizes  []int // on 1 thread
		sizes2 []int // on 2 threads
	}{
		{"small", smallConvNet(r), 8, []int{1, 2, 4}, []int{1, 2, 4}},
		{"small_b13", smallConvNet(r), 13, []int{1, 2, 4}, []int{1, 2, 4}},
		// On one thread the Concat of the last values takes the whole
		// batch; on two, the halves are not twice the stage before.
		{"input_read_late", skip, 8, []int{1, 2, 4, 8}, []int{1, 2, 4}},
		{"input_read_late_b13", skip, 13, []int{1, 2, 4, 13}, []int{1, 2, 4}},
	} {
		p, err := Compile(c.g)
		if err != nil {
			t.Fatal(err)
		}
		x := randT(r, c.batch, 1, 16, 16)
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
			if want := map[int][]int{1: c.sizes, 2: c.sizes2}[threads]; fmt.Sprint(sizes) != fmt.Sprint(want) {
				t.Fatalf("%s on %d threads: stage chunks %v, want %v", c.name, threads, sizes, want)
			}
			checkClose(t, fmt.Sprintf("%s_t%d", c.name, threads), got[0], whole[0].Shape, want)
			// Each stage's kernels write their outputs (a pool's, a conv's,
			// the Gemm's) straight into the batch's buffers.
			for si, st := range run.chunk.stages {
				for w := range st.subs {
					for _, sub := range st.subs[w] {
						if sub.r != nil && slices.Contains(sub.direct, false) {
							t.Errorf("%s on %d threads, stage %d: outputs %v written into the batch's buffers: %v", c.name, threads, si, sub.r.p.outputs, sub.direct)
						}
					}
				}
			}
			if !raceEnabled {
				if a := allocstest.Steady(3, func() { _, _ = run.Run(x) }); a != 0 {
					t.Fatalf("%s: warm staged run allocates %v times", c.name, a)
				}
			}
		}
	}
}

// TestOwnsOutput: a chunk's kernel writes a stage output straight into the
// batch's buffer only where the output has storage of its own: a conv's or
// a Gemm's, not a Flatten's view of its input nor a program input passed
// through.
func TestOwnsOutput(t *testing.T) {
	p, err := Compile(smallConvNet(newRand(23)))
	if err != nil {
		t.Fatal(err)
	}
	x := randT(newRand(24), 2, 1, 16, 16)
	for _, c := range []struct {
		outs []string
		want []bool
	}{
		{[]string{"c3"}, []bool{true}},
		{[]string{"f"}, []bool{false}},
		{[]string{"y", "x"}, []bool{true, false}},
	} {
		s, err := p.Slice([]string{"x"}, c.outs)
		if err != nil {
			t.Fatal(err)
		}
		r := s.NewRunner(1)
		if _, err := r.Run(x); err != nil {
			t.Fatal(err)
		}
		for i, want := range c.want {
			if got := ownsOutput(r, i); got != want {
				t.Errorf("output %s owns its storage: %v, want %v", c.outs[i], got, want)
			}
		}
	}
}
