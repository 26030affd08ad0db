package nn

import (
	"fmt"
	"testing"
)

func TestNodeMACs(t *testing.T) {
	g := smallConvNet(newRand(60))
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	x := Type{DType: Float32, Shape: []int{2, 1, 16, 16}}
	f32 := func(s ...int) Type { return Type{DType: Float32, Shape: s} }
	cases := []struct {
		node int
		in   []Type
		want int64
	}{
		{0, []Type{x, f32(8, 1, 3, 3), f32(8)}, 2 * 8 * 16 * 16 * 9},          // conv1
		{3, []Type{f32(2, 8, 8, 8), f32(8, 1, 3, 3), f32(8)}, 2 * 8 * 64 * 9}, // depthwise
		{5, []Type{f32(2, 8, 8, 8), f32(4, 8, 1, 1)}, 2 * 4 * 64 * 8},         // pointwise
		{7, []Type{f32(2, 256), f32(10, 256), f32(10)}, 2 * 10 * 256},         // Gemm
		{1, []Type{f32(2, 8, 16, 16)}, 2 * 8 * 16 * 16},                       // Relu: elements
		{6, []Type{f32(2, 4, 8, 8)}, 0},                                       // Flatten: no cost
	}
	for _, c := range cases {
		k := p.Kernel(c.node)
		out, err := k.OutputTypes(c.in)
		if err != nil {
			t.Fatalf("node %d: %v", c.node, err)
		}
		if got := NodeMACs(k, c.in, out); got != c.want {
			t.Errorf("node %d (%s): MACs = %d, want %d", c.node, g.Nodes[c.node].Op, got, c.want)
		}
	}
	// A dynamic batch propagates through OutputTypes and counts as 1.
	dyn := []Type{f32(-1, 1, 16, 16), f32(8, 1, 3, 3), f32(8)}
	out, err := p.Kernel(0).OutputTypes(dyn)
	if err != nil || fmt.Sprint(out[0].Shape) != "[-1 8 16 16]" {
		t.Fatalf("dynamic batch: %v %v", out, err)
	}
	if got := NodeMACs(p.Kernel(0), dyn, out); got != 8*16*16*9 {
		t.Errorf("dynamic batch MACs = %d", got)
	}
	pool, err := p.Kernel(2).OutputTypes([]Type{f32(-1, 8, 16, 16)})
	if err != nil || fmt.Sprint(pool[0].Shape) != "[-1 8 8 8]" {
		t.Fatalf("dynamic pool: %v %v", pool, err)
	}
	fc, err := p.Kernel(7).OutputTypes([]Type{f32(-1, 256), f32(10, 256), f32(10)})
	if err != nil || fmt.Sprint(fc[0].Shape) != "[-1 10]" {
		t.Fatalf("dynamic gemm: %v %v", fc, err)
	}
	if got := NodeMACs(p.Kernel(1), []Type{f32(-1, 8, 16, 16)}, []Type{f32(-1, 8, 16, 16)}); got != 8*16*16 {
		t.Errorf("dynamic Relu MACs = %d", got)
	}
	// Bad types cost 0 rather than panicking.
	if got := NodeMACs(p.Kernel(0), []Type{f32(1)}, nil); got != 0 {
		t.Errorf("bad types: %d", got)
	}
	mm := matMulKernel{}
	if got := NodeMACs(mm, []Type{f32(3, 2, 4), f32(4, 5)}, nil); got != 3*2*5*4 {
		t.Errorf("MatMul MACs = %d", got)
	}
}
