package nn

// Run-time fusion of an element-wise activation into the Conv or Gemm
// before it, and of an Add followed by a Relu. It is decided per Program
// when a Runner is made (so per Slice too) and leaves the Graph untouched:
// ONNX export, hashing, quantization and slicing see the two nodes. An Add
// is fused with a Relu when the Relu is the only node of the program
// reading the Add's output and that output is not a program output; the
// Add then writes the Relu's output tensor directly and the Relu node is
// skipped.

// addReluChunk is how many values the fused kernel adds before clamping
// them, so the clamp reads from L1.
const addReluChunk = 2048

// addReluKernel computes relu(a + b) in one kernel, chunk by chunk, with
// the same element functions as the separate Add and Relu kernels, so the
// results are bit for bit those of the unfused pair.
type addReluKernel struct {
	add  *binaryKernel
	relu Kernel
}

func (k *addReluKernel) OutputTypes(in []Type) ([]Type, error) {
	t, err := k.add.OutputTypes(in)
	if err != nil {
		return nil, err
	}
	return k.relu.OutputTypes(t[:1])
}

func (k *addReluKernel) Run(rc *RunContext, in, out []*Tensor) error {
	a, b, y := in[0], in[1], out[0]
	if y.DType != Float32 {
		return dtypeErrf("Relu on %v", y.DType)
	}
	n := len(y.F32)
	if len(a.F32) == n && len(b.F32) == n && sameShape(a.Shape, b.Shape) {
		if addReluFast(y.F32, a.F32, b.F32) {
			return nil
		}
		for off := 0; off < n; off += addReluChunk {
			end := min(off+addReluChunk, n)
			yc := y.F32[off:end]
			binLine(opAdd, yc, a.F32[off:end], b.F32[off:end], 1, 1)
			applyActTo(actRelu, 0, 0, yc, yc)
		}
		return nil
	}
	if err := binaryRun(opAdd, a.Shape, b.Shape, y.Shape, a.F32, b.F32, y.F32); err != nil {
		return err
	}
	applyActTo(actRelu, 0, 0, y.F32, y.F32)
	return nil
}

// MACs counts one operation per output element for each of the two nodes.
func (k *addReluKernel) MACs(in, out []Type) int64 { return 2 * elemCount(out) }

// fuseAddRelu returns, per position in p.nodes, the fused kernel replacing
// an Add (nil elsewhere) and whether the node is a Relu absorbed by the Add
// before it; fusedInto[k] is the position of that Relu for a fused Add.
func fuseAddRelu(p *Program) (kerns []Kernel, skip []bool, fusedInto []int) {
	g := p.graph
	pos := make(map[int]int, len(p.nodes))
	for k, ni := range p.nodes {
		pos[ni] = k
	}
	readers := make(map[string][]int)
	for k, ni := range p.nodes {
		for _, in := range g.Nodes[ni].Inputs {
			if in != "" {
				readers[in] = append(readers[in], k)
			}
		}
	}
	isOut := make(map[string]bool, len(p.outputs))
	for _, o := range p.outputs {
		isOut[o] = true
	}
	kerns = make([]Kernel, len(p.nodes))
	skip = make([]bool, len(p.nodes))
	fusedInto = make([]int, len(p.nodes))
	for k, ni := range p.nodes {
		fusedInto[k] = -1
		n := g.Nodes[ni]
		add, ok := p.kernels[ni].(*binaryKernel)
		if !ok || add.op != opAdd || n.Op != "Add" || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
			continue
		}
		mid := n.Outputs[0]
		rs := readers[mid]
		if mid == "" || isOut[mid] || len(rs) != 1 {
			continue
		}
		rk := rs[0]
		r := g.Nodes[p.nodes[rk]]
		if r.Op != "Relu" || len(r.Inputs) != 1 || len(r.Outputs) != 1 || r.Outputs[0] == "" || skip[rk] {
			continue
		}
		if u, ok := p.kernels[p.nodes[rk]].(*unaryKernel); !ok || u.kind != actRelu {
			continue
		}
		kerns[k] = &addReluKernel{add: add, relu: p.kernels[p.nodes[rk]]}
		skip[rk] = true
		fusedInto[k] = rk
	}
	// A Conv or Gemm whose output only an activation reads applies it while
	// its output block is in cache (FuseActivations folds Relu and Clip into
	// the graph already; this takes every unary activation, in programs
	// compiled from any graph, and leaves the graph as ONNX has it for
	// export, quantization and training).
	for k, ni := range p.nodes {
		n := g.Nodes[ni]
		if skip[k] || kerns[k] != nil || len(n.Outputs) != 1 || (n.Op != "Conv" && n.Op != "Gemm") {
			continue
		}
		mid := n.Outputs[0]
		rs := readers[mid]
		if mid == "" || isOut[mid] || len(rs) != 1 || skip[rs[0]] || kerns[rs[0]] != nil {
			continue
		}
		rk := rs[0]
		r := g.Nodes[p.nodes[rk]]
		u, ok := p.kernels[p.nodes[rk]].(*unaryKernel)
		if !ok || len(r.Inputs) != 1 || len(r.Outputs) != 1 || r.Outputs[0] == "" {
			continue
		}
		if f := withActivation(p.kernels[ni], u); f != nil {
			kerns[k] = f
			skip[rk] = true
			fusedInto[k] = rk
		}
	}
	return kerns, skip, fusedInto
}

// withActivation returns a copy of the Conv or Gemm kernel prod that applies
// u's activation to its output, or nil when prod has an activation already.
// The copy shares prod's packed weights.
func withActivation(prod Kernel, u *unaryKernel) Kernel {
	switch p := prod.(type) {
	case *convKernel:
		if p.act != actNone {
			return nil
		}
		c := *p
		c.act, c.actA, c.actB = u.kind, u.a, u.b
		return &c
	case *gemmKernel:
		if p.act != actNone {
			return nil
		}
		c := *p
		c.act, c.actA, c.actB = u.kind, u.a, u.b
		return &c
	}
	return nil
}
