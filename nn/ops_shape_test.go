package nn

import (
	"errors"
	"fmt"
	"testing"
)

func TestReshapeLikeOps(t *testing.T) {
	r := newRand(30)
	x := randT(r, 2, 3, 4)
	cases := []struct {
		name   string
		op     string
		attrs  map[string]Attr
		extra  *Tensor // constant input 1
		opset  int
		want   []int
		errIs  error
		inputX *Tensor
	}{
		{name: "flatten default", op: "Flatten", want: []int{2, 12}},
		{name: "flatten 0", op: "Flatten", attrs: map[string]Attr{"axis": intA(0)}, want: []int{1, 24}},
		{name: "flatten 3", op: "Flatten", attrs: map[string]Attr{"axis": intA(3)}, want: []int{24, 1}},
		{name: "flatten -1", op: "Flatten", attrs: map[string]Attr{"axis": intA(-1)}, want: []int{6, 4}},
		{name: "flatten bad", op: "Flatten", attrs: map[string]Attr{"axis": intA(4)}, errIs: ErrShape},
		{name: "reshape infer", op: "Reshape", extra: i64T([]int{2}, 0, -1), want: []int{2, 12}},
		{name: "reshape full", op: "Reshape", extra: i64T([]int{3}, 4, 3, 2), want: []int{4, 3, 2}},
		{name: "reshape copy", op: "Reshape", extra: i64T([]int{4}, 0, 0, 2, 2), want: []int{2, 3, 2, 2}},
		{name: "reshape bad count", op: "Reshape", extra: i64T([]int{2}, 5, -1), errIs: ErrShape},
		{name: "reshape two -1", op: "Reshape", extra: i64T([]int{2}, -1, -1), errIs: ErrShape},
		{name: "reshape allowzero", op: "Reshape", attrs: map[string]Attr{"allowzero": intA(1)}, extra: i64T([]int{2}, 0, 4), inputX: New(Float32, 0, 4), want: []int{0, 4}},
		{name: "squeeze all", op: "Squeeze", inputX: randT(r, 1, 3, 1, 2), want: []int{3, 2}},
		{name: "squeeze input", op: "Squeeze", inputX: randT(r, 1, 3, 1, 2), extra: i64T([]int{1}, -2), want: []int{1, 3, 2}},
		{name: "squeeze attr", op: "Squeeze", inputX: randT(r, 1, 3, 1, 2), attrs: map[string]Attr{"axes": ints(0)}, opset: 11, want: []int{3, 1, 2}},
		{name: "squeeze not 1", op: "Squeeze", extra: i64T([]int{1}, 1), errIs: ErrShape},
		{name: "unsqueeze input", op: "Unsqueeze", extra: i64T([]int{2}, 0, -1), want: []int{1, 2, 3, 4, 1}},
		{name: "unsqueeze attr", op: "Unsqueeze", attrs: map[string]Attr{"axes": ints(1)}, opset: 11, want: []int{2, 1, 3, 4}},
		{name: "unsqueeze none", op: "Unsqueeze", errIs: ErrShape},
		{name: "unsqueeze bad", op: "Unsqueeze", extra: i64T([]int{1}, 5), errIs: ErrShape},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := x
			if c.inputX != nil {
				in = c.inputX
			}
			ins := []*Tensor{in}
			if c.extra != nil {
				ins = append(ins, c.extra)
			}
			got, err := opCase{op: c.op, attrs: c.attrs, inputs: ins, consts: map[int]bool{1: true}, opset: c.opset}.run()
			if c.errIs != nil {
				if !errors.Is(err, c.errIs) {
					t.Fatalf("err = %v, want %v", err, c.errIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, c.name, got[0], c.want, toF64(in.F32))
		})
	}
	// A Reshape whose target is computed at run time is rejected at compile time.
	_, err := opCase{op: "Reshape", inputs: []*Tensor{x, i64T([]int{1}, 24)}}.run()
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("non-constant Reshape target: err = %v", err)
	}
}

