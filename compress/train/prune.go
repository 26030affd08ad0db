package train

import (
	"fmt"
	"math"
	"sort"
)

// weightParams lists the weights of the Conv and Gemm layers (not biases).
func (n *Net) weightParams() []*Param {
	var ps []*Param
	for _, l := range n.Layers {
		if l.Kind == Conv || l.Kind == Gemm {
			ps = append(ps, l.W)
		}
	}
	return ps
}

// PruneGlobal applies global magnitude pruning: across the weights of all
// Conv and Gemm layers together (biases excluded) the fraction sparsity
// with the smallest absolute values is set to zero. The masks are kept on
// the parameters, so later training (Fit) keeps the pruned weights at zero.
// Already-masked weights count as pruned. It returns how many weights are
// zero under the masks.
func (n *Net) PruneGlobal(sparsity float64) (int, error) {
	if !(sparsity >= 0 && sparsity < 1) {
		return 0, fmt.Errorf("%w: sparsity %v outside [0,1)", ErrArg, sparsity)
	}
	ps := n.weightParams()
	type ref struct {
		p   int
		j   int
		mag float32
	}
	var all []ref
	for pi, p := range ps {
		for j, v := range p.Data {
			m := float32(math.Abs(float64(v)))
			if p.Mask != nil && p.Mask[j] == 0 {
				m = -1 // already pruned: first to go
			}
			all = append(all, ref{pi, j, m})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].mag < all[b].mag })
	k := int(math.Round(sparsity * float64(len(all))))
	for _, p := range ps {
		if p.Mask == nil {
			p.Mask = make([]float32, len(p.Data))
		}
		for j := range p.Mask {
			p.Mask[j] = 1
		}
	}
	for _, r := range all[:k] {
		ps[r.p].Mask[r.j] = 0
	}
	n.ApplyMasks()
	return k, nil
}

// Sparsity is the fraction of zero weights over the Conv and Gemm weights.
func (n *Net) Sparsity() float64 {
	z, t := 0, 0
	for _, p := range n.weightParams() {
		for _, v := range p.Data {
			if v == 0 {
				z++
			}
		}
		t += len(p.Data)
	}
	if t == 0 {
		return 0
	}
	return float64(z) / float64(t)
}

// ClearMasks forgets the pruning masks (the zero weights stay zero until
// trained).
func (n *Net) ClearMasks() {
	for _, p := range n.Params {
		p.Mask = nil
	}
}

// channelChain describes where a conv's output channels go: through
// channel-wise layers (ReLU, pooling) to one consumer that reads them.
type channelChain struct {
	conv   *Layer
	via    []*Layer // channel-wise layers between conv and consumer
	next   *Layer   // Conv or Gemm reading the channels
	flatHW int      // for a Gemm: spatial size per channel at the flatten
}

// chainFrom follows the single-consumer path from conv's output and
// reports whether its channels can be removed.
func (n *Net) chainFrom(conv *Layer, readers map[int][]*Layer) (channelChain, bool) {
	c := channelChain{conv: conv}
	if n.Output == conv.Out {
		return c, false
	}
	v := conv.Out
	for {
		rs := readers[v]
		if len(rs) != 1 || v == n.Output {
			return c, false
		}
		r := rs[0]
		switch r.Kind {
		case Relu, MaxPool, AvgPool, GlobalAvgPool:
			c.via = append(c.via, r)
			v = r.Out
		case Conv:
			c.next = r
			return c, true
		case Flatten:
			s := n.Values[v]
			rs2 := readers[r.Out]
			if len(rs2) != 1 || rs2[0].Kind != Gemm || r.Out == n.Output {
				return c, false
			}
			c.via = append(c.via, r)
			c.next = rs2[0]
			c.flatHW = s.H * s.W
			return c, true
		default:
			return c, false
		}
	}
}

