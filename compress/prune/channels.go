// Package prune removes whole channels from a model graph: structured
// pruning that makes the network physically smaller, on any model the
// engine loads (no training; see compress/train for pruning with
// fine-tuning).
package prune

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
)

// ErrNothing reports a graph in which no channel can be removed.
var ErrNothing = errors.New("prune: no prunable channels")

// Report says what Channels did: per channel space (the channels shared by
// convolutions tied through residual Adds, depthwise convolutions and
// channel-wise ops) the channels before and after, and the spaces left
// alone with why.
type Report struct {
	Spaces  []Space
	Skipped []string
}

// Space is one set of channels pruned together.
type Space struct {
	Producers []string // the convolutions whose filters define the channels
	Before    int
	After     int
}

// Channels returns a copy of g in which each channel space loses the
// fraction frac of its channels with the smallest L1 norm of the filters
// producing them (Li et al. 2017, "Pruning Filters for Efficient
// ConvNets"), each filter taken as it is with the BatchNormalization that
// follows it folded in (scaled by |γ|/σ, the BatchNorm-scale criterion of
// Network Slimming, Liu et al. 2017, times the filter's L1 norm). A space is the output channels of one or more Convs
// (group 1) together with everything that must keep the same channel
// count: channel-wise ops (activations, pools, BatchNormalization, per-
// channel constants), depthwise Convs (their filters and group shrink
// along), and residual Adds (both operands and the sum share one space,
// so every Conv feeding a chain of residual Adds is pruned alike). The
// readers of a space lose the matching inputs: a Conv's weight columns, or
// a Gemm's weight blocks after a Flatten. Spaces read by anything else
// (Concat, graph outputs, grouped convs, reshapes) are left alone and
// listed in Report.Skipped. Pass g with a declared input shape, as loaded
// (BatchNorm folded and activations fused) or with its BatchNorms.
func Channels(g *nn.Graph, frac float64, opts ...Option) (*nn.Graph, *Report, error) {
	if !(frac > 0 && frac < 1) {
		return nil, nil, fmt.Errorf("prune: fraction %g, want 0 < f < 1", frac)
	}
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	shapes, err := valueShapes(g)
	if err != nil {
		return nil, nil, err
	}
	c := g.Clone()
	p := &planner{g: c, shapes: shapes, parent: map[string]string{}, barred: map[string]string{}}
	p.build()
	if cfg.samples != nil {
		if p.means, p.sd, err = readerStats(g, p.readers, cfg.samples); err != nil {
			return nil, nil, err
		}
	}
	rep := &Report{}
	spaces := map[string][]string{} // root -> tensors
	for t := range p.parent {
		r := p.find(t)
		spaces[r] = append(spaces[r], t)
	}
	roots := make([]string, 0, len(spaces))
	for r := range spaces {
		roots = append(roots, r)
	}
	sort.Strings(roots)
	made := map[string]string{} // conv output -> conv
	for _, n := range p.producers {
		made[n.Outputs[0]] = n.Name
	}
	for _, r := range roots {
		if why, bad := p.barred[r]; bad {
			var convs []string
			for _, t := range spaces[r] {
				if c, ok := made[t]; ok {
					convs = append(convs, c)
				}
			}
			if len(convs) > 0 {
				sort.Strings(convs)
				rep.Skipped = append(rep.Skipped, fmt.Sprintf("output channels of %v: %s", convs, why))
			}
			continue
		}
		sp, ok := p.prune(spaces[r], frac)
		if ok {
			rep.Spaces = append(rep.Spaces, sp)
		}
	}
	rep.Skipped = append(rep.Skipped, p.grouped...)
	if len(rep.Spaces) == 0 {
		return nil, rep, ErrNothing
	}
	if err := c.Validate(); err != nil {
		return nil, nil, fmt.Errorf("prune: %w", err)
	}
	return c, rep, nil
}

// valueShapes runs g once at batch 1 on zeros and returns every tensor's shape.
func valueShapes(g *nn.Graph) (map[string][]int, error) {
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	types, err := prog.ValueTypes()
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	m := make(map[string][]int, len(types))
	for k, t := range types {
		m[k] = t.Shape
	}
	return m, nil
}

