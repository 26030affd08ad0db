package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// addReluGraph: y = relu(relu(a + b) + c), the residual pattern of ResNets,
// with a broadcast operand in the second Add.
func addReluGraph() *Graph {
	f := Type{DType: Float32, Shape: []int{1, 3, 50, 50}}
	return &Graph{
		Name: "addrelu",
		Inputs: []ValueInfo{
			{Name: "a", Type: f}, {Name: "b", Type: f},
			{Name: "c", Type: Type{DType: Float32, Shape: []int{1, 3, 1, 1}}},
		},
		Nodes: []*Node{
			{Name: "add1", Op: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"s1"}},
			{Name: "relu1", Op: "Relu", Inputs: []string{"s1"}, Outputs: []string{"r1"}},
			{Name: "add2", Op: "Add", Inputs: []string{"r1", "c"}, Outputs: []string{"s2"}},
			{Name: "relu2", Op: "Relu", Inputs: []string{"s2"}, Outputs: []string{"y"}},
		},
		Outputs: []ValueInfo{{Name: "y"}},
	}
}

func TestAddReluFusedBitForBit(t *testing.T) {
	g := addReluGraph()
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	r := newRand(7)
	a, b, c := randT(r, 1, 3, 50, 50), randT(r, 1, 3, 50, 50), randT(r, 1, 3, 1, 1)
	// Values that tell the clamp apart: NaN, infinities, signed zeros,
	// exact cancellations.
	a.F32[0], a.F32[1], a.F32[2], a.F32[3], a.F32[4] = float32(math.NaN()), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 1.5, -2
	b.F32[0], b.F32[1], b.F32[2], b.F32[3], b.F32[4] = 1, 3, float32(math.Copysign(0, -1)), -1.5, 2
	feeds := map[string]*Tensor{"a": a, "b": b, "c": c}

	fusedR := p.NewRunner(1)
	got, err := fusedR.Run(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	if n := countTrue(fusedR.skip); n != 2 {
		t.Fatalf("fused program skips %d Relus, want 2", n)
	}
	// The unfused reference: the Add outputs are program outputs, so no
	// fusion happens.
	ref, err := p.Slice([]string{"a", "b", "c"}, []string{"y", "s1", "s2"})
	if err != nil {
		t.Fatal(err)
	}
	if n := countTrue(ranRunner(t, ref, a, b, c).skip); n != 0 {
		t.Fatalf("slice with the Add outputs skips %d Relus, want 0", n)
	}
	want, err := ref.Run(feeds)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "y", got[0], want["y"])
	// The pre-Relu values are really pre-Relu.
	neg := 0
	for _, v := range want["s2"].F32 {
		if v < 0 {
			neg++
		}
	}
	if neg == 0 {
		t.Fatal("s2 has no negative value: the test does not exercise the Relu")
	}
	// A slice ending at the Add output returns it, not its Relu.
	s, err := p.Slice([]string{"r1", "c"}, []string{"s2"})
	if err != nil {
		t.Fatal(err)
	}
	sr, err := s.Run(map[string]*Tensor{"r1": fusedR.vals[fusedR.slot["r1"]], "c": c})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "s2", sr["s2"], want["s2"])
	// Batch 2 replans through the fused kernel.
	a2, b2 := randT(r, 2, 3, 50, 50), randT(r, 2, 3, 50, 50)
	got2, err := fusedR.Run(a2, b2, c)
	if err != nil {
		t.Fatal(err)
	}
	want2, err := ref.Run(map[string]*Tensor{"a": a2, "b": b2, "c": c})
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "y batch 2", got2[0], want2["y"])
}

func TestAddReluNotFusedWhenShared(t *testing.T) {
	g := addReluGraph()
	// s1 also read by a second node: no fusion of add1.
	g.Nodes = append(g.Nodes, &Node{Name: "neg", Op: "Relu", Inputs: []string{"s1"}, Outputs: []string{"z"}})
	g.Outputs = append(g.Outputs, ValueInfo{Name: "z"})
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	rd := newRand(3)
	r := ranRunner(t, p, randT(rd, 1, 3, 50, 50), randT(rd, 1, 3, 50, 50), randT(rd, 1, 3, 1, 1))
	if r.skip[1] || !r.skip[3] {
		t.Fatalf("skip = %v, want only relu2 absorbed", r.skip)
	}
	// Int64 Add into Relu keeps Relu's error.
	gi := &Graph{
		Name:   "int",
		Inputs: []ValueInfo{{Name: "a", Type: Type{DType: Int64, Shape: []int{2}}}},
		Nodes: []*Node{
			{Name: "add", Op: "Add", Inputs: []string{"a", "a2"}, Outputs: []string{"s"}},
			{Name: "relu", Op: "Relu", Inputs: []string{"s"}, Outputs: []string{"y"}},
		},
		Consts:  map[string]*Tensor{"a2": {DType: Int64, Shape: []int{2}, I64: []int64{1, 2}}},
		Outputs: []ValueInfo{{Name: "y"}},
	}
	pi, err := Compile(gi)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pi.Run(map[string]*Tensor{"a": {DType: Int64, Shape: []int{2}, I64: []int64{-5, 3}}}); err == nil {
		t.Fatal("Relu on int64 through the fused kernel: no error")
	}
}

