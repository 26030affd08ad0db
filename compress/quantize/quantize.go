// Package quantize is splitinfer's post-training int8 quantization: weights
// symmetric per output channel, activations affine per tensor calibrated on
// sample inputs (min/max, percentile or KL entropy), and a graph rewrite
// that runs Conv, Gemm/MatMul, Add and MaxPool in real int8 kernels
// (nn.QLinearConvInt8 and friends) with QuantizeLinear where the graph
// input enters and DequantizeLinear where float resumes.
//
// The rewrite first writes the quantization as QDQ (QuantizeLinear /
// DequantizeLinear pairs around the float operators, the form ONNX Runtime
// uses) and then lowers it with nn.LowerQDQ, the same pass that imports ONNX
// QDQ models, so an int8 graph made here and one imported from ONNX Runtime
// are built from the same kernels. The result is an ordinary nn.Graph: any
// cut of it is a valid split, and a head ending in int8 sends int8
// activations whose tensors carry their scale and zero point.
package quantize

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// Errors. Callers match them with errors.Is.
var (
	ErrCalibData = errors.New("quantize: bad calibration data")
	ErrOption    = errors.New("quantize: bad option")
	ErrModel     = errors.New("quantize: unsupported model")
)

type config struct {
	method     Method
	percentile float64
	float      map[string]bool
	batch      int
	threads    int
	source     string
	ctx        context.Context
	progress   func(done, total int)
}

// Option configures Quantize.
type Option func(*config)

// WithMethod sets the activation calibration method (default MinMax).
func WithMethod(m Method) Option { return func(c *config) { c.method = m } }

// WithPercentile sets the percentile of the Percentile method (default 99.99).
func WithPercentile(p float64) Option { return func(c *config) { c.percentile = p } }

// WithFloatNodes keeps the named nodes in float32 (their weights are not
// quantized and their outputs are not quantized).
func WithFloatNodes(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.float[n] = true
		}
	}
}

// WithBatchSize sets how many calibration inputs run at once (default 64).
func WithBatchSize(n int) Option { return func(c *config) { c.batch = n } }

// WithThreads sets the thread budget of the calibration runs (default 1).
func WithThreads(n int) Option { return func(c *config) { c.threads = n } }

// WithSource records where the calibration inputs came from.
func WithSource(s string) Option { return func(c *config) { c.source = s } }

// WithContext makes calibration stop between batches, with ctx.Err()
// wrapped, when ctx is done.
func WithContext(ctx context.Context) Option { return func(c *config) { c.ctx = ctx } }

// WithProgress has calibration report the inputs run so far (over all
// passes) after each batch.
func WithProgress(f func(done, total int)) Option { return func(c *config) { c.progress = f } }

// Result is a quantized model.
type Result struct {
	// Graph runs in int8 kernels where it could be quantized.
	Graph *nn.Graph
	// Calibration records the method and every activation range.
	Calibration *sinf.Calibration
	// Int8Nodes and FloatNodes list the compute nodes (Conv, Gemm, MatMul,
	// Add) of the input graph that run in int8 and those left in float32.
	Int8Nodes, FloatNodes []string
}

// anchor ops: compute nodes whose inputs and outputs get quantized.
func isCompute(op string) bool {
	return op == "Conv" || op == "Gemm" || op == "MatMul" || op == "Add"
}

func isPassThrough(op string) bool { return op == "MaxPool" || op == "Reshape" || op == "Flatten" }

