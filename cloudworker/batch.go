package cloudworker

import (
	"slices"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
)

// runBatched groups requests for the same tail whose inputs agree in
// everything but dimension 0, runs each group once with the inputs
// concatenated along dimension 0, and slices the outputs back. A group
// whose outputs do not keep the batch in dimension 0 (a model that mixes
// rows), or that fails, is run request by request.
func (w *Worker) runBatched(l *local, ps []*pending) {
	var groups [][]*pending
	for _, p := range ps {
		placed := false
		for i, g := range groups {
			if batchable(g[0], p) {
				groups[i] = append(g, p)
				placed = true
				break
			}
		}
		if !placed {
			groups = append(groups, []*pending{p})
		}
	}
	for _, g := range groups {
		if len(g) == 1 || !w.runGroup(l, g) {
			for _, p := range g {
				w.runOne(l, p)
			}
		}
	}
}

// batchable reports whether b can run in one batch with a.
func batchable(a, b *pending) bool {
	if a.split != b.split || len(a.in) != len(b.in) {
		return false
	}
	for i, x := range a.in {
		y := b.in[i]
		if x.DType != y.DType || len(x.Shape) == 0 || len(x.Shape) != len(y.Shape) || !slices.Equal(x.Shape[1:], y.Shape[1:]) {
			return false
		}
		if (x.Quant == nil) != (y.Quant == nil) {
			return false
		}
		if x.Quant != nil && (x.Quant.Axis != y.Quant.Axis || !slices.Equal(x.Quant.Scale, y.Quant.Scale) || !slices.Equal(x.Quant.ZeroPoint, y.Quant.ZeroPoint)) {
			return false
		}
	}
	return true
}

// runGroup runs a group as one batch; false means nothing was answered.
func (w *Worker) runGroup(l *local, g []*pending) bool {
	split := g[0].split
	rows := make([]int, len(g))
	total := 0
	for i, p := range g {
		rows[i] = p.in[0].Shape[0]
		total += rows[i]
	}
	in := make([]*nn.Tensor, len(g[0].in))
	for k := range in {
		first := g[0].in[k]
		shape := append([]int{total}, first.Shape[1:]...)
		t := nn.New(first.DType, shape...)
		t.Quant = first.Quant
		dst := t.Bytes()
		off := 0
		for _, p := range g {
			off += copy(dst[off:], p.in[k].Bytes())
		}
		in[k] = t
	}
	outs, dt, e := w.runTail(l, split, in, g)
	if e != nil {
		return false
	}
	for _, o := range outs {
		if len(o.Shape) == 0 || o.Shape[0] != total {
			return false
		}
	}
	replies := make([]*pipeline.Reply, len(g))
	for i, p := range g {
		replies[i] = &pipeline.Reply{ID: p.req.ID, Codec: w.cfg.Codec, ComputeNs: int64(dt)}
	}
	for k, name := range split.Tail.Outputs() {
		o := outs[k]
		wt, err := pipeline.FromNN(name, o)
		if err != nil {
			return false
		}
		rowBytes := len(wt.Data) / total
		off := 0
		for i := range g {
			part := wt
			part.Shape = append([]int64{int64(rows[i])}, wt.Shape[1:]...)
			part.Data = append([]byte(nil), wt.Data[off:off+rows[i]*rowBytes]...)
			off += rows[i] * rowBytes
			replies[i].Outputs = append(replies[i].Outputs, part)
		}
	}
	for i, p := range g {
		w.complete(p, &result{reply: replies[i]})
	}
	w.batches.Add(1)
	return true
}