// PruneChannels applies structured pruning: in every Conv whose output
// channels flow (through ReLU and pooling) into exactly one Conv, or into a
// Flatten followed by a Gemm, the fraction frac of output channels with the
// smallest L1 filter norm is removed, together with the matching input
// channels of the next Conv (or the matching C*H*W block of columns of the
// Gemm). The network becomes physically smaller. Convs feeding residual
// Adds are left alone. It returns the number of channels removed.
func (n *Net) PruneChannels(frac float64) (int, error) {
	if !(frac >= 0 && frac < 1) {
		return 0, fmt.Errorf("%w: channel fraction %v outside [0,1)", ErrArg, frac)
	}
	readers := map[int][]*Layer{}
	for _, l := range n.Layers {
		for _, v := range l.In {
			readers[v] = append(readers[v], l)
		}
	}
	var chains []channelChain
	for _, l := range n.Layers {
		if l.Kind != Conv {
			continue
		}
		if c, ok := n.chainFrom(l, readers); ok {
			chains = append(chains, c)
		}
	}
	removed := 0
	for _, c := range chains {
		oc := c.conv.outShape.C
		drop := int(math.Floor(frac * float64(oc)))
		if drop <= 0 || drop >= oc {
			continue
		}
		rows := len(c.conv.W.Data) / oc
		type ch struct {
			i  int
			l1 float64
		}
		norms := make([]ch, oc)
		for o := 0; o < oc; o++ {
			var s float64
			for _, w := range c.conv.W.Data[o*rows : (o+1)*rows] {
				s += math.Abs(float64(w))
			}
			norms[o] = ch{o, s}
		}
		sort.SliceStable(norms, func(a, b int) bool { return norms[a].l1 > norms[b].l1 })
		keep := make([]int, 0, oc-drop)
		for _, c := range norms[:oc-drop] {
			keep = append(keep, c.i)
		}
		sort.Ints(keep)
		// The conv's own output channels: rows of W, entries of B.
		selectBlocks(c.conv.W, keep, rows, oc)
		c.conv.W.Shape[0] = len(keep)
		selectBlocks(c.conv.B, keep, 1, oc)
		c.conv.B.Shape[0] = len(keep)
		// Shapes of the values along the chain.
		n.Values[c.conv.Out] = Shape{len(keep), n.Values[c.conv.Out].H, n.Values[c.conv.Out].W}
		for _, l := range c.via {
			s := n.Values[l.Out]
			if l.Kind == Flatten {
				n.Values[l.Out] = Shape{len(keep) * c.flatHW, 1, 1}
			} else {
				n.Values[l.Out] = Shape{len(keep), s.H, s.W}
			}
		}
		// The next layer's inputs.
		next := c.next
		if next.Kind == Conv {
			noc := next.W.Shape[0]
			khw := next.KH * next.KW
			selectInner(next.W, noc, oc, khw, keep)
			next.W.Shape[1] = len(keep)
		} else {
			out := next.W.Shape[0]
			selectInner(next.W, out, oc, c.flatHW, keep)
			next.W.Shape[1] = len(keep) * c.flatHW
		}
		for _, l := range n.Layers {
			l.wt = nil
		}
		removed += drop
	}
	if err := n.prepare(); err != nil {
		return removed, err
	}
	return removed, nil
}

// selectBlocks keeps, in order, the blocks keep (of size block, out of
// count) of p's data and mask.
func selectBlocks(p *Param, keep []int, block, count int) {
	sel := func(s []float32) []float32 {
		if s == nil {
			return nil
		}
		out := make([]float32, 0, len(keep)*block)
		for _, k := range keep {
			out = append(out, s[k*block:(k+1)*block]...)
		}
		return out
	}
	p.Data = sel(p.Data)
	p.Mask = sel(p.Mask)
	p.Grad = make([]float32, len(p.Data))
}

// selectInner keeps, in each of outer rows of p (each inner x block
// values), the blocks keep.
func selectInner(p *Param, outer, inner, block int, keep []int) {
	sel := func(s []float32) []float32 {
		if s == nil {
			return nil
		}
		out := make([]float32, 0, outer*len(keep)*block)
		for o := 0; o < outer; o++ {
			row := s[o*inner*block : (o+1)*inner*block]
			for _, k := range keep {
				out = append(out, row[k*block:(k+1)*block]...)
			}
		}
		return out
	}
	p.Data = sel(p.Data)
	p.Mask = sel(p.Mask)
	p.Grad = make([]float32, len(p.Data))
}