// planner groups tensors into channel spaces (union-find over tensor
// names) and records what each space's channels touch.
type planner struct {
	g      *nn.Graph
	shapes map[string][]int
	// means holds, per tensor a reader reads, its mean over the samples
	// per channel and position (C x spatial), and sd its standard
	// deviation per channel, when samples were given.
	means, sd map[string][]float64
	parent    map[string]string
	barred    map[string]string // root -> why the space cannot be pruned
	// per tensor: the nodes that produce its channels (Conv group 1), and
	// the nodes whose parameters follow them.
	producers []*nn.Node
	grouped   []string // why each grouped (not depthwise) conv keeps its channels
	followers []follow
	readers   []read
}

type follow struct {
	n      *nn.Node
	tensor string // the space's tensor the node's parameters align with
}

type read struct {
	n      *nn.Node
	tensor string
}

func (p *planner) add(t string) {
	if _, ok := p.parent[t]; !ok {
		p.parent[t] = t
	}
}

func (p *planner) find(t string) string {
	p.add(t)
	for p.parent[t] != t {
		p.parent[t] = p.parent[p.parent[t]]
		t = p.parent[t]
	}
	return t
}

func (p *planner) union(a, b string) {
	ra, rb := p.find(a), p.find(b)
	if ra == rb {
		return
	}
	if ra > rb {
		ra, rb = rb, ra
	}
	p.parent[rb] = ra
	if why, ok := p.barred[rb]; ok {
		p.barred[ra] = why
		delete(p.barred, rb)
	}
}

func (p *planner) bar(t, why string) {
	r := p.find(t)
	if _, ok := p.barred[r]; !ok {
		p.barred[r] = why
	}
}

// channelWise are ops whose output channel i depends only on input channel i.
var channelWise = map[string]bool{
	"Relu": true, "Clip": true, "LeakyRelu": true, "Sigmoid": true, "HardSigmoid": true, "HardSwish": true,
	"Tanh": true, "Elu": true, "Selu": true, "Softplus": true, "Identity": true, "Dropout": true,
	"MaxPool": true, "AveragePool": true, "GlobalAveragePool": true, "GlobalMaxPool": true, "LRN": false,
	"Neg": true, "Abs": true, "Exp": true,
}

// perChannel reports whether constant t varies at most along the channel
// axis of a rank-r activation (shape [C,1,..] or [1,C,1,..] or a scalar).
func perChannel(t *nn.Tensor, r int) bool {
	if t.Len() == 1 {
		return true
	}
	s := t.Shape
	if len(s) > r || len(s) < r-1 {
		return false
	}
	ax := len(s) - (r - 1) // index of the channel axis in s
	for i, d := range s {
		if i != ax && d != 1 {
			return false
		}
	}
	return true
}