// ranRunner returns a runner of p that has run once on in (fusion is
// decided when a runner plans for its input shapes).
func ranRunner(t *testing.T, p *Program, in ...*Tensor) *Runner {
	t.Helper()
	r := p.NewRunner(1)
	if _, err := r.Run(in...); err != nil {
		t.Fatal(err)
	}
	return r
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

func sameBits(t *testing.T, name string, got, want *Tensor) {
	t.Helper()
	if !sameShape(got.Shape, want.Shape) || len(got.F32) != len(want.F32) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape, want.Shape)
	}
	for i := range got.F32 {
		if math.Float32bits(got.F32[i]) != math.Float32bits(want.F32[i]) {
			t.Fatalf("%s[%d] = %v (%#x), want %v (%#x)", name, i, got.F32[i], math.Float32bits(got.F32[i]), want.F32[i], math.Float32bits(want.F32[i]))
		}
	}
}

// TestAddReluFast checks the assembly add-and-clamp against the separate
// Add line and Relu clamp over a ladder of lengths and offsets, with NaN,
// infinities, signed zeros and cancellations, in place (dst = a) and out of
// place, and that nothing past the end is written.
func TestAddReluFast(t *testing.T) {
	if !addReluFast(make([]float32, 1), make([]float32, 1), make([]float32, 1)) {
		t.Skip("no assembly add-relu in this build")
	}
	checkLines(t, 9, 200, true, func(want, a, b []float32) {
		binLine(opAdd, want, a, b, 1, 1)
		applyActTo(actRelu, 0, 0, want, want)
	}, func(dst, a, b []float32) {
		if len(dst) > 0 && !addReluFast(dst, a, b) {
			t.Fatal("addReluFast declined")
		}
	})
}

