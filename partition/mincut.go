package partition

import "math"

// minCut returns the edge side of the cut minimising
//
//	sum of edge times on the edge + sum of cloud times in the cloud
//	+ sum over sent tensors of their transfer cost
//
// over all cuts, as a minimum s-t cut (DADS, Hu et al., INFOCOM 2019). The
// source is the edge, the sink the cloud. Node v has an arc s->v of capacity
// cloud(v) (paid when v runs in the cloud) and v->t of capacity edge(v).
// Every graph arc u->v gets an infinite reverse arc v->u, so a cut can
// never put v on the edge and its predecessor u in the cloud. A tensor x
// produced by u (or by s for a graph input) and read by several nodes gets
// an auxiliary vertex a_x with u->a_x of capacity transfer(x) and infinite
// arcs a_x->w for every consumer w (and a_x->t for a graph output): the
// transfer is paid once however many consumers run in the cloud. The
// residual graph's source side is the smallest optimal edge side.
//
// The fixed cost of any request (round trip, overhead bytes) is not in the
// network; Best adds it and compares with edge-only, which is exact: if the
// minimum is the whole graph, edge-only beats every split even without the
// fixed cost.
func (m *Model) minCut(l Link) []bool {
	d := m.DAG
	n := d.Len()
	nv := n + len(d.tensors) + 2
	s, t := n+len(d.tensors), n+len(d.tensors)+1
	f := newFlow(nv)
	finite := 0.0
	for v, node := range d.g.Nodes {
		c, e := m.Cloud.NodeMS(node.Name), m.Edge.NodeMS(node.Name)
		finite += c + e
		f.add(s, v, c)
		f.add(v, t, e)
	}
	w := make([]float64, len(d.tensors))
	for ti := range d.tensors {
		w[ti] = m.tensorMS(ti, l)
		finite += w[ti]
	}
	inf := 2*finite + 1
	if math.IsInf(inf, 0) || math.IsNaN(inf) {
		inf = math.MaxFloat64 / 4
	}
	for v := range d.preds {
		for _, u := range d.preds[v] {
			f.add(v, u, inf)
		}
	}
	for ti, x := range d.tensors {
		if len(x.consumers) == 0 && !x.output {
			continue
		}
		a := n + ti
		from := x.producer
		if from < 0 {
			from = s
		}
		f.add(from, a, w[ti])
		for _, c := range x.consumers {
			f.add(a, c, inf)
		}
		if x.output {
			f.add(a, t, inf)
		}
	}
	f.maxflow(s, t)
	side := f.sourceSide(s)
	return side[:n]
}

// flow is Dinic's maximum flow on float64 capacities.
type flow struct {
	head  []int
	next  []int
	to    []int
	cap   []float64
	level []int
	iter  []int
}

const flowEps = 1e-9

func newFlow(n int) *flow {
	f := &flow{head: make([]int, n), level: make([]int, n), iter: make([]int, n)}
	for i := range f.head {
		f.head[i] = -1
	}
	return f
}

func (f *flow) add(u, v int, c float64) {
	if c <= 0 {
		return
	}
	f.to = append(f.to, v, u)
	f.cap = append(f.cap, c, 0)
	f.next = append(f.next, f.head[u], f.head[v])
	f.head[u] = len(f.to) - 2
	f.head[v] = len(f.to) - 1
}

func (f *flow) bfs(s, t int) bool {
	for i := range f.level {
		f.level[i] = -1
	}
	f.level[s] = 0
	q := []int{s}
	for len(q) > 0 {
		u := q[0]
		q = q[1:]
		for e := f.head[u]; e >= 0; e = f.next[e] {
			if f.cap[e] > flowEps && f.level[f.to[e]] < 0 {
				f.level[f.to[e]] = f.level[u] + 1
				q = append(q, f.to[e])
			}
		}
	}
	return f.level[t] >= 0
}

func (f *flow) dfs(u, t int, pushed float64) float64 {
	if u == t {
		return pushed
	}
	for ; f.iter[u] >= 0; f.iter[u] = f.next[f.iter[u]] {
		e := f.iter[u]
		v := f.to[e]
		if f.cap[e] <= flowEps || f.level[v] != f.level[u]+1 {
			continue
		}
		if got := f.dfs(v, t, math.Min(pushed, f.cap[e])); got > flowEps {
			f.cap[e] -= got
			f.cap[e^1] += got
			return got
		}
	}
	return 0
}

func (f *flow) maxflow(s, t int) float64 {
	total := 0.0
	for f.bfs(s, t) {
		copy(f.iter, f.head)
		for {
			got := f.dfs(s, t, math.Inf(1))
			if got <= flowEps {
				break
			}
			total += got
		}
	}
	return total
}

// sourceSide marks the vertices reachable from s in the residual graph.
func (f *flow) sourceSide(s int) []bool {
	seen := make([]bool, len(f.head))
	seen[s] = true
	stack := []int{s}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for e := f.head[u]; e >= 0; e = f.next[e] {
			if v := f.to[e]; f.cap[e] > flowEps && !seen[v] {
				seen[v] = true
				stack = append(stack, v)
			}
		}
	}
	return seen
}
