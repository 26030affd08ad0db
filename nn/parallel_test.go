package nn

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// countJob records which items were visited and by which block.
type countJob struct {
	hits   []atomic.Int32
	blocks atomic.Int32
	maxBl  atomic.Int32
}

func (c *countJob) runRange(lo, hi, worker int) {
	c.blocks.Add(1)
	for {
		m := c.maxBl.Load()
		if int32(worker) <= m || c.maxBl.CompareAndSwap(m, int32(worker)) {
			break
		}
	}
	for i := lo; i < hi; i++ {
		c.hits[i].Add(1)
	}
}

func TestParallelForCoversEachItemOnce(t *testing.T) {
	for _, tc := range []struct{ blocks, n int }{{1, 10}, {2, 10}, {3, 10}, {4, 3}, {8, 1000}, {5, 0}} {
		c := &countJob{hits: make([]atomic.Int32, tc.n)}
		parallelFor(tc.blocks, tc.n, c)
		for i := range c.hits {
			if h := c.hits[i].Load(); h != 1 {
				t.Fatalf("blocks=%d n=%d: item %d visited %d times", tc.blocks, tc.n, i, h)
			}
		}
		want := min(tc.blocks, tc.n)
		if tc.n == 0 {
			want = 0
		}
		if got := int(c.blocks.Load()); got != want {
			t.Fatalf("blocks=%d n=%d: %d blocks ran, want %d", tc.blocks, tc.n, got, want)
		}
		if want > 0 && int(c.maxBl.Load()) != want-1 {
			t.Fatalf("blocks=%d n=%d: largest block number %d", tc.blocks, tc.n, c.maxBl.Load())
		}
	}
}

func TestBlocksFor(t *testing.T) {
	cases := []struct {
		threads, n int
		work       int64
		want       int
	}{
		{1, 100, 1 << 30, 1},
		{4, 100, 1000, 1},                // too little work
		{4, 100, 1 << 30, 4},             // enough work
		{4, 2, 1 << 30, 2},               // few items
		{8, 100, 3 * minParallelWork, 3}, // work bounds the fan-out
		{0, 100, 1 << 30, 1},
	}
	for _, c := range cases {
		if got := blocksFor(c.threads, c.n, c.work); got != c.want {
			t.Errorf("blocksFor(%d, %d, %d) = %d, want %d", c.threads, c.n, c.work, got, c.want)
		}
	}
}

// TestParallelConvAllocatesNothingAndWorkersExit runs a convolution big
// enough to fan out: warm runs allocate nothing, the result matches one
// thread, and the workers are gone once idle.
func TestParallelConvAllocatesNothingAndWorkersExit(t *testing.T) {
	r := newRand(80)
	x := randT(r, 2, 16, 24, 24)
	w := randT(r, 32, 16, 3, 3)
	c := opCase{op: "Conv", inputs: []*Tensor{x, w}, consts: map[int]bool{1: true}, attrs: map[string]Attr{"pads": ints(1, 1, 1, 1)}}
	before := runtime.NumGoroutine()
	p, err := Compile(c.graph())
	if err != nil {
		t.Fatal(err)
	}
	one, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	want := toF64(one[0].F32)
	run := p.NewRunner(2)
	if _, err := run.Run(x); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := run.Run(x); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("parallel warm run allocates %v times", allocs)
	}
	out, _ := run.Run(x)
	checkClose(t, "parallel", out[0], one[0].Shape, want)
	workers.mu.Lock()
	alive := workers.alive
	workers.mu.Unlock()
	if alive == 0 {
		t.Fatal("no worker was started: the convolution did not fan out")
	}
	idle := func() int {
		workers.mu.Lock()
		defer workers.mu.Unlock()
		return workers.alive
	}
	deadline := time.Now().Add(2 * time.Second)
	for idle() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := idle(); n > 0 {
		t.Fatalf("%d workers still alive after idling", n)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after idling, %d before", n, before)
	}
}
