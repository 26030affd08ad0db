package nn

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// A tiny fork-join helper for kernels. The items [0, n) of a job are cut
// into chunks, and each participant (the calling goroutine and up to
// blocks-1 package workers, each with its own worker number, so that it can
// own a part of a scratch buffer) owns an equal contiguous run of them. A
// participant claims its own chunks one at a time from the front; once it
// has none left it steals the others' from the back. So:
//   - when all participants run, each does its own share, which a kernel's
//     units divide evenly (an odd one out is stolen: the imbalance is at
//     most one chunk); claiming chunks in turn from one shared counter
//     could give one participant a chunk more (10 units in 8 chunks of 1
//     or 2: 6 against 4, a speed-up of 1.67 on two threads);
//   - participant p computes the same part of consecutive layers (the same
//     rows, the same columns), which its core's cache then holds;
//   - a late worker (one the OS has not scheduled yet, common on a busy
//     two-core edge device) does not hold the caller up: the caller steals
//     its chunks, and the worker finds nothing left.
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

// chunksPerBlock is how many chunks each participant owns at most: a
// kernel's units (tens at most on a layer of a CNN) are then chunks of
// their own, and a job of many small items is claimed a sixteenth of a
// share at a time.
const chunksPerBlock = 16

// maxChunks bounds the chunk count (a range shares a word with the
// generation).
const maxChunks = 1 << 15

// parCall is the shared state of a caller's parallelForOn calls, one at a
// time; workers reach it through tasks, which may arrive after the call is
// over, so every access by a worker is guarded by a generation check.
type parCall struct {
	job    rangeJob
	n      int
	chunks int
	gen    uint32 // the caller's generation counter (caller only)
	// own holds each participant's chunks not yet claimed.
	own []ownRange
	// wg counts chunks not yet finished; finished counts them up (the
	// caller polls it before blocking on wg).
	wg       sync.WaitGroup
	finished atomic.Int32
}

// ownRange is a participant's unclaimed chunks [lo, hi), packed with the
// generation (bits 32-63) as lo (16-31) and hi (0-15), on a cache line of
// its own: the owner claims at lo, thieves at hi.
type ownRange struct {
	v atomic.Uint64
	_ [56]byte
}

// parTask is a worker's part in a call: the ranges travel with it, as the
// caller may replace c.own for a later call.
type parTask struct {
	c      *parCall
	own    []ownRange
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
	if len(c.own) < blocks {
		c.own = make([]ownRange, blocks) // a thread budget's first fan-out
	}
	g := uint64(c.gen) << 32
	for b := range blocks {
		lo, hi := chunks*b/blocks, chunks*(b+1)/blocks
		c.own[b].v.Store(g | uint64(lo)<<16 | uint64(hi))
	}
	workers.mu.Lock()
	for workers.alive < blocks-1 {
		workers.alive++
		go workerLoop()
	}
	for b := 1; b < blocks; b++ {
		workers.ch <- parTask{c: c, own: c.own[:blocks], gen: c.gen, worker: b}
	}
	workers.mu.Unlock()
	c.work(c.own[:blocks], c.gen, 0)
	if int(c.finished.Load()) < chunks {
		for t0 := time.Now(); int(c.finished.Load()) < chunks && time.Since(t0) < callerSpin; {
			runtime.Gosched()
		}
	}
	c.wg.Wait()
	c.job = nil
}

// work runs participant worker's chunks of generation gen, then steals the
// other participants' until none is left. A task of an earlier generation
// (its call is over) touches nothing but the ranges' words.
func (c *parCall) work(own []ownRange, gen uint32, worker int) {
	for i := range own {
		r := &own[(worker+i)%len(own)]
		for {
			ch, ok := r.claim(gen, i > 0)
			if !ok {
				break
			}
			// Chunk ch is ours: the call cannot end before we report it
			// done, so job, n and chunks are this generation's.
			c.job.runRange(c.n*ch/c.chunks, c.n*(ch+1)/c.chunks, worker)
			c.finished.Add(1)
			c.wg.Done()
		}
	}
}

// claim takes the first unclaimed chunk of the range (the last for a
// thief) when the range is of generation gen and not empty.
func (o *ownRange) claim(gen uint32, thief bool) (int, bool) {
	for {
		v := o.v.Load()
		if uint32(v>>32) != gen {
			return 0, false
		}
		lo, hi := int(v>>16&0xffff), int(v&0xffff)
		if lo >= hi {
			return 0, false
		}
		nv, ch := v+1<<16, lo
		if thief {
			nv, ch = v-1, hi-1
		}
		if o.v.CompareAndSwap(v, nv) {
			return ch, true
		}
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
				task.c.work(task.own, task.gen, task.worker)
				t0 = time.Now()
				continue
			default:
			}
			runtime.Gosched()
		}
		t.Reset(workerIdle)
		select {
		case task := <-workers.ch:
			task.c.work(task.own, task.gen, task.worker)
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
