package nn

// Batch chunking: a Runner given a batch runs it as chunks of a few images
// through sub-runners of the same program, when every node treats the
// images independently. Layer by layer over a whole batch of 32, every
// activation outgrows the caches (MobileNetV2's 112x112x96 layer is 154 MB),
// so each layer streams its input and output through memory; a chunk's
// activations stay in cache as at batch 1. With a thread budget, the
// chunks are shared among the threads, one sub-runner each: parallel over
// images with no fork-join per layer.

// chunkBytes bounds the largest activation of one chunk (the chunk is the
// most images, a divisor of the batch, whose largest value fits). A
// variable so that tests and benchmarks can compare; 0 turns chunking off.
var chunkBytes = 1 << 20

// chunkState is a Runner's batch chunking for its current input shapes.
type chunkState struct {
	on   bool
	sub  bool      // a chunk's runner: runs whole
	n, c int       // batch, images per chunk
	subs []*Runner // one per worker
	ins  [][]*Tensor
	outs []*Tensor // the whole batch's outputs, owned by the runner
}

// batchSeparable reports whether op (with its attributes) computes each
// image of its inputs from that image alone, given inputs and outputs
// whose first dimension is the batch (checked on shapes separately).
func batchSeparable(n *Node, isConst func(string) bool, rank int) bool {
	switch n.Op {
	case "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
		"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Clip", "Tanh", "Elu", "Selu", "Softplus",
		"Add", "Sub", "Mul", "Div", "BatchNormalization", "Dropout", "Identity", "Reshape", "Sqrt", "Exp", "Neg", "Abs",
		"QLinearConvInt8", "MaxPoolInt8", "QLinearAddInt8", "RequantizeInt8", "QLinearGlobalAveragePoolInt8", "LookupInt8",
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
	// The largest value of one image decides the chunk.
	per := 0
	for _, v := range r.vals {
		if v != nil && len(v.Shape) > 0 && v.Shape[0] == n {
			per = max(per, v.Len()*v.DType.Size()/n)
		}
	}
	c := 1
	for d := n / 2; d > 1; d-- {
		if n%d == 0 && d*per <= chunkBytes {
			c = d
			break
		}
	}
	chunks := n / c
	workers := min(r.rc.Threads, chunks)
	subs := make([]*Runner, workers)
	ins := make([][]*Tensor, workers)
	for w := range subs {
		subs[w] = r.p.NewRunner(max(1, r.rc.Threads/workers))
		subs[w].chunk.sub = true
		ins[w] = make([]*Tensor, len(inputs))
		for i, t := range inputs {
			ins[w][i] = &Tensor{DType: t.DType, Shape: append([]int{c}, t.Shape[1:]...), Quant: t.Quant}
			sliceBatch(ins[w][i], t, 0, c)
		}
		if _, err := subs[w].Run(ins[w]...); err != nil {
			return nil // not separable after all: run whole
		}
	}
	// Every value of a chunk must be the whole batch's with c images.
	s := subs[0]
	for slot, v := range r.vals {
		sv := s.vals[slot]
		if v == nil || sv == nil || v == sv || isConstTensor(g, v) {
			continue
		}
		if len(v.Shape) == 0 || len(v.Shape) != len(sv.Shape) || v.Shape[0] != n || sv.Shape[0] != c || !sameShape(v.Shape[1:], sv.Shape[1:]) {
			return nil
		}
	}
	cs.outs = make([]*Tensor, len(r.outSlots))
	for i, o := range s.outs {
		full := r.vals[r.outSlots[i]]
		if full == nil || len(full.Shape) == 0 || full.Shape[0] != n || len(o.Shape) == 0 || o.Shape[0] != c || isConstTensor(g, full) {
			return nil
		}
		cs.outs[i] = New(o.DType, full.Shape...)
	}
	cs.on, cs.n, cs.c, cs.subs, cs.ins = true, n, c, subs, ins
	return nil
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

// sliceBatch points dst's data at images [lo, hi) of src.
func sliceBatch(dst, src *Tensor, lo, hi int) {
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
	dst.Quant = src.Quant
}

// chunkJob runs chunks [lo, hi) on worker's sub-runner.
type chunkJob struct {
	cs     *chunkState
	inputs []*Tensor
	err    []error // per worker
}

func (j *chunkJob) runRange(lo, hi, worker int) {
	cs := j.cs
	sub, ins := cs.subs[worker], cs.ins[worker]
	for k := lo; k < hi; k++ {
		a, b := k*cs.c, (k+1)*cs.c
		for i, t := range j.inputs {
			sliceBatch(ins[i], t, a, b)
		}
		outs, err := sub.Run(ins...)
		if err != nil {
			j.err[worker] = err
			return
		}
		for i, o := range outs {
			copyBatch(cs.outs[i], o, a, cs.n)
		}
	}
}

// copyBatch writes chunk o's data (images from a on) into the whole
// batch's output dst of n images.
func copyBatch(dst, o *Tensor, a, n int) {
	d := dst.Bytes()
	copy(d[len(d)/n*a:], o.Bytes())
}

// run runs the batch chunk by chunk.
func (cs *chunkState) run(r *Runner, inputs []*Tensor) ([]*Tensor, error) {
	for _, s := range cs.subs {
		s.observe = r.observe
	}
	j := &r.chunkJob
	// A copy: storing inputs itself would move every caller's variadic
	// slice to the heap.
	j.cs, j.inputs = cs, append(j.inputs[:0], inputs...)
	if cap(j.err) < len(cs.subs) {
		j.err = make([]error, len(cs.subs))
	}
	j.err = j.err[:len(cs.subs)]
	clear(j.err)
	r.rc.parallelFor(len(cs.subs), cs.n/cs.c, j)
	clear(j.inputs)
	for _, err := range j.err {
		if err != nil {
			return nil, err
		}
	}
	// Set here, not by each chunk's copy: those run at once.
	for i, o := range cs.subs[0].outs {
		cs.outs[i].Quant = o.Quant
	}
	copy(r.outs, cs.outs)
	return r.outs, nil
}
