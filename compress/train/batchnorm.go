package train

import (
	"fmt"
	"math"
)

// Batch normalization (Ioffe & Szegedy 2015) over the channels of a
// value. In training each chunk of Fit's mini-batch (chunkSize samples)
// is normalized by its own statistics ("ghost" batches, Hoffer et al.
// 2017), so that a step does not depend on the number of threads; Fit
// then moves the running statistics, which inference uses, towards the
// chunks' mean statistics.

// Defaults of a BatchNorm layer (PyTorch's).
const (
	bnEps      = 1e-5
	bnMomentum = 0.1
)

// bnStatsLen is how many floats a BatchNorm layer keeps per chunk in a
// workspace: mean, biased variance and 1/sqrt(var+eps) per channel.
func bnStatsLen(l *Layer) int { return 3 * l.outShape.C }

func bnForward(l *Layer, ws *workspace, li int, in, out []float32, bs int) {
	C, hw := l.inShape.C, l.inShape.H*l.inShape.W
	if !ws.train {
		for c := 0; c < C; c++ {
			k := l.W.Data[c] / float32(math.Sqrt(float64(l.RunVar[c])+float64(l.Eps)))
			sh := l.B.Data[c] - k*l.RunMean[c]
			for s := 0; s < bs; s++ {
				o := (s*C + c) * hw
				for j, v := range in[o : o+hw] {
					out[o+j] = k*v + sh
				}
			}
		}
		return
	}
	st := ws.bn[li]
	mean, vr, inv := st[:C], st[C:2*C], st[2*C:3*C]
	cnt := float64(bs * hw)
	for c := 0; c < C; c++ {
		var sum float64
		for s := 0; s < bs; s++ {
			o := (s*C + c) * hw
			for _, v := range in[o : o+hw] {
				sum += float64(v)
			}
		}
		m := sum / cnt
		var sq float64
		for s := 0; s < bs; s++ {
			o := (s*C + c) * hw
			for _, v := range in[o : o+hw] {
				d := float64(v) - m
				sq += d * d
			}
		}
		v := sq / cnt
		iv := 1 / math.Sqrt(v+float64(l.Eps))
		mean[c], vr[c], inv[c] = float32(m), float32(v), float32(iv)
		k := l.W.Data[c] * float32(iv)
		sh := l.B.Data[c] - k*float32(m)
		for s := 0; s < bs; s++ {
			o := (s*C + c) * hw
			for j, x := range in[o : o+hw] {
				out[o+j] = k*x + sh
			}
		}
	}
}

// bnBackward: with x̂ = (x-μ)·σ⁻¹ over the chunk's n values of a channel,
// dγ = Σ dy·x̂, dβ = Σ dy and dx = γσ⁻¹(dy - Σdy/n - x̂·Σ(dy·x̂)/n).
func bnBackward(l *Layer, ws *workspace, li int, dy, dx []float32, bs int) {
	C, hw := l.inShape.C, l.inShape.H*l.inShape.W
	in := ws.act[l.In[0]][:bs*C*hw]
	st := ws.bn[li]
	mean, inv := st[:C], st[2*C:3*C]
	dg, db := ws.pgrad[l.W.index], ws.pgrad[l.B.index]
	cnt := float32(bs * hw)
	for c := 0; c < C; c++ {
		m, iv := mean[c], inv[c]
		var sdy, sdyx float64
		for s := 0; s < bs; s++ {
			o := (s*C + c) * hw
			for j, g := range dy[o : o+hw] {
				sdy += float64(g)
				sdyx += float64(g) * float64((in[o+j]-m)*iv)
			}
		}
		dg[c] += float32(sdyx)
		db[c] += float32(sdy)
		if dx == nil {
			continue
		}
		k := l.W.Data[c] * iv
		a, b := float32(sdy)/cnt, float32(sdyx)/cnt
		for s := 0; s < bs; s++ {
			o := (s*C + c) * hw
			for j, g := range dy[o : o+hw] {
				dx[o+j] += k * (g - a - (in[o+j]-m)*iv*b)
			}
		}
	}
}

