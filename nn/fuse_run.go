package nn

import (
	"reflect"
	"slices"
)

// Run-time fusion. A Runner decides per plan (when the shapes entering the
// program change, so per Program and per Slice too) which nodes run fused,
// and leaves the Graph untouched: ONNX export, hashing, quantization and
// slicing see every node. It fuses, where the intermediate values are read
// by the next node only and are not program outputs:
//   - a Conv followed by an Add of a tensor of its output's shape (a
//     residual connection), and by an activation after the Add: the Conv
//     adds the residual to each output block while it is in cache
//     (convKernel.residual), then applies the activation;
//   - an Add followed by a Relu (addReluKernel);
//   - a Conv or Gemm followed by an element-wise activation, or by a
//     Sigmoid and a Mul computing x·sigmoid(x) (SiLU); after any other
//     node, such a Sigmoid and Mul run as one SiLU kernel;
//   - a Concat whose inputs' producers can write straight into its output:
//     their outputs become views of the Concat's output (share.go) and the
//     Concat does not run.
//
// Fused kernels use the element functions of the separate kernels, so the
// results are bit for bit the unfused ones.

// runFusion switches the fusions of whole blocks on and off (benchmarks
// compare them: BenchmarkRunFusion).
var runFusion = struct{ residual, scale, concat bool }{true, true, true}

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
		for off := 0; off < n; off += addReluChunk {
			end := min(off+addReluChunk, n)
			addActTo(actRelu, 0, 0, y.F32[off:end], a.F32[off:end], b.F32[off:end])
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

// fuseIndex is what the fusion decisions need of the program's structure,
// by slot: the reading positions and the producing position.
type fuseIndex struct {
	readers [][]int // by slot: positions reading it, once per input naming it
	prodAt  []int   // by slot: the position producing it, -1 if none
	pinned  []bool  // by slot: a program output or input
}

func newFuseIndex(r *Runner) fuseIndex {
	n := len(r.vals)
	fx := fuseIndex{readers: make([][]int, n), prodAt: make([]int, n), pinned: make([]bool, n)}
	for s := range fx.prodAt {
		fx.prodAt[s] = -1
	}
	for k := range r.baseIn {
		for _, s := range r.baseIn[k] {
			if s >= 0 {
				fx.readers[s] = append(fx.readers[s], k)
			}
		}
		for _, s := range r.baseOut[k] {
			if s >= 0 {
				fx.prodAt[s] = k
			}
		}
	}
	for _, s := range r.outSlots {
		fx.pinned[s] = true
	}
	for _, s := range r.inSlots {
		fx.pinned[s] = true
	}
	return fx
}

// soleReader returns the one position reading slot s, when s is not
// pinned and exactly one input of one node names it.
func (fx *fuseIndex) soleReader(s int) (int, bool) {
	if s < 0 || fx.pinned[s] || len(fx.readers[s]) != 1 {
		return 0, false
	}
	return fx.readers[s][0], true
}

// concatView makes slot a view of values [off, off+len) of slot parent.
type concatView struct{ slot, parent, off int }

// fuse decides which nodes run fused for the shapes in r.vals (set for
// every value by plan) and points the runner's per-position kernels,
// slots, skips and Concat views at the result.
func (r *Runner) fuse() {
	p := r.p
	for k, ni := range p.nodes {
		r.kern[k], r.skip[k], r.report[k] = p.kernels[ni], false, ni
		r.nodeIn[k], r.nodeOut[k] = r.baseIn[k], r.baseOut[k]
	}
	r.views = r.views[:0]
	fx := &r.fx
	// replaced reports whether position k already runs another kernel.
	// Fusion replaces only with the engine's own (pointer) kernels, so a
	// kernel of a type that is not comparable (an op registered with a
	// slice in its struct) is replaced exactly when its type changed.
	replaced := func(k int) bool {
		orig := p.kernels[p.nodes[k]]
		if t := reflect.TypeOf(orig); t != nil && !t.Comparable() {
			return r.skip[k] || reflect.TypeOf(r.kern[k]) != t
		}
		return r.skip[k] || r.kern[k] != orig
	}
	// soleUnary returns the activation that alone reads slot s (as its
	// input 0; a Clip's other inputs are its constant bounds).
	soleUnary := func(s int) (int, *unaryKernel) {
		k, ok := fx.soleReader(s)
		if !ok || replaced(k) || r.baseIn[k][0] != s || len(r.baseOut[k]) != 1 || r.baseOut[k][0] < 0 {
			return 0, nil
		}
		u, _ := r.kern[k].(*unaryKernel)
		return k, u
	}
	f32 := func(s int) *Tensor {
		if v := r.vals[s]; v != nil && v.DType == Float32 {
			return v
		}
		return nil
	}
	// convInputs returns a copy of position k's inputs with room for input
	// i of a fused Conv (absent inputs -1).
	convInputs := func(k, i int) []int {
		ins := make([]int, max(len(r.nodeIn[k]), i+1))
		for j := range ins {
			ins[j] = -1
		}
		copy(ins, r.nodeIn[k])
		return ins
	}
	// Mul of a tensor by per-channel scales (squeeze-and-excitation), a 1x1
	// Conv reading only the product: the Conv scales each input block.
	for k := range r.kern {
		mul, ok := r.kern[k].(*binaryKernel)
		if !ok || !runFusion.scale || replaced(k) || mul.op != opMul || len(r.baseIn[k]) != 2 || len(r.baseOut[k]) != 1 {
			continue
		}
		prod := r.baseOut[k][0]
		kc, ok := fx.soleReader(prod)
		cv, isConv := r.kern[kc].(*convKernel)
		if !ok || !isConv || replaced(kc) || r.baseIn[kc][0] != prod {
			continue
		}
		x, sc := r.baseIn[k][0], r.baseIn[k][1]
		if vx := f32(max(x, 0)); vx == nil || len(vx.Shape) != 4 || NumElements(vx.Shape) < 2*NumElements(r.vals[max(sc, 0)].Shape) {
			x, sc = sc, x
		}
		vx, vs, vp := f32(max(x, 0)), f32(max(sc, 0)), f32(prod)
		if x < 0 || sc < 0 || vx == nil || vs == nil || vp == nil || len(vx.Shape) != 4 || !sameShape(vx.Shape, vp.Shape) ||
			!sameShape(vs.Shape, []int{vx.Shape[0], vx.Shape[1], 1, 1}) || !takesScales(cv, vx, r.vals[r.baseIn[kc][1]]) {
			continue
		}
		c := *cv
		c.scaled = true
		ins := convInputs(kc, convScale)
		ins[0], ins[convScale] = x, sc
		r.kern[kc], r.nodeIn[kc] = &c, ins
		r.skip[k] = true
	}
	// Conv, Add of a residual [, activation].
	for k := range r.kern {
		cv, ok := r.kern[k].(*convKernel)
		if !ok || !runFusion.residual || r.skip[k] || cv.act != actNone || cv.residual || len(r.baseOut[k]) != 1 {
			continue
		}
		mid := r.baseOut[k][0]
		ka, ok := fx.soleReader(mid)
		if !ok || replaced(ka) || len(r.baseIn[ka]) != 2 || len(r.baseOut[ka]) != 1 || r.baseOut[ka][0] < 0 {
			continue
		}
		if add, ok := r.kern[ka].(*binaryKernel); !ok || add.op != opAdd {
			continue
		}
		res := r.baseIn[ka][0]
		if res == mid {
			res = r.baseIn[ka][1]
		}
		sum := r.baseOut[ka][0]
		vm, vr, vs := f32(mid), f32(max(res, 0)), f32(sum)
		if res < 0 || res == mid || vm == nil || vr == nil || vs == nil || !sameShape(vm.Shape, vr.Shape) || !sameShape(vm.Shape, vs.Shape) {
			continue
		}
		c := *cv
		c.residual = true
		last := ka
		if kr, u := soleUnary(sum); u != nil && f32(r.baseOut[kr][0]) != nil {
			c.act, c.actA, c.actB = u.kind, u.a, u.b
			last = kr
		}
		ins := convInputs(k, convResidual)
		ins[convResidual] = res
		// Run at the Conv's place when the residual is computed by then,
		// else at the Add's (the Conv's only reader).
		at := k
		if fx.prodAt[res] > k {
			at = ka
		}
		for _, q := range []int{k, ka, last} {
			r.skip[q] = q != at
		}
		r.kern[at], r.nodeIn[at], r.nodeOut[at] = &c, ins, r.baseOut[last]
		// The observer hears of the Conv where it runs (and of the Add
		// as skipped at the Conv's place).
		r.report[at], r.report[k] = p.nodes[k], p.nodes[at]
	}
	// Add, Relu.
	for k := range r.kern {
		add, ok := r.kern[k].(*binaryKernel)
		if !ok || replaced(k) || add.op != opAdd || len(r.baseIn[k]) != 2 || len(r.baseOut[k]) != 1 {
			continue
		}
		kr, u := soleUnary(r.baseOut[k][0])
		if u == nil || u.kind != actRelu {
			continue
		}
		r.kern[k] = &addReluKernel{add: add, relu: u}
		r.nodeOut[k] = r.baseOut[kr]
		r.skip[kr] = true
	}
	// A Conv or Gemm whose output only a Sigmoid and a Mul of the two read
	// (SiLU as PyTorch exports it) computes x·sigmoid(x) itself.
	for k := range r.kern {
		if r.skip[k] || len(r.baseOut[k]) != 1 || len(r.nodeOut[k]) != 1 || r.nodeOut[k][0] != r.baseOut[k][0] {
			continue
		}
		if ks, km, ok := r.swishAfter(r.baseOut[k][0]); ok {
			if f := withActivation(r.kern[k], &unaryKernel{op: "Swish", kind: actSwish}); f != nil {
				r.kern[k] = f
				r.nodeOut[k] = r.baseOut[km]
				r.skip[ks], r.skip[km] = true, true
			}
		}
	}
	// A Sigmoid and a Mul computing x·sigmoid(x) of any other value (an
	// Add's, or a DequantizeLinear's between int8 layers) run as one pass
	// at the Sigmoid's place: the Mul's pass over the tensor is saved.
	for ks := range r.kern {
		u, ok := r.kern[ks].(*unaryKernel)
		if !ok || r.skip[ks] || u.kind != actSigmoid || len(r.baseIn[ks]) != 1 || r.baseIn[ks][0] < 0 ||
			len(r.nodeOut[ks]) != 1 || r.nodeOut[ks][0] != r.baseOut[ks][0] {
			continue
		}
		if at, km, ok := r.swishAfter(r.baseIn[ks][0]); ok && at == ks {
			r.kern[ks] = &unaryKernel{op: "Swish", kind: actSwish}
			r.nodeOut[ks] = r.baseOut[km]
			r.skip[km] = true
		}
	}
	// A Conv, Gemm or BatchNormalization whose output only an activation
	// reads applies it while its output block is in cache
	// (FuseActivations folds Relu and Clip into the graph already; this
	// takes every unary activation, in programs compiled from any graph,
	// and leaves the graph as ONNX has it for export, quantization and
	// training).
	for k := range r.kern {
		if r.skip[k] || len(r.baseOut[k]) != 1 || len(r.nodeOut[k]) != 1 || r.nodeOut[k][0] != r.baseOut[k][0] {
			continue
		}
		kr, u := soleUnary(r.baseOut[k][0])
		if u == nil {
			continue
		}
		if f := withActivation(r.kern[k], u); f != nil {
			r.kern[k] = f
			r.nodeOut[k] = r.baseOut[kr]
			r.skip[kr] = true
		}
	}
	r.fusePools()
	r.fuseConcats()
}

// fusePools lets a thin stem (conv_stem.go) or a pathNCHWc convolution
// (conv_pool.go) whose output, after its fused activation, only a 2x2
// stride-2 MaxPool reads compute the pool's output itself.
func (r *Runner) fusePools() {
	for k := range r.kern {
		cv, ok := r.kern[k].(*convKernel)
		if !ok || r.skip[k] || cv.pooled || len(r.nodeOut[k]) != 1 || len(r.nodeIn[k]) < 2 || r.nodeIn[k][0] < 0 || r.nodeIn[k][1] < 0 {
			continue
		}
		kp, ok := r.fx.soleReader(r.nodeOut[k][0])
		if !ok || r.skip[kp] || len(r.baseIn[kp]) != 1 || len(r.baseOut[kp]) != 1 || r.baseOut[kp][0] < 0 {
			continue
		}
		pk, ok := r.kern[kp].(*poolKernel)
		x, w, y := r.vals[r.nodeIn[k][0]], r.vals[r.nodeIn[k][1]], r.vals[r.nodeOut[k][0]]
		if !ok || x == nil || w == nil || y == nil || x.DType != Float32 || w.DType != Float32 || len(w.Shape) != 4 {
			continue
		}
		types := []Type{x.Type(), w.Type()}
		if len(r.nodeIn[k]) > 2 && r.nodeIn[k][2] >= 0 && r.vals[r.nodeIn[k][2]] != nil {
			types = append(types, r.vals[r.nodeIn[k][2]].Type())
		}
		g, err := cv.geometry(types)
		if err != nil || g.N < 0 {
			continue
		}
		pg, err := pk.geometry([]Type{y.Type()})
		if err != nil || !pk.max || pg.rank != 2 {
			continue
		}
		c := *cv
		c.pooled = true
		if cv.thin && (!pool2x2Fits(&g, &pg) || !c.stemTakes(&g, w.F32, w.Shape[1], w.Shape[0])) ||
			!cv.thin && (!nchwcPoolOn || !cv.nchwcPoolTakes(&g, &pg, w.F32, w.Shape[1], w.Shape[0])) {
			continue
		}
		r.kern[k], r.nodeOut[k] = &c, r.baseOut[kp]
		r.skip[kp] = true
	}
}

// swishAfter returns the positions of the Sigmoid and the Mul computing
// c·sigmoid(c) when they are the only readers of slot c, the Mul the only
// reader of the Sigmoid, and all three values float32 of one shape.
func (r *Runner) swishAfter(c int) (ks, km int, ok bool) {
	rs := r.fx.readers[c]
	if r.fx.pinned[c] || len(rs) != 2 {
		return 0, 0, false
	}
	ks, km = rs[0], rs[1]
	if _, isMul := r.kern[ks].(*binaryKernel); isMul {
		ks, km = km, ks
	}
	u, isU := r.kern[ks].(*unaryKernel)
	mul, isMul := r.kern[km].(*binaryKernel)
	if !isU || !isMul || u.kind != actSigmoid || mul.op != opMul || r.skip[ks] || r.skip[km] ||
		r.baseIn[ks][0] != c || len(r.baseOut[ks]) != 1 || len(r.baseIn[km]) != 2 || len(r.baseOut[km]) != 1 || r.baseOut[km][0] < 0 {
		return 0, 0, false
	}
	sig := r.baseOut[ks][0]
	if at, ok := r.fx.soleReader(sig); !ok || at != km {
		return 0, 0, false
	}
	if in := r.baseIn[km]; !(in[0] == c && in[1] == sig) && !(in[0] == sig && in[1] == c) {
		return 0, 0, false
	}
	vc, vs, vy := r.vals[c], r.vals[sig], r.vals[r.baseOut[km][0]]
	for _, v := range []*Tensor{vc, vs, vy} {
		if v == nil || v.DType != Float32 || !sameShape(v.Shape, vc.Shape) {
			return 0, 0, false
		}
	}
	return ks, km, true
}

// fuseConcats lets each Concat whose inputs are contiguous blocks of its
// output (the dimensions before the axis are 1: batch 1 on the channel
// axis) have its inputs' producers write into those blocks: each input
// becomes a view of the output, and the Concat is skipped. Every input must
// be a float32 value computed by a kernel of this run (not an alias, not
// a view already) or the output of an earlier Concat fused this way, not a
// program input or output, and named once. Other nodes may read an input
// too: nothing writes its block but its producer. A chain of Concats, each
// reading the last (DenseNet's dense block), so becomes nested views of the
// last one's output: every layer writes its features once, into place.
func (r *Runner) fuseConcats() {
	if !runFusion.concat {
		return
	}
	writer := make([]int, len(r.vals)) // by slot: the position computing it, -1 if none
	for s := range writer {
		writer[s] = -1
	}
	for k := range r.kern {
		if r.skip[k] {
			continue
		}
		if _, alias := r.kern[k].(Aliaser); alias {
			continue
		}
		for _, s := range r.nodeOut[k] {
			if s >= 0 {
				writer[s] = k
			}
		}
	}
	viewed := make([]bool, len(r.vals)) // by slot: a view of a Concat's output
	for k := range r.kern {
		ck, ok := r.kern[k].(*concatKernel)
		if !ok || r.skip[k] || len(r.nodeOut[k]) != 1 || r.nodeOut[k][0] < 0 {
			continue
		}
		out := r.vals[r.nodeOut[k][0]]
		if out == nil || out.DType != Float32 {
			continue
		}
		ax := ck.axis
		if ax < 0 {
			ax += len(out.Shape)
		}
		if ax < 0 || ax >= len(out.Shape) || NumElements(out.Shape[:ax]) != 1 {
			continue
		}
		ins := r.nodeIn[k]
		fits := len(ins) > 0
		for j, s := range ins {
			if s < 0 || r.fx.pinned[s] || viewed[s] || writer[s] < 0 || slices.Contains(ins[:j], s) ||
				r.vals[s] == nil || r.vals[s].DType != Float32 {
				fits = false
				break
			}
		}
		if !fits {
			continue
		}
		off := 0
		for _, s := range ins {
			r.views = append(r.views, concatView{slot: s, parent: r.nodeOut[k][0], off: off})
			viewed[s] = true
			off += NumElements(r.vals[s].Shape)
		}
		r.skip[k] = true
		writer[r.nodeOut[k][0]] = k // its blocks are written; a later Concat may nest it
	}
}

// takesScales reports whether Conv kernel cv, on input x and weights w,
// runs pathPointwise with two input channels per group or more and more
// than one output pixel (not pathRows): what convKernel.scaled requires.
func takesScales(cv *convKernel, x, w *Tensor) bool {
	if w == nil || w.DType != Float32 || len(w.Shape) != 4 || len(x.Shape) != 4 {
		return false
	}
	g, err := cv.geometry([]Type{x.Type(), w.Type()})
	return err == nil && cv.pointwise(&g) && w.Shape[1] >= 2 && g.OH*g.OW >= 2
}

// withActivation returns a copy of the Conv, Gemm or BatchNormalization
// kernel prod that applies u's activation to its output, or nil when prod
// has an activation already. The copy shares prod's packed weights.
func withActivation(prod Kernel, u *unaryKernel) Kernel {
	switch p := prod.(type) {
	case *convKernel:
		if p.act != actNone || p.residual {
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
	case *batchNormKernel:
		if p.act != actNone {
			return nil
		}
		c := *p
		c.act, c.actA, c.actB = u.kind, u.a, u.b
		return &c
	}
	return nil
}