func (p *planner) build() {
	g := p.g
	for _, in := range g.Inputs {
		p.bar(in.Name, "a graph input")
	}
	for _, o := range g.Outputs {
		p.bar(o.Name, "a graph output")
	}
	for _, n := range g.Nodes {
		x := n.Input(0)
		y := ""
		if len(n.Outputs) > 0 {
			y = n.Outputs[0]
		}
		xs := p.shapes[x]
		switch {
		case n.Op == "Conv":
			w := g.Consts[n.Input(1)]
			grp := int(n.AttrInt("group", 1))
			okW := w != nil && w.DType == nn.Float32 && len(w.F32) == w.Len() && len(w.Shape) >= 3
			okB := n.Input(2) == "" || g.Consts[n.Input(2)] != nil
			switch {
			case !okW || !okB:
				p.add(x)
				p.bar(x, fmt.Sprintf("read by %s, whose weights are not constant", n.Name))
				p.bar(y, fmt.Sprintf("made by %s, whose weights are not constant", n.Name))
			case grp == 1:
				p.add(y)
				p.producers = append(p.producers, n)
				p.add(x)
				p.readers = append(p.readers, read{n, x})
			case len(xs) > 1 && grp == xs[1] && w.Shape[0] == grp && w.Shape[1] == 1:
				p.union(x, y) // depthwise
				p.followers = append(p.followers, follow{n, y})
			default:
				p.add(x)
				p.bar(x, fmt.Sprintf("read by grouped convolution %s", n.Name))
				p.bar(y, fmt.Sprintf("made by grouped convolution %s", n.Name))
				p.grouped = append(p.grouped, fmt.Sprintf("output channels of [%s]: a grouped convolution (group %d), not pruned", n.Name, grp))
			}
		case channelWise[n.Op] && len(n.Outputs) >= 1:
			p.union(x, y)
			for _, in := range n.Inputs[1:] {
				if in != "" && g.Consts[in] != nil && g.Consts[in].Len() != 1 {
					p.bar(y, fmt.Sprintf("%s has a non-scalar parameter", n.Name))
				}
			}
		case n.Op == "BatchNormalization":
			p.union(x, y)
			p.followers = append(p.followers, follow{n, y})
		case n.Op == "Add" || n.Op == "Sub" || n.Op == "Mul" || n.Op == "Div" || n.Op == "Sum" || n.Op == "Max" || n.Op == "Min" || n.Op == "PRelu":
			ys := p.shapes[y]
			p.add(y)
			for _, in := range n.Inputs {
				if in == "" {
					continue
				}
				if c := g.Consts[in]; c != nil {
					if !perChannel(c, len(ys)) || c.DType != nn.Float32 {
						p.bar(y, fmt.Sprintf("%s has a constant of shape %v", n.Name, c.Shape))
					} else if c.Len() > 1 {
						p.followers = append(p.followers, follow{n, y})
					}
					continue
				}
				if fmt.Sprint(p.shapes[in]) != fmt.Sprint(ys) {
					p.add(in)
					p.bar(in, fmt.Sprintf("broadcast by %s", n.Name))
					p.bar(y, fmt.Sprintf("broadcast by %s", n.Name))
					continue
				}
				p.union(in, y)
			}
		case (n.Op == "Flatten" && n.AttrInt("axis", 1) == 1) || (n.Op == "Reshape" && len(p.shapes[y]) == 2 && len(xs) >= 2 && p.shapes[y][0] == xs[0]):
			// Followed by one Gemm (transB) over [N, C*spatial].
			p.add(x)
			cons := g.Consumers()[y]
			if len(cons) != 1 || g.Nodes[cons[0]].Op != "Gemm" || g.Consts[g.Nodes[cons[0]].Input(1)] == nil || passOutput(g, y) {
				p.bar(x, fmt.Sprintf("flattened by %s into something other than one Gemm", n.Name))
				continue
			}
			p.readers = append(p.readers, read{n, x})
		default:
			for _, in := range n.Inputs {
				if in != "" && g.Consts[in] == nil {
					p.add(in)
					p.bar(in, fmt.Sprintf("read by %s (%s)", n.Name, n.Op))
				}
			}
			for _, o := range n.Outputs {
				if o != "" {
					p.add(o)
					p.bar(o, fmt.Sprintf("made by %s (%s)", n.Name, n.Op))
				}
			}
		}
	}
}

func passOutput(g *nn.Graph, name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// prune removes the weakest channels of the space made of tensors ts.
func (p *planner) prune(ts []string, frac float64) (Space, bool) {
	in := map[string]bool{}
	for _, t := range ts {
		in[t] = true
	}
	var prods []*nn.Node
	for _, n := range p.producers {
		if in[n.Outputs[0]] {
			prods = append(prods, n)
		}
	}
	if len(prods) == 0 {
		return Space{}, false
	}
	C := p.g.Consts[prods[0].Input(1)].Shape[0]
	score := make([]float64, C)
	sp := Space{Before: C}
	for _, n := range prods {
		w := p.g.Consts[n.Input(1)]
		if w.Shape[0] != C {
			return Space{}, false
		}
		per := w.Len() / C
		gain := p.bnGain(n, C)
		for c := 0; c < C; c++ {
			var l1 float64
			for _, v := range w.F32[c*per : (c+1)*per] {
				l1 += math.Abs(float64(v))
			}
			score[c] += l1 * gain[c]
		}
		sp.Producers = append(sp.Producers, n.Name)
	}
	if rs := p.readerScores(in, C); rs != nil {
		score = rs
	}
	keepN := C - int(math.Floor(frac*float64(C)))
	if keepN < 1 {
		keepN = 1
	}
	if keepN == C {
		return Space{}, false
	}
	order := make([]int, C)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return score[order[a]] > score[order[b]] })
	keep := append([]int(nil), order[:keepN]...)
	sort.Ints(keep)
	sp.After = keepN
	// Producers: filters (axis 0) and biases.
	for _, n := range prods {
		p.sliceConst(n, 1, 0, C, keep)
		p.sliceConst(n, 2, 0, C, keep)
	}
	for _, f := range p.followers {
		if !in[f.tensor] {
			continue
		}
		n := f.n
		switch n.Op {
		case "Conv": // depthwise
			p.sliceConst(n, 1, 0, C, keep)
			p.sliceConst(n, 2, 0, C, keep)
			n.Attrs["group"] = nn.Attr{Kind: nn.AttrInt, Int: int64(keepN)}
		case "BatchNormalization":
			for i := 1; i <= 4; i++ {
				p.sliceConst(n, i, 0, C, keep)
			}
		default: // per-channel constants of element-wise ops
			r := len(p.shapes[n.Outputs[0]])
			for i, name := range n.Inputs {
				if c := p.g.Consts[name]; c != nil && c.Len() > 1 {
					p.sliceConst(n, i, len(c.Shape)-(r-1), C, keep)
				}
			}
		}
	}
	for _, r := range p.readers {
		if !in[r.tensor] {
			continue
		}
		p.compensate(r, C, keep)
		n := r.n
		if n.Op == "Conv" {
			p.sliceConst(n, 1, 1, C, keep)
			continue
		}
		// Flatten/Reshape to [N, C*spatial] then Gemm: keep column blocks.
		xs := p.shapes[r.tensor]
		block := nn.NumElements(xs[2:])
		gm := p.g.Nodes[p.g.Consumers()[n.Outputs[0]][0]]
		w := p.g.Consts[gm.Input(1)]
		axis := 1
		if gm.AttrInt("transB", 0) == 0 {
			axis = 0
		}
		cols := make([]int, 0, keepN*block)
		for _, k := range keep {
			for j := 0; j < block; j++ {
				cols = append(cols, k*block+j)
			}
		}
		p.g.Consts[gm.Input(1)] = selectAxis(w, axis, cols)
		if n.Op == "Reshape" {
			t := p.g.Consts[n.Input(1)]
			if t != nil && t.DType == nn.Int64 && len(t.I64) == 2 && t.I64[1] > 0 {
				p.g.Consts[n.Input(1)] = &nn.Tensor{DType: nn.Int64, Shape: []int{2}, I64: []int64{t.I64[0], int64(keepN * block)}}
			}
		}
	}
	return sp, true
}

