// Package pipetest provides a toy model for the pipeline, edge and cloud
// worker tests that does not depend on the engine's real operators: a few
// small float32 kernels registered under "pipetest.*" op names, one of which
// sleeps for a configurable time so tests can fill queues and miss deadlines.
package pipetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitinfer/splitinfer/nn"
)

// Delay is how long each run of one model's slow node sleeps; tests set
// it while the model runs (to fill queues, miss deadlines).
type Delay struct {
	ns   atomic.Int64
	gate atomic.Pointer[chan struct{}]
}

// Set sets the delay.
func (d *Delay) Set(v time.Duration) { d.ns.Store(int64(v)) }

// Hold makes every run of the slow node wait until Release: a test can
// then tell what happens while requests are being computed without
// timing anything.
func (d *Delay) Hold() {
	g := make(chan struct{})
	d.gate.Store(&g)
}

// Release lets the held runs (and later ones) go on.
func (d *Delay) Release() {
	if g := d.gate.Swap(nil); g != nil {
		close(*g)
	}
}

// delays maps the slow node's "delay" attribute to its Delay: each Model
// has its own, so tests running at once do not slow each other down.
var (
	delays  sync.Map // int64 -> *Delay
	delayID atomic.Int64
)

// DelayOf returns the delay of a graph made by Model (or of a program
// compiled from one: DelayOf(p.Graph())).
func DelayOf(g *nn.Graph) *Delay {
	for _, n := range g.Nodes {
		if n.Op == "pipetest.Slow" {
			if d, ok := delays.Load(n.AttrInt("delay", -1)); ok {
				return d.(*Delay)
			}
		}
	}
	panic("pipetest: DelayOf a graph without a pipetest.Slow node from Model")
}

func init() {
	nn.Register("pipetest.Scale", func(bc *nn.BuildContext) (nn.Kernel, error) {
		w := bc.InputConst(1)
		if w == nil || w.DType != nn.Float32 {
			return nil, fmt.Errorf("pipetest.Scale needs a float32 constant")
		}
		return scale{w: w.F32}, nil
	})
	nn.Register("pipetest.Relu", func(*nn.BuildContext) (nn.Kernel, error) { return relu{}, nil })
	nn.Register("pipetest.Add", func(*nn.BuildContext) (nn.Kernel, error) { return add{}, nil })
	nn.Register("pipetest.Slow", func(bc *nn.BuildContext) (nn.Kernel, error) {
		d, ok := delays.Load(bc.Node.AttrInt("delay", -1))
		if !ok {
			return nil, fmt.Errorf("pipetest.Slow needs the delay attribute of a Model")
		}
		return slow{d: d.(*Delay)}, nil
	})
	nn.Register("pipetest.Dense", func(bc *nn.BuildContext) (nn.Kernel, error) {
		w := bc.InputConst(1)
		if w == nil || w.DType != nn.Float32 || len(w.Shape) != 2 {
			return nil, fmt.Errorf("pipetest.Dense needs a 2-D float32 constant")
		}
		return dense{w: w}, nil
	})
}

func same(in []nn.Type) ([]nn.Type, error) {
	if len(in) == 0 || in[0].DType != nn.Float32 || len(in[0].Shape) != 2 {
		return nil, fmt.Errorf("%w: pipetest ops take float32 [N,F]", nn.ErrShape)
	}
	return []nn.Type{{DType: nn.Float32, Shape: append([]int(nil), in[0].Shape...)}}, nil
}

type scale struct{ w []float32 }

func (k scale) OutputTypes(in []nn.Type) ([]nn.Type, error) {
	t, err := same(in)
	if err == nil && in[0].Shape[1] != len(k.w) {
		err = fmt.Errorf("%w: pipetest.Scale width %d, want %d", nn.ErrShape, in[0].Shape[1], len(k.w))
	}
	return t, err
}

func (k scale) Run(_ *nn.RunContext, in, out []*nn.Tensor) error {
	f := len(k.w)
	for i, v := range in[0].F32 {
		out[0].F32[i] = v * k.w[i%f]
	}
	return nil
}

type relu struct{}

func (relu) OutputTypes(in []nn.Type) ([]nn.Type, error) { return same(in) }
func (relu) Run(_ *nn.RunContext, in, out []*nn.Tensor) error {
	for i, v := range in[0].F32 {
		out[0].F32[i] = max(v, 0)
	}
	return nil
}

