package train

import (
	"fmt"

	"github.com/splitinfer/splitinfer/nn"
)

// Names of the graph input and output that ToGraph writes (those of the
// reference models).
const (
	InputName  = "input"
	OutputName = "logits"
)

// ToGraph exports n as an nn.Graph of standard ONNX operators (Conv, Relu,
// MaxPool, AveragePool, GlobalAveragePool, Add, Flatten, Gemm with
// transB=1), input "input" [batch, C, H, W] and output "logits" [batch,
// classes]. Weights are copied.
func (n *Net) ToGraph(name string) (*nn.Graph, error) {
	g := &nn.Graph{
		Name:    name,
		Inputs:  []nn.ValueInfo{{Name: InputName, Type: nn.Type{DType: nn.Float32, Shape: []int{-1, n.Input.C, n.Input.H, n.Input.W}}}},
		Outputs: []nn.ValueInfo{{Name: OutputName, Type: nn.Type{DType: nn.Float32, Shape: []int{-1, n.Classes()}}}},
		Consts:  map[string]*nn.Tensor{},
		Opset:   17,
		Meta:    map[string]string{"producer": "splitinfer compress/train"},
	}
	vname := make([]string, len(n.Values))
	vname[0] = InputName
	used := map[string]bool{InputName: true, OutputName: true}
	unique := func(s string) string {
		base, i := s, 1
		for used[s] {
			i++
			s = fmt.Sprintf("%s_%d", base, i)
		}
		used[s] = true
		return s
	}
	pname := map[*Param]string{}
	for _, p := range n.Params {
		nm := unique(p.Name)
		t, err := nn.FromFloat32(append([]float32(nil), p.Data...), p.Shape...)
		if err != nil {
			return nil, err
		}
		g.Consts[nm] = t
		pname[p] = nm
	}
	ints := func(v ...int) nn.Attr {
		a := nn.Attr{Kind: nn.AttrInts}
		for _, x := range v {
			a.Ints = append(a.Ints, int64(x))
		}
		return a
	}
	for _, l := range n.Layers {
		out := unique(l.Name + "_out")
		if l.Out == n.Output {
			out = OutputName
		}
		vname[l.Out] = out
		node := &nn.Node{Name: unique(l.Name), Op: l.Kind.String(), Outputs: []string{out}, Attrs: map[string]nn.Attr{}}
		for _, in := range l.In {
			node.Inputs = append(node.Inputs, vname[in])
		}
		switch l.Kind {
		case Conv:
			node.Inputs = append(node.Inputs, pname[l.W], pname[l.B])
			node.Attrs["kernel_shape"] = ints(l.KH, l.KW)
			node.Attrs["strides"] = ints(l.SH, l.SW)
			node.Attrs["pads"] = ints(l.PadT, l.PadL, l.PadB, l.PadR)
			node.Attrs["dilations"] = ints(1, 1)
			grp := 1
			if l.Depthwise {
				grp = l.outShape.C
			}
			node.Attrs["group"] = nn.Attr{Kind: nn.AttrInt, Int: int64(grp)}
		case Relu:
			if l.Max > 0 {
				node.Op = "Clip"
				lo, hi := unique(l.Name+".min"), unique(l.Name+".max")
				g.Consts[lo] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{0}}
				g.Consts[hi] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{l.Max}}
				node.Inputs = append(node.Inputs, lo, hi)
			}
		case Gemm:
			node.Inputs = append(node.Inputs, pname[l.W], pname[l.B])
			node.Attrs["transB"] = nn.Attr{Kind: nn.AttrInt, Int: 1}
			node.Attrs["alpha"] = nn.Attr{Kind: nn.AttrFloat, Float: 1}
			node.Attrs["beta"] = nn.Attr{Kind: nn.AttrFloat, Float: 1}
		case MaxPool, AvgPool:
			node.Attrs["kernel_shape"] = ints(l.KH, l.KW)
			node.Attrs["strides"] = ints(l.SH, l.SW)
			node.Attrs["pads"] = ints(l.PadT, l.PadL, l.PadB, l.PadR)
			if l.Kind == AvgPool && l.CountIncludePad {
				node.Attrs["count_include_pad"] = nn.Attr{Kind: nn.AttrInt, Int: 1}
			}
		case Flatten:
			node.Attrs["axis"] = nn.Attr{Kind: nn.AttrInt, Int: 1}
		case BatchNorm:
			mean, vr := unique(l.Name+".running_mean"), unique(l.Name+".running_var")
			g.Consts[mean] = &nn.Tensor{DType: nn.Float32, Shape: []int{len(l.RunMean)}, F32: append([]float32(nil), l.RunMean...)}
			g.Consts[vr] = &nn.Tensor{DType: nn.Float32, Shape: []int{len(l.RunVar)}, F32: append([]float32(nil), l.RunVar...)}
			node.Inputs = append(node.Inputs, pname[l.W], pname[l.B], mean, vr)
			node.Attrs["epsilon"] = nn.Attr{Kind: nn.AttrFloat, Float: l.Eps}
		}
		g.Nodes = append(g.Nodes, node)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// shapeOps compute tensor shapes (the dynamic reshape PyTorch exports for
