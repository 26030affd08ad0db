package nn

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

// Kernel is a compiled operator instance. Kernels are shared by every Runner
// of a Program, so Run must not mutate the kernel; per-run scratch memory
// comes from the RunContext.
type Kernel interface {
	// OutputTypes computes the output types from the input types. The runner
	// calls it when the shapes entering the program change, not per run.
	OutputTypes(in []Type) ([]Type, error)
	// Run computes out from in. The runner allocates out with the types that
	// OutputTypes returned. Kernels must not retain in or out.
	Run(rc *RunContext, in, out []*Tensor) error
}

// Aliaser is implemented by kernels whose output 0 is input AliasInput()
// with a new shape (Reshape, Flatten, Identity, Dropout): the runner shares
// the storage instead of copying, and Run is not called.
type Aliaser interface {
	AliasInput() int
}

// BuildContext is what a Builder sees of the graph when compiling a node.
type BuildContext struct {
	Graph *Graph
	Node  *Node
}

// Const returns the constant tensor named name, or nil if name is not a
// constant (a graph input or computed value) or empty.
func (bc *BuildContext) Const(name string) *Tensor {
	if name == "" {
		return nil
	}
	return bc.Graph.Consts[name]
}

// InputConst returns the constant feeding input i of the node, or nil.
func (bc *BuildContext) InputConst(i int) *Tensor { return bc.Const(bc.Node.Input(i)) }

// Builder compiles one node into a kernel. It may pre-pack constant weights.
type Builder func(bc *BuildContext) (Kernel, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Builder{}
)

// Register makes an operator available to Compile. Op names are ONNX op
// types ("Conv") or splitinfer's own ("QLinearConvInt8"). Registering an op
// twice replaces it (a faster kernel may override a reference one).
func Register(op string, b Builder) {
	registryMu.Lock()
	registry[op] = b
	registryMu.Unlock()
}

// Registered reports whether op has a builder.
func Registered(op string) bool {
	registryMu.RLock()
	defer registryMu.RUnlock()
	_, ok := registry[op]
	return ok
}

// RegisteredOps lists the registered op names, sorted.
func RegisteredOps() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	ops := make([]string, 0, len(registry))
	for op := range registry {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	return ops
}

// UnsupportedError reports a node whose operator has no kernel.
type UnsupportedError struct {
	Op, Node string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("nn: unsupported operator %s (node %s)", e.Op, e.Node)
}

func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }

// Program is a compiled graph, or a compiled sub-graph of one (see Slice).
// It is immutable and safe for concurrent use; each goroutine runs it
// through its own Runner.
type Program struct {
	graph   *Graph
	nodes   []int // indices into graph.Nodes, topological
	kernels []Kernel
	inputs  []string
	outputs []string
}

// Compile builds a kernel for every node of g. It fails with an
// *UnsupportedError naming the op and the node when an op has no kernel.
func Compile(g *Graph) (*Program, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	p := &Program{graph: g, kernels: make([]Kernel, len(g.Nodes))}
	registryMu.RLock()
	defer registryMu.RUnlock()
	for i, n := range g.Nodes {
		b, ok := registry[n.Op]
		if !ok {
			return nil, &UnsupportedError{Op: n.Op, Node: n.Name}
		}
		k, err := b(&BuildContext{Graph: g, Node: n})
		if err != nil {
			return nil, fmt.Errorf("nn: node %s: %w", n, err)
		}
		p.kernels[i] = k
		p.nodes = append(p.nodes, i)
	}
	for _, in := range g.Inputs {
		p.inputs = append(p.inputs, in.Name)
	}
	for _, o := range g.Outputs {
		p.outputs = append(p.outputs, o.Name)
	}
	return p, nil
}

// Graph returns the graph the program was compiled from (the whole graph, also for a slice).
func (p *Program) Graph() *Graph { return p.graph }

// Inputs lists the tensors a run must be given, in order.
func (p *Program) Inputs() []string { return p.inputs }

// Outputs lists the tensors a run returns, in order.
func (p *Program) Outputs() []string { return p.outputs }

// Nodes lists the nodes the program runs, in order.
func (p *Program) Nodes() []*Node {
	out := make([]*Node, len(p.nodes))
	for i, ni := range p.nodes {
		out[i] = p.graph.Nodes[ni]
	}
	return out
}

// NodeIndices lists the indices in Graph().Nodes of the nodes the program runs.
func (p *Program) NodeIndices() []int { return append([]int(nil), p.nodes...) }

