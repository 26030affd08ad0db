package nn

import "slices"

// Batch chunking: a Runner given a batch runs it as chunks of a few images
// through sub-runners of the same program, when every node treats the
// images independently. Layer by layer over a whole batch of 32, every
// activation outgrows the caches (MobileNetV2's 112x112x96 layer is 154 MB),
// so each layer streams its input and output through memory; a chunk's
// activations stay in cache as at batch 1. With a thread budget, the
// chunks are shared among the threads, one sub-runner each: parallel over
// images with no fork-join per layer.

// chunkBytes bounds the largest activation of one chunk (the chunk is the
// most images whose largest value fits): half of a core's L2, so that a
// layer's input and output both stay in it (at batch 32 against 1 MB,
// interleaved CPU per image, 1 thread: seednet -2.9%, tinyresnet -1.1%,
// MobileNetV2 the same; 2 threads: -5%, -2%, -9%). A variable so that tests
// and benchmarks can compare; 0 turns chunking off.
var chunkBytes = 512 << 10

// chunkStages lets the chunk grow along the program (stagePlan); off, one
// chunk size serves the whole program (a variable so that benchmarks can
// compare).
var chunkStages = true

// chunkState is a Runner's batch chunking for its current input shapes.
type chunkState struct {
	on     bool
	sub    bool // a chunk's runner: runs whole
	n      int  // batch
	stages []*chunkStage
	bufs   []*Tensor // the whole batch's values passed between stages and its outputs, owned by the runner
	outs   []int     // per program output: its buffer
	stage  int       // the stage running (chunkJob)
}

// chunkStage is a run of the program's nodes that the batch goes through
// in k chunks of c or c-1 images (any batch: 31 images in chunks of 8 are
// 7, 8, 8, 8), each worker with a sub-runner of the run's slice per chunk
// size. The chunk grows along the program as the activations shrink
// (stagePlan): MobileNetV2's 112x112 layers take one image at a time, its
// 7x7 layers four, its classifier the whole batch on one thread, whose
// weights are then read once.
type chunkStage struct {
	c, k int
	subs [][2]chunkSub // per worker: the sub-runners of chunks of c images and c-1
	from []int         // per stage input: the program input index i, or -1-b for cs.bufs[b]
	outs []int         // per stage output: its buffer in cs.bufs
}

// chunkSub is a sub-runner of a stage for one chunk size, with its views of
// the stage's inputs.
type chunkSub struct {
	r      *Runner
	ins    []*Tensor
	direct []bool // per stage output: the kernel writes it straight into the batch's buffer (ownsOutput)
}

// ownsOutput reports whether program output i of r is a kernel's output
// with storage of its own (not an alias of another value, not a view, not
// holding a Concat's views, not a program input), which the kernel may
// write into any memory of its size: a chunk's slice of the batch's buffer
// instead of a copy after the run.
func ownsOutput(r *Runner, i int) bool {
	s := r.outSlots[i]
	if s < len(r.share.borrowed) && r.share.borrowed[s] || slices.Contains(r.inSlots, s) {
		return false
	}
	for _, v := range r.views {
		if v.parent == s || v.slot == s {
			return false
		}
	}
	made := false
	for k, outs := range r.nodeOut {
		if r.skip[k] || !slices.Contains(outs, s) {
			continue
		}
		if _, alias := r.kern[k].(Aliaser); alias {
			return false
		}
		made = true
	}
	return made
}

// bounds returns chunk i's images [lo, hi) of n.
func (st *chunkStage) bounds(i, n int) (lo, hi int) {
	return n * i / st.k, n * (i + 1) / st.k
}

// sub returns the worker's sub-runner for chunks of m images.
func (st *chunkStage) sub(worker, m int) *chunkSub {
	return &st.subs[worker][st.c-m]
}

