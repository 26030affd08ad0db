package nn

import (
	"math"
	"testing"
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
	if n := countTrue(fusedR.skip); n != 2 {
		t.Fatalf("fused program skips %d Relus, want 2", n)
	}
	// The unfused reference: the Add outputs are program outputs, so no
	// fusion happens.
	ref, err := p.Slice([]string{"a", "b", "c"}, []string{"y", "s1", "s2"})
	if err != nil {
		t.Fatal(err)
	}
	if n := countTrue(ref.NewRunner(1).skip); n != 0 {
		t.Fatalf("slice with the Add outputs skips %d Relus, want 0", n)
	}
	want, err := ref.Run(feeds)
	if err != nil {
		t.Fatal(err)
	}
	got, err := fusedR.Run(a, b, c)
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
	r := p.NewRunner(1)
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
	r := newRand(9)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	fill := func(s []float32) {
		for i := range s {
			if r.IntN(6) == 0 {
				s[i] = special[r.IntN(len(special))]
			} else {
				s[i] = float32(r.NormFloat64() * 4)
			}
		}
	}
	for n := 0; n <= 200; n++ {
		for off := 0; off < 3; off++ {
			for _, inPlace := range []bool{false, true} {
				a := make([]float32, off+n+5)
				b := make([]float32, off+n+5)
				fill(a)
				fill(b)
				for i := 0; i < n; i += 7 { // exact cancellations
					b[off+i] = -a[off+i]
				}
				want := make([]float32, n)
				binLine(opAdd, want, a[off:off+n], b[off:off+n], 1, 1)
				applyActTo(actRelu, 0, 0, want, want)
				dst := make([]float32, off+n+5)
				if inPlace {
					dst = a
				}
				sentinel := float32(-123.5)
				for i := off + n; i < len(dst); i++ {
					dst[i] = sentinel
				}
				if n > 0 && !addReluFast(dst[off:off+n], a[off:], b[off:]) {
					t.Fatal("addReluFast declined")
				}
				for i := range want {
					// Any NaN matches a NaN (payloads may differ between the
					// assembly and the Go reference, e.g. under -race).
					g, w := dst[off+i], want[i]
					if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
						t.Fatalf("n=%d off=%d inPlace=%v: [%d] = %v, want %v", n, off, inPlace, i, g, w)
					}
				}
				for i := off + n; i < len(dst); i++ {
					if dst[i] != sentinel {
						t.Fatalf("n=%d off=%d: wrote past the end at %d", n, off, i)
					}
				}
			}
		}
	}
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
		if n := countTrue(fr.skip); n != 1 {
			t.Fatalf("%s: fused program skips %d nodes, want 1", name, n)
		}
		ref, err := p.Slice([]string{"x"}, []string{"y", mid})
		if err != nil {
			t.Fatal(err)
		}
		if n := countTrue(ref.NewRunner(1).skip); n != 0 {
			t.Fatalf("%s: slice with %s skips %d nodes, want 0", name, mid, n)
		}
		want, err := ref.Run(feeds)
		if err != nil {
			t.Fatal(err)
		}
		got, err := fr.Run(feeds["x"])
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, name, got[0], want["y"])
	}
}