// bnGain is, per output channel of conv n, the factor |γ|/sqrt(σ²+ε) of
// the BatchNormalization that alone reads its output (1 without one), so
// that a filter scores as it would with the BatchNorm folded into it: a
// BatchNorm makes the filter's own scale meaningless.
func (p *planner) bnGain(n *nn.Node, C int) []float64 {
	gain := make([]float64, C)
	for c := range gain {
		gain[c] = 1
	}
	cons := p.g.Consumers()[n.Outputs[0]]
	if len(cons) != 1 {
		return gain
	}
	bn := p.g.Nodes[cons[0]]
	if bn.Op != "BatchNormalization" {
		return gain
	}
	scale, vr := p.g.Consts[bn.Input(1)], p.g.Consts[bn.Input(4)]
	if scale == nil || vr == nil || len(scale.F32) != C || len(vr.F32) != C {
		return gain
	}
	eps := float64(bn.AttrFloat("epsilon", 1e-5))
	for c := range gain {
		gain[c] = math.Abs(float64(scale.F32[c])) / math.Sqrt(float64(vr.F32[c])+eps)
	}
	return gain
}

// sliceConst replaces constant input i of n (if present and of size C
// along axis) by its slices keep along axis. Constants are copied, never
// modified: the input graph shares them.
func (p *planner) sliceConst(n *nn.Node, i, axis, C int, keep []int) {
	name := n.Input(i)
	t := p.g.Consts[name]
	if t == nil || axis < 0 || axis >= len(t.Shape) || t.Shape[axis] != C {
		return
	}
	p.g.Consts[name] = selectAxis(t, axis, keep)
}

// selectAxis returns the indices idx of float tensor t along axis.
func selectAxis(t *nn.Tensor, axis int, idx []int) *nn.Tensor {
	outer := nn.NumElements(t.Shape[:axis])
	inner := nn.NumElements(t.Shape[axis+1:])
	n := t.Shape[axis]
	shape := append([]int(nil), t.Shape...)
	shape[axis] = len(idx)
	out := nn.New(nn.Float32, shape...)
	for o := 0; o < outer; o++ {
		for j, k := range idx {
			copy(out.F32[(o*len(idx)+j)*inner:(o*len(idx)+j+1)*inner], t.F32[(o*n+k)*inner:(o*n+k+1)*inner])
		}
	}
	return out
}

// Removed counts the channels removed over all spaces.
func (r *Report) Removed() int {
	n := 0
	for _, s := range r.Spaces {
		n += s.Before - s.After
	}
	return n
}