// batchSeparable reports whether op (with its attributes) computes each
// image of its inputs from that image alone, given inputs and outputs
// whose first dimension is the batch (checked on shapes separately).
func batchSeparable(n *Node, isConst func(string) bool, rank int) bool {
	switch n.Op {
	case "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
		"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Clip", "Tanh", "Elu", "Selu", "Softplus",
		"Add", "Sub", "Mul", "Div", "BatchNormalization", "Dropout", "Identity", "Reshape", "Sqrt", "Exp", "Neg", "Abs",
		"QLinearConvInt8", "MaxPoolInt8", "QLinearAddInt8", "QLinearMulInt8", "AveragePoolInt8", "RequantizeInt8", "QLinearGlobalAveragePoolInt8", "LookupInt8",
		"QuantizeLinear", "DequantizeLinear":
		// Per-axis quantization on the batch axis would mix images.
		if (n.Op == "QuantizeLinear" || n.Op == "DequantizeLinear") && n.AttrInt("axis", 1) == 0 {
			return false
		}
		// MaxPool's indices count from the batch's first image.
		if n.Op == "MaxPool" && len(n.Outputs) > 1 && n.Outputs[1] != "" {
			return false
		}
		return true
	case "Transpose":
		// The batch stays the first dimension (a channel shuffle).
		p := n.AttrInts("perm", nil)
		return len(p) > 0 && p[0] == 0
	case "Concat", "Split", "Softmax", "LogSoftmax":
		a := n.AttrInt("axis", 1)
		return a >= 1 || a < 0 && int(-a) < rank
	case "Flatten":
		a := n.AttrInt("axis", 1)
		return a >= 1 || a < 0 && int(-a) < rank
	case "Gemm", "QLinearGemmInt8":
		// Activations as A (rows = images), constant B.
		return n.AttrInt("transA", 0) == 0 && isConst(n.Input(1)) && (n.Input(2) == "" || isConst(n.Input(2)))
	case "MatMul":
		return isConst(n.Input(1))
	}
	return false
}

// batchElementwise reports whether op broadcasts its inputs against each
// other.
func batchElementwise(op string) bool {
	switch op {
	case "Add", "Sub", "Mul", "Div", "QLinearAddInt8":
		return true
	}
	return false
}

// decide sets up chunking for the shapes r was just planned for (r.vals
// hold the whole batch's types), or turns it off.
func (cs *chunkState) decide(r *Runner, inputs []*Tensor) error {
	cs.on = false
	if cs.sub || chunkBytes <= 0 || len(inputs) == 0 || len(inputs[0].Shape) == 0 {
		return nil
	}
	n := inputs[0].Shape[0]
	if n < 2 {
		return nil
	}
	for _, t := range inputs {
		if len(t.Shape) == 0 || t.Shape[0] != n {
			return nil
		}
	}
	g := r.p.graph
	isConst := func(name string) bool { _, ok := g.Consts[name]; return ok }
	for k, ni := range r.p.nodes {
		rank := 0
		if len(r.nodeIn[k]) > 0 && r.nodeIn[k][0] >= 0 && r.vals[r.nodeIn[k][0]] != nil {
			rank = len(r.vals[r.nodeIn[k][0]].Shape)
		}
		if !batchSeparable(g.Nodes[ni], isConst, rank) {
			return nil
		}
		// Other operands (weights, bounds, shapes) must be constants.
		if n := g.Nodes[ni]; !batchElementwise(n.Op) && n.Op != "Concat" {
			for _, in := range n.Inputs[min(1, len(n.Inputs)):] {
				if in != "" && !isConst(in) {
					return nil
				}
			}
		}
		// Broadcasting aligns the last dimensions: the batch is the first
		// one only where every input computed at run time has the same rank.
		for _, s := range r.nodeIn[k] {
			if s >= 0 && r.vals[s] != nil && !isConstTensor(g, r.vals[s]) && len(r.vals[s].Shape) != rank &&
				batchElementwise(g.Nodes[ni].Op) {
				return nil
			}
		}
	}
	bounds, sizes := cs.stagePlan(r, n)
	if k, _ := chunkSplit(n, sizes[0], r.rc.Threads); k == 1 {
		return nil // the whole batch fits: one chunk is the plain run
	}
	if !cs.setup(r, inputs, n, bounds, sizes) && len(bounds) > 2 {
		// Not separable into stages after all: one stage.
		cs.setup(r, inputs, n, []int{0, len(r.p.nodes)}, sizes[:1])
	}
	return nil
}

// chunkFor returns the most images, up to n, whose per bytes each fit in
// chunkBytes (at least 1).
func chunkFor(n, per int) int {
	if per <= 0 {
		return n
	}
	return min(n, max(1, chunkBytes/per))
}

