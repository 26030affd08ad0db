// Package partition chooses where to split a model between the edge and the
// cloud. It measures per-node latency profiles and the encoded size of the
// tensors that may cross the link, predicts the end-to-end latency of a cut
// (edge compute, encode, transfer, round trip, decode, cloud compute), finds
// the best cut of any DAG exactly (a minimum s-t cut, checked against an
// exhaustive search on small graphs), and re-chooses the cut while running
// as the estimated bandwidth and round trip change (Adapter).
//
// A cut is a set of nodes closed under predecessors, run on the edge; the
// tensors it produces that nodes outside it read travel together in one
// request. Edge-only and cloud-only are cuts like any other.
//
// The package is pure: it knows nothing of NATS or the wire format; the
// encoder is passed in as a function.
package partition

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
)

// Errors returned by the partitioner.
var (
	ErrCut     = errors.New("partition: invalid cut")
	ErrProfile = errors.New("partition: invalid profile")
	ErrTooBig  = errors.New("partition: too many cuts to enumerate")
)

// Names of the two trivial cuts. Other cuts are named "after:" followed by
// the names of their maximal nodes (nodes of the cut none of whose
// successors are in it), in graph order, joined by "+".
const (
	CloudOnly = "cloud-only"
	EdgeOnly  = "edge-only"
)

// DAG is the dependency structure of an nn.Graph as the partitioner sees
// it: nodes, their predecessors and successors, and the tensors that may
// cross a cut (graph inputs and node outputs; constants live on both sides).
// It is immutable and safe for concurrent use.
type DAG struct {
	g       *nn.Graph
	index   map[string]int
	preds   [][]int
	succs   [][]int
	tensors []tensorInfo
	byName  map[string]int // tensor name -> index in tensors
	inputs  []int          // tensors that are graph inputs
	outputs []int          // tensors that are graph outputs
}

type tensorInfo struct {
	name      string
	producer  int   // node index, -1 for a graph input
	consumers []int // node indices, ascending, unique
	output    bool  // a graph output
}

// NewDAG analyses g, which must be valid and topologically sorted.
func NewDAG(g *nn.Graph) (*DAG, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: nil graph", ErrCut)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("partition: %w", err)
	}
	d := &DAG{
		g:      g,
		index:  make(map[string]int, len(g.Nodes)),
		preds:  make([][]int, len(g.Nodes)),
		succs:  make([][]int, len(g.Nodes)),
		byName: map[string]int{},
	}
	addTensor := func(name string, producer int) {
		d.byName[name] = len(d.tensors)
		d.tensors = append(d.tensors, tensorInfo{name: name, producer: producer})
	}
	for _, in := range g.Inputs {
		if _, isConst := g.Consts[in.Name]; isConst {
			continue
		}
		d.inputs = append(d.inputs, len(d.tensors))
		addTensor(in.Name, -1)
	}
	for i, n := range g.Nodes {
		d.index[n.Name] = i
		for _, o := range n.Outputs {
			if o != "" {
				addTensor(o, i)
			}
		}
	}
	for i, n := range g.Nodes {
		seenT := map[int]bool{}
		seenP := map[int]bool{}
		for _, in := range n.Inputs {
			ti, ok := d.byName[in]
			if in == "" || !ok || seenT[ti] {
				continue
			}
			seenT[ti] = true
			t := &d.tensors[ti]
			t.consumers = append(t.consumers, i)
			if p := t.producer; p >= 0 && !seenP[p] {
				seenP[p] = true
				d.preds[i] = append(d.preds[i], p)
				d.succs[p] = append(d.succs[p], i)
			}
		}
	}
	for _, o := range g.Outputs {
		if ti, ok := d.byName[o.Name]; ok && !d.tensors[ti].output {
			d.tensors[ti].output = true
			d.outputs = append(d.outputs, ti)
		}
	}
	for i := range d.succs {
		sort.Ints(d.succs[i])
		sort.Ints(d.preds[i])
	}
	return d, nil
}

// Graph returns the graph the DAG was built from.
func (d *DAG) Graph() *nn.Graph { return d.g }

// Len is the number of nodes.
func (d *DAG) Len() int { return len(d.g.Nodes) }

// TensorNames lists every tensor that may cross a cut (the graph inputs and
// the node outputs), in the DAG's order: the tensors Sizes has entries for.
func (d *DAG) TensorNames() []string {
	names := make([]string, len(d.tensors))
	for i, t := range d.tensors {
		names[i] = t.name
	}
	return names
}

// Cut is a split of the model: Edge lists the indices (into Graph().Nodes,
// ascending) of the nodes run on the edge, a set closed under predecessors;
// Tensors lists the tensors sent to the cloud, in production order (graph
// inputs first). Name identifies the cut within its graph and is what the
// edge and the cloud agree on (DAG.CutByName rebuilds the cut from it).
type Cut struct {
	Name    string   `json:"name"`
	Edge    []int    `json:"edge_nodes"`
	Tensors []string `json:"tensors"`
}

// IsEdgeOnly reports whether the cut runs the whole model on the edge.
func (c Cut) IsEdgeOnly() bool { return c.Name == EdgeOnly }

// IsCloudOnly reports whether the cut sends the input to the cloud.
func (c Cut) IsCloudOnly() bool { return c.Name == CloudOnly }

// CutOf builds the cut whose edge side is the set of nodes with onEdge[i]
// set. It fails with ErrCut when the set is not closed under predecessors.
func (d *DAG) CutOf(onEdge []bool) (Cut, error) {
	if len(onEdge) != d.Len() {
		return Cut{}, fmt.Errorf("%w: %d flags for %d nodes", ErrCut, len(onEdge), d.Len())
	}
	for v, in := range onEdge {
		if !in {
			continue
		}
		for _, p := range d.preds[v] {
			if !onEdge[p] {
				return Cut{}, fmt.Errorf("%w: node %s is on the edge but its predecessor %s is not",
					ErrCut, d.g.Nodes[v].Name, d.g.Nodes[p].Name)
			}
		}
	}
	return d.cutOf(onEdge), nil
}

