package nn

import (
	"math"
	"slices"
)

// Buffer reuse between values. A Runner used to give every value its own
// storage, so each layer wrote into memory no other layer touched during a
// run: MobileNetV2 at batch 1 streamed ~50 MB of activations through a
// 2 MB L2 per inference. Instead, the float32 values that live only inside
// a run (produced by a node, not a program output) take their storage from
// a few shared buffers, assigned by liveness: a buffer returns to the free
// list once the last reader of its value has run, and the next output of
// the right size takes the one used most recently, which is still in cache.
//
// The rules that keep this correct:
//   - a node's outputs are assigned before its inputs are released, so an
//     output never shares storage with an input of the same node;
//   - an Aliaser's output is a view of its input's storage, so the two form
//     one group that lives until the last reader of either;
//   - program inputs, constants and program outputs are never shared
//     (Run's results stay valid until the next Run, as documented);
//   - other dtypes (int8, int32, int64, uint8) keep their own storage;
//   - the inputs of a Concat written in place (fuse_run.go) are views of
//     its output, which is one group with them: its storage is taken when
//     the first of them is computed and lives until the last reader of any
//     of them; a Concat's output may be a view of a later Concat's, and the
//     group is then the outermost output's.
//
// Kernels must write every element of their outputs and must not read an
// output before writing it: with sharing an output starts out holding
// another value's data. The nn tests (and builds with the tag nnpoison)
// fill each shared output with NaN before its kernel runs to check that.

// poisonShared makes Run fill every shared output with NaN before its
// kernel runs (set by the nn tests and by the build tag nnpoison).
var poisonShared = false

// shareState is a Runner's buffer-sharing plan.
type shareState struct {
	// From the program's structure (init):
	shareable []bool // by slot: produced by a node, not an alias, not pinned
	root      []int  // by slot: the slot whose storage it uses (aliases)
	lastUse   []int  // by root slot: the last node index that reads it
	// From the shapes (assign):
	buf      []int       // by root slot: shared buffer index, -1 if none
	bufs     [][]float32 // the shared buffers
	borrowed []bool      // by slot: storage from a shared buffer or a view
}

// forget detaches every value from the storage the last plan lent it, so
// that a value which now has its own storage does not grow into a shared
// buffer or another value's view.
func (sh *shareState) forget(r *Runner) {
	for s, b := range sh.borrowed {
		if b && r.vals[s] != nil {
			r.vals[s].F32 = nil
		}
	}
}

// allocate gives value s its own storage unless the shared buffers or a
// view provide it (assign).
func (sh *shareState) allocate(r *Runner, s int) {
	v := r.vals[s]
	if v.DType == Float32 && (sh.shareable[s] || sh.root[s] != s) {
		return
	}
	v.Resize(v.Shape)
}

// init derives from the program which slots may share storage.
func (sh *shareState) init(r *Runner) {
	n := len(r.vals)
	sh.root = make([]int, n)
	for s := range sh.root {
		sh.root[s] = s
	}
	sh.lastUse = make([]int, n)
	for s := range sh.lastUse {
		sh.lastUse[s] = -1
	}
	produced := make([]bool, n)
	// A Concat's output may itself be a view of a later Concat's (nested
	// views, fuse_run.go): walk the views from the last Concat back so that
	// every view's root is the outermost output.
	for i := len(r.views) - 1; i >= 0; i-- {
		v := r.views[i]
		sh.root[v.slot] = sh.root[v.parent]
		produced[sh.root[v.parent]] = true
	}
	for k := range r.kern {
		if r.skip[k] {
			continue
		}
		for _, s := range r.nodeIn[k] {
			if s >= 0 {
				sh.lastUse[sh.root[s]] = k
			}
		}
		a, alias := r.kern[k].(Aliaser)
		for j, s := range r.nodeOut[k] {
			if s < 0 {
				continue
			}
			if alias && j == 0 {
				if i := a.AliasInput(); i >= 0 && i < len(r.nodeIn[k]) && r.nodeIn[k][i] >= 0 {
					sh.root[s] = sh.root[r.nodeIn[k][i]]
					continue
				}
			}
			produced[s] = true
			if rt := sh.root[s]; sh.lastUse[rt] < k {
				sh.lastUse[rt] = k // an output nobody reads dies at once
			}
		}
	}
	sh.shareable = make([]bool, n)
	for s := range sh.shareable {
		sh.shareable[s] = produced[s] && sh.root[s] == s
	}
	// Program inputs are never produced; pin the storage of every program
	// output, aliases included.
	for _, s := range r.outSlots {
		sh.shareable[sh.root[s]] = false
	}
	for _, s := range r.inSlots {
		sh.shareable[sh.root[s]] = false
	}
	sh.buf = make([]int, n)
}