// TestActivationFusedIntoConvGemm: every unary activation after a Conv
// (each convolution path: depthwise 5x5, 3x3, pointwise, im2col) or a Gemm
// is applied by the producer, and the result is bit for bit the unfused
// pair's (the same element function runs on the same values).
func TestActivationFusedIntoConvGemm(t *testing.T) {
	r := newRand(9)
	acts := []struct {
		op    string
		attrs map[string]Attr
	}{
		{"HardSwish", nil}, {"HardSigmoid", map[string]Attr{"alpha": fltA(0.3), "beta": fltA(0.4)}},
		{"Sigmoid", nil}, {"LeakyRelu", map[string]Attr{"alpha": fltA(0.1)}}, {"Relu", nil},
		{"Clip", map[string]Attr{"min": fltA(-0.5), "max": fltA(0.75)}},
	}
	convs := []struct {
		name       string
		c, m, k, s int
		group      int
	}{
		{"dw5", 6, 6, 5, 2, 6}, {"dw3", 6, 12, 3, 1, 6}, {"pw", 8, 16, 1, 1, 1}, {"full", 4, 8, 3, 2, 1},
	}
	for _, a := range acts {
		for _, cv := range convs {
			x := randT(r, 2, cv.c, 11, 13)
			consts := map[string]*Tensor{"w": randT(r, cv.m, cv.c/cv.group, cv.k, cv.k), "b": randT(r, cv.m)}
			p := int64(cv.k / 2)
			g := &Graph{
				Name:   "convact",
				Inputs: []ValueInfo{{Name: "x", Type: x.Type()}},
				Consts: consts,
				Nodes: []*Node{
					{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}, Attrs: map[string]Attr{
						"group": intA(int64(cv.group)), "strides": ints(int64(cv.s), int64(cv.s)), "pads": ints(p, p, p, p)}},
					{Name: "act", Op: a.op, Inputs: []string{"c"}, Outputs: []string{"y"}, Attrs: a.attrs},
				},
				Outputs: []ValueInfo{{Name: "y"}},
			}
			checkActFused(t, a.op+"_"+cv.name, g, map[string]*Tensor{"x": x}, "c")
		}
		// Gemm (transB, bias).
		x := randT(r, 3, 20)
		g := &Graph{
			Name:   "gemmact",
			Inputs: []ValueInfo{{Name: "x", Type: x.Type()}},
			Consts: map[string]*Tensor{"w": randT(r, 7, 20), "b": randT(r, 7)},
			Nodes: []*Node{
				{Name: "gemm", Op: "Gemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}, Attrs: map[string]Attr{"transB": intA(1)}},
				{Name: "act", Op: a.op, Inputs: []string{"c"}, Outputs: []string{"y"}, Attrs: a.attrs},
			},
			Outputs: []ValueInfo{{Name: "y"}},
		}
		checkActFused(t, a.op+"_gemm", g, map[string]*Tensor{"x": x}, "c")
		// BatchNormalization (DenseNet's BN-ReLU), planes of 1 to 67 values.
		for _, shape := range [][]int{{2, 5, 9, 7}, {3, 4}, {1, 3, 67}} {
			c := shape[1]
			x := randT(r, shape...)
			vr := randT(r, c)
			for i := range vr.F32 {
				vr.F32[i] = vr.F32[i]*vr.F32[i] + 0.1
			}
			g := &Graph{
				Name:   "bnact",
				Inputs: []ValueInfo{{Name: "x", Type: x.Type()}},
				Consts: map[string]*Tensor{"s": randT(r, c), "b": randT(r, c), "m": randT(r, c), "v": vr},
				Nodes: []*Node{
					{Name: "bn", Op: "BatchNormalization", Inputs: []string{"x", "s", "b", "m", "v"}, Outputs: []string{"c"}},
					{Name: "act", Op: a.op, Inputs: []string{"c"}, Outputs: []string{"y"}, Attrs: a.attrs},
				},
				Outputs: []ValueInfo{{Name: "y"}},
			}
			checkActFused(t, fmt.Sprint(a.op, "_bn", shape), g, map[string]*Tensor{"x": x}, "c")
		}
	}
}

// checkActFused runs g fused (one node skipped) and as a slice that also
// returns the producer's output mid (nothing fused), and compares y.
func checkActFused(t *testing.T, name string, g *Graph, feeds map[string]*Tensor, mid string) {
	t.Helper()
	p, err := Compile(g)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, threads := range []int{1, 2} {
		fr := p.NewRunner(threads)
		got, err := fr.Run(feeds["x"])
		if err != nil {
			t.Fatal(err)
		}
		if n := countTrue(fr.skip); n != 1 {
			t.Fatalf("%s: fused program skips %d nodes, want 1", name, n)
		}
		ref, err := p.Slice([]string{"x"}, []string{"y", mid})
		if err != nil {
			t.Fatal(err)
		}
		if n := countTrue(ranRunner(t, ref, feeds["x"]).skip); n != 0 {
			t.Fatalf("%s: slice with %s skips %d nodes, want 0", name, mid, n)
		}
		want, err := ref.Run(feeds)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, name, got[0], want["y"])
	}
}