// cutOf assumes onEdge is closed.
func (d *DAG) cutOf(onEdge []bool) Cut {
	var c Cut
	all := true
	for v, in := range onEdge {
		if in {
			c.Edge = append(c.Edge, v)
		} else {
			all = false
		}
	}
	switch {
	case all:
		c.Name = EdgeOnly
		return c
	case len(c.Edge) == 0:
		c.Name = CloudOnly
	default:
		var max []string
		for _, v := range c.Edge {
			maximal := true
			for _, s := range d.succs[v] {
				if onEdge[s] {
					maximal = false
					break
				}
			}
			if maximal {
				max = append(max, d.g.Nodes[v].Name)
			}
		}
		c.Name = "after:" + strings.Join(max, "+")
	}
	for ti := range d.tensors {
		if d.crosses(ti, onEdge) {
			c.Tensors = append(c.Tensors, d.tensors[ti].name)
		}
	}
	return c
}

// crosses reports whether tensor ti is sent when onEdge is the edge side
// and not every node is on the edge: it is available on the edge and read
// in the cloud or a graph output computed on the edge.
func (d *DAG) crosses(ti int, onEdge []bool) bool {
	t := &d.tensors[ti]
	if t.producer >= 0 && !onEdge[t.producer] {
		return false
	}
	if t.output && t.producer >= 0 {
		return true
	}
	for _, c := range t.consumers {
		if !onEdge[c] {
			return true
		}
	}
	return false
}

// CutByName rebuilds a cut from its name.
func (d *DAG) CutByName(name string) (Cut, error) {
	onEdge := make([]bool, d.Len())
	switch {
	case name == EdgeOnly:
		for i := range onEdge {
			onEdge[i] = true
		}
	case name == CloudOnly:
	case strings.HasPrefix(name, "after:"):
		for _, nn := range strings.Split(strings.TrimPrefix(name, "after:"), "+") {
			v, ok := d.index[nn]
			if !ok {
				return Cut{}, fmt.Errorf("%w: no node %q in cut %q", ErrCut, nn, name)
			}
			d.closeOver(v, onEdge)
		}
	default:
		return Cut{}, fmt.Errorf("%w: malformed cut name %q", ErrCut, name)
	}
	c := d.cutOf(onEdge)
	if c.Name != name {
		return Cut{}, fmt.Errorf("%w: %q is not canonical (the same cut is %q)", ErrCut, name, c.Name)
	}
	return c, nil
}

// CutAtTensor returns the cut that sends tensor name alone: its producer
// and the producer's ancestors on the edge. It fails with ErrCut when
// that cut sends more (the tensor does not separate inputs from outputs).
func (d *DAG) CutAtTensor(name string) (Cut, error) {
	ti, ok := d.byName[name]
	if !ok {
		return Cut{}, fmt.Errorf("%w: no tensor %q", ErrCut, name)
	}
	onEdge := make([]bool, d.Len())
	if p := d.tensors[ti].producer; p >= 0 {
		d.closeOver(p, onEdge)
	}
	c := d.cutOf(onEdge)
	if len(c.Tensors) != 1 || c.Tensors[0] != name {
		return Cut{}, fmt.Errorf("%w: the cut at %q sends %v", ErrCut, name, c.Tensors)
	}
	return c, nil
}

// closeOver marks v and all its ancestors.
func (d *DAG) closeOver(v int, onEdge []bool) {
	stack := []int{v}
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if onEdge[u] {
			continue
		}
		onEdge[u] = true
		stack = append(stack, d.preds[u]...)
	}
}

// Prefixes returns the cuts made by the prefixes of the graph's node order,
// cloud-only first and edge-only last. With singleOnly, only the prefixes
// sending exactly one tensor are kept (the "natural" cut points of a DAG,
// where it narrows to a chain), plus cloud-only and edge-only.
func (d *DAG) Prefixes(singleOnly bool) []Cut {
	onEdge := make([]bool, d.Len())
	cuts := []Cut{d.cutOf(onEdge)}
	for v := range onEdge {
		onEdge[v] = true
		c := d.cutOf(onEdge)
		if singleOnly && !c.IsEdgeOnly() && len(c.Tensors) != 1 {
			continue
		}
		cuts = append(cuts, c)
	}
	return cuts
}

// CandidateCuts lists the cuts worth sizing and showing: every cut of a
// small graph (up to 64), else the chain of prefix cuts, plus extra (such
// as the optimum) where they are not among them.
func (d *DAG) CandidateCuts(extra ...Cut) []Cut {
	var cuts []Cut
	if err := d.EnumerateCuts(64, func(c Cut) bool { cuts = append(cuts, c); return true }); err != nil {
		cuts = d.Prefixes(true)
	}
	for _, e := range extra {
		if !slices.ContainsFunc(cuts, func(c Cut) bool { return c.Name == e.Name }) {
			cuts = append(cuts, e)
		}
	}
	return cuts
}

// WithCloud returns the model with another cloud profile (everything
// else the same: edge profile, sizes, MaxBytes, exits, codings), e.g. the
// cloud measured again.
func (m *Model) WithCloud(cloud *Profile) (*Model, error) {
	if err := cloud.Validate(m.DAG); err != nil {
		return nil, fmt.Errorf("cloud: %w", err)
	}
	n := *m
	n.Cloud = cloud
	return &n, nil
}