// updateRunningStats moves every BatchNorm layer's running mean and
// (unbiased) variance towards the size-weighted mean of the statistics of
// the step's chunks: stats[c][layer] as bnForward left them for chunk c of
// sizes[c] samples.
func (n *Net) updateRunningStats(stats [][][]float32, sizes []int) {
	for li, l := range n.Layers {
		if l.Kind != BatchNorm {
			continue
		}
		C, hw := l.outShape.C, l.outShape.H*l.outShape.W
		total := 0
		for _, m := range sizes {
			total += m
		}
		for c := 0; c < C; c++ {
			var m, v float64
			for k, sz := range sizes {
				st := stats[k][li]
				w := float64(sz) / float64(total)
				m += w * float64(st[c])
				cnt := float64(sz * hw)
				unbiased := float64(st[C+c])
				if cnt > 1 {
					unbiased *= cnt / (cnt - 1)
				}
				v += w * unbiased
			}
			l.RunMean[c] = float32((1-bnMomentum)*float64(l.RunMean[c]) + bnMomentum*m)
			l.RunVar[c] = float32((1-bnMomentum)*float64(l.RunVar[c]) + bnMomentum*v)
		}
	}
}

// BatchNorm adds a batch normalization of x's channels (scale 1, shift 0,
// running mean 0 and variance 1 to start with, as PyTorch initialises it).
func (b *Builder) BatchNorm(x int) int {
	if !b.check(x) {
		return -1
	}
	s := b.net.Values[x]
	idx := len(b.net.Layers)
	l := &Layer{Kind: BatchNorm, In: []int{x}, Name: fmt.Sprintf("bn%d", idx), Eps: bnEps}
	l.W = b.constParam(l.Name+".weight", s.C, 1)
	l.B = b.constParam(l.Name+".bias", s.C, 0)
	l.RunMean = make([]float32, s.C)
	l.RunVar = make([]float32, s.C)
	for i := range l.RunVar {
		l.RunVar[i] = 1
	}
	return b.add(l, s)
}

// constParam adds a parameter of n values, all v.
func (b *Builder) constParam(name string, n int, v float32) *Param {
	p := &Param{Name: name, Shape: []int{n}, Data: make([]float32, n), Grad: make([]float32, n), index: len(b.net.Params)}
	for i := range p.Data {
		p.Data[i] = v
	}
	b.net.Params = append(b.net.Params, p)
	return p
}

// newBNStats allocates the per-layer statistics of one chunk (nil for
// layers other than BatchNorm).
func newBNStats(n *Net) [][]float32 {
	st := make([][]float32, len(n.Layers))
	for i, l := range n.Layers {
		if l.Kind == BatchNorm {
			st[i] = make([]float32, bnStatsLen(l))
		}
	}
	return st
}

// RecalibrateBatchNorm sets the running statistics of every BatchNorm
// layer to the mean of the batch statistics over the first samples images
// of d, in batches of 64 (PyTorch's cumulative average, momentum None).
// After channel pruning the statistics the BatchNorms kept describe the
// unpruned net; re-estimating them alone recovers much of the accuracy
// ("adaptive BN", Li et al. 2020, EagleEye). It reports whether n has any
// BatchNorm.
func (n *Net) RecalibrateBatchNorm(d Dataset, samples int) bool {
	var bns []int
	for i, l := range n.Layers {
		if l.Kind == BatchNorm {
			bns = append(bns, i)
		}
	}
	if len(bns) == 0 || d.Len() == 0 {
		return len(bns) > 0
	}
	const batch = 64
	samples = min(samples, d.Len())
	isz := n.Input.Size()
	ws := newWorkspace(n, batch, true)
	sumM := make([][]float64, len(n.Layers))
	sumV := make([][]float64, len(n.Layers))
	for _, i := range bns {
		sumM[i] = make([]float64, n.Layers[i].outShape.C)
		sumV[i] = make([]float64, n.Layers[i].outShape.C)
	}
	batches := 0
	for lo := 0; lo < samples; lo += batch {
		m := min(batch, samples-lo)
		copy(ws.act[0], d.Images[lo*isz:(lo+m)*isz])
		n.forward(ws, m)
		for _, i := range bns {
			l := n.Layers[i]
			C := l.outShape.C
			cnt := float64(m * l.outShape.H * l.outShape.W)
			for c := 0; c < C; c++ {
				sumM[i][c] += float64(ws.bn[i][c])
				v := float64(ws.bn[i][C+c])
				if cnt > 1 {
					v *= cnt / (cnt - 1)
				}
				sumV[i][c] += v
			}
		}
		batches++
	}
	for _, i := range bns {
		l := n.Layers[i]
		for c := range l.RunMean {
			l.RunMean[c] = float32(sumM[i][c] / float64(batches))
			l.RunVar[c] = float32(sumV[i][c] / float64(batches))
		}
	}
	return true
}

