package nn

import (
	"fmt"
	"sort"
)

// Graph is a model: a DAG of nodes over named tensors. Every tensor name is
// produced once, by a graph input, a constant, or one node output (SSA).
// Nodes are kept in a topological order (Validate checks, TopoSort makes it).
type Graph struct {
	Name    string
	Inputs  []ValueInfo
	Outputs []ValueInfo
	Nodes   []*Node
	// Consts holds the initializers (weights, biases, folded shape values).
	Consts map[string]*Tensor
	// Opset is the ONNX default-domain opset the graph was written against.
	Opset int
	// Meta carries free-form metadata (producer, calibration, ...).
	Meta map[string]string
}

// ValueInfo names a graph input or output and its declared type.
// Negative dimensions are dynamic.
type ValueInfo struct {
	Name string
	Type Type
}

// Node is one operator application. Empty input names mark omitted optional inputs.
type Node struct {
	Name    string
	Op      string
	Inputs  []string
	Outputs []string
	Attrs   map[string]Attr
}

// AttrKind tells which field of Attr is set.
type AttrKind uint8

// Attribute kinds.
const (
	AttrInt AttrKind = iota + 1
	AttrFloat
	AttrString
	AttrInts
	AttrFloats
	AttrTensor
	AttrStrings
)

// Attr is a node attribute.
type Attr struct {
	Kind   AttrKind
	Int    int64
	Float  float32
	Str    string
	Ints   []int64
	Floats []float32
	Strs   []string
	Tensor *Tensor
}

// AttrInt returns integer attribute name, or def when absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrInt {
		return a.Int
	}
	return def
}

// AttrFloat returns float attribute name, or def when absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloat {
		return a.Float
	}
	return def
}

// AttrString returns string attribute name, or def when absent.
func (n *Node) AttrString(name string, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrString {
		return a.Str
	}
	return def
}

// AttrInts returns integer-list attribute name as ints, or def when absent.
func (n *Node) AttrInts(name string, def []int) []int {
	a, ok := n.Attrs[name]
	if !ok || a.Kind != AttrInts {
		return def
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		out[i] = int(v)
	}
	return out
}

// Input returns the i-th input name, or "" if absent.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

func (n *Node) String() string { return fmt.Sprintf("%s (%s)", n.Name, n.Op) }

// Clone returns a copy of g whose node list, nodes and maps can be changed
// without touching g. Tensors are shared, not copied.
func (g *Graph) Clone() *Graph {
	c := *g
	c.Inputs = append([]ValueInfo(nil), g.Inputs...)
	c.Outputs = append([]ValueInfo(nil), g.Outputs...)
	c.Nodes = make([]*Node, len(g.Nodes))
	for i, n := range g.Nodes {
		nn := *n
		nn.Inputs = append([]string(nil), n.Inputs...)
		nn.Outputs = append([]string(nil), n.Outputs...)
		nn.Attrs = make(map[string]Attr, len(n.Attrs))
		for k, v := range n.Attrs {
			nn.Attrs[k] = v
		}
		c.Nodes[i] = &nn
	}
	c.Consts = make(map[string]*Tensor, len(g.Consts))
	for k, v := range g.Consts {
		c.Consts[k] = v
	}
	c.Meta = make(map[string]string, len(g.Meta))
	for k, v := range g.Meta {
		c.Meta[k] = v
	}
	return &c
}

// Producers maps each tensor name produced by a node to that node's index.
func (g *Graph) Producers() map[string]int {
	m := make(map[string]int)
	for i, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				m[o] = i
			}
		}
	}
	return m
}

// Consumers maps each tensor name to the indices of the nodes reading it, in order.
func (g *Graph) Consumers() map[string][]int {
	m := make(map[string][]int)
	for i, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				m[in] = append(m[in], i)
			}
		}
	}
	return m
}

// Node returns the node with the given name, or nil.
func (g *Graph) Node(name string) *Node {
	for _, n := range g.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Validate checks that names are unique, every input is defined before use,
// outputs are produced, and nodes are in topological order.
func (g *Graph) Validate() error {
	defined := make(map[string]bool)
	for _, in := range g.Inputs {
		if in.Name == "" || defined[in.Name] {
			return fmt.Errorf("%w: graph input %q empty or repeated", ErrGraph, in.Name)
		}
		defined[in.Name] = true
	}
	for name := range g.Consts {
		defined[name] = true
	}
	names := make(map[string]bool)
	for i, n := range g.Nodes {
		if n.Name == "" {
			return fmt.Errorf("%w: node %d (%s) has no name", ErrGraph, i, n.Op)
		}
		if names[n.Name] {
			return fmt.Errorf("%w: node name %q repeated", ErrGraph, n.Name)
		}
		names[n.Name] = true
		for _, in := range n.Inputs {
			if in != "" && !defined[in] {
				return fmt.Errorf("%w: node %s reads %q before it is defined", ErrGraph, n, in)
			}
		}
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if defined[o] {
				return fmt.Errorf("%w: tensor %q defined twice (node %s)", ErrGraph, o, n)
			}
			defined[o] = true
		}
	}
	for _, o := range g.Outputs {
		if !defined[o.Name] {
			return fmt.Errorf("%w: graph output %q is never produced", ErrGraph, o.Name)
		}
	}
	return nil
}

// TopoSort reorders g.Nodes topologically (stable: among ready nodes the
// original order wins) and fails on a cycle or an undefined input.
func (g *Graph) TopoSort() error {
	prod := g.Producers()
	indeg := make([]int, len(g.Nodes))
	succ := make([][]int, len(g.Nodes))
	for i, n := range g.Nodes {
		seen := map[int]bool{}
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			p, ok := prod[in]
			if !ok {
				if _, c := g.Consts[in]; !c && !g.isInput(in) {
					return fmt.Errorf("%w: node %s reads undefined %q", ErrGraph, n, in)
				}
				continue
			}
			if !seen[p] {
				seen[p] = true
				indeg[i]++
				succ[p] = append(succ[p], i)
			}
		}
	}
	var ready []int
	for i, d := range indeg {
		if d == 0 {
			ready = append(ready, i)
		}
	}
	order := make([]*Node, 0, len(g.Nodes))
	for len(ready) > 0 {
		sort.Ints(ready)
		i := ready[0]
		ready = ready[1:]
		order = append(order, g.Nodes[i])
		for _, s := range succ[i] {
			if indeg[s]--; indeg[s] == 0 {
				ready = append(ready, s)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		return fmt.Errorf("%w: cycle among nodes", ErrGraph)
	}
	g.Nodes = order
	return nil
}

func (g *Graph) isInput(name string) bool {
	for _, in := range g.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}