// TestResidualFusedIntoConv: a Conv whose output only an Add reads, the
// Add's other operand having the output's shape (a residual connection),
// adds it per output block, with the activation after the Add applied too;
// on every convolution path, at 1 and 2 threads, with the residual computed
// before the Conv (fused at the Conv's place) or after it (at the Add's),
// bit for bit the unfused nodes' result. A residual that broadcasts is not
// fused.
func TestResidualFusedIntoConv(t *testing.T) {
	r := newRand(11)
	convs := []struct {
		name       string
		c, m, k, s int
		group      int
		h, w       int
	}{
		{"dw5", 6, 6, 5, 1, 6, 11, 13}, {"dw3", 6, 6, 3, 1, 6, 11, 13}, {"dw3x2", 6, 12, 3, 1, 6, 11, 13},
		{"pw", 8, 16, 1, 1, 1, 11, 13}, {"full", 4, 8, 3, 1, 1, 11, 13}, {"s2", 4, 8, 3, 2, 1, 11, 13},
		{"pixel", 96, 80, 1, 1, 1, 1, 1}, {"wide", 16, 16, 3, 1, 1, 30, 30}, {"dwsmall", 32, 32, 3, 1, 32, 7, 7},
		{"dw3x4", 6, 24, 3, 1, 6, 11, 13}, {"dwwide", 4, 4, 3, 1, 4, 9, 40}, {"dwwides2", 4, 4, 3, 2, 4, 9, 40},
	}
	acts := []string{"", "Relu", "HardSwish", "Clip"}
	for _, cv := range convs {
		for _, act := range acts {
			for _, late := range []bool{false, true} {
				name := cv.name + "_" + act
				if late {
					name += "_late"
				}
				x := randT(r, 2, cv.c, cv.h, cv.w)
				pad := int64(cv.k / 2)
				oh, ow := (cv.h+2*int(pad)-cv.k)/cv.s+1, (cv.w+2*int(pad)-cv.k)/cv.s+1
				// The residual is computed from x by a Relu (an input of
				// the program would do too; a computed one exercises the
				// buffer sharing), before or after the Conv in node order.
				g := &Graph{
					Name:   "convadd",
					Inputs: []ValueInfo{{Name: "x", Type: x.Type()}, {Name: "z", Type: Type{DType: Float32, Shape: []int{2, cv.m, oh, ow}}}},
					Consts: map[string]*Tensor{"w": randT(r, cv.m, cv.c/cv.group, cv.k, cv.k), "b": randT(r, cv.m)},
				}
				conv := &Node{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}, Attrs: map[string]Attr{
					"group": intA(int64(cv.group)), "strides": ints(int64(cv.s), int64(cv.s)), "pads": ints(pad, pad, pad, pad)}}
				res := &Node{Name: "res", Op: "Sigmoid", Inputs: []string{"z"}, Outputs: []string{"rz"}}
				add := &Node{Name: "add", Op: "Add", Inputs: []string{"rz", "c"}, Outputs: []string{"s"}}
				if late {
					g.Nodes = []*Node{conv, res, add}
				} else {
					g.Nodes = []*Node{res, conv, add}
				}
				mid, skips := []string{"c"}, 2
				if act != "" {
					an := &Node{Name: "act", Op: act, Inputs: []string{"s"}, Outputs: []string{"y"}}
					if act == "Clip" {
						// ReLU6 as PyTorch exports it: bounds as constant inputs.
						an.Inputs = append(an.Inputs, "lo", "hi")
						g.Consts["lo"], g.Consts["hi"] = &Tensor{DType: Float32, F32: []float32{-0.5}}, &Tensor{DType: Float32, F32: []float32{0.75}}
					}
					g.Nodes = append(g.Nodes, an)
					mid, skips = []string{"c", "s"}, 3
				} else {
					add.Outputs[0] = "y"
				}
				g.Outputs = []ValueInfo{{Name: "y"}}
				z := randT(r, 2, cv.m, oh, ow)
				checkFused(t, name, g, []*Tensor{x, z}, mid, skips-1)
			}
		}
	}
	// A residual that broadcasts ([1, M, 1, 1]): the Add runs.
	x := randT(r, 1, 4, 9, 9)
	g := &Graph{
		Name:   "convbias",
		Inputs: []ValueInfo{{Name: "x", Type: x.Type()}, {Name: "z", Type: Type{DType: Float32, Shape: []int{1, 8, 1, 1}}}},
		Consts: map[string]*Tensor{"w": randT(r, 8, 4, 1, 1)},
		Nodes: []*Node{
			{Name: "conv", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}},
			{Name: "add", Op: "Add", Inputs: []string{"c", "z"}, Outputs: []string{"y"}},
		},
		Outputs: []ValueInfo{{Name: "y"}},
	}
	checkFused(t, "broadcast", g, []*Tensor{x, randT(r, 1, 8, 1, 1)}, []string{"c"}, 0)
}