func TestConcat(t *testing.T) {
	r := newRand(31)
	a, b, c := randT(r, 2, 3, 2), randT(r, 2, 1, 2), randT(r, 2, 4, 2)
	got := opCase{op: "Concat", attrs: map[string]Attr{"axis": intA(1)}, inputs: []*Tensor{a, b, c}}.mustRun(t)[0]
	var want []float64
	for n := 0; n < 2; n++ {
		for _, tt := range []*Tensor{a, b, c} {
			ch := tt.Shape[1]
			want = append(want, toF64(tt.F32[n*ch*2:(n+1)*ch*2])...)
		}
	}
	checkClose(t, "concat", got, []int{2, 8, 2}, want)

	got = opCase{op: "Concat", attrs: map[string]Attr{"axis": intA(-1)}, inputs: []*Tensor{i64T([]int{1}, -1), i64T([]int{2}, 16, 4)}}.mustRun(t)[0]
	if fmt.Sprint(got.Shape, got.I64) != "[3] [-1 16 4]" {
		t.Fatalf("int64 concat = %v %v", got.Shape, got.I64)
	}
	for _, bad := range [][]*Tensor{{a, randT(r, 3, 3, 2)}, {a, i64T([]int{1}, 1)}, {a, randT(r, 2, 3)}} {
		if _, err := (opCase{op: "Concat", attrs: map[string]Attr{"axis": intA(1)}, inputs: bad}).run(); !errors.Is(err, ErrShape) && !errors.Is(err, ErrDType) {
			t.Fatalf("bad concat %v: err = %v", bad, err)
		}
	}
}

func TestShapeGather(t *testing.T) {
	x := New(Float32, 2, 3, 5, 7)
	cases := []struct {
		attrs map[string]Attr
		want  string
	}{
		{nil, "[2 3 5 7]"},
		{map[string]Attr{"start": intA(1)}, "[3 5 7]"},
		{map[string]Attr{"start": intA(-2)}, "[5 7]"},
		{map[string]Attr{"end": intA(1)}, "[2]"},
		{map[string]Attr{"start": intA(1), "end": intA(-1)}, "[3 5]"},
		{map[string]Attr{"start": intA(3), "end": intA(1)}, "[]"},
		{map[string]Attr{"start": intA(-10), "end": intA(10)}, "[2 3 5 7]"},
	}
	for _, c := range cases {
		got := opCase{op: "Shape", attrs: c.attrs, inputs: []*Tensor{x}}.mustRun(t)[0]
		if fmt.Sprint(got.I64) != c.want || got.DType != Int64 {
			t.Errorf("Shape %v = %v, want %v", c.attrs, got.I64, c.want)
		}
	}

	data := New(Float32, 3, 4)
	for i := range data.F32 {
		data.F32[i] = float32(i)
	}
	gcases := []struct {
		axis  int64
		idx   *Tensor
		shape []int
		want  []float64
	}{
		{0, i64T([]int{}, 1), []int{4}, []float64{4, 5, 6, 7}},
		{0, i64T([]int{2}, -1, 0), []int{2, 4}, []float64{8, 9, 10, 11, 0, 1, 2, 3}},
		{1, &Tensor{DType: Int32, Shape: []int{2, 1}, I32: []int32{3, 0}}, []int{3, 2, 1}, []float64{3, 0, 7, 4, 11, 8}},
		{-1, i64T([]int{1}, 2), []int{3, 1}, []float64{2, 6, 10}},
	}
	for _, c := range gcases {
		got := opCase{op: "Gather", attrs: map[string]Attr{"axis": intA(c.axis)}, inputs: []*Tensor{data, c.idx}}.mustRun(t)[0]
		checkClose(t, "gather", got, c.shape, c.want)
	}
	// Gather on int64 data, the pattern of shape computations.
	got := opCase{op: "Gather", inputs: []*Tensor{i64T([]int{4}, 8, 1, 32, 32), i64T([]int{}, 0)}}.mustRun(t)[0]
	if len(got.Shape) != 0 || got.I64[0] != 8 {
		t.Fatalf("int64 gather = %v %v", got.Shape, got.I64)
	}
	if _, err := (opCase{op: "Gather", inputs: []*Tensor{data, i64T([]int{1}, 3)}}).run(); !errors.Is(err, ErrShape) {
		t.Fatalf("out of range index: err = %v", err)
	}
	if _, err := (opCase{op: "Gather", inputs: []*Tensor{data, f32T([]int{1}, 0)}}).run(); !errors.Is(err, ErrDType) {
		t.Fatalf("float indices: err = %v", err)
	}
}