// Log writes a line per space pruned to w (nil: nowhere) and, with kept,
// a line per space left alone.
func (r *Report) Log(w io.Writer, kept bool) {
	if w == nil {
		return
	}
	for _, s := range r.Spaces {
		fmt.Fprintf(w, "prune-channels: %d -> %d channels of %s\n", s.Before, s.After, strings.Join(s.Producers, ", "))
	}
	if kept {
		for _, s := range r.Skipped {
			fmt.Fprintf(w, "prune-channels: kept %s\n", s)
		}
	}
}

// Option configures Channels.
type Option func(*config)

type config struct{ samples *nn.Tensor }

// WithSamples gives Channels a batch of the model's input: the mean of
// each removed channel over it, as the layers reading the channel see it,
// is folded into their biases (mean replacement, Evci et al. 2018), so
// that pruning removes what a channel varies, not its average (a channel
// whose filter is weak but whose bias is large feeds a constant to the
// next layer).
func WithSamples(x *nn.Tensor) Option { return func(c *config) { c.samples = x } }

// readerStats runs g on x and returns, for every tensor a reader reads,
// its mean over the batch (per channel and spatial position) and its
// standard deviation per channel.
func readerStats(g *nn.Graph, readers []read, x *nn.Tensor) (means, sds map[string][]float64, err error) {
	c := g.Clone()
	c.Outputs = nil
	seen := map[string]bool{}
	var names []string
	for _, r := range readers {
		if !seen[r.tensor] {
			seen[r.tensor] = true
			names = append(names, r.tensor)
			c.Outputs = append(c.Outputs, nn.ValueInfo{Name: r.tensor})
		}
	}
	if len(names) == 0 {
		return nil, nil, nil
	}
	prog, err := nn.Compile(c)
	if err != nil {
		return nil, nil, fmt.Errorf("prune: samples: %w", err)
	}
	outs, err := prog.NewRunner(1).Run(x)
	if err != nil {
		return nil, nil, fmt.Errorf("prune: samples: %w", err)
	}
	means, sds = map[string][]float64{}, map[string][]float64{}
	for i, t := range outs {
		if t.DType != nn.Float32 || len(t.Shape) < 2 {
			continue
		}
		n, C := t.Shape[0], t.Shape[1]
		per := t.Len() / max(n, 1)
		block := per / max(C, 1)
		m := make([]float64, per)
		sq := make([]float64, C)
		sum := make([]float64, C)
		for s := 0; s < n; s++ {
			for j, v := range t.F32[s*per : (s+1)*per] {
				m[j] += float64(v)
				sum[j/block] += float64(v)
				sq[j/block] += float64(v) * float64(v)
			}
		}
		for j := range m {
			m[j] /= float64(n)
		}
		sd := make([]float64, C)
		cnt := float64(n * block)
		for c := range sd {
			mu := sum[c] / cnt
			sd[c] = math.Sqrt(max(sq[c]/cnt-mu*mu, 0))
		}
		means[names[i]], sds[names[i]] = m, sd
	}
	return means, sds, nil
}

// readerScores scores the C channels of the space made of the tensors
// in, when samples were given: what removing channel c (replaced by its
// mean) changes in the readers' outputs, sd(c) times the L1 norm of the
// readers' weights on c. It returns nil without samples.
func (p *planner) readerScores(in map[string]bool, C int) []float64 {
	if p.sd == nil {
		return nil
	}
	score := make([]float64, C)
	found := false
	for _, r := range p.readers {
		sd := p.sd[r.tensor]
		if !in[r.tensor] || len(sd) != C {
			continue
		}
		var w *nn.Tensor
		var colL1 func(c int) float64
		if r.n.Op == "Conv" {
			w = p.g.Consts[r.n.Input(1)]
			if w == nil || len(w.Shape) < 3 || w.Shape[1] != C {
				continue
			}
			out, per := w.Shape[0], w.Len()/(w.Shape[0]*C)
			colL1 = func(c int) float64 {
				var s float64
				for o := 0; o < out; o++ {
					for _, v := range w.F32[(o*C+c)*per : (o*C+c+1)*per] {
						s += math.Abs(float64(v))
					}
				}
				return s
			}
		} else {
			gm := p.g.Nodes[p.g.Consumers()[r.n.Outputs[0]][0]]
			w = p.g.Consts[gm.Input(1)]
			if w == nil || len(w.Shape) != 2 || w.Len()%C != 0 {
				continue
			}
			rows, cols := w.Shape[0], w.Shape[1]
			transB := gm.AttrInt("transB", 0) != 0
			k := cols
			if !transB {
				k = rows
			}
			block := k / C
			alpha := math.Abs(float64(gm.AttrFloat("alpha", 1)))
			colL1 = func(c int) float64 {
				var s float64
				for i := 0; i < rows; i++ {
					for j := 0; j < cols; j++ {
						in := j
						if !transB {
							in = i
						}
						if in/block == c {
							s += math.Abs(float64(w.F32[i*cols+j]))
						}
					}
				}
				return alpha * s
			}
		}
		found = true
		for c := 0; c < C; c++ {
			score[c] += sd[c] * colL1(c)
		}
	}
	if !found {
		return nil
	}
	return score
}