// Kernel returns the compiled kernel of Graph().Nodes[i] (nil when i is out
// of range), e.g. to ask it for its cost with NodeMACs.
func (p *Program) Kernel(i int) Kernel {
	if i < 0 || i >= len(p.kernels) {
		return nil
	}
	return p.kernels[i]
}

// Slice returns the sub-program that computes outputs from inputs: the
// nodes of p on a path from the inputs (or constants) to the outputs. Any
// tensor may be an input or an output, so the head and the tail of a split
// are both slices, and a cut of a DAG may carry several tensors. It fails
// with ErrMissing when an output depends on a tensor that is neither given
// nor computable inside p.
func (p *Program) Slice(inputs, outputs []string) (*Program, error) {
	g := p.graph
	have := make(map[string]bool, len(inputs))
	for _, in := range inputs {
		have[in] = true
	}
	inP := make(map[int]bool, len(p.nodes))
	for _, ni := range p.nodes {
		inP[ni] = true
	}
	prod := g.Producers()
	need := make(map[int]bool)
	stack := append([]string(nil), outputs...)
	seen := make(map[string]bool)
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if t == "" || seen[t] || have[t] {
			continue
		}
		seen[t] = true
		if _, ok := g.Consts[t]; ok {
			continue
		}
		ni, ok := prod[t]
		if !ok || !inP[ni] {
			return nil, fmt.Errorf("%w: %q is needed but not among the slice inputs %v", ErrMissing, t, inputs)
		}
		if !need[ni] {
			need[ni] = true
			stack = append(stack, g.Nodes[ni].Inputs...)
		}
	}
	s := &Program{graph: g, inputs: append([]string(nil), inputs...), outputs: append([]string(nil), outputs...)}
	s.kernels = p.kernels
	for _, ni := range p.nodes {
		if need[ni] {
			s.nodes = append(s.nodes, ni)
		}
	}
	return s, nil
}

// RunContext carries per-runner state that kernels may use: the thread
// budget and reusable scratch memory.
type RunContext struct {
	// Threads is how many goroutines a kernel may use (at least 1).
	Threads int
	f32     []float32
	i32     []int32
	i8      []int8
	gemmWS  []*blas.Workspace // per participant of a fan-out (conv.go)
	jobs    *runJobs
}

// runJobs holds one job of each parallel kernel and the fork-join state of
// a RunContext's fan-outs, reused by its runs: a sync.Pool would hand them
// between threads (two sub-runners run at once) and miss, allocating.
type runJobs struct {
	par    parCall
	conv   convJob
	gemm   gemmJob
	pool   poolJob
	poolC  maxPoolNCHWcJob
	gap    gapJob
	gapC   gapNCHWcJob
	sepMax sepMaxPlan // the separable MaxPool's plan (pool_sep.go)
	same3  same3Plan  // the same 3x3 MaxPool's plan (pool_same3.go)
	q8Conv q8ConvJob
	q8C1   q8C1Job
	q8Quad q8QuadJob
	q8DW   q8DWJob
	q8DWS  q8DWSJob
	q8Max  q8MaxJob
	bn     bnJob

	q8Lookup q8LookupJob
	q8Mul    q8MulJob
	q8Avg    q8AvgJob
}

// kernelJobs returns rc's jobs (made on first use).
func (rc *RunContext) kernelJobs() *runJobs {
	if rc.jobs == nil {
		rc.jobs = new(runJobs)
	}
	return rc.jobs
}

// parallelFor is the package's parallelFor with rc's fork-join state.
func (rc *RunContext) parallelFor(blocks, n int, job rangeJob) {
	parallelForOn(&rc.kernelJobs().par, blocks, n, job)
}

// ScratchF32 returns a scratch slice of n float32s, reused across calls and
// runs; its contents are undefined. Only one scratch slice per type is live
// at a time: a kernel must not hold it across calls.
func (rc *RunContext) ScratchF32(n int) []float32 { rc.f32 = grow(rc.f32, n); return rc.f32 }

// ScratchI32 is ScratchF32 for int32.
func (rc *RunContext) ScratchI32(n int) []int32 { rc.i32 = grow(rc.i32, n); return rc.i32 }

// ScratchI8 is ScratchF32 for int8.
func (rc *RunContext) ScratchI8(n int) []int8 { rc.i8 = grow(rc.i8, n); return rc.i8 }

// Observer is told how long each node took (Runner.SetObserver).
type Observer func(node *Node, d time.Duration)