// checkFused runs g (inputs in) fused, expecting skips nodes skipped at 1
// and 2 threads, and as a slice that also returns the intermediate values
// mid (nothing fused), and compares the output bit for bit.
func checkFused(t *testing.T, name string, g *Graph, in []*Tensor, mid []string, skips int) {
	t.Helper()
	p, err := Compile(g)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	ref, err := p.Slice(p.Inputs(), append(append([]string(nil), p.Outputs()...), mid...))
	if err != nil {
		t.Fatal(err)
	}
	for _, threads := range []int{1, 2} {
		// The reference at the same thread count (a 1x1 Conv on one pixel
		// takes other kernels with two threads).
		rr := ref.NewRunner(threads)
		want, err := rr.Run(in...)
		if err != nil {
			t.Fatal(err)
		}
		if n := countTrue(rr.skip); n != 0 {
			t.Fatalf("%s: slice with %v skips %d nodes, want 0", name, mid, n)
		}
		fr := p.NewRunner(threads)
		heard := map[*Node]int{}
		var mu sync.Mutex // batch chunks run on two threads
		fr.SetObserver(func(n *Node, d time.Duration) { mu.Lock(); heard[n]++; mu.Unlock() })
		for run := 0; run < 2; run++ {
			got, err := fr.Run(in...)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if n := countTrue(fr.skip); n != skips {
				t.Fatalf("%s: fused program skips %d nodes, want %d", name, n, skips)
			}
			sameBits(t, name, got[0], want[0])
		}
		// The observer hears of every node once a run (per chunk of a
		// batch), fused or not.
		for _, n := range p.Nodes() {
			if heard[n] == 0 || heard[n] != heard[p.Nodes()[0]] {
				t.Fatalf("%s: observer heard of %s %d times, of %s %d", name, n.Name, heard[n], p.Nodes()[0].Name, heard[p.Nodes()[0]])
			}
		}
	}
}

// fireGraph is a SqueezeNet fire module: a squeeze conv read by two expand
// convs, whose outputs a Concat joins on the channel axis, read by a 1x1
// conv; the expand 3x3 conv also has a residual Add into it.
func fireGraph(r interface{ NormFloat64() float64 }, batch int) (*Graph, *Tensor) {
	x := &Tensor{DType: Float32, Shape: []int{batch, 8, 9, 9}, F32: make([]float32, batch*8*81)}
	for i := range x.F32 {
		x.F32[i] = float32(r.NormFloat64())
	}
	rt := func(shape ...int) *Tensor {
		t := &Tensor{DType: Float32, Shape: shape, F32: make([]float32, NumElements(shape))}
		for i := range t.F32 {
			t.F32[i] = float32(r.NormFloat64())
		}
		return t
	}
	relu := map[string]Attr{"activation": {Kind: AttrString, Str: "Relu"}}
	g := &Graph{
		Name:   "fire",
		Inputs: []ValueInfo{{Name: "x", Type: x.Type()}},
		Consts: map[string]*Tensor{
			"ws": rt(4, 8, 1, 1), "we1": rt(6, 4, 1, 1), "we3": rt(5, 4, 3, 3), "wo": rt(3, 11, 1, 1),
		},
		Nodes: []*Node{
			{Name: "squeeze", Op: "Conv", Inputs: []string{"x", "ws"}, Outputs: []string{"s"}, Attrs: relu},
			{Name: "e1", Op: "Conv", Inputs: []string{"s", "we1"}, Outputs: []string{"e1"}},
			{Name: "e1act", Op: "Relu", Inputs: []string{"e1"}, Outputs: []string{"a1"}},
			{Name: "e3", Op: "Conv", Inputs: []string{"s", "we3"}, Outputs: []string{"e3"}, Attrs: map[string]Attr{"pads": ints(1, 1, 1, 1)}},
			{Name: "cat", Op: "Concat", Inputs: []string{"a1", "e3"}, Outputs: []string{"cat"}, Attrs: map[string]Attr{"axis": intA(1)}},
			{Name: "out", Op: "Conv", Inputs: []string{"cat", "wo"}, Outputs: []string{"y"}},
		},
		Outputs: []ValueInfo{{Name: "y"}},
	}
	return g, x
}

// TestConcatInPlace: the producers of a Concat's inputs write into its
// output and the Concat is skipped, at batch 1; at batch 2 (the inputs are
// not contiguous blocks of the output) it copies. Both agree bit for bit
// with the unfused program, with poisoned shared buffers.
func TestConcatInPlace(t *testing.T) {
	r := newRand(5)
	for _, batch := range []int{1, 2} {
		g, x := fireGraph(r, batch)
		skips := 1 // the Relu after e1
		if batch == 1 {
			skips = 2 // and the Concat
		}
		checkFused(t, "fire", g, []*Tensor{x}, []string{"e1", "a1", "e3"}, skips)
		// The Concat's output as a program output (its storage is pinned)
		// and as the input of an in-place Concat's reader.
		checkPinnedFused(t, fmt.Sprintf("batch %d, Concat output pinned", batch), g, x, "cat", []string{"a1", "e3"}, skips)
	}
	// A Concat input that is a program input, or read twice, is copied.
	g, x := fireGraph(r, 1)
	g.Nodes[4].Inputs = []string{"a1", "e3", "a1"}
	g.Consts["wo"] = randT(newRand(1), 3, 17, 1, 1)
	checkFused(t, "twice", g, []*Tensor{x}, []string{"e1", "a1", "e3"}, 1)
	g, x = fireGraph(r, 1)
	g.Nodes[4].Inputs = []string{"x", "e3"}
	g.Nodes = append(g.Nodes[:1], g.Nodes[3:]...)
	g.Consts["wo"] = randT(newRand(1), 3, 13, 1, 1)
	checkFused(t, "input", g, []*Tensor{x}, []string{"e3"}, 0)
}