// assign gives every shareable float32 value a buffer, in node order, and
// points its tensor at it. The values' shapes are set already (plan).
func (sh *shareState) assign(r *Runner) {
	for s := range sh.buf {
		sh.buf[s] = -1
	}
	var size []int // per buffer: the largest value it holds
	var free []int // buffers not in use, most recently released last
	take := func(need int) int {
		// Prefer the most recently released buffer that is big enough (warm
		// in cache); else grow the largest free one; else add one.
		best := -1
		for i := len(free) - 1; i >= 0; i-- {
			if size[free[i]] >= need {
				best = i
				break
			}
		}
		if best < 0 && len(free) > 0 {
			best = 0
			for i := range free {
				if size[free[i]] > size[free[best]] {
					best = i
				}
			}
		}
		if best < 0 {
			size = append(size, need)
			return len(size) - 1
		}
		b := free[best]
		free = slices.Delete(free, best, best+1)
		size[b] = max(size[b], need)
		return b
	}
	release := func(s, k int) {
		rt := sh.root[s]
		if b := sh.buf[rt]; b >= 0 && sh.lastUse[rt] == k && !slices.Contains(free, b) {
			free = append(free, b)
		}
	}
	for k := range r.kern {
		if r.skip[k] {
			continue
		}
		for _, s := range r.nodeOut[k] {
			if s < 0 {
				continue
			}
			// A view's group takes its storage with its first member.
			rt := sh.root[s]
			if !sh.shareable[rt] || sh.buf[rt] >= 0 || r.vals[rt] == nil || r.vals[rt].DType != Float32 {
				continue
			}
			sh.buf[rt] = take(r.storageLen(rt))
		}
		for _, s := range r.nodeIn[k] {
			if s >= 0 {
				release(s, k)
			}
		}
		for _, s := range r.nodeOut[k] {
			if s >= 0 {
				release(s, k)
			}
		}
	}
	// Keep the buffers of an earlier plan where they are big enough.
	for b, n := range size {
		if b < len(sh.bufs) {
			sh.bufs[b] = grow(sh.bufs[b], n)
		} else {
			sh.bufs = append(sh.bufs, make([]float32, n))
		}
	}
	sh.bufs = sh.bufs[:len(size)]
	sh.borrowed = slices.Grow(sh.borrowed[:0], len(sh.buf))[:len(sh.buf)]
	for s, b := range sh.buf {
		sh.borrowed[s] = b >= 0
		if b >= 0 {
			r.vals[s].F32 = sh.bufs[b][:r.storageLen(s)]
		}
	}
	for i := len(r.views) - 1; i >= 0; i-- { // outer views first (init)
		cv := r.views[i]
		v := r.vals[cv.slot]
		v.F32 = r.vals[cv.parent].F32[cv.off : cv.off+NumElements(v.Shape)]
		sh.borrowed[cv.slot] = true
	}
}

// poison fills the shared outputs of node k with NaN.
func (sh *shareState) poison(r *Runner, k int) {
	for _, s := range r.nodeOut[k] {
		if s >= 0 && sh.buf[sh.root[s]] >= 0 {
			fillNaN(r.vals[s].F32)
		}
	}
}

func fillNaN(x []float32) {
	nan := float32(math.NaN())
	for i := range x {
		x[i] = nan
	}
}

// sharedBuffers reports how many shared buffers the last plan uses and
// their total size in floats (for tests).
func (r *Runner) sharedBuffers() (count, floats int) {
	for _, b := range r.share.bufs {
		floats += len(b)
	}
	return len(r.share.bufs), floats
}
