package nn

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// countJob records which items were visited, how many ranges ran and the
// largest participant number seen.
type countJob struct {
	hits   []atomic.Int32
	ranges atomic.Int32
	maxBl  atomic.Int32
}

func (c *countJob) runRange(lo, hi, worker int) {
	c.ranges.Add(1)
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
	for _, tc := range []struct{ blocks, n int }{{1, 10}, {2, 10}, {3, 10}, {4, 3}, {8, 1000}, {5, 0}, {2, 1 << 20}} {
		c := &countJob{hits: make([]atomic.Int32, tc.n)}
		new(RunContext).parallelFor(tc.blocks, tc.n, c)
		for i := range c.hits {
			if h := c.hits[i].Load(); h != 1 {
				t.Fatalf("blocks=%d n=%d: item %d visited %d times", tc.blocks, tc.n, i, h)
			}
		}
		want := min(tc.n, tc.blocks*chunksPerBlock)
		if tc.blocks <= 1 || tc.n <= 1 {
			want = min(tc.n, 1)
		}
		if got := int(c.ranges.Load()); got != want {
			t.Fatalf("blocks=%d n=%d: %d ranges ran, want %d", tc.blocks, tc.n, got, want)
		}
		if m := int(c.maxBl.Load()); m >= max(tc.blocks, 1) {
			t.Fatalf("blocks=%d n=%d: participant number %d", tc.blocks, tc.n, m)
		}
	}
}

// gateJob blocks every participant until release is closed.
type gateJob struct {
	entered atomic.Int32
	release chan struct{}
}

func (g *gateJob) runRange(lo, hi, worker int) {
	g.entered.Add(1)
	<-g.release
}

// TestParallelForLateWorkers occupies every worker, then runs a second job:
// its caller must finish every chunk alone instead of waiting for a worker,
// and the second job's queued tasks, once the workers get to them, must run
// nothing.
func TestParallelForLateWorkers(t *testing.T) {
	// Start from no workers, so that the gate job occupies all there are.
	if n := waitWorkersIdle(2 * time.Second); n > 0 {
		t.Fatalf("%d workers still alive", n)
	}
	gate := &gateJob{release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		new(RunContext).parallelFor(3, 3, gate)
		close(done)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for gate.entered.Load() < 3 {
		if time.Now().After(deadline) {
			close(gate.release)
			t.Fatalf("only %d participants entered the gate", gate.entered.Load())
		}
		time.Sleep(time.Millisecond)
	}
	c := &countJob{hits: make([]atomic.Int32, 100)}
	new(RunContext).parallelFor(3, 100, c) // both workers are stuck in gate
	ranges := c.ranges.Load()
	if m := c.maxBl.Load(); m != 0 || int(ranges) != 3*chunksPerBlock {
		t.Fatalf("caller alone should have run all %d chunks: %d ranges, largest participant %d", 3*chunksPerBlock, ranges, m)
	}
	close(gate.release)
	<-done
	// Let the workers drain the stale tasks, then check they ran nothing.
	for i := 0; i < 50 && len(workers.ch) > 0; i++ {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	if got := c.ranges.Load(); got != ranges {
		t.Fatalf("stale tasks ran %d more ranges", got-ranges)
	}
	for i := range c.hits {
		if h := c.hits[i].Load(); h != 1 {
			t.Fatalf("item %d visited %d times", i, h)
		}
	}
}

// ownerJob records which participant ran each item; the first item each
// participant runs waits (up to a second) until every participant has
// started one, so that all of them take part.
type ownerJob struct {
	by      []atomic.Int32 // participant + 1
	started atomic.Int32
	blocks  int32
	met     atomic.Bool
}

func (o *ownerJob) runRange(lo, hi, worker int) {
	for i := lo; i < hi; i++ {
		if o.by[i].Swap(int32(worker)+1) != 0 {
			panic("item run twice")
		}
	}
	if o.started.Add(1) <= o.blocks {
		for t0 := time.Now(); o.started.Load() < o.blocks && time.Since(t0) < time.Second; {
			runtime.Gosched()
		}
		if o.started.Load() >= o.blocks {
			o.met.Store(true)
		}
	}
}

// TestParallelForOwnShares: each participant starts on its own equal share
// of the items (the first of its run), so that 10 units on two threads
// split 5 and 5, and each participant computes the same part of every
// call; the rest may be stolen, but every item runs once.
func TestParallelForOwnShares(t *testing.T) {
	for _, tc := range []struct{ blocks, n int }{{2, 10}, {2, 7}, {3, 12}, {2, 1000}} {
		o := &ownerJob{by: make([]atomic.Int32, tc.n), blocks: int32(tc.blocks)}
		new(RunContext).parallelFor(tc.blocks, tc.n, o)
		if !o.met.Load() {
			t.Logf("blocks=%d n=%d: the workers did not start within a second (a loaded machine)", tc.blocks, tc.n)
			continue
		}
		chunks := min(tc.n, tc.blocks*chunksPerBlock)
		for b := range tc.blocks {
			first := tc.n * (chunks * b / tc.blocks) / chunks
			if got := o.by[first].Load() - 1; got != int32(b) {
				t.Errorf("blocks=%d n=%d: item %d (participant %d's first) ran on participant %d", tc.blocks, tc.n, first, b, got)
			}
		}
		for i := range o.by {
			if o.by[i].Load() == 0 {
				t.Fatalf("blocks=%d n=%d: item %d did not run", tc.blocks, tc.n, i)
			}
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
	if raceEnabled {
		t.Log("race detector on: allocation count not checked")
	}
	allocs := allocstest.Steady(10, func() {
		if _, err := run.Run(x); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 && !raceEnabled {
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
	if n := waitWorkersIdle(2 * time.Second); n > 0 {
		t.Fatalf("%d workers still alive after idling", n)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after idling, %d before", n, before)
	}
}

// waitWorkersIdle waits up to d for every worker to exit and returns how
// many are still alive.
func waitWorkersIdle(d time.Duration) int {
	alive := func() int {
		workers.mu.Lock()
		defer workers.mu.Unlock()
		return workers.alive
	}
	deadline := time.Now().Add(d)
	for alive() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	return alive()
}