// chunkSplit returns how many chunks of at most c images a batch of n takes
// with the thread budget, at least one per worker and a multiple of the
// workers so that they share them evenly, and the largest chunk (the others
// are as large or one image less).
func chunkSplit(n, c, threads int) (k, largest int) {
	k = (n + c - 1) / c
	if w := min(threads, n); w > 1 {
		k = min(n, (k+w-1)/w*w)
	}
	return k, (n + k - 1) / k
}

// valueUses is where each value is produced and last read, by node
// position in the program (-1: a program input; len(nodes): read as a
// program output).
type valueUses struct {
	prod, last map[string]int
}

func programUses(p *Program) valueUses {
	u := valueUses{prod: map[string]int{}, last: map[string]int{}}
	for _, in := range p.inputs {
		u.prod[in] = -1
	}
	for k, ni := range p.nodes {
		n := p.graph.Nodes[ni]
		for _, in := range n.Inputs {
			if in != "" {
				u.last[in] = k
			}
		}
		for _, o := range n.Outputs {
			if o != "" {
				u.prod[o] = k
			}
		}
	}
	for _, o := range p.outputs {
		u.last[o] = len(p.nodes)
	}
	return u
}

// cut returns the values computed before node position b (or program
// inputs) that nodes from b on, or the program's outputs, read.
func (u valueUses) cut(p *Program, b int) []string {
	var names []string
	seen := map[string]bool{}
	add := func(name string) {
		if pk, ok := u.prod[name]; ok && pk < b && u.last[name] >= b && !seen[name] {
			seen[name] = true
			names = append(names, name)
		}
	}
	for _, ni := range p.nodes[b:] {
		for _, in := range p.graph.Nodes[ni].Inputs {
			add(in)
		}
	}
	for _, o := range p.outputs {
		add(o)
	}
	return names
}

// stagePlan cuts the program's nodes into stages [bounds[i], bounds[i+1])
// of chunk sizes[i]: a node's chunk is what its largest batch value allows
// (chunkFor), a stage's the least of its nodes' and the later ones', and a
// new stage starts where that at least doubles, moved on to the next cut
// of a single value when there is one before the next stage (a cut between
// a convolution and its residual Add would keep them from fusing), and not
// before a node that runs inside an earlier one's kernel (a Relu after a
// residual Add).
func (cs *chunkState) stagePlan(r *Runner, n int) (bounds, sizes []int) {
	nodes := r.p.nodes
	perNode := make([]int, len(nodes))
	for k := range nodes {
		per := 0
		for _, slots := range [2][]int{r.nodeIn[k], r.nodeOut[k]} {
			for _, s := range slots {
				if s < 0 {
					continue
				}
				if v := r.vals[s]; v != nil && len(v.Shape) > 0 && v.Shape[0] == n && !isConstTensor(r.p.graph, v) {
					per = max(per, NumElements(v.Shape)*v.DType.Size()/n) // an alias has no data of its own
				}
			}
		}
		_, perNode[k] = chunkSplit(n, chunkFor(n, per), r.rc.Threads)
	}
	suf := make([]int, len(nodes)+1)
	suf[len(nodes)] = n
	for k := len(nodes) - 1; k >= 0; k-- {
		suf[k] = min(suf[k+1], perNode[k])
	}
	bounds, sizes = []int{0}, []int{suf[0]}
	for k := 1; k < len(nodes); k++ {
		if chunkStages && suf[k] >= 2*sizes[len(sizes)-1] {
			bounds, sizes = append(bounds, k), append(sizes, suf[k])
		}
	}
	bounds = append(bounds, len(nodes))
	u := programUses(r.p)
	for i := 1; i < len(bounds)-1; i++ {
		for b := bounds[i]; b < bounds[i+1]; b++ {
			if cut := u.cut(r.p, b); !r.skip[b] && len(cut) == 1 && r.keepStage(b, bounds[i+1], cut) {
				bounds[i] = b
				break
			}
		}
		if !r.keepStage(bounds[i], bounds[i+1], u.cut(r.p, bounds[i])) {
			// Merged into the stage before (layout.go).
			bounds, sizes = slices.Delete(bounds, i, i+1), slices.Delete(sizes, i, i+1)
			i--
		}
	}
	return bounds, sizes
}