// InsertBatchNorms puts a BatchNorm after every Conv that is not already
// read by one alone, set to the identity on the data: its running
// statistics and its scale and shift are the mean and variance of the
// conv's output over the first samples images of d, so inference is
// unchanged and training normalizes by batch statistics. Fine-tuning a
// model whose BatchNorms were folded into its convs (as the engine loads
// them) trains it as it was trained; ToGraph and nn.Optimize fold them
// back. It returns how many it inserted.
func (n *Net) InsertBatchNorms(d Dataset, samples int) (int, error) {
	readers := map[int][]*Layer{}
	for _, l := range n.Layers {
		for _, v := range l.In {
			readers[v] = append(readers[v], l)
		}
	}
	var layers []*Layer
	var added []*Layer
	for _, l := range n.Layers {
		layers = append(layers, l)
		if l.Kind != Conv {
			continue
		}
		if rs := readers[l.Out]; len(rs) == 1 && rs[0].Kind == BatchNorm {
			continue
		}
		s := n.Values[l.Out]
		v := len(n.Values)
		n.Values = append(n.Values, s)
		for _, r := range readers[l.Out] {
			for j, in := range r.In {
				if in == l.Out {
					r.In[j] = v
				}
			}
		}
		if n.Output == l.Out {
			n.Output = v
		}
		bn := &Layer{Kind: BatchNorm, Name: l.Name + "_bn", In: []int{l.Out}, Out: v, Eps: bnEps,
			RunMean: make([]float32, s.C), RunVar: make([]float32, s.C)}
		bn.W = &Param{Name: bn.Name + ".weight", Shape: []int{s.C}, Data: make([]float32, s.C)}
		bn.B = &Param{Name: bn.Name + ".bias", Shape: []int{s.C}, Data: make([]float32, s.C)}
		for c := range bn.RunVar {
			bn.W.Data[c], bn.RunVar[c] = 1, 1-bnEps // exactly the identity
		}
		n.Params = append(n.Params, bn.W, bn.B)
		layers = append(layers, bn)
		added = append(added, bn)
	}
	if len(added) == 0 {
		return 0, nil
	}
	n.Layers = layers
	for _, l := range n.Layers {
		l.wt = nil
	}
	if err := n.prepare(); err != nil {
		return 0, err
	}
	// Statistics of each conv output (the inserted layers are identities).
	samples = min(samples, d.Len())
	const batch = 64
	isz := n.Input.Size()
	ws := newWorkspace(n, batch, false)
	sum := map[*Layer][]float64{}
	sq := map[*Layer][]float64{}
	for _, bn := range added {
		sum[bn] = make([]float64, bn.outShape.C)
		sq[bn] = make([]float64, bn.outShape.C)
	}
	for lo := 0; lo < samples; lo += batch {
		m := min(batch, samples-lo)
		copy(ws.act[0], d.Images[lo*isz:(lo+m)*isz])
		n.forward(ws, m)
		for _, bn := range added {
			C, hw := bn.outShape.C, bn.outShape.H*bn.outShape.W
			x := ws.act[bn.In[0]]
			for s := 0; s < m; s++ {
				for c := 0; c < C; c++ {
					for _, v := range x[(s*C+c)*hw : (s*C+c+1)*hw] {
						sum[bn][c] += float64(v)
						sq[bn][c] += float64(v) * float64(v)
					}
				}
			}
		}
	}
	for _, bn := range added {
		cnt := float64(samples * bn.outShape.H * bn.outShape.W)
		for c := range bn.RunMean {
			m := sum[bn][c] / cnt
			v := max(sq[bn][c]/cnt-m*m, 0)
			bn.RunMean[c], bn.RunVar[c] = float32(m), float32(v)
			bn.W.Data[c] = float32(math.Sqrt(v + bnEps))
			bn.B.Data[c] = float32(m)
		}
	}
	return len(added), n.prepare()
}
