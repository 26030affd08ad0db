package nn

import (
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// shareGraph: a chain of Relus with a Reshape view whose source is read
// again at the end, and a second output that must keep its own storage.
//
//	a = relu(x); v = reshape(a); b = relu(v); c = relu(b); z = b·b;
//	d = relu(c); y = add(d, v) (reads a's storage through the view)
func shareGraph() *Graph {
	f := Type{DType: Float32, Shape: []int{2, 3, 4, 5}}
	return &Graph{
		Name:   "share",
		Inputs: []ValueInfo{{Name: "x", Type: f}},
		Consts: map[string]*Tensor{"shape": {DType: Int64, Shape: []int{2}, I64: []int64{6, 20}}},
		Nodes: []*Node{
			{Name: "r1", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"a"}},
			{Name: "view", Op: "Reshape", Inputs: []string{"a", "shape"}, Outputs: []string{"v"}},
			{Name: "r2", Op: "Relu", Inputs: []string{"v"}, Outputs: []string{"b"}},
			{Name: "r3", Op: "Relu", Inputs: []string{"b"}, Outputs: []string{"c"}},
			{Name: "sq", Op: "Mul", Inputs: []string{"b", "b"}, Outputs: []string{"z"}},
			{Name: "r4", Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"d"}},
			{Name: "add", Op: "Add", Inputs: []string{"d", "v"}, Outputs: []string{"y"}},
		},
		Outputs: []ValueInfo{{Name: "y"}, {Name: "z"}},
	}
}

func TestRunnerSharesBuffers(t *testing.T) {
	p, err := Compile(shareGraph())
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(1)
	x := randT(newRand(3), 2, 3, 4, 5)
	for run := 0; run < 3; run++ {
		// Change the input between runs: stale data must not survive.
		for i := range x.F32 {
			x.F32[i] += float32(run) - 0.5
		}
		outs, err := r.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		y, z := outs[0], outs[1]
		for i, xv := range x.F32 {
			a := max(xv, 0)
			if want := a + a; y.F32[i] != want {
				t.Fatalf("run %d: y[%d] = %v, want %v", run, i, y.F32[i], want)
			}
			if want := a * a; z.F32[i] != want {
				t.Fatalf("run %d: z[%d] = %v, want %v", run, i, z.F32[i], want)
			}
		}
	}
	// a (with its view v) lives to the end; b, c, d pass through: a, then
	// b, c and d need two more buffers (c while b is still read by the Mul,
	// d once b is dead reuses b's).
	count, floats := r.sharedBuffers()
	if count != 3 || floats != 3*120 {
		t.Errorf("shared buffers: %d holding %d floats, want 3 holding 360", count, floats)
	}
	// Outputs and inputs keep their own storage.
	for _, name := range []string{"x", "y", "z"} {
		if s := r.slot[name]; r.share.shareable[s] {
			t.Errorf("%s is shareable", name)
		}
	}
	if a, b := &r.vals[r.slot["a"]].F32[0], &r.vals[r.slot["b"]].F32[0]; a == b {
		t.Error("a and b share storage while both are live")
	}
}

// A warm runner with shared buffers still allocates nothing.
func TestRunnerSharesBuffersNoAllocs(t *testing.T) {
	p, err := Compile(shareGraph())
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(1)
	x := randT(newRand(4), 2, 3, 4, 5)
	if _, err := r.Run(x); err != nil {
		t.Fatal(err)
	}
	if n := allocstest.Steady(20, func() { r.Run(x) }); n != 0 {
		t.Errorf("warm run allocates %v times", n)
	}
}

// A new input shape re-plans the shared buffers.
func TestRunnerSharesBuffersReplan(t *testing.T) {
	g := shareGraph()
	g.Inputs[0].Type.Shape = []int{-1, 3, 4, 5}
	g.Consts["shape"].I64 = []int64{-1, 20}
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(1)
	for _, batch := range []int{1, 4, 2} {
		x := randT(newRand(uint64(batch)), batch, 3, 4, 5)
		outs, err := r.Run(x)
		if err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		for i, xv := range x.F32 {
			if want := 2 * max(xv, 0); outs[0].F32[i] != want {
				t.Fatalf("batch %d: y[%d] = %v, want %v", batch, i, outs[0].F32[i], want)
			}
		}
		if _, floats := r.sharedBuffers(); floats != 3*batch*60 {
			t.Errorf("batch %d: shared buffers hold %d floats, want %d", batch, floats, 3*batch*60)
		}
	}
}