// setup builds the stages [bounds[i], bounds[i+1]) with chunks sizes[i]:
// each a slice of the program with its sub-runners, checked by running one
// chunk. It reports false, leaving chunking off, when a stage's values are
// not the whole batch's split by images.
func (cs *chunkState) setup(r *Runner, inputs []*Tensor, n int, bounds, sizes []int) bool {
	g := r.p.graph
	u := programUses(r.p)
	bufOf := map[string]int{}
	var bufs []*Tensor
	stages := make([]*chunkStage, len(sizes))
	for si, c := range sizes {
		st := &chunkStage{}
		st.k, st.c = chunkSplit(n, c, r.rc.Threads)
		var ins, outs []string
		if si == 0 {
			ins = r.p.inputs
		} else {
			for _, name := range u.cut(r.p, bounds[si]) {
				for _, ni := range r.p.nodes[bounds[si]:bounds[si+1]] {
					if slices.Contains(g.Nodes[ni].Inputs, name) {
						ins = append(ins, name)
						break
					}
				}
			}
		}
		for _, name := range ins {
			b, ok := bufOf[name]
			switch {
			case ok:
				st.from = append(st.from, -1-b)
			case u.prod[name] == -1:
				st.from = append(st.from, slices.Index(r.p.inputs, name))
			default:
				return false
			}
		}
		for _, ni := range r.p.nodes[bounds[si]:bounds[si+1]] {
			for _, o := range g.Nodes[ni].Outputs {
				if o != "" && u.last[o] >= bounds[si+1] && !slices.Contains(outs, o) {
					outs = append(outs, o)
				}
			}
		}
		if len(sizes) == 1 {
			outs = r.p.outputs
		}
		prog := r.p
		if len(sizes) > 1 {
			var err error
			if prog, err = r.p.Slice(ins, outs); err != nil {
				return false
			}
		}
		// Buffers for the outputs (the last stage's are the program's).
		for _, name := range prog.outputs {
			full := r.vals[r.slot[name]]
			if _, ok := bufOf[name]; ok || full == nil || len(full.Shape) == 0 || full.Shape[0] != n || isConstTensor(g, full) {
				return false
			}
			bufOf[name] = len(bufs)
			st.outs = append(st.outs, len(bufs))
			bufs = append(bufs, New(full.DType, full.Shape...))
		}
		workers := min(r.rc.Threads, st.k)
		st.subs = make([][2]chunkSub, workers)
		for w := range st.subs {
			for m := st.c; m >= st.c-1 && (m == st.c || n%st.k != 0); m-- {
				sub := prog.NewRunner(max(1, r.rc.Threads/workers))
				sub.chunk.sub = true
				ins := make([]*Tensor, len(st.from))
				for i, f := range st.from {
					t := bufOrInput(bufs, inputs, f)
					ins[i] = &Tensor{DType: t.DType, Shape: append([]int{m}, t.Shape[1:]...), Quant: t.Quant}
					sliceBatch(ins[i], t, 0, m)
				}
				if _, err := sub.Run(ins...); err != nil {
					return false // not separable after all
				}
				// Every value of a chunk must be the whole batch's with m
				// images.
				for name, slot := range sub.slot {
					v, sv := r.vals[r.slot[name]], sub.vals[slot]
					if v == nil || sv == nil || v == sv || isConstTensor(g, v) {
						continue
					}
					if len(v.Shape) == 0 || len(v.Shape) != len(sv.Shape) || v.Shape[0] != n || sv.Shape[0] != m || !sameShape(v.Shape[1:], sv.Shape[1:]) {
						return false
					}
				}
				direct := make([]bool, len(st.outs))
				for i := range direct {
					direct[i] = ownsOutput(sub, i)
				}
				*st.sub(w, m) = chunkSub{r: sub, ins: ins, direct: direct}
			}
		}
		stages[si] = st
	}
	cs.outs = make([]int, len(r.p.outputs))
	for i, name := range r.p.outputs {
		b, ok := bufOf[name]
		if !ok {
			return false // an input passed through
		}
		cs.outs[i] = b
	}
	cs.on, cs.n, cs.stages, cs.bufs = true, n, stages, bufs
	return true
}

