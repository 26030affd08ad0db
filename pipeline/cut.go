package pipeline

import (
	"fmt"
	"sort"
	"strings"

	"github.com/splitinfer/splitinfer/compress/bottleneck"
	"github.com/splitinfer/splitinfer/nn"
)

// ModelHash is the model content hash requests carry: nn.Hash of the graph.
func ModelHash(g *nn.Graph) string { return nn.Hash(g) }

// CutID names a cut: its tensor name for a one-tensor cut, the sorted names
// joined by commas for a cut carrying several tensors.
func CutID(tensors []string) string {
	s := append([]string(nil), tensors...)
	sort.Strings(s)
	return strings.Join(s, ",")
}

// ParseCutID splits a cut id into its tensor names.
func ParseCutID(id string) ([]string, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty cut id", ErrBadRequest)
	}
	names := strings.Split(id, ",")
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("%w: cut id %q has an empty or repeated tensor", ErrBadRequest, id)
		}
		seen[n] = true
	}
	return names, nil
}

// Split is a model cut in two: the head runs on the edge from the model
// inputs to the cut tensors, the tail in the cloud from the cut tensors to
// the model outputs. Programs are immutable and shared; run them through
// per-goroutine Runners.
type Split struct {
	ID    string
	Cut   []string // sorted tensor names
	Whole *nn.Program
	Head  *nn.Program
	Tail  *nn.Program
}

// NewSplit slices whole at the cut tensors. It fails when the cut does
// not separate the inputs from the outputs (some path bypasses it) or names
// an unknown tensor.
func NewSplit(whole *nn.Program, cut []string) (*Split, error) {
	if len(cut) == 0 {
		return nil, fmt.Errorf("%w: empty cut", ErrBadRequest)
	}
	id := CutID(cut)
	names, err := ParseCutID(id)
	if err != nil {
		return nil, err
	}
	g := whole.Graph()
	known := map[string]bool{}
	for _, in := range g.Inputs {
		known[in.Name] = true
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			known[o] = true
		}
	}
	for _, n := range names {
		if !known[n] {
			return nil, fmt.Errorf("%w: cut tensor %q is not computed by the model", ErrBadRequest, n)
		}
	}
	head, err := whole.Slice(whole.Inputs(), names)
	if err != nil {
		return nil, fmt.Errorf("%w: cut %q: head: %v", ErrBadRequest, id, err)
	}
	tail, err := whole.Slice(names, whole.Outputs())
	if err != nil {
		return nil, fmt.Errorf("%w: cut %q does not separate inputs from outputs: %v", ErrBadRequest, id, err)
	}
	return &Split{ID: id, Cut: names, Whole: whole, Head: head, Tail: tail}, nil
}

// CutInfo describes one single-tensor cut of a model.
type CutInfo struct {
	Tensor string
	Op     string // op of the node producing it ("" for a graph input)
	Index  int    // producing node's position in the graph (-1 for an input)
}

// Cuts lists the single-tensor cuts of whole, in graph order: the graph
// inputs and every node output (other than a model output) through which
// every path from the inputs to the outputs passes.
func Cuts(whole *nn.Program) []CutInfo {
	g := whole.Graph()
	var out []CutInfo
	isOut := map[string]bool{}
	for _, o := range whole.Outputs() {
		isOut[o] = true
	}
	if len(whole.Inputs()) == 1 {
		out = append(out, CutInfo{Tensor: whole.Inputs()[0], Index: -1})
	}
	for _, ni := range whole.NodeIndices() {
		n := g.Nodes[ni]
		for _, t := range n.Outputs {
			if t == "" || isOut[t] {
				continue
			}
			if _, err := whole.Slice([]string{t}, whole.Outputs()); err != nil {
				continue
			}
			out = append(out, CutInfo{Tensor: t, Op: n.Op, Index: ni})
		}
	}
	return out
}

// EarlyCut picks a cut without a cost model (what `--cut early` means):
// a model's learned bottleneck (compress/bottleneck) when it has one,
// else the output of the last pooling
// (else convolution or activation) node before the first layer that
// flattens or pools globally, i.e. after the last early conv/pool block.
// When the model has no such block it picks the first cut after the input.
// The partition package makes the measured choice.
func EarlyCut(whole *nn.Program) (string, error) {
	cuts := Cuts(whole)
	if len(cuts) == 0 {
		return "", fmt.Errorf("%w: model %q has no single-tensor cut", ErrBadRequest, whole.Graph().Name)
	}
	g := whole.Graph()
	if b := bottleneck.Tensor(g); b != "" {
		for _, c := range cuts {
			if c.Tensor == b {
				return b, nil // the model's learned bottleneck
			}
		}
	}
	stop := len(g.Nodes)
	for _, ni := range whole.NodeIndices() {
		switch g.Nodes[ni].Op {
		case "Flatten", "Reshape", "Gemm", "MatMul", "GlobalAveragePool", "GlobalMaxPool":
			stop = ni
		}
		if stop != len(g.Nodes) {
			break
		}
	}
	rank := func(op string) int {
		switch op {
		case "MaxPool", "AveragePool", "QLinearMaxPool", "MaxPoolInt8":
			return 3
		case "Conv", "QLinearConv", "Relu", "Clip", "Add", "BatchNormalization":
			return 2
		}
		if strings.Contains(op, "Pool") {
			return 3
		}
		if strings.Contains(op, "Conv") {
			return 2
		}
		return 0
	}
	best, bestRank := "", 0
	for _, c := range cuts {
		if c.Index < 0 || c.Index >= stop {
			continue
		}
		if r := rank(c.Op); r > 0 && r >= bestRank {
			best, bestRank = c.Tensor, r
		}
	}
	if best != "" {
		return best, nil
	}
	for _, c := range cuts {
		if c.Index >= 0 {
			return c.Tensor, nil
		}
	}
	return cuts[0].Tensor, nil
}

// ResolveCut parses a cut the way users name one: "early" or "" (EarlyCut:
// after the last early conv/pool block), or comma-separated tensor names
// that must split the model; the error for a bad cut lists the model's
// single-tensor cuts.
func ResolveCut(whole *nn.Program, spec string) ([]string, error) {
	if spec == "" || spec == "early" {
		c, err := EarlyCut(whole)
		if err != nil {
			return nil, err
		}
		return []string{c}, nil
	}
	names, err := ParseCutID(spec)
	if err != nil {
		return nil, err
	}
	if _, err := NewSplit(whole, names); err != nil {
		var cuts []string
		for _, c := range Cuts(whole) {
			cuts = append(cuts, c.Tensor)
		}
		return nil, fmt.Errorf("%w (single-tensor cuts: %s)", err, strings.Join(cuts, " "))
	}
	return names, nil
}