// Quantize quantizes the float32 graph g (one input) with calib as the
// calibration inputs: a float32 tensor whose shape is the graph input's
// with the batch dimension holding the samples.
func Quantize(g *nn.Graph, calib *nn.Tensor, opts ...Option) (*Result, error) {
	c := &config{method: MinMax, percentile: 99.99, float: map[string]bool{}, batch: 64, threads: 1}
	for _, o := range opts {
		o(c)
	}
	if _, err := ParseMethod(string(c.method)); err != nil {
		return nil, err
	}
	if c.percentile <= 50 || c.percentile > 100 {
		return nil, fmt.Errorf("%w: percentile %v not in (50, 100]", ErrOption, c.percentile)
	}
	if c.batch < 1 {
		c.batch = 1
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if err := checkCalib(g, calib); err != nil {
		return nil, err
	}
	for name := range c.float {
		if g.Node(name) == nil {
			return nil, fmt.Errorf("%w: no node %q to keep in float", ErrOption, name)
		}
	}
	plan := planQuant(g, c.float)
	ranges, err := calibrate(g, calib, plan.calibrated(), c)
	if err != nil {
		return nil, err
	}
	params := map[string]qp{}
	cal := &sinf.Calibration{Method: string(c.method), Samples: calib.Shape[0], Source: c.source}
	if c.method == Percentile {
		cal.Percentile = c.percentile
	}
	for _, t := range plan.order {
		if src, ok := plan.inherit[t]; ok {
			if p, ok := params[src]; ok {
				params[t] = p
			}
			continue
		}
		r := ranges[t]
		s, z := affineParams(r[0], r[1])
		params[t] = qp{s, z}
		cal.Ranges = append(cal.Ranges, sinf.Range{Tensor: t, Min: float32(r[0]), Max: float32(r[1]), Scale: s, ZeroPoint: z})
	}
	qdq, err := insertQDQ(g, plan, params)
	if err != nil {
		return nil, err
	}
	low, err := nn.LowerQDQ(qdq)
	if err != nil {
		return nil, err
	}
	low.Meta["quantization"] = "int8 post-training, calibration " + string(c.method)
	res := &Result{Graph: low, Calibration: cal}
	lowered := map[string]string{}
	for _, n := range low.Nodes {
		lowered[n.Name] = n.Op
	}
	for _, n := range g.Nodes {
		if !isCompute(n.Op) {
			continue
		}
		if op := lowered[n.Name]; len(op) > 4 && op[len(op)-4:] == "Int8" {
			res.Int8Nodes = append(res.Int8Nodes, n.Name)
		} else {
			res.FloatNodes = append(res.FloatNodes, n.Name)
		}
	}
	return res, nil
}

func checkCalib(g *nn.Graph, calib *nn.Tensor) error {
	if len(g.Inputs) != 1 {
		return fmt.Errorf("%w: %d graph inputs, calibration supports one", ErrModel, len(g.Inputs))
	}
	if calib == nil {
		return fmt.Errorf("%w: no calibration inputs", ErrCalibData)
	}
	in := g.Inputs[0]
	if calib.DType != nn.Float32 {
		return fmt.Errorf("%w: %v data for float32 input %q", ErrCalibData, calib.DType, in.Name)
	}
	if calib.Len() != nn.NumElements(calib.Shape) {
		return fmt.Errorf("%w: %d values for shape %v", ErrCalibData, calib.Len(), calib.Shape)
	}
	want := in.Type.Shape
	if len(calib.Shape) < 1 || calib.Shape[0] < 1 {
		return fmt.Errorf("%w: shape %v has no samples", ErrCalibData, calib.Shape)
	}
	if len(want) > 0 && len(calib.Shape) != len(want) {
		return fmt.Errorf("%w: shape %v does not match input %q %v", ErrCalibData, calib.Shape, in.Name, want)
	}
	for i := 1; i < len(want); i++ {
		if want[i] >= 0 && calib.Shape[i] != want[i] {
			return fmt.Errorf("%w: shape %v does not match input %q %v", ErrCalibData, calib.Shape, in.Name, want)
		}
	}
	return nil
}

type qp struct {
	scale float32
	zero  int32
}

// plan says which tensors get Q/DQ and which weights are quantized.
type plan struct {
	order   []string          // tensors to quantize, in graph order
	inherit map[string]string // pass-through outputs: parameters of this input
	weights map[*nn.Node]bool // compute nodes whose weight input 1 is quantized
}

func (p *plan) calibrated() []string {
	var out []string
	for _, t := range p.order {
		if _, ok := p.inherit[t]; !ok {
			out = append(out, t)
		}
	}
	return out
}

func planQuant(g *nn.Graph, float map[string]bool) *plan {
	p := &plan{inherit: map[string]string{}, weights: map[*nn.Node]bool{}}
	cons := map[string][]*nn.Node{}
	prod := map[string]*nn.Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			cons[in] = append(cons[in], n)
		}
		for _, o := range n.Outputs {
			prod[o] = n
		}
	}
	isOut := map[string]bool{}
	for _, o := range g.Outputs {
		isOut[o.Name] = true
	}
	seen := map[string]bool{}
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			p.order = append(p.order, t)
		}
	}
	isConst := func(t string) bool { _, ok := g.Consts[t]; return ok }
	// output of a compute node, through a sole-reader Relu
	outOf := func(n *nn.Node) string {
		o := n.Outputs[0]
		if c := cons[o]; len(c) == 1 && (c[0].Op == "Relu" || c[0].Op == "Clip") && c[0].Input(0) == o && len(c[0].Outputs) == 1 && !isOut[o] {
			return c[0].Outputs[0]
		}
		return o
	}
	for _, n := range g.Nodes {
		if float[n.Name] || len(n.Outputs) == 0 {
			continue
		}
		switch n.Op {
		case "Conv", "Gemm", "MatMul":
			w := g.Consts[n.Input(1)]
			if w == nil || w.DType != nn.Float32 || isConst(n.Input(0)) {
				continue
			}
			if n.Op == "Conv" && len(w.Shape) != 4 || n.Op != "Conv" && len(w.Shape) != 2 {
				continue
			}
			if n.Op == "Gemm" && (n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 || n.AttrInt("transA", 0) != 0) {
				continue
			}
			if a := n.AttrString("activation", ""); a != "" && a != "Relu" && a != "Clip" {
				continue
			}
			p.weights[n] = true
			add(n.Input(0))
			add(outOf(n))
		case "Add":
			if len(n.Inputs) != 2 || isConst(n.Input(0)) || isConst(n.Input(1)) {
				continue
			}
			add(n.Input(0))
			add(n.Input(1))
			add(outOf(n))
		case "Mul":
			// SiLU (x · sigmoid(x)) from a quantized x; the product of two
			// quantized values (squeeze-and-excitation's map times its gates).
			if len(n.Inputs) != 2 || isConst(n.Input(0)) || isConst(n.Input(1)) {
				continue
			}
			if x := swishInput(n, prod); x != "" && seen[x] || seen[n.Input(0)] && seen[n.Input(1)] {
				add(n.Outputs[0])
			}
		case "Sigmoid", "HardSigmoid", "HardSwish", "Tanh":
			// Elementwise on a quantized value (a table after lowering),
			// unless it is SiLU's sigmoid, which the Mul's table takes in.
			if !seen[n.Input(0)] || len(n.Outputs) != 1 {
				continue
			}
			if c := cons[n.Outputs[0]]; n.Op == "Sigmoid" && len(c) == 1 && swishInput(c[0], prod) == n.Input(0) {
				continue
			}
			add(n.Outputs[0])
		case "GlobalAveragePool":
			if !seen[n.Input(0)] {
				continue
			}
			add(n.Outputs[0])
		case "Concat":
			// Joins quantized values (DenseNet's feature maps, Inception's
			// branches) with its own range: an int8 Concat after
			// lowering, its inputs requantized where their ranges differ.
			all := len(n.Inputs) > 0
			for _, in := range n.Inputs {
				all = all && seen[in]
			}
			if all {
				add(n.Outputs[0])
			}
		case "Split":
			if !seen[n.Input(0)] {
				continue
			}
			for _, o := range n.Outputs {
				if o != "" {
					add(o)
					p.inherit[o] = n.Input(0)
				}
			}
		case "MaxPool", "AveragePool", "Reshape", "Flatten", "Transpose":
			// Averages stay within their input's range, maxima too.
			if n.Op == "Reshape" && !isConst(n.Input(1)) {
				continue
			}
			if !seen[n.Input(0)] {
				continue // only carried through when its input is quantized
			}
			add(n.Outputs[0])
			p.inherit[n.Outputs[0]] = n.Input(0)
		}
	}
	// Keep pass-through outputs only if a quantized consumer or another
	// pass-through reads them; otherwise the float op reads DQ directly.
	return p
}