// bufOrInput returns the whole batch's tensor of a stage input (see
// chunkStage.from).
func bufOrInput(bufs, inputs []*Tensor, f int) *Tensor {
	if f < 0 {
		return bufs[-1-f]
	}
	return inputs[f]
}

// isConstTensor reports whether v is one of g's constants.
func isConstTensor(g *Graph, v *Tensor) bool {
	for _, c := range g.Consts {
		if c == v {
			return true
		}
	}
	return false
}

// sliceBatch points dst's data at images [lo, hi) of src, with src's
// quantization.
func sliceBatch(dst, src *Tensor, lo, hi int) {
	viewBatch(dst, src, lo, hi)
	dst.Quant = src.Quant
}

// viewBatch points dst's data at images [lo, hi) of src.
func viewBatch(dst, src *Tensor, lo, hi int) {
	n := src.Shape[0]
	cut := func(l int) (int, int) { return l / n * lo, l / n * hi }
	if src.F32 != nil {
		a, b := cut(len(src.F32))
		dst.F32 = src.F32[a:b]
	}
	if src.I8 != nil {
		a, b := cut(len(src.I8))
		dst.I8 = src.I8[a:b]
	}
	if src.U8 != nil {
		a, b := cut(len(src.U8))
		dst.U8 = src.U8[a:b]
	}
	if src.I32 != nil {
		a, b := cut(len(src.I32))
		dst.I32 = src.I32[a:b]
	}
	if src.I64 != nil {
		a, b := cut(len(src.I64))
		dst.I64 = src.I64[a:b]
	}
}

// chunkJob runs chunks [lo, hi) of the current stage on worker's
// sub-runner.
type chunkJob struct {
	cs     *chunkState
	inputs []*Tensor
	err    []error // per worker
}

func (j *chunkJob) runRange(lo, hi, worker int) {
	cs := j.cs
	st := cs.stages[cs.stage]
	for k := lo; k < hi; k++ {
		a, b := st.bounds(k, cs.n)
		sub := st.sub(worker, b-a)
		for i, f := range st.from {
			sliceBatch(sub.ins[i], bufOrInput(cs.bufs, j.inputs, f), a, b)
		}
		for i, d := range sub.direct {
			if d {
				viewBatch(sub.r.vals[sub.r.outSlots[i]], cs.bufs[st.outs[i]], a, b)
			}
		}
		outs, err := sub.r.Run(sub.ins...)
		if err != nil {
			j.err[worker] = err
			return
		}
		for i, o := range outs {
			if !sub.direct[i] {
				copyBatch(cs.bufs[st.outs[i]], o, a, cs.n)
			}
		}
	}
}

// copyBatch writes chunk o's data (images from a on) into the whole
// batch's output dst of n images.
func copyBatch(dst, o *Tensor, a, n int) {
	d := dst.Bytes()
	copy(d[len(d)/n*a:], o.Bytes())
}

// run runs the batch stage by stage, chunk by chunk.
func (cs *chunkState) run(r *Runner, inputs []*Tensor) ([]*Tensor, error) {
	j := &r.chunkJob
	// A copy: storing inputs itself would move every caller's variadic
	// slice to the heap.
	j.cs, j.inputs = cs, append(j.inputs[:0], inputs...)
	defer clear(j.inputs)
	for si, st := range cs.stages {
		for w := range st.subs {
			for _, s := range st.subs[w] {
				if s.r != nil {
					s.r.observe = r.observe
				}
			}
		}
		if cap(j.err) < len(st.subs) {
			j.err = make([]error, len(st.subs))
		}
		j.err = j.err[:len(st.subs)]
		clear(j.err)
		cs.stage = si
		r.rc.parallelFor(len(st.subs), st.k, j)
		for _, err := range j.err {
			if err != nil {
				return nil, err
			}
		}
		// Set here, not by each chunk's copy: those run at once.
		for i, o := range st.subs[0][0].r.outs {
			cs.bufs[st.outs[i]].Quant = o.Quant
		}
	}
	for i, b := range cs.outs {
		r.outs[i] = cs.bufs[b]
	}
	return r.outs, nil
}
