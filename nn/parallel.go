package nn

import (
	"sync"
	"time"
)

// A tiny fork-join helper for kernels. Work is split into contiguous blocks,
// one per goroutine, each owning a disjoint part of the output. Blocks are
// run by a small set of package workers that are started on demand and exit
// after workerIdle without work (so tests checking for leaked goroutines see
// none once the engine is idle). In steady state a parallel call allocates
// nothing: the job is an interface holding a pointer the caller owns, and
// the wait group comes from a sync.Pool.

// rangeJob is work over [lo, hi); worker is the block number in [0, blocks),
// so a job can hand each block its own part of a scratch buffer.
type rangeJob interface {
	runRange(lo, hi, worker int)
}

// workerIdle is how long an idle worker waits for work before exiting.
const workerIdle = 50 * time.Millisecond

// minParallelWork is the work (multiply-adds or element visits) below which a
// kernel does not fan out: goroutine hand-off costs a few microseconds.
const minParallelWork = 1 << 16

type parTask struct {
	job        rangeJob
	lo, hi, bl int
	wg         *sync.WaitGroup
}

var workers struct {
	mu    sync.Mutex
	alive int
	ch    chan parTask
}

var wgPool = sync.Pool{New: func() any { return new(sync.WaitGroup) }}

func init() { workers.ch = make(chan parTask, 256) }

// blocksFor is how many blocks to use for n items of total work under a
// budget of threads goroutines: 1 when the work is too small to share.
func blocksFor(threads, n int, work int64) int {
	if threads <= 1 || n <= 1 || work < 2*minParallelWork {
		return 1
	}
	b := threads
	if int64(b) > work/minParallelWork {
		b = int(work / minParallelWork)
	}
	if b > n {
		b = n
	}
	if b < 1 {
		b = 1
	}
	return b
}

// parallelFor runs job over [0, n) split into blocks contiguous blocks
// (blocks <= 1 runs it inline on the calling goroutine). The caller runs
// block 0 itself and returns when every block is done.
func parallelFor(blocks, n int, job rangeJob) {
	if n <= 0 {
		return
	}
	if blocks > n {
		blocks = n
	}
	if blocks <= 1 {
		job.runRange(0, n, 0)
		return
	}
	wg := wgPool.Get().(*sync.WaitGroup)
	wg.Add(blocks - 1)
	workers.mu.Lock()
	for workers.alive < blocks-1 {
		workers.alive++
		go workerLoop()
	}
	for b := 1; b < blocks; b++ {
		lo, hi := n*b/blocks, n*(b+1)/blocks
		workers.ch <- parTask{job: job, lo: lo, hi: hi, bl: b, wg: wg}
	}
	workers.mu.Unlock()
	job.runRange(0, n/blocks, 0)
	wg.Wait()
	wgPool.Put(wg)
}

func workerLoop() {
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		select {
		case task := <-workers.ch:
			task.job.runRange(task.lo, task.hi, task.bl)
			task.wg.Done()
			t.Reset(workerIdle)
		case <-t.C:
			workers.mu.Lock()
			if len(workers.ch) > 0 {
				workers.mu.Unlock()
				t.Reset(workerIdle)
				continue
			}
			workers.alive--
			workers.mu.Unlock()
			return
		}
	}
}