// Runner runs a Program with preallocated buffers. It is not safe for
// concurrent use; make one per goroutine. After the first run with a given
// set of input shapes, runs allocate nothing.
type Runner struct {
	p        *Program
	slot     map[string]int
	vals     []*Tensor // by slot
	baseIn   [][]int   // per program node: input slots (-1 for absent)
	baseOut  [][]int   // per program node: output slots
	nodeIn   [][]int   // per program node: the input slots of the kernel run (fuse_run.go)
	nodeOut  [][]int   // per program node: the output slots of the kernel run
	kern     []Kernel  // per program node: the kernel run
	skip     []bool    // per program node: absorbed by a fused kernel, or a Concat written in place
	report   []int     // per program node: the graph node the observer is told about
	views    []concatView
	fx       fuseIndex
	inTen    [][]*Tensor // per node scratch views
	outTen   [][]*Tensor
	inSlots  []int
	outSlots []int
	shapes   [][]int // input shapes of the last plan
	outs     []*Tensor
	rc       RunContext
	observe  Observer
	share    shareState // buffer reuse between values (share.go)
	chunk    chunkState // a batch run in chunks of images (batch_chunk.go)
	nchw16c  []bool     // by slot: the value is in NCHW16c (layout.go)
	border   []int      // by slot: the zero border of an NCHW16c value
	chunkJob chunkJob
}

// NewRunner prepares a runner for p with the given thread budget (<1 means 1).
func (p *Program) NewRunner(threads int) *Runner {
	if threads < 1 {
		threads = 1
	}
	r := &Runner{p: p, slot: map[string]int{}, rc: RunContext{Threads: threads}}
	id := func(name string) int {
		if name == "" {
			return -1
		}
		if s, ok := r.slot[name]; ok {
			return s
		}
		s := len(r.vals)
		r.slot[name] = s
		var t *Tensor
		if c, ok := p.graph.Consts[name]; ok {
			t = c
		}
		r.vals = append(r.vals, t)
		return s
	}
	for _, in := range p.inputs {
		r.inSlots = append(r.inSlots, id(in))
	}
	for _, ni := range p.nodes {
		n := p.graph.Nodes[ni]
		ins := make([]int, len(n.Inputs))
		for j, in := range n.Inputs {
			ins[j] = id(in)
		}
		outs := make([]int, len(n.Outputs))
		for j, o := range n.Outputs {
			outs[j] = id(o)
		}
		r.baseIn = append(r.baseIn, ins)
		r.baseOut = append(r.baseOut, outs)
	}
	for _, o := range p.outputs {
		r.outSlots = append(r.outSlots, id(o))
	}
	r.outs = make([]*Tensor, len(r.outSlots))
	n := len(p.nodes)
	r.nodeIn, r.nodeOut = make([][]int, n), make([][]int, n)
	r.inTen, r.outTen = make([][]*Tensor, n), make([][]*Tensor, n)
	r.kern, r.skip, r.report = make([]Kernel, n), make([]bool, n), make([]int, n)
	r.fx = newFuseIndex(r)
	return r
}

// SetObserver installs f to be told each node's duration (nil turns it off).
func (r *Runner) SetObserver(f Observer) { r.observe = f }

// Program returns the program the runner runs.
func (r *Runner) Program() *Program { return r.p }