// denseBlockGraph is a DenseNet block of three layers on a pooled stem:
// each layer is BN-ReLU-3x3 conv on the running Concat, whose output the
// next Concat joins to it; a 1x1 conv reads the last Concat.
func denseBlockGraph(r *rand.Rand, batch int) (*Graph, *Tensor) {
	const c0, growth, hw = 5, 3, 8
	x := randT(r, batch, c0, 2*hw, 2*hw)
	g := &Graph{
		Name:   "dense",
		Inputs: []ValueInfo{{Name: "x", Type: x.Type()}},
		Consts: map[string]*Tensor{},
		Nodes: []*Node{
			{Name: "pool", Op: "MaxPool", Inputs: []string{"x"}, Outputs: []string{"c0"}, Attrs: map[string]Attr{"kernel_shape": ints(2, 2), "strides": ints(2, 2)}},
		},
	}
	c := c0
	for l := 1; l <= 3; l++ {
		v := randT(r, c)
		for i := range v.F32 {
			v.F32[i] = v.F32[i]*v.F32[i] + 0.1
		}
		p := fmt.Sprint(l)
		g.Consts["s"+p], g.Consts["b"+p], g.Consts["m"+p], g.Consts["v"+p] = randT(r, c), randT(r, c), randT(r, c), v
		g.Consts["w"+p] = randT(r, growth, c, 3, 3)
		prev := fmt.Sprint("c", l-1)
		g.Nodes = append(g.Nodes,
			&Node{Name: "bn" + p, Op: "BatchNormalization", Inputs: []string{prev, "s" + p, "b" + p, "m" + p, "v" + p}, Outputs: []string{"n" + p}},
			&Node{Name: "relu" + p, Op: "Relu", Inputs: []string{"n" + p}, Outputs: []string{"a" + p}},
			&Node{Name: "conv" + p, Op: "Conv", Inputs: []string{"a" + p, "w" + p}, Outputs: []string{"h" + p}, Attrs: map[string]Attr{"pads": ints(1, 1, 1, 1)}},
			&Node{Name: "cat" + p, Op: "Concat", Inputs: []string{prev, "h" + p}, Outputs: []string{"c" + p}, Attrs: map[string]Attr{"axis": intA(1)}},
		)
		c += growth
	}
	g.Consts["wo"] = randT(r, 4, c, 1, 1)
	g.Nodes = append(g.Nodes, &Node{Name: "out", Op: "Conv", Inputs: []string{"c3", "wo"}, Outputs: []string{"y"}})
	g.Outputs = []ValueInfo{{Name: "y"}}
	return g, x
}

// TestConcatChainInPlace: in a dense block each Concat's output is also
// an input of the next Concat and of the next layer's BN; at batch 1 all
// of them are views of the last Concat's output (every producer writes its
// features once, into place, and no Concat runs), bit for bit the unfused
// program with poisoned shared buffers; at batch 2 every Concat copies.
func TestConcatChainInPlace(t *testing.T) {
	r := newRand(9)
	for _, batch := range []int{1, 2} {
		g, x := denseBlockGraph(r, batch)
		skips := 3 // the Relus, into the BNs
		if batch == 1 {
			skips = 6 // and the three Concats
		}
		checkFused(t, fmt.Sprint("dense batch ", batch), g, []*Tensor{x}, []string{"c0", "n1", "n2", "n3", "h1", "h2", "h3", "c1", "c2"}, skips)
		if batch != 1 {
			continue
		}
		p, err := Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		fr := ranRunner(t, p, x)
		last := fr.vals[fr.slot["c3"]].F32
		for name, off := range map[string]int{"c0": 0, "c1": 0, "c2": 0, "h1": 5 * 64, "h2": 8 * 64, "h3": 11 * 64} {
			if v := fr.vals[fr.slot[name]].F32; &v[0] != &last[off] {
				t.Errorf("%s is not a view of the last Concat's output at %d", name, off)
			}
		}
	}
	// A Concat output that is a program output keeps its own storage; the
	// Concats before it still nest into it, the ones after it copy it.
	g, x := denseBlockGraph(r, 1)
	checkPinnedFused(t, "c2 pinned", g, x, "c2", []string{"c0", "h1", "h2", "h3", "c1"}, 5) // three Relus, cat1, cat2
}

