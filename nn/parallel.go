package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A tiny fork-join helper for kernels. The items [0, n) of a job are cut
// into a few contiguous chunks per goroutine; the calling goroutine and up
// to blocks-1 package workers claim chunks one at a time until none is
// left, each participant with its own worker number (so that it can own a
// part of a scratch buffer) and each chunk a disjoint part of the output.
// Claiming dynamically keeps a late worker (one the OS has not scheduled
// yet, common on a busy two-core edge device) from holding the caller up:
// the caller takes its chunks and the worker finds nothing left.
//
// Workers are started on demand and exit after workerIdle without work, so
// tests checking for leaked goroutines see none once the engine is idle. In
// steady state a call allocates nothing: the job is an interface holding a
// pointer the caller owns, and the shared call state (parCall) is the
// caller's too: each RunContext has one (RunContext.parallelFor).

// rangeJob is work over items [lo, hi); worker is the participant number in
// [0, blocks): 0 for the calling goroutine.
type rangeJob interface {
	runRange(lo, hi, worker int)
}

// workerIdle is how long an idle worker waits for work before exiting.
const workerIdle = 50 * time.Millisecond

// Spinning. Waking a parked goroutine (a futex wake of another thread)
// takes from a few to tens of microseconds on a virtualised host, as long
// as a whole layer of a small model: at batch 1 the next fan-out of a
// network comes microseconds after the last, so a worker that has just
// finished polls for work for workerSpin before it parks, and a caller
// whose last chunks run on a worker polls for them for callerSpin before
// it blocks. ONNX Runtime's thread pool does the same.
const (
	workerSpin = 100 * time.Microsecond
	callerSpin = 200 * time.Microsecond
)

// minParallelWork is the work (multiply-adds or element visits) below which a
// kernel does not fan out: goroutine hand-off costs a few microseconds.
const minParallelWork = 1 << 16

// chunksPerBlock is how many chunks each participant gets on average.
const chunksPerBlock = 4

// maxChunks bounds the chunk count (it shares a word with the generation).
const maxChunks = 1 << 15

// parCall is the shared state of a caller's parallelForOn calls, one at a
// time; workers reach it through tasks, which may arrive after the call is
// over, so every access by a worker is guarded by a generation check.
type parCall struct {
	job    rangeJob
	n      int
	chunks int
	gen    uint32 // the caller's generation counter (caller only)
	// state packs generation (bits 32-63), chunk count (16-31) and the next
	// chunk to claim (0-15).
	state atomic.Uint64
	// wg counts chunks not yet finished; finished counts them up (the
	// caller polls it before blocking on wg).
	wg       sync.WaitGroup
	finished atomic.Int32
}

type parTask struct {
	c      *parCall
	gen    uint32
	worker int
}

var workers struct {
	mu    sync.Mutex
	alive int
	ch    chan parTask
	// timers holds the idle timers of exited workers for the next ones to
	// start with, so that the first fan-out after an idle pause (a server
	// between requests) allocates nothing.
	timers []*time.Timer
}

func init() {
	workers.ch = make(chan parTask, 256)
	workers.timers = make([]*time.Timer, 0, 64)
}

// blocksFor is how many participants to use for n items of total work under
// a budget of threads goroutines: 1 when the work is too small to share.
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

// parallelForOn runs job over [0, n) with up to blocks participants
// (blocks <= 1 runs it inline on the calling goroutine as one range). The
// caller takes part and returns when every item is done. c is the call's
// state: the caller's for good (tasks of its earlier calls may still reach
// it), used by one call at a time.
func parallelForOn(c *parCall, blocks, n int, job rangeJob) {
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
	chunks := min(n, blocks*chunksPerBlock, maxChunks-1)
	c.job, c.n, c.chunks = job, n, chunks
	c.gen++
	c.wg.Add(chunks)
	c.finished.Store(0)
	c.state.Store(uint64(c.gen)<<32 | uint64(chunks)<<16)
	workers.mu.Lock()
	for workers.alive < blocks-1 {
		workers.alive++
		go workerLoop()
	}
	for b := 1; b < blocks; b++ {
		workers.ch <- parTask{c: c, gen: c.gen, worker: b}
	}
	workers.mu.Unlock()
	c.work(c.gen, 0)
	if int(c.finished.Load()) < chunks {
		for t0 := time.Now(); int(c.finished.Load()) < chunks && time.Since(t0) < callerSpin; {
			runtime.Gosched()
		}
	}
	c.wg.Wait()
	c.job = nil
}

// work claims and runs chunks of generation gen until none is left. A task
// of an earlier generation (its call is over) touches nothing but state.
func (c *parCall) work(gen uint32, worker int) {
	for {
		v := c.state.Load()
		if uint32(v>>32) != gen {
			return
		}
		chunks, next := int(v>>16&0xffff), int(v&0xffff)
		if next >= chunks {
			return
		}
		if !c.state.CompareAndSwap(v, v+1) {
			continue
		}
		// Chunk next is ours: the call cannot end before we report it done,
		// so job and n are this generation's.
		lo, hi := c.n*next/chunks, c.n*(next+1)/chunks
		c.job.runRange(lo, hi, worker)
		c.finished.Add(1)
		c.wg.Done()
	}
}

// idleTimer returns a kept idle timer or a new one.
func idleTimer() *time.Timer {
	workers.mu.Lock()
	defer workers.mu.Unlock()
	if n := len(workers.timers); n > 0 {
		t := workers.timers[n-1]
		workers.timers = workers.timers[:n-1]
		return t
	}
	return time.NewTimer(workerIdle)
}

// workerLoop takes no arguments: a go statement with arguments allocates.
func workerLoop() {
	t := idleTimer()
	for {
		// Poll for a while before parking (see workerSpin).
		for t0 := time.Now(); time.Since(t0) < workerSpin; {
			select {
			case task := <-workers.ch:
				task.c.work(task.gen, task.worker)
				t0 = time.Now()
				continue
			default:
			}
			runtime.Gosched()
		}
		t.Reset(workerIdle)
		select {
		case task := <-workers.ch:
			task.c.work(task.gen, task.worker)
			t.Reset(workerIdle)
		case <-t.C:
			workers.mu.Lock()
			if len(workers.ch) > 0 {
				workers.mu.Unlock()
				t.Reset(workerIdle)
				continue
			}
			workers.alive--
			workers.timers = append(workers.timers, t)
			workers.mu.Unlock()
			return
		}
	}
}
