package nn

import (
	"strings"
	"testing"
)

// TestLowerQDQLookup lowers DQ -> f -> Q for several elementwise ops, and
// SiLU (DQ -> Sigmoid, Mul of the two -> Q, the Mul's operands either
// way), to LookupInt8 and checks it equals the float path on every int8
// input value (the input graph quantizes a ramp covering all 256 codes).
func TestLowerQDQLookup(t *testing.T) {
	for _, tc := range []struct {
		op    string
		attrs map[string]Attr
	}{
		{"HardSwish", nil},
		{"HardSigmoid", map[string]Attr{"alpha": {Kind: AttrFloat, Float: 0.25}, "beta": {Kind: AttrFloat, Float: 0.4}}},
		{"Sigmoid", nil},
		{"LeakyRelu", map[string]Attr{"alpha": {Kind: AttrFloat, Float: 0.3}}},
		{"Tanh", nil},
		{LookupSwish, nil},
		{LookupSwish + "Swapped", nil},
	} {
		t.Run(tc.op, func(t *testing.T) {
			f := []*Node{{Name: "f", Op: tc.op, Inputs: []string{"xd"}, Outputs: []string{"fy"}, Attrs: tc.attrs}}
			if strings.HasPrefix(tc.op, LookupSwish) {
				mul := []string{"xd", "s"}
				if tc.op != LookupSwish {
					mul = []string{"s", "xd"}
				}
				f = []*Node{{Name: "f", Op: "Sigmoid", Inputs: []string{"xd"}, Outputs: []string{"s"}},
					{Name: "m", Op: "Mul", Inputs: mul, Outputs: []string{"fy"}}}
			}
			g := &Graph{
				Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{1, 256}}}},
				Outputs: []ValueInfo{{Name: "out"}},
				Consts: map[string]*Tensor{
					"xs": {DType: Float32, Shape: []int{}, F32: []float32{0.05}}, "xz": {DType: Int8, Shape: []int{}, I8: []int8{-20}},
					"ys": {DType: Float32, Shape: []int{}, F32: []float32{0.031}}, "yz": {DType: Int8, Shape: []int{}, I8: []int8{5}},
				},
				Opset: 17,
				Nodes: []*Node{
					{Name: "xq", Op: "QuantizeLinear", Inputs: []string{"x", "xs", "xz"}, Outputs: []string{"xq"}},
					{Name: "xdq", Op: "DequantizeLinear", Inputs: []string{"xq", "xs", "xz"}, Outputs: []string{"xd"}},
					{Name: "yq", Op: "QuantizeLinear", Inputs: []string{"fy", "ys", "yz"}, Outputs: []string{"yq"}},
					{Name: "ydq", Op: "DequantizeLinear", Inputs: []string{"yq", "ys", "yz"}, Outputs: []string{"out"}},
				},
			}
			g.Nodes = append(g.Nodes[:2], append(f, g.Nodes[2:]...)...)
			low, ops := q8Lower(t, g)
			if ops["LookupInt8"] != 1 || ops[tc.op] != 0 || ops["Sigmoid"] != 0 || ops["Mul"] != 0 {
				t.Fatalf("lowered ops %v", ops)
			}
			x := New(Float32, 1, 256)
			for i := range x.F32 {
				x.F32[i] = (float32(i) - 128 + 20) * 0.05 // every int8 code once
			}
			want, got := q8RunFloat(t, g, x), q8RunFloat(t, low, x)
			distinct := map[float32]bool{}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("input %v: lookup %v, float path %v", x.F32[i], got[i], want[i])
				}
				distinct[got[i]] = true
			}
			if len(distinct) < 16 {
				t.Fatalf("only %d distinct outputs: the fixture saturates", len(distinct))
			}
		})
	}
}

// TestLookupFast compares the VBMI table lookup with the Go loop at every
// length up to 200 (64-byte steps and the masked tail) and three offsets,
// over all 256 codes, and checks nothing past the end is written.
func TestLookupFast(t *testing.T) {
	table, x := q8LookupFixture(203)
	if !q8LookupFast(make([]int8, 1), x[:1], table) {
		t.Skip("no VBMI lookup in this build")
	}
	for n := 1; n <= 200; n++ {
		for off := 0; off < 3; off++ {
			src := x[off : off+n]
			got := make([]int8, n+1)
			got[n] = 99
			q8LookupFast(got, src, table)
			for i, v := range src {
				if got[i] != table[uint8(v)] {
					t.Fatalf("n=%d off=%d: [%d] = %d, want table[%d] = %d", n, off, i, got[i], uint8(v), table[uint8(v)])
				}
			}
			if got[n] != 99 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	}
}

// q8LookupFixture returns a table of distinct entries and n inputs that
// run through all 256 codes (101 is odd), each in every position of a
// block of 32 or 64.
func q8LookupFixture(n int) (*[256]int8, []int8) {
	var table [256]int8
	for i := range table {
		table[i] = int8(i*37 + 11)
	}
	x := make([]int8, n)
	for i := range x {
		x[i] = int8(i * 101)
	}
	return &table, x
}