// checkPinnedFused makes value pinned of g a program output too and runs
// it fused (skips nodes skipped) against a slice that also returns mid
// (nothing fused): y and pinned agree bit for bit.
func checkPinnedFused(t *testing.T, name string, g *Graph, x *Tensor, pinned string, mid []string, skips int) {
	t.Helper()
	g.Outputs = append(g.Outputs, ValueInfo{Name: pinned})
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := p.Slice(p.Inputs(), append([]string{"y", pinned}, mid...))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ranRunner(t, ref, x).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	fr := ranRunner(t, p, x)
	if n := countTrue(fr.skip); n != skips {
		t.Fatalf("%s: %d nodes skipped, want %d", name, n, skips)
	}
	got, err := fr.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, name+" y", got[0], want[0])
	sameBits(t, name+" "+pinned, got[1], want[1])
}

// TestSEMulFusedIntoConv: a squeeze-and-excitation Mul (a tensor times its
// per-channel scales) read only by a 1x1 Conv runs inside the Conv, which
// scales each input block as it reads it, also with a residual Add after
// the Conv and with groups; bit for bit the unfused nodes' result. Scales
// that broadcast over the batch, a 3x3 Conv and one-pixel planes are not
// fused.
func TestSEMulFusedIntoConv(t *testing.T) {
	r := newRand(21)
	cases := []struct {
		name                string
		n, c, m, h, w, k, g int
		swap, residual      bool
		scaleN              int // batch of the scales
		fused               bool
	}{
		{"pw", 2, 8, 6, 7, 9, 1, 1, false, false, 2, true},
		{"pw swapped", 2, 8, 6, 7, 9, 1, 1, true, false, 2, true},
		{"pw residual", 2, 8, 6, 7, 9, 1, 1, false, true, 2, true},
		{"pw groups", 1, 8, 6, 5, 5, 1, 2, false, true, 1, true},
		{"big", 1, 48, 40, 20, 20, 1, 1, false, true, 1, true},
		{"pw lanes", 2, 48, 32, 7, 7, 1, 1, false, true, 2, true},
		{"broadcast", 2, 8, 6, 7, 9, 1, 1, false, false, 1, false},
		{"3x3", 1, 8, 6, 7, 9, 3, 1, false, false, 1, false},
		{"pixel", 1, 64, 96, 1, 1, 1, 1, false, false, 1, false},
	}
	for _, tc := range cases {
		x := randT(r, tc.n, tc.c, tc.h, tc.w)
		z := randT(r, tc.scaleN, tc.c, 1, 1)
		oh, ow := tc.h-tc.k+1, tc.w-tc.k+1
		g := &Graph{
			Name:   "se",
			Inputs: []ValueInfo{{Name: "x", Type: x.Type()}, {Name: "z", Type: z.Type()}},
			Consts: map[string]*Tensor{"w": randT(r, tc.m, tc.c/tc.g, tc.k, tc.k), "b": randT(r, tc.m)},
			Nodes: []*Node{
				{Name: "h", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"h"}},
				{Name: "s", Op: "Sigmoid", Inputs: []string{"z"}, Outputs: []string{"s"}},
				{Name: "mul", Op: "Mul", Inputs: []string{"h", "s"}, Outputs: []string{"hs"}},
				{Name: "conv", Op: "Conv", Inputs: []string{"hs", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]Attr{"group": intA(int64(tc.g))}},
			},
			Outputs: []ValueInfo{{Name: "y"}},
		}
		if tc.swap {
			g.Nodes[2].Inputs = []string{"s", "h"}
		}
		in, mid, skips := []*Tensor{x, z}, []string{"hs"}, 0
		if tc.fused {
			skips = 1
		}
		if tc.residual {
			rr := randT(r, tc.n, tc.m, oh, ow)
			g.Inputs = append(g.Inputs, ValueInfo{Name: "rr", Type: rr.Type()})
			g.Nodes[3].Outputs[0] = "c"
			g.Nodes = append(g.Nodes, &Node{Name: "add", Op: "Add", Inputs: []string{"c", "rr"}, Outputs: []string{"y"}})
			in, mid, skips = append(in, rr), append(mid, "c"), skips+1
		}
		checkFused(t, tc.name, g, in, mid, skips)
	}
}