// swishInput returns x when m is the Mul of x and Sigmoid(x) (SiLU), else "".
func swishInput(m *nn.Node, prod map[string]*nn.Node) string {
	if m.Op != "Mul" || len(m.Inputs) != 2 {
		return ""
	}
	for i := range 2 {
		if s := prod[m.Input(i)]; s != nil && s.Op == "Sigmoid" && s.Input(0) == m.Input(1-i) {
			return s.Input(0)
		}
	}
	return ""
}

// calibrate runs g on calib and returns [lo, hi] for each tensor.
func calibrate(g *nn.Graph, calib *nn.Tensor, tensors []string, c *config) (map[string][2]float64, error) {
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	input := g.Inputs[0].Name
	var outs []string
	for _, t := range tensors {
		if t != input {
			outs = append(outs, t)
		}
	}
	sub, err := prog.Slice([]string{input}, outs)
	if err != nil {
		return nil, err
	}
	st := map[string]*stats{}
	for _, t := range tensors {
		st[t] = newStats()
	}
	n := calib.Shape[0]
	per := calib.Len() / n
	r := sub.NewRunner(c.threads)
	passes, done := 1, 0
	if c.method != MinMax {
		passes = 2
	}
	pass := func(f func(name string, v []float32)) error {
		for lo := 0; lo < n; lo += c.batch {
			if c.ctx != nil && c.ctx.Err() != nil {
				return fmt.Errorf("quantize: calibration: %w", c.ctx.Err())
			}
			hi := min(lo+c.batch, n)
			shape := append([]int{hi - lo}, calib.Shape[1:]...)
			x, err := nn.FromFloat32(calib.F32[lo*per:hi*per], shape...)
			if err != nil {
				return err
			}
			res, err := r.Run(x)
			if err != nil {
				return fmt.Errorf("quantize: calibration run: %w", err)
			}
			if _, ok := st[input]; ok {
				f(input, x.F32)
			}
			for i, t := range outs {
				if res[i].DType != nn.Float32 {
					return fmt.Errorf("%w: tensor %q is %v, not float32", ErrModel, t, res[i].DType)
				}
				f(t, res[i].F32)
			}
			done += hi - lo
			if c.progress != nil {
				c.progress(done, passes*n)
			}
		}
		return nil
	}
	if err := pass(func(name string, v []float32) { st[name].observe(v) }); err != nil {
		return nil, err
	}
	if c.method != MinMax {
		for _, s := range st {
			s.startHist(c.method)
		}
		if err := pass(func(name string, v []float32) { st[name].fill(c.method, v) }); err != nil {
			return nil, err
		}
	}
	// The graph input and outputs always use min/max: clipping the input
	// distorts every layer, and clipping logits turns the top classes into
	// ties.
	edge := map[string]bool{input: true}
	for _, o := range g.Outputs {
		edge[o.Name] = true
	}
	out := map[string][2]float64{}
	for _, name := range sortedNames(st) {
		m := c.method
		if edge[name] {
			m = MinMax
		}
		lo, hi := st[name].rangeFor(m, c.percentile)
		out[name] = [2]float64{lo, hi}
	}
	return out, nil
}