type slow struct{ d *Delay }

func (slow) OutputTypes(in []nn.Type) ([]nn.Type, error) { return same(in) }
func (k slow) Run(_ *nn.RunContext, in, out []*nn.Tensor) error {
	if g := k.d.gate.Load(); g != nil {
		<-*g
	}
	if d := k.d.ns.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	copy(out[0].F32, in[0].F32)
	return nil
}

type add struct{}

func (add) OutputTypes(in []nn.Type) ([]nn.Type, error) {
	if len(in) != 2 || fmt.Sprint(in[0]) != fmt.Sprint(in[1]) {
		return nil, fmt.Errorf("%w: pipetest.Add types %v", nn.ErrShape, in)
	}
	return same(in)
}

func (add) Run(_ *nn.RunContext, in, out []*nn.Tensor) error {
	for i := range out[0].F32 {
		out[0].F32[i] = in[0].F32[i] + in[1].F32[i]
	}
	return nil
}

type dense struct{ w *nn.Tensor }

func (k dense) OutputTypes(in []nn.Type) ([]nn.Type, error) {
	if _, err := same(in); err != nil {
		return nil, err
	}
	if in[0].Shape[1] != k.w.Shape[0] {
		return nil, fmt.Errorf("%w: pipetest.Dense width %d, want %d", nn.ErrShape, in[0].Shape[1], k.w.Shape[0])
	}
	return []nn.Type{{DType: nn.Float32, Shape: []int{in[0].Shape[0], k.w.Shape[1]}}}, nil
}

func (k dense) Run(_ *nn.RunContext, in, out []*nn.Tensor) error {
	n, f, o := in[0].Shape[0], k.w.Shape[0], k.w.Shape[1]
	for r := 0; r < n; r++ {
		x := in[0].F32[r*f : (r+1)*f]
		y := out[0].F32[r*o : (r+1)*o]
		for j := range y {
			var s float32
			for i, v := range x {
				s += v * k.w.F32[i*o+j]
			}
			y[j] = s
		}
	}
	return nil
}

// Features and Classes are the toy model's input width and output width.
const (
	Features = 4
	Classes  = 3
)

// Model returns the toy graph, input "x" [N,4] to output "y" [N,3]:
//
//	h1 = Scale(x, w1); h2 = Relu(h1); h3 = Add(h2, h1); h4 = Slow(h3); y = Dense(h4, w2)
//
// Its single-tensor cuts are x, h1, h3 and h4; h2 alone is not a cut (the
// skip connection bypasses it), {h1, h2} is.
func Model() *nn.Graph {
	id := delayID.Add(1)
	delays.Store(id, &Delay{})
	w1, _ := nn.FromFloat32([]float32{1, -2, 0.5, 3}, 4)
	w2, _ := nn.FromFloat32([]float32{
		1, 0, -1,
		0, 1, 2,
		2, -1, 0,
		-1, 1, 1,
	}, 4, 3)
	return &nn.Graph{
		Name:    "pipetest",
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, Features}}}},
		Outputs: []nn.ValueInfo{{Name: "y", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, Classes}}}},
		Nodes: []*nn.Node{
			{Name: "scale", Op: "pipetest.Scale", Inputs: []string{"x", "w1"}, Outputs: []string{"h1"}},
			{Name: "relu", Op: "pipetest.Relu", Inputs: []string{"h1"}, Outputs: []string{"h2"}},
			{Name: "add", Op: "pipetest.Add", Inputs: []string{"h2", "h1"}, Outputs: []string{"h3"}},
			{Name: "slow", Op: "pipetest.Slow", Inputs: []string{"h3"}, Outputs: []string{"h4"},
				Attrs: map[string]nn.Attr{"delay": {Kind: nn.AttrInt, Int: id}}},
			{Name: "dense", Op: "pipetest.Dense", Inputs: []string{"h4", "w2"}, Outputs: []string{"y"}},
		},
		Consts: map[string]*nn.Tensor{"w1": w1, "w2": w2},
	}
}

// Program compiles Model.
func Program() (*nn.Program, error) { return nn.Compile(Model()) }

// Input returns a deterministic input batch of n rows; row i differs per seed.
func Input(n int, seed int) *nn.Tensor {
	x := nn.New(nn.Float32, n, Features)
	for i := range x.F32 {
		x.F32[i] = float32((i*7+seed*13)%11) - 5
	}
	return x
}