// x.view(x.size(0), -1)); FromGraph skips them when they only feed shapes.
var shapeOps = map[string]bool{"Shape": true, "Gather": true, "Unsqueeze": true, "Squeeze": true, "Concat": true, "Constant": true, "Cast": true, "Slice": true, "Mul": true, "Div": true, "ConstantOfShape": true}

// FromGraph builds a trainable Net from a float32 graph (for example one
// loaded with nn/onnx.Load) so that it can be fine-tuned, pruned or used as
// a student. Supported: one NCHW input; Conv (groups 1, dilation 1, with
// the engine's fused "activation"="Relu"), Gemm, MatMul with constant
// weights (and an Add of a constant bias), Relu, MaxPool, AveragePool,
// GlobalAveragePool, Add, Flatten and Reshape to [batch, features],
// Identity and Dropout. Weights are copied; the graph is not modified.
func FromGraph(g *nn.Graph) (*Net, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	if len(g.Inputs) != 1 || len(g.Outputs) < 1 {
		return nil, fmt.Errorf("%w: %d inputs and %d outputs, want one input", ErrModel, len(g.Inputs), len(g.Outputs))
	}
	it := g.Inputs[0].Type
	if it.DType != nn.Float32 || len(it.Shape) != 4 || it.Shape[1] <= 0 || it.Shape[2] <= 0 || it.Shape[3] <= 0 {
		return nil, fmt.Errorf("%w: input %v, want float32 [batch, C, H, W]", ErrModel, it)
	}
	b := NewBuilder(Shape{it.Shape[1], it.Shape[2], it.Shape[3]}, 0)
	net := b.net
	val := map[string]int{g.Inputs[0].Name: 0}
	shapeVal := map[string]bool{}
	producer := map[int]*Layer{} // value -> layer producing it
	readers := g.Consumers()
	constF32 := func(name string) (*nn.Tensor, error) {
		t := g.Consts[name]
		if t == nil {
			return nil, fmt.Errorf("%w: %q is not a constant", ErrModel, name)
		}
		if t.DType != nn.Float32 || len(t.F32) != nn.NumElements(t.Shape) {
			return nil, fmt.Errorf("%w: constant %q is %v with %d values, want float32", ErrModel, name, t.Type(), len(t.F32))
		}
		return t, nil
	}
	newParam := func(name string, shape []int, data []float32) *Param {
		p := &Param{Name: name, Shape: append([]int(nil), shape...), Data: append([]float32(nil), data...), Grad: make([]float32, len(data)), index: len(net.Params)}
		net.Params = append(net.Params, p)
		return p
	}
	in := func(nd *nn.Node, i int) (int, error) {
		v, ok := val[nd.Input(i)]
		if !ok {
			return 0, fmt.Errorf("%w: node %s input %q is not an activation", ErrModel, nd, nd.Input(i))
		}
		return v, nil
	}
	addLayer := func(l *Layer, out Shape, nd *nn.Node) error {
		l.Name = nd.Name
		v := b.add(l, out)
		if b.err != nil {
			return b.err
		}
		producer[v] = l
		val[nd.Outputs[0]] = v
		if act := nd.AttrString("activation", ""); act != "" {
			var hi float32
			switch {
			case act == "Relu":
			case act == "Clip" && nd.AttrFloat("activation_min", -1) == 0 && nd.AttrFloat("activation_max", 0) > 0:
				hi = nd.AttrFloat("activation_max", 0) // ReLU6
			default:
				return fmt.Errorf("%w: node %s has fused activation %s", ErrModel, nd, act)
			}
			r := b.add(&Layer{Kind: Relu, In: []int{v}, Name: nd.Name + "_relu", Max: hi}, out)
			val[nd.Outputs[0]] = r
		}
		return nil
	}
	geom := func(nd *nn.Node, kh, kw int) (sh, sw, pt, pl, pb, pr int, err error) {
		if ap := nd.AttrString("auto_pad", "NOTSET"); ap != "NOTSET" && ap != "" {
			return 0, 0, 0, 0, 0, 0, fmt.Errorf("%w: node %s auto_pad %s", ErrModel, nd, ap)
		}
		for _, d := range nd.AttrInts("dilations", []int{1, 1}) {
			if d != 1 {
				return 0, 0, 0, 0, 0, 0, fmt.Errorf("%w: node %s dilation %d", ErrModel, nd, d)
			}
		}
		if nd.AttrInt("ceil_mode", 0) != 0 {
			return 0, 0, 0, 0, 0, 0, fmt.Errorf("%w: node %s ceil_mode", ErrModel, nd)
		}
		s := nd.AttrInts("strides", []int{1, 1})
		p := nd.AttrInts("pads", []int{0, 0, 0, 0})
		if len(s) != 2 || len(p) != 4 {
			return 0, 0, 0, 0, 0, 0, fmt.Errorf("%w: node %s strides %v pads %v (2-D only)", ErrModel, nd, s, p)
		}
		return s[0], s[1], p[0], p[1], p[2], p[3], nil
	}
	for _, nd := range g.Nodes {
		if len(nd.Outputs) == 0 {
			return nil, fmt.Errorf("%w: node %s has no output", ErrModel, nd)
		}
		// Shape computations: skipped when they only involve shapes and constants.
		if nd.Op == "Shape" {
			shapeVal[nd.Outputs[0]] = true
			continue
		}
		if shapeOps[nd.Op] {
			onlyShapes := true
			for _, i := range nd.Inputs {
				if i != "" && !shapeVal[i] && g.Consts[i] == nil {
					onlyShapes = false
				}
			}
			if onlyShapes {
				for _, o := range nd.Outputs {
					shapeVal[o] = true
				}
				continue
			}
		}
		switch nd.Op {
		case "Identity", "Dropout":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			val[nd.Outputs[0]] = x
		case "Conv":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			w, err := constF32(nd.Input(1))
			if err != nil {
				return nil, err
			}
			is := net.Values[x]
			grp := int(nd.AttrInt("group", 1))
			depthwise := grp > 1 && grp == is.C && len(w.Shape) == 4 && w.Shape[0] == is.C && w.Shape[1] == 1
			if len(w.Shape) != 4 || (w.Shape[1] != is.C && !depthwise) {
				return nil, fmt.Errorf("%w: node %s weight %v for %d input channels (groups=1 or depthwise only)", ErrModel, nd, w.Shape, is.C)
			}
			if grp != 1 && !depthwise {
				return nil, fmt.Errorf("%w: node %s group %d (training supports groups=1 and depthwise)", ErrModel, nd, grp)
			}
			oc, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
			sh, sw, pt, pl, pb, pr, err := geom(nd, kh, kw)
			if err != nil {
				return nil, err
			}
			bias := make([]float32, oc)
			if nd.Input(2) != "" {
				bt, err := constF32(nd.Input(2))
				if err != nil {
					return nil, err
				}
				if bt.Len() != oc {
					return nil, fmt.Errorf("%w: node %s bias of %d for %d channels", ErrModel, nd, bt.Len(), oc)
				}
				copy(bias, bt.F32)
			}
			l := &Layer{Kind: Conv, In: []int{x}, KH: kh, KW: kw, SH: sh, SW: sw, PadT: pt, PadL: pl, PadB: pb, PadR: pr, Depthwise: depthwise}
			l.W = newParam(nd.Input(1), w.Shape, w.F32)
			l.B = newParam(biasName(nd, 2, ".bias"), []int{oc}, bias)
			if sh <= 0 || sw <= 0 {
				return nil, fmt.Errorf("%w: node %s strides %d,%d", ErrModel, nd, sh, sw)
			}
			oh, ow := (is.H+pt+pb-kh)/sh+1, (is.W+pl+pr-kw)/sw+1
			if err := addLayer(l, Shape{oc, oh, ow}, nd); err != nil {
				return nil, err
			}
		case "Gemm", "MatMul":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			is := net.Values[x]
			if is.H != 1 || is.W != 1 {
				return nil, fmt.Errorf("%w: node %s input is %v, not flat", ErrModel, nd, is)
			}
			w, err := constF32(nd.Input(1))
			if err != nil {
				return nil, err
			}
			if len(w.Shape) != 2 {
				return nil, fmt.Errorf("%w: node %s weight %v", ErrModel, nd, w.Shape)
			}
			transB := nd.Op == "Gemm" && nd.AttrInt("transB", 0) != 0
			if nd.Op == "Gemm" && nd.AttrInt("transA", 0) != 0 {
				return nil, fmt.Errorf("%w: node %s transA", ErrModel, nd)
			}
			var out, k int
			var wd []float32
			if transB {
				out, k = w.Shape[0], w.Shape[1]
				wd = append([]float32(nil), w.F32...)
			} else {
				k, out = w.Shape[0], w.Shape[1]
				wd = make([]float32, out*k)
				for i := 0; i < k; i++ {
					for j := 0; j < out; j++ {
						wd[j*k+i] = w.F32[i*out+j]
					}
				}
			}
			if k != is.C {
				return nil, fmt.Errorf("%w: node %s weight %v for %d features", ErrModel, nd, w.Shape, is.C)
			}
			alpha, beta := float32(1), float32(1)
			if nd.Op == "Gemm" {
				alpha, beta = nd.AttrFloat("alpha", 1), nd.AttrFloat("beta", 1)
			}
			for i := range wd {
				wd[i] *= alpha
			}
			bias := make([]float32, out)
			if nd.Op == "Gemm" && nd.Input(2) != "" {
				bt, err := constF32(nd.Input(2))
				if err != nil {
					return nil, err
				}
				if bt.Len() != out {
					return nil, fmt.Errorf("%w: node %s bias of %d for %d outputs", ErrModel, nd, bt.Len(), out)
				}
				for i, v := range bt.F32 {
					bias[i] = beta * v
				}
			}
			l := &Layer{Kind: Gemm, In: []int{x}}
			l.W = newParam(nd.Input(1), []int{out, k}, wd)
			l.B = newParam(biasName(nd, 2, ".bias"), []int{out}, bias)
			if err := addLayer(l, Shape{out, 1, 1}, nd); err != nil {
				return nil, err
			}
		case "Relu", "Clip":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			var hi float32
			if nd.Op == "Clip" {
				lo, hiT := g.Consts[nd.Input(1)], g.Consts[nd.Input(2)]
				if lo == nil || hiT == nil || lo.DType != nn.Float32 || hiT.DType != nn.Float32 || lo.Len() != 1 || hiT.Len() != 1 || lo.F32[0] != 0 || !(hiT.F32[0] > 0) {
					return nil, fmt.Errorf("%w: node %s: only Clip(0, max) with constant bounds (ReLU6) trains", ErrModel, nd)
				}
				hi = hiT.F32[0]
			}
			if err := addLayer(&Layer{Kind: Relu, In: []int{x}, Max: hi}, net.Values[x], nd); err != nil {
				return nil, err
			}
		case "MaxPool", "AveragePool":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			if len(nd.Outputs) > 1 && nd.Outputs[1] != "" {
				return nil, fmt.Errorf("%w: node %s uses MaxPool indices", ErrModel, nd)
			}
			ks := nd.AttrInts("kernel_shape", nil)
			if len(ks) != 2 {
				return nil, fmt.Errorf("%w: node %s kernel_shape %v", ErrModel, nd, ks)
			}
			sh, sw, pt, pl, pb, pr, err := geom(nd, ks[0], ks[1])
			if err != nil {
				return nil, err
			}
			kind := MaxPool
			if nd.Op == "AveragePool" {
				kind = AvgPool
			}
			v := b.Pool(kind, x, ks[0], ks[1], sh, sw, pt, pl, pb, pr, nd.AttrInt("count_include_pad", 0) != 0)
			if b.err != nil {
				return nil, fmt.Errorf("node %s: %w", nd, b.err)
			}
			l := net.Layers[len(net.Layers)-1]
			l.Name = nd.Name
			producer[v] = l
			val[nd.Outputs[0]] = v
		case "BatchNormalization":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			if len(nd.Outputs) > 1 && nd.Outputs[1] != "" || nd.AttrInt("training_mode", 0) != 0 {
				return nil, fmt.Errorf("%w: node %s is a BatchNormalization in training mode", ErrModel, nd)
			}
			c := net.Values[x].C
			var ts [4]*nn.Tensor
			for i := range ts {
				if ts[i], err = constF32(nd.Input(i + 1)); err != nil {
					return nil, err
				}
				if ts[i].Len() != c {
					return nil, fmt.Errorf("%w: node %s input %d has %d values for %d channels", ErrModel, nd, i+1, ts[i].Len(), c)
				}
			}
			l := &Layer{Kind: BatchNorm, In: []int{x}, Eps: nd.AttrFloat("epsilon", bnEps),
				RunMean: append([]float32(nil), ts[2].F32...), RunVar: append([]float32(nil), ts[3].F32...)}
			l.W = newParam(nd.Input(1), []int{c}, ts[0].F32)
			l.B = newParam(nd.Input(2), []int{c}, ts[1].F32)
			if err := addLayer(l, net.Values[x], nd); err != nil {
				return nil, err
			}
		case "GlobalAveragePool":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			if err := addLayer(&Layer{Kind: GlobalAvgPool, In: []int{x}}, Shape{net.Values[x].C, 1, 1}, nd); err != nil {
				return nil, err
			}
		case "Flatten", "Reshape":
			x, err := in(nd, 0)
			if err != nil {
				return nil, err
			}
			is := net.Values[x]
			if nd.Op == "Flatten" {
				if a := nd.AttrInt("axis", 1); a != 1 {
					return nil, fmt.Errorf("%w: node %s Flatten axis %d", ErrModel, nd, a)
				}
			} else if t := g.Consts[nd.Input(1)]; t != nil {
				if t.DType != nn.Int64 || len(t.I64) != 2 || !(t.I64[1] == -1 || int(t.I64[1]) == is.Size()) || t.I64[0] > 0 && t.I64[1] == -1 {
					return nil, fmt.Errorf("%w: node %s reshapes %v to %v (only to [batch, features])", ErrModel, nd, is, t.I64)
				}
			} else if !shapeVal[nd.Input(1)] {
				return nil, fmt.Errorf("%w: node %s reshape target is computed from activations", ErrModel, nd)
			}
			if err := addLayer(&Layer{Kind: Flatten, In: []int{x}}, Shape{is.Size(), 1, 1}, nd); err != nil {
				return nil, err
			}
		case "Add":
			x0, ok0 := val[nd.Input(0)]
			x1, ok1 := val[nd.Input(1)]
			switch {
			case ok0 && ok1:
				if net.Values[x0] != net.Values[x1] {
					return nil, fmt.Errorf("%w: node %s adds %v and %v (no broadcasting)", ErrModel, nd, net.Values[x0], net.Values[x1])
				}
				if err := addLayer(&Layer{Kind: Add, In: []int{x0, x1}}, net.Values[x0], nd); err != nil {
					return nil, err
				}
			case ok0 || ok1:
				// A constant bias after MatMul: fold it into the layer.
				x, c, xn := x0, nd.Input(1), nd.Input(0)
				if ok1 {
					x, c, xn = x1, nd.Input(0), nd.Input(1)
				}
				l := producer[x]
				bt, err := constF32(c)
				if err != nil {
					return nil, err
				}
				if l == nil || l.Kind != Gemm || l.Out != x || len(readers[xn]) != 1 || bt.Len() != len(l.B.Data) {
					return nil, fmt.Errorf("%w: node %s adds a constant that is not the bias of a single-use Gemm/MatMul", ErrModel, nd)
				}
				for i, v := range bt.F32 {
					l.B.Data[i] += v
				}
				val[nd.Outputs[0]] = x
			default:
				return nil, fmt.Errorf("%w: node %s adds constants", ErrModel, nd)
			}
		default:
			return nil, fmt.Errorf("%w: operator %s (node %s) cannot be trained", ErrModel, nd.Op, nd.Name)
		}
	}
	out, ok := val[g.Outputs[0].Name]
	if !ok || out == 0 {
		return nil, fmt.Errorf("%w: output %q is not computed by supported layers", ErrModel, g.Outputs[0].Name)
	}
	n, err := b.Build(out)
	if err != nil {
		return nil, err
	}
	// Drop layers that do not contribute to the output.
	n.prune()
	return n, n.prepare()
}

func biasName(nd *nn.Node, i int, suffix string) string {
	if s := nd.Input(i); s != "" {
		return s
	}
	return nd.Name + suffix
}

// prune removes layers (and their params) that do not lead to the output.
func (n *Net) prune() {
	need := make([]bool, len(n.Values))
	need[n.Output] = true
	keep := make([]bool, len(n.Layers))
	for i := len(n.Layers) - 1; i >= 0; i-- {
		l := n.Layers[i]
		if need[l.Out] {
			keep[i] = true
			for _, v := range l.In {
				need[v] = true
			}
		}
	}
	var layers []*Layer
	var params []*Param
	for i, l := range n.Layers {
		if !keep[i] {
			continue
		}
		layers = append(layers, l)
		if l.W != nil {
			params = append(params, l.W, l.B)
		}
	}
	n.Layers, n.Params = layers, params
}