// compensate folds the means of the channels of r.tensor not in keep
// (out of C) into the bias of the layer reading them: a Conv (group 1;
// its padded borders see zeros, which this ignores) or the Gemm after a
// Flatten.
func (p *planner) compensate(r read, C int, keep []int) {
	mean := p.means[r.tensor]
	if mean == nil || len(mean)%C != 0 {
		return
	}
	block := len(mean) / C
	kept := make([]bool, C)
	for _, k := range keep {
		kept[k] = true
	}
	n := r.n
	var w *nn.Tensor
	var bias int // input index of the bias
	var scale float64 = 1
	var out int
	var weight func(o, col int) float64 // weight of output o on input column col (channel c, position j: c*block+j)
	if n.Op == "Conv" {
		w = p.g.Consts[n.Input(1)]
		if w == nil || len(w.Shape) < 3 || w.Shape[1] != C {
			return
		}
		out, bias = w.Shape[0], 2
		per := w.Len() / (out * C)
		// A channel's mean over positions times the filter's sum.
		chMean := make([]float64, C)
		for c := 0; c < C; c++ {
			for j := 0; j < block; j++ {
				chMean[c] += mean[c*block+j]
			}
			chMean[c] /= float64(block)
		}
		mean, block = chMean, 1
		weight = func(o, c int) float64 {
			var s float64
			for _, v := range w.F32[(o*C+c)*per : (o*C+c+1)*per] {
				s += float64(v)
			}
			return s
		}
	} else {
		gm := p.g.Nodes[p.g.Consumers()[n.Outputs[0]][0]]
		w = p.g.Consts[gm.Input(1)]
		beta := float64(gm.AttrFloat("beta", 1))
		if w == nil || len(w.Shape) != 2 || beta == 0 {
			return
		}
		k := C * block
		transB := gm.AttrInt("transB", 0) != 0
		if transB {
			out = w.Shape[0]
		} else {
			out = w.Shape[1]
		}
		if (transB && w.Shape[1] != k) || (!transB && w.Shape[0] != k) {
			return
		}
		scale = float64(gm.AttrFloat("alpha", 1)) / beta
		weight = func(o, col int) float64 {
			if transB {
				return float64(w.F32[o*k+col])
			}
			return float64(w.F32[col*out+o])
		}
		n, bias = gm, 2
	}
	delta := make([]float32, out)
	any := false
	for c := 0; c < C; c++ {
		if kept[c] {
			continue
		}
		for j := 0; j < block; j++ {
			m := mean[c*block+j]
			if m == 0 {
				continue
			}
			any = true
			for o := 0; o < out; o++ {
				delta[o] += float32(scale * m * weight(o, c*block+j))
			}
		}
	}
	if !any {
		return
	}
	name := n.Input(bias)
	b := p.g.Consts[name]
	switch {
	case name == "":
		for len(n.Inputs) <= bias {
			n.Inputs = append(n.Inputs, "")
		}
		name = n.Name + "_mean_replacement"
		for p.g.Consts[name] != nil {
			name += "_"
		}
		n.Inputs[bias] = name
		if n.Op == "Gemm" {
			n.Attrs["beta"] = nn.Attr{Kind: nn.AttrFloat, Float: 1}
			for o := range delta {
				delta[o] = float32(float64(delta[o]) / scale * float64(n.AttrFloat("alpha", 1)))
			}
		}
		p.g.Consts[name] = &nn.Tensor{DType: nn.Float32, Shape: []int{out}, F32: delta}
	case b != nil && b.DType == nn.Float32 && b.Len() == out && len(b.F32) == out:
		nb := &nn.Tensor{DType: nn.Float32, Shape: append([]int(nil), b.Shape...), F32: append([]float32(nil), b.F32...)}
		for o := range delta {
			nb.F32[o] += delta[o]
		}
		p.g.Consts[name] = nb
	}
}