// Run runs the program on inputs, given in Program.Inputs order. The
// returned tensors belong to the runner and stay valid until the next Run.
func (r *Runner) Run(inputs ...*Tensor) ([]*Tensor, error) {
	if len(inputs) != len(r.inSlots) {
		return nil, fmt.Errorf("%w: got %d inputs, program takes %d %v", ErrMissing, len(inputs), len(r.inSlots), r.p.inputs)
	}
	replan := r.shapes == nil
	for i, t := range inputs {
		if t == nil {
			return nil, fmt.Errorf("%w: input %q is nil", ErrMissing, r.p.inputs[i])
		}
		if t.Len() != NumElements(t.Shape) {
			return nil, fmt.Errorf("%w: input %q has %d values for shape %v", ErrShape, r.p.inputs[i], t.Len(), t.Shape)
		}
		if !replan && (r.shapes[i] == nil || !sameShape(r.shapes[i], t.Shape) || r.vals[r.inSlots[i]].DType != t.DType) {
			replan = true
		}
		r.vals[r.inSlots[i]] = t
	}
	if replan {
		if err := r.plan(inputs); err != nil {
			r.shapes = nil // half planned: plan again on the next run
			return nil, err
		}
		if err := r.chunk.decide(r, inputs); err != nil {
			return nil, err
		}
	}
	if r.chunk.on {
		return r.chunk.run(r, inputs)
	}
	for k, ni := range r.p.nodes {
		if r.skip[k] {
			// Computed by a fused kernel, or a Concat written in place.
			if r.observe != nil {
				r.observe(r.p.graph.Nodes[r.report[k]], 0)
			}
			continue
		}
		kern := r.kern[k]
		in, out := r.inTen[k], r.outTen[k]
		for j, s := range r.nodeIn[k] {
			if s >= 0 {
				in[j] = r.vals[s]
			} else {
				in[j] = nil
			}
		}
		for j, s := range r.nodeOut[k] {
			if s >= 0 {
				out[j] = r.vals[s]
			} else {
				out[j] = nil
			}
		}
		if a, ok := kern.(Aliaser); ok {
			src := in[a.AliasInput()]
			dst := out[0]
			dst.F32, dst.I8, dst.U8, dst.I32, dst.I64, dst.Quant = src.F32, src.I8, src.U8, src.I32, src.I64, src.Quant
			continue
		}
		if poisonShared {
			r.share.poison(r, k)
		}
		var t0 time.Time
		if r.observe != nil {
			t0 = time.Now()
		}
		if err := kern.Run(&r.rc, in, out); err != nil {
			return nil, fmt.Errorf("nn: node %s: %w", r.p.graph.Nodes[ni], err)
		}
		if r.observe != nil {
			r.observe(r.p.graph.Nodes[r.report[k]], time.Since(t0))
		}
	}
	for i, s := range r.outSlots {
		r.outs[i] = r.vals[s]
	}
	return r.outs, nil
}

// plan computes every value's type for the current input shapes, decides
// which nodes run fused (fuse_run.go), and (re)allocates the outputs.
func (r *Runner) plan(inputs []*Tensor) error {
	r.shapes = make([][]int, len(inputs))
	for i, t := range inputs {
		r.shapes[i] = append([]int(nil), t.Shape...)
	}
	r.share.forget(r)
	for k, ni := range r.p.nodes {
		n := r.p.graph.Nodes[ni]
		types := make([]Type, len(r.baseIn[k]))
		for j, s := range r.baseIn[k] {
			if s < 0 {
				continue
			}
			v := r.vals[s]
			if v == nil {
				return fmt.Errorf("%w: node %s input %q has no value", ErrMissing, n, n.Inputs[j])
			}
			types[j] = v.Type()
		}
		outT, err := r.p.kernels[ni].OutputTypes(types)
		if err != nil {
			return fmt.Errorf("nn: node %s: %w", n, err)
		}
		if len(outT) < len(r.baseOut[k]) {
			return fmt.Errorf("%w: node %s yields %d outputs, graph wants %d", ErrGraph, n, len(outT), len(r.baseOut[k]))
		}
		for j, s := range r.baseOut[k] {
			if s < 0 {
				continue
			}
			v := r.vals[s]
			if v == nil || v.DType != outT[j].DType {
				v = &Tensor{DType: outT[j].DType}
				r.vals[s] = v
			}
			v.Shape = append(v.Shape[:0], outT[j].Shape...)
		}
	}
	r.fuse()
	r.layout()
	r.share.init(r)
	// Storage of the values the shared buffers do not hold.
	for k := range r.kern {
		if len(r.inTen[k]) != len(r.nodeIn[k]) {
			r.inTen[k] = make([]*Tensor, len(r.nodeIn[k]))
		}
		if len(r.outTen[k]) != len(r.nodeOut[k]) {
			r.outTen[k] = make([]*Tensor, len(r.nodeOut[k]))
		}
		if r.skip[k] {
			continue
		}
		_, alias := r.kern[k].(Aliaser)
		for j, s := range r.nodeOut[k] {
			if s >= 0 && !(alias && j == 0) {
				r.share.allocate(r, s)
			}
		}
	}
	for _, v := range r.views {
		r.share.allocate(r, v.parent)
	}
	r.share.assign(r)
	return nil
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Run is a convenience that compiles nothing: it runs p once with a fresh
// runner on feeds (by name) and returns copies of the outputs by name.
func (p *Program) Run(feeds map[string]*Tensor) (map[string]*Tensor, error) {
	r := p.NewRunner(1)
	in := make([]*Tensor, len(p.inputs))
	for i, name := range p.inputs {
		t, ok := feeds[name]
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrMissing, name)
		}
		in[i] = t
	}
	outs, err := r.Run(in...)
	if err != nil {
		return nil, err
	}
	res := make(map[string]*Tensor, len(outs))
	for i, t := range outs {
		res[p.outputs[i]] = t.Clone()
	}
	return res, nil
}