func TestTranspose(t *testing.T) {
	r := newRand(32)
	cases := []struct {
		shape []int
		perm  []int64
	}{
		{[]int{3, 5}, nil},
		{[]int{2, 3, 4}, []int64{1, 0, 2}},
		{[]int{2, 3, 4, 5}, []int64{0, 2, 3, 1}},
		{[]int{2, 3, 4, 5}, []int64{3, 1, 0, 2}},
		{[]int{7}, nil},
		{[]int{1, 4, 1}, []int64{2, 0, 1}},
		// Coalesced: a channel shuffle, merged runs, size-1 dimensions.
		{[]int{2, 2, 3, 4, 5}, []int64{0, 2, 1, 3, 4}},
		{[]int{2, 3, 4, 5, 6}, []int64{0, 3, 4, 1, 2}},
		{[]int{1, 3, 1, 4}, []int64{3, 2, 1, 0}},
		{[]int{4, 1, 1}, []int64{1, 2, 0}},
		{[]int{1, 1}, []int64{1, 0}},
	}
	// Every permutation of a rank-4 shape with a size-1 dimension.
	for _, p := range [][]int64{{0, 1, 2, 3}, {0, 1, 3, 2}, {0, 2, 1, 3}, {0, 2, 3, 1}, {0, 3, 1, 2}, {0, 3, 2, 1},
		{1, 0, 2, 3}, {1, 0, 3, 2}, {1, 2, 0, 3}, {1, 2, 3, 0}, {1, 3, 0, 2}, {1, 3, 2, 0},
		{2, 0, 1, 3}, {2, 0, 3, 1}, {2, 1, 0, 3}, {2, 1, 3, 0}, {2, 3, 0, 1}, {2, 3, 1, 0},
		{3, 0, 1, 2}, {3, 0, 2, 1}, {3, 1, 0, 2}, {3, 1, 2, 0}, {3, 2, 0, 1}, {3, 2, 1, 0}} {
		cases = append(cases, struct {
			shape []int
			perm  []int64
		}{[]int{2, 1, 3, 4}, p})
	}
	for _, c := range cases {
		x := randT(r, c.shape...)
		attrs := map[string]Attr{}
		perm := make([]int, len(c.shape))
		for i := range perm {
			perm[i] = len(perm) - 1 - i
		}
		if c.perm != nil {
			attrs["perm"] = ints(c.perm...)
			for i, v := range c.perm {
				perm[i] = int(v)
			}
		}
		got := opCase{op: "Transpose", attrs: attrs, inputs: []*Tensor{x}}.mustRun(t)[0]
		os := make([]int, len(perm))
		for i, p := range perm {
			os[i] = c.shape[p]
		}
		want := make([]float64, len(x.F32))
		idx := make([]int, len(c.shape))
		for k := range want {
			rem := k
			for d := len(os) - 1; d >= 0; d-- {
				idx[d] = rem % os[d]
				rem /= os[d]
			}
			off, st := 0, 1
			in := make([]int, len(c.shape))
			for i, p := range perm {
				in[p] = idx[i]
			}
			for d := len(c.shape) - 1; d >= 0; d-- {
				off += in[d] * st
				st *= c.shape[d]
			}
			want[k] = float64(x.F32[off])
		}
		checkClose(t, fmt.Sprint("transpose", c.perm), got, os, want)
	}
	if _, err := (opCase{op: "Transpose", attrs: map[string]Attr{"perm": ints(0, 0)}, inputs: []*Tensor{randT(r, 2, 2)}}).run(); !errors.Is(err, ErrShape) {
		t.Fatalf("bad perm: err = %v", err)
	}
}

func TestConstantOp(t *testing.T) {
	cases := []struct {
		attr Attr
		name string
		want string
	}{
		{Attr{Kind: AttrTensor, Tensor: f32T([]int{2}, 1.5, -2)}, "value", "float32[2] [1.5 -2] []"},
		{fltA(3), "value_float", "float32[] [3] []"},
		{Attr{Kind: AttrFloats, Floats: []float32{1, 2}}, "value_floats", "float32[2] [1 2] []"},
		{intA(7), "value_int", "int64[] [] [7]"},
		{ints(4, 5, 6), "value_ints", "int64[3] [] [4 5 6]"},
	}
	for _, c := range cases {
		g := &Graph{Name: "c", Consts: map[string]*Tensor{}, Outputs: []ValueInfo{{Name: "y"}},
			Nodes: []*Node{{Name: "k", Op: "Constant", Outputs: []string{"y"}, Attrs: map[string]Attr{c.name: c.attr}}}}
		p, err := Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.Run(nil)
		if err != nil {
			t.Fatal(err)
		}
		y := out["y"]
		if s := fmt.Sprint(y.Type(), " ", y.F32, " ", y.I64); s != c.want {
			t.Errorf("%s: %s, want %s", c.name, s, c.want)
		}
	}
	g := &Graph{Name: "c", Outputs: []ValueInfo{{Name: "y"}},
		Nodes: []*Node{{Name: "k", Op: "Constant", Outputs: []string{"y"}, Attrs: map[string]Attr{"sparse_value": intA(1)}}}}
	if _, err := Compile(g); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("sparse constant: err = %v", err)
	}
}
