package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Test helpers shared by the operator tests.

// opCase runs one node: inputs[i] == nil is an absent optional input;
// inputs whose index is in consts become graph constants.
type opCase struct {
	op      string
	attrs   map[string]Attr
	inputs  []*Tensor
	consts  map[int]bool
	outputs int
	threads int
	opset   int
}

func (c opCase) graph() *Graph {
	g := &Graph{Name: c.op, Consts: map[string]*Tensor{}, Opset: c.opset}
	n := &Node{Name: "n0", Op: c.op, Attrs: c.attrs}
	if n.Attrs == nil {
		n.Attrs = map[string]Attr{}
	}
	for i, t := range c.inputs {
		name := ""
		if t != nil {
			name = "in" + string(rune('0'+i))
			if c.consts[i] {
				g.Consts[name] = t
			} else {
				g.Inputs = append(g.Inputs, ValueInfo{Name: name, Type: t.Type()})
			}
		}
		n.Inputs = append(n.Inputs, name)
	}
	outs := max(c.outputs, 1)
	for i := 0; i < outs; i++ {
		name := "out" + string(rune('0'+i))
		n.Outputs = append(n.Outputs, name)
		g.Outputs = append(g.Outputs, ValueInfo{Name: name})
	}
	g.Nodes = []*Node{n}
	return g
}

// run compiles and runs the case, returning copies of the outputs.
func (c opCase) run() ([]*Tensor, error) {
	g := c.graph()
	p, err := Compile(g)
	if err != nil {
		return nil, err
	}
	r := p.NewRunner(max(c.threads, 1))
	var feeds []*Tensor
	for i, t := range c.inputs {
		if t != nil && !c.consts[i] {
			feeds = append(feeds, t)
		}
	}
	outs, err := r.Run(feeds...)
	if err != nil {
		return nil, err
	}
	res := make([]*Tensor, len(outs))
	for i, o := range outs {
		res[i] = o.Clone()
	}
	return res, nil
}

func (c opCase) mustRun(t *testing.T) []*Tensor {
	t.Helper()
	outs, err := c.run()
	if err != nil {
		t.Fatalf("%s: %v", c.op, err)
	}
	return outs
}

// randT returns a float32 tensor with values uniform in [-1, 1).
func randT(r *rand.Rand, shape ...int) *Tensor {
	t := New(Float32, shape...)
	for i := range t.F32 {
		t.F32[i] = float32(r.Float64()*2 - 1)
	}
	return t
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 42)) }

func i64T(shape []int, v ...int64) *Tensor {
	return &Tensor{DType: Int64, Shape: shape, I64: v}
}

func f32T(shape []int, v ...float32) *Tensor {
	return &Tensor{DType: Float32, Shape: shape, F32: v}
}

func ints(v ...int64) Attr { return Attr{Kind: AttrInts, Ints: v} }
func intA(v int64) Attr    { return Attr{Kind: AttrInt, Int: v} }
func fltA(v float32) Attr  { return Attr{Kind: AttrFloat, Float: v} }
func strA(v string) Attr   { return Attr{Kind: AttrString, Str: v} }

// checkClose compares got with the float64 reference want at 1e-5 relative
// (with an absolute floor of 1e-5 for values near zero).
func checkClose(t *testing.T, name string, got *Tensor, wantShape []int, want []float64) {
	t.Helper()
	if !sameShape(got.Shape, wantShape) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape, wantShape)
	}
	if len(got.F32) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got.F32), len(want))
	}
	for i, w := range want {
		g := float64(got.F32[i])
		if math.IsInf(w, 0) || math.IsNaN(w) {
			if g != w && !(math.IsNaN(w) && math.IsNaN(g)) {
				t.Fatalf("%s: [%d] = %v, want %v", name, i, g, w)
			}
			continue
		}
		if math.Abs(g-w) > 1e-5*math.Max(1, math.Abs(w)) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, g, w)
		}
	}
}

func toF64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