// TestSwishFusedIntoConvGemm: x·sigmoid(x) after a Conv or a Gemm (SiLU as
// PyTorch exports it: a Sigmoid and a Mul both reading the output) runs in
// the producer, bit for bit the separate Sigmoid and Mul, with the Mul's
// operands in either order (after an Add, as one SiLU kernel); not when
// the Sigmoid's output is read again.
func TestSwishFusedIntoConvGemm(t *testing.T) {
	r := newRand(23)
	for _, swap := range []bool{false, true} {
		x := randT(r, 2, 6, 9, 11)
		mulIn := []string{"c", "s"}
		if swap {
			mulIn = []string{"s", "c"}
		}
		g := &Graph{
			Name:   "silu",
			Inputs: []ValueInfo{{Name: "x", Type: x.Type()}},
			Consts: map[string]*Tensor{"w": randT(r, 8, 6, 3, 3), "b": randT(r, 8)},
			Nodes: []*Node{
				{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}, Attrs: map[string]Attr{"pads": ints(1, 1, 1, 1)}},
				{Name: "sig", Op: "Sigmoid", Inputs: []string{"c"}, Outputs: []string{"s"}},
				{Name: "mul", Op: "Mul", Inputs: mulIn, Outputs: []string{"y"}},
			},
			Outputs: []ValueInfo{{Name: "y"}},
		}
		checkFused(t, "conv silu", g, []*Tensor{x}, []string{"c", "s"}, 2)
		xg := randT(r, 3, 20)
		gg := &Graph{
			Name:   "gemmsilu",
			Inputs: []ValueInfo{{Name: "x", Type: xg.Type()}},
			Consts: map[string]*Tensor{"w": randT(r, 7, 20), "b": randT(r, 7)},
			Nodes: []*Node{
				{Name: "gemm", Op: "Gemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"c"}, Attrs: map[string]Attr{"transB": intA(1)}},
				{Name: "sig", Op: "Sigmoid", Inputs: []string{"c"}, Outputs: []string{"s"}},
				{Name: "mul", Op: "Mul", Inputs: mulIn, Outputs: []string{"y"}},
			},
			Outputs: []ValueInfo{{Name: "y"}},
		}
		checkFused(t, "gemm silu", gg, []*Tensor{xg}, []string{"c", "s"}, 2)
		// After an Add (no activation to take) the Sigmoid and the Mul
		// run as one SiLU kernel.
		xa := randT(r, 2, 5, 7)
		ga := &Graph{
			Name:   "addsilu",
			Inputs: []ValueInfo{{Name: "x", Type: xa.Type()}},
			Consts: map[string]*Tensor{"r": randT(r, 2, 5, 7)},
			Nodes: []*Node{
				{Name: "add", Op: "Add", Inputs: []string{"x", "r"}, Outputs: []string{"c"}},
				{Name: "sig", Op: "Sigmoid", Inputs: []string{"c"}, Outputs: []string{"s"}},
				{Name: "mul", Op: "Mul", Inputs: mulIn, Outputs: []string{"y"}},
			},
			Outputs: []ValueInfo{{Name: "y"}},
		}
		checkFused(t, "add silu", ga, []*Tensor{xa}, []string{"c", "s"}, 1)
		// The Sigmoid's output read by a second node: nothing fused.
		g.Nodes = append(g.Nodes, &Node{Name: "relu", Op: "Relu", Inputs: []string{"s"}, Outputs: []string{"z"}})
		g.Outputs = append(g.Outputs, ValueInfo{Name: "z"})
		checkFused(t, "shared sigmoid", g, []*Tensor{x}, []string{"c", "s"}, 0)
	}
}

// TestRunnerReplansAfterBadShapes: a run whose shapes fail to plan returns
// an error each time it is repeated (the runner does not run half
// planned), and the runner then runs good shapes, fused, as a fresh one.
func TestRunnerReplansAfterBadShapes(t *testing.T) {
	r := newRand(29)
	g, x := fireGraph(r, 1)
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	want0 := want[0].Clone()
	run := p.NewRunner(1)
	if _, err := run.Run(x); err != nil {
		t.Fatal(err)
	}
	bad := randT(r, 1, 5, 9, 9) // 5 channels for weights of 8
	for i := 0; i < 2; i++ {
		if _, err := run.Run(bad); err == nil {
			t.Fatalf("run %d on %v: no error", i, bad.Shape)
		}
	}
	got, err := run.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	sameBits(t, "after bad shapes", got[0], want0)
}
