package nn

import (
	"errors"
	"testing"
)

// diamond is a DAG: x → conv → relu → {a: conv 1x1, b: maxpool 3 s1 p1} → add → gap → y.
func diamond() *Graph {
	r := newRand(70)
	return &Graph{
		Name:    "diamond",
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 2, 6, 6}}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Consts:  map[string]*Tensor{"w0": randT(r, 4, 2, 3, 3), "w1": randT(r, 4, 4, 1, 1), "b1": randT(r, 4)},
		Nodes: []*Node{
			{Name: "conv0", Op: "Conv", Inputs: []string{"x", "w0"}, Outputs: []string{"c0"}, Attrs: map[string]Attr{"pads": ints(1, 1, 1, 1)}},
			{Name: "relu", Op: "Relu", Inputs: []string{"c0"}, Outputs: []string{"r"}},
			{Name: "branchA", Op: "Conv", Inputs: []string{"r", "w1", "b1"}, Outputs: []string{"a"}},
			{Name: "branchB", Op: "MaxPool", Inputs: []string{"r"}, Outputs: []string{"b"}, Attrs: map[string]Attr{"kernel_shape": ints(3, 3), "pads": ints(1, 1, 1, 1)}},
			{Name: "join", Op: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"s"}},
			{Name: "gap", Op: "GlobalAveragePool", Inputs: []string{"s"}, Outputs: []string{"y"}},
		},
	}
}

func TestProgramSliceComposes(t *testing.T) {
	p, err := Compile(diamond())
	if err != nil {
		t.Fatal(err)
	}
	x := randT(newRand(71), 2, 2, 6, 6)
	whole, err := p.Run(map[string]*Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	cuts := []struct {
		name string
		cut  []string
		head int // nodes in the head
	}{
		{"single tensor", []string{"r"}, 2},
		{"two tensors", []string{"a", "b"}, 4},
		{"late", []string{"s"}, 5},
	}
	for _, c := range cuts {
		t.Run(c.name, func(t *testing.T) {
			head, err := p.Slice([]string{"x"}, c.cut)
			if err != nil {
				t.Fatal(err)
			}
			tail, err := p.Slice(c.cut, []string{"y"})
			if err != nil {
				t.Fatal(err)
			}
			if len(head.Nodes()) != c.head || len(head.Nodes())+len(tail.Nodes()) != 6 {
				t.Fatalf("head %d nodes, tail %d nodes", len(head.Nodes()), len(tail.Nodes()))
			}
			mid, err := head.Run(map[string]*Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			if len(mid) != len(c.cut) {
				t.Fatalf("head yields %d tensors, want %d", len(mid), len(c.cut))
			}
			// The tail runs from the cut tensors alone (x is not given).
			got, err := tail.Run(mid)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "composed", got["y"], whole["y"].Shape, toF64(whole["y"].F32))
		})
	}
	// A slice that is missing one tensor of the cut fails clearly.
	if _, err := p.Slice([]string{"a"}, []string{"y"}); !errors.Is(err, ErrMissing) {
		t.Fatalf("incomplete cut: err = %v", err)
	}
}

func TestCompileUnknownOp(t *testing.T) {
	g := diamond()
	g.Nodes[3].Op = "FancyPool"
	_, err := Compile(g)
	var ue *UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v, want *UnsupportedError", err)
	}
	if ue.Op != "FancyPool" || ue.Node != "branchB" || !errors.Is(err, ErrUnsupported) {
		t.Fatalf("UnsupportedError = %+v", ue)
	}
}

// TestNoPanicOnBadShapes feeds every registered float op a set of odd input
// types: OutputTypes may fail, but must not panic, and when it succeeds a
// run must not panic either.
func TestNoPanicOnBadShapes(t *testing.T) {
	mine := []string{"Conv", "Relu", "Clip", "LeakyRelu", "MaxPool", "AveragePool", "GlobalAveragePool", "Gemm", "MatMul",
		"Add", "Sub", "Mul", "Div", "Flatten", "Concat", "BatchNormalization", "Identity", "Softmax", "Sigmoid",
		"HardSigmoid", "HardSwish", "Shape", "Gather", "Transpose"}
	shapes := [][]int{{}, {0}, {1}, {3}, {2, 0}, {1, 1, 1, 1}, {2, 3, 4, 5}, {1, 2, 3}, {-1, 3, 4, 4}, {4, 3, 2, 2, 2}}
	dtypes := []DType{Float32, Int64, Uint8, Undefined}
	attrs := map[string]Attr{"kernel_shape": ints(2, 2), "axis": intA(1)}
	for _, op := range mine {
		b := registry[op]
		if b == nil {
			t.Fatalf("%s not registered", op)
		}
		for _, s0 := range shapes {
			for _, s1 := range shapes {
				for _, dt := range dtypes {
					n := &Node{Name: "n", Op: op, Inputs: []string{"a", "b", "c"}, Outputs: []string{"y"}, Attrs: attrs}
					k, err := b(&BuildContext{Graph: &Graph{Consts: map[string]*Tensor{}}, Node: n})
					if err != nil {
						continue
					}
					in := []Type{{DType: dt, Shape: s0}, {DType: Float32, Shape: s1}, {DType: Float32, Shape: s1}}
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Fatalf("%s %v %v %v: panic %v", op, dt, s0, s1, r)
							}
						}()
						outT, err := k.OutputTypes(in)
						NodeMACs(k, in, outT)
						if err != nil || NumElements(s0) < 0 || NumElements(s1) < 0 {
							return
						}
						ins := []*Tensor{New(dt, s0...), New(Float32, s1...), New(Float32, s1...)}
						for _, ot := range outT {
							if NumElements(ot.Shape) < 0 {
								return
							}
						}
						outs := make([]*Tensor, len(outT))
						for i, ot := range outT {
							outs[i] = New(ot.DType, ot.Shape...)
						}
						_ = k.Run(&RunContext{Threads: 2}, ins, outs)
					}()
				}
			}
		}
	}
}