// insertQDQ writes the plan as QuantizeLinear/DequantizeLinear pairs.
func insertQDQ(g *nn.Graph, p *plan, params map[string]qp) (*nn.Graph, error) {
	q := g.Clone()
	used := map[string]bool{}
	for _, n := range q.Nodes {
		used[n.Name] = true
		for _, o := range n.Outputs {
			used[o] = true
		}
	}
	for k := range q.Consts {
		used[k] = true
	}
	for _, in := range q.Inputs {
		used[in.Name] = true
	}
	fresh := func(base string) string {
		for i := 0; ; i++ {
			s := base
			if i > 0 {
				s = fmt.Sprintf("%s_%d", base, i)
			}
			if !used[s] {
				used[s] = true
				return s
			}
		}
	}
	isOut := map[string]bool{}
	for _, o := range q.Outputs {
		isOut[o.Name] = true
	}
	// Weights: DQ of per-channel int8 (axis 0 for Conv and Gemm transB=1,
	// axis 1 for MatMul and Gemm transB=0).
	var pre []*nn.Node
	orig := map[*nn.Node]*nn.Node{}
	for i, n := range g.Nodes {
		orig[q.Nodes[i]] = n
	}
	for _, n := range q.Nodes {
		if !p.weights[orig[n]] {
			continue
		}
		w := q.Consts[n.Input(1)]
		axis := 0
		if n.Op == "MatMul" || n.Op == "Gemm" && n.AttrInt("transB", 0) == 0 {
			axis = 1
		}
		qw, scales := symmetricWeights(w.F32, w.Shape, axis)
		wq := fresh(n.Input(1) + "_quantized")
		ws := fresh(n.Input(1) + "_scale")
		wz := fresh(n.Input(1) + "_zero_point")
		q.Consts[wq] = &nn.Tensor{DType: nn.Int8, Shape: append([]int(nil), w.Shape...), I8: qw}
		q.Consts[ws] = &nn.Tensor{DType: nn.Float32, Shape: []int{len(scales)}, F32: scales}
		q.Consts[wz] = nn.New(nn.Int8, len(scales))
		wf := fresh(n.Input(1) + "_DequantizeLinear_Output")
		pre = append(pre, &nn.Node{Name: fresh(n.Input(1) + "_DequantizeLinear"), Op: "DequantizeLinear",
			Inputs: []string{wq, ws, wz}, Outputs: []string{wf}, Attrs: map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: int64(axis)}}})
		n.Inputs[1] = wf
	}
	q.Nodes = append(pre, q.Nodes...)
	// Activations.
	for _, t := range p.order {
		pr, ok := params[t]
		if !ok {
			continue
		}
		s := fresh(t + "_scale")
		z := fresh(t + "_zero_point")
		q.Consts[s] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{pr.scale}}
		q.Consts[z] = &nn.Tensor{DType: nn.Int8, Shape: []int{}, I8: []int8{int8(pr.zero)}}
		tq := fresh(QuantizedName(t))
		src, dst := t, ""
		if isOut[t] {
			// The graph output keeps its name: the producer writes a
			// float copy that is quantized, and DQ writes t.
			src = fresh(t + "_float")
			dst = t
			for _, n := range q.Nodes {
				for i, o := range n.Outputs {
					if o == t {
						n.Outputs[i] = src
					}
				}
			}
		} else {
			dst = fresh(t + "_DequantizeLinear_Output")
			for _, n := range q.Nodes {
				for i, in := range n.Inputs {
					if in == t {
						n.Inputs[i] = dst
					}
				}
			}
		}
		q.Nodes = append(q.Nodes,
			&nn.Node{Name: fresh(t + "_QuantizeLinear"), Op: "QuantizeLinear", Inputs: []string{src, s, z}, Outputs: []string{tq}},
			&nn.Node{Name: fresh(t + "_DequantizeLinear"), Op: "DequantizeLinear", Inputs: []string{tq, s, z}, Outputs: []string{dst}})
	}
	if err := q.TopoSort(); err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("quantize: QDQ graph invalid: %w", err)
	}
	return q, nil
}

// Summary lists the tensors quantized and their parameters, sorted by name.
func (r *Result) Summary() []sinf.Range {
	out := append([]sinf.Range(nil), r.Calibration.Ranges...)
	sort.Slice(out, func(i, j int) bool { return out[i].Tensor < out[j].Tensor })
	return out
}

// QuantizedName is the int8 tensor Quantize makes of float activation t
// (what a cut at t becomes in the quantized model).
func QuantizedName(t string) string { return t + "_QuantizeLinear_Output" }
