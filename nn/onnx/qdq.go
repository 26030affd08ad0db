package onnx

import (
	"fmt"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
)

// ONNX QDQ models (QuantizeLinear / DequantizeLinear around float
// operators, as ONNX Runtime's static quantization writes them) map onto
// splitinfer's int8 kernels on import, and splitinfer's int8 graphs are
// written back in QDQ form on export so that ONNX Runtime runs them.

// HasQDQ reports whether g contains QuantizeLinear or DequantizeLinear nodes.
func HasQDQ(g *nn.Graph) bool {
	for _, n := range g.Nodes {
		if n.Op == "QuantizeLinear" || n.Op == "DequantizeLinear" {
			return true
		}
	}
	return false
}

// ImportQDQ lowers the QDQ patterns of g onto int8 kernels (nn.LowerQDQ):
// Conv, Gemm, MatMul and Add with per-tensor or per-channel parameters,
// MaxPool, GlobalAveragePool, Reshape, Flatten, Concat, elementwise ops and
// BatchNormalization (tables). Operators without an int8 kernel keep
// running in float32 between their DequantizeLinear and QuantizeLinear.
func ImportQDQ(g *nn.Graph) (*nn.Graph, error) { return nn.LowerQDQ(g) }

// LoadQDQ loads an ONNX model and lowers its QDQ patterns onto int8 kernels.
func LoadQDQ(path string, opts ...Option) (*nn.Graph, error) {
	g, err := Load(path, opts...)
	if err != nil {
		return nil, err
	}
	return ImportQDQ(g)
}

// ExportQDQ returns a copy of g in which splitinfer's int8 operators are
// written as standard ONNX: each becomes DequantizeLinear of its inputs,
// the float operator (Conv, Gemm with transB=1, Add, MaxPool, plus a Relu
// or Clip for the fused activation) and QuantizeLinear of its output, with the int8
// weights, the int32 bias (scale x_scale·w_scale[c]) and every scale and
// zero point as initializers. Standard operators are kept. The result
// encodes with Encode and runs in ONNX Runtime.
func ExportQDQ(g *nn.Graph) (*nn.Graph, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	c := g.Clone()
	e := &qdqExporter{g: c, prod: map[string]*nn.Node{}, used: map[string]bool{}}
	for _, n := range c.Nodes {
		for _, o := range n.Outputs {
			e.prod[o] = n
			e.used[o] = true
		}
		e.used[n.Name] = true
	}
	for name := range c.Consts {
		e.used[name] = true
	}
	for _, in := range c.Inputs {
		e.used[in.Name] = true
	}
	var out []*nn.Node
	for _, n := range c.Nodes {
		repl, err := e.node(n)
		if err != nil {
			return nil, fmt.Errorf("onnx: export %s: %w", n, err)
		}
		out = append(out, repl...)
	}
	c.Nodes = out
	if c.Opset != 0 && c.Opset < 13 {
		c.Opset = 13 // per-axis QuantizeLinear/DequantizeLinear
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: export produced an invalid graph: %w", err)
	}
	return c, nil
}

type qparams struct {
	scale float32
	zero  int32
}

type qdqExporter struct {
	g    *nn.Graph
	prod map[string]*nn.Node
	used map[string]bool
}

func (e *qdqExporter) fresh(base string) string {
	for i := 0; ; i++ {
		s := base
		if i > 0 {
			s = fmt.Sprintf("%s_%d", base, i)
		}
		if !e.used[s] {
			e.used[s] = true
			return s
		}
	}
}

func attrParams(n *nn.Node, prefix string) (qparams, error) {
	a, ok := n.Attrs[prefix+"_scale"]
	if !ok || a.Kind != nn.AttrFloat {
		return qparams{}, fmt.Errorf("%w: %s_scale missing", nn.ErrQuant, prefix)
	}
	return qparams{scale: a.Float, zero: int32(n.AttrInt(prefix+"_zero_point", 0))}, nil
}

// pairParams reads the quantizations of two operands (prefixes a and b).
func pairParams(n *nn.Node, a, b string) (qparams, qparams, error) {
	pa, err := attrParams(n, a)
	if err != nil {
		return qparams{}, qparams{}, err
	}
	pb, err := attrParams(n, b)
	return pa, pb, err
}

// paramsOf finds the quantization of int8 tensor name from its producer.
func (e *qdqExporter) paramsOf(name string) (qparams, error) {
	for depth := 0; depth < 1000; depth++ {
		n := e.prod[name]
		if n == nil {
			return qparams{}, fmt.Errorf("%w: no quantization known for %q", nn.ErrQuant, name)
		}
		switch n.Op {
		case "QLinearConvInt8", "QLinearGemmInt8", "QLinearAddInt8", "QLinearMulInt8", "RequantizeInt8", "QLinearGlobalAveragePoolInt8", "AveragePoolInt8", "LookupInt8":
			return attrParams(n, "y")
		case "QuantizeLinear":
			s, z := e.g.Consts[n.Input(1)], e.g.Consts[n.Input(2)]
			if s == nil || s.DType != nn.Float32 || len(s.F32) != 1 || z == nil || z.DType != nn.Int8 || len(z.I8) != 1 {
				return qparams{}, fmt.Errorf("%w: %q is not per-tensor int8", nn.ErrQuant, name)
			}
			return qparams{scale: s.F32[0], zero: int32(z.I8[0])}, nil
		case "MaxPoolInt8", "Reshape", "Flatten", "Transpose", "Split":
			name = n.Input(0)
		case "Concat":
			// LowerQDQ's int8 Concat: its inputs share the output's quantization.
			p, err := e.paramsOf(n.Input(0))
			for _, in := range n.Inputs[1:] {
				if err != nil {
					break
				}
				var pi qparams
				if pi, err = e.paramsOf(in); err == nil && pi != p {
					err = fmt.Errorf("%w: the inputs of %s are quantized differently", nn.ErrQuant, n.Name)
				}
			}
			return p, err
		default:
			return qparams{}, fmt.Errorf("%w: %q comes from %s", nn.ErrQuant, name, n.Op)
		}
	}
	return qparams{}, fmt.Errorf("%w: producer chain too long", nn.ErrGraph)
}

func (e *qdqExporter) scalar(base string, p qparams) (string, string) {
	s := e.fresh(base + "_scale")
	z := e.fresh(base + "_zero_point")
	e.g.Consts[s] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{p.scale}}
	e.g.Consts[z] = &nn.Tensor{DType: nn.Int8, Shape: []int{}, I8: []int8{int8(p.zero)}}
	return s, z
}

// dq returns a DequantizeLinear node reading int8 tensor x with p.
func (e *qdqExporter) dq(x string, p qparams) (*nn.Node, string) {
	s, z := e.scalar(x, p)
	out := e.fresh(x + "_DequantizeLinear_Output")
	return &nn.Node{Name: e.fresh(x + "_DequantizeLinear"), Op: "DequantizeLinear", Inputs: []string{x, s, z}, Outputs: []string{out}}, out
}

func (e *qdqExporter) q(x, y string, p qparams) *nn.Node {
	s, z := e.scalar(y, p)
	return &nn.Node{Name: e.fresh(y + "_QuantizeLinear"), Op: "QuantizeLinear", Inputs: []string{x, s, z}, Outputs: []string{y}}
}

// weightDQ dequantizes a per-channel (axis 0) symmetric int8 weight.
func (e *qdqExporter) weightDQ(w string, scales []float32) (*nn.Node, string) {
	s := e.fresh(w + "_scale")
	z := e.fresh(w + "_zero_point")
	if len(scales) == 1 {
		e.g.Consts[s] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{scales[0]}}
		e.g.Consts[z] = &nn.Tensor{DType: nn.Int8, Shape: []int{}, I8: []int8{0}}
	} else {
		e.g.Consts[s] = &nn.Tensor{DType: nn.Float32, Shape: []int{len(scales)}, F32: append([]float32(nil), scales...)}
		e.g.Consts[z] = nn.New(nn.Int8, len(scales))
	}
	out := e.fresh(w + "_DequantizeLinear_Output")
	return &nn.Node{Name: e.fresh(w + "_DequantizeLinear"), Op: "DequantizeLinear", Inputs: []string{w, s, z}, Outputs: []string{out},
		Attrs: map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 0}}}, out
}

// biasDQ dequantizes an int32 bias with scale x_scale·w_scale[c].
func (e *qdqExporter) biasDQ(b string, n int, xs float32, ws []float32) (*nn.Node, string) {
	s := e.fresh(b + "_scale")
	z := e.fresh(b + "_zero_point")
	st := nn.New(nn.Float32, n)
	for c := range st.F32 {
		w := ws[0]
		if len(ws) > 1 {
			w = ws[c]
		}
		st.F32[c] = float32(float64(xs) * float64(w))
	}
	e.g.Consts[s] = st
	e.g.Consts[z] = nn.New(nn.Int32, n)
	out := e.fresh(b + "_DequantizeLinear_Output")
	return &nn.Node{Name: e.fresh(b + "_DequantizeLinear"), Op: "DequantizeLinear", Inputs: []string{b, s, z}, Outputs: []string{out},
		Attrs: map[string]nn.Attr{"axis": {Kind: nn.AttrInt, Int: 0}}}, out
}

func floatsAttr(n *nn.Node, name string) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == nn.AttrFloats {
		return a.Floats
	}
	return nil
}

func (e *qdqExporter) node(n *nn.Node) ([]*nn.Node, error) {
	if len(n.Op) > 4 && n.Op[len(n.Op)-4:] == "Int8" && (len(n.Outputs) != 1 || len(n.Inputs) == 0) {
		return nil, fmt.Errorf("%w: %s needs one output and an input", nn.ErrGraph, n.Op)
	}
	switch n.Op {
	case "QLinearConvInt8", "QLinearGemmInt8":
		xp, yp, err := pairParams(n, "x", "y")
		if err != nil {
			return nil, err
		}
		ws := floatsAttr(n, "w_scale")
		w := e.g.Consts[n.Input(1)]
		if w == nil || len(ws) == 0 {
			return nil, fmt.Errorf("%w: weight or w_scale missing", nn.ErrGraph)
		}
		var nodes []*nn.Node
		dx, xf := e.dq(n.Input(0), xp)
		dw, wf := e.weightDQ(n.Input(1), ws)
		nodes = append(nodes, dx, dw)
		ins := []string{xf, wf}
		if b := n.Input(2); b != "" {
			db, bf := e.biasDQ(b, w.Shape[0], xp.scale, ws)
			nodes = append(nodes, db)
			ins = append(ins, bf)
		}
		op := &nn.Node{Name: n.Name, Inputs: ins, Attrs: map[string]nn.Attr{}}
		if n.Op == "QLinearConvInt8" {
			op.Op = "Conv"
			for _, k := range []string{"strides", "pads", "dilations", "group", "kernel_shape"} {
				if a, ok := n.Attrs[k]; ok {
					op.Attrs[k] = a
				}
			}
		} else {
			op.Op = "Gemm"
			op.Attrs["transB"] = nn.Attr{Kind: nn.AttrInt, Int: 1}
		}
		return append(nodes, e.finish(n, op, yp)...), nil
	case "QLinearAddInt8", "QLinearMulInt8":
		ap, bp, err := pairParams(n, "a", "b")
		if err != nil {
			return nil, err
		}
		yp, err := attrParams(n, "y")
		if err != nil {
			return nil, err
		}
		da, af := e.dq(n.Input(0), ap)
		db, bf := e.dq(n.Input(1), bp)
		op := &nn.Node{Name: n.Name, Op: strings.TrimSuffix(strings.TrimPrefix(n.Op, "QLinear"), "Int8"), Inputs: []string{af, bf}}
		return append([]*nn.Node{da, db}, e.finish(n, op, yp)...), nil
	case "MaxPoolInt8":
		p, err := e.paramsOf(n.Input(0))
		if err != nil {
			return nil, err
		}
		dx, xf := e.dq(n.Input(0), p)
		op := &nn.Node{Name: n.Name, Op: "MaxPool", Inputs: []string{xf}, Attrs: n.Attrs}
		return append([]*nn.Node{dx}, e.finish(n, op, p)...), nil
	case "QLinearGlobalAveragePoolInt8":
		return e.unary(n, "GlobalAveragePool", nil)
	case "AveragePoolInt8":
		attrs := map[string]nn.Attr{}
		for k, a := range n.Attrs {
			if !strings.HasPrefix(k, "x_") && !strings.HasPrefix(k, "y_") {
				attrs[k] = a
			}
		}
		return e.unary(n, "AveragePool", attrs)
	case "LookupInt8":
		op, attrs := nn.LookupFloatOp(n)
		if op == nn.LookupSwish {
			return e.swish(n)
		}
		return e.unary(n, op, attrs, n.Inputs[2:]...)
	case "RequantizeInt8":
		xp, yp, err := pairParams(n, "x", "y")
		if err != nil {
			return nil, err
		}
		dx, xf := e.dq(n.Input(0), xp)
		var nodes []*nn.Node
		nodes = append(nodes, dx)
		if n.AttrInt("relu", 0) != 0 {
			r := e.fresh(n.Name + "_relu_out")
			nodes = append(nodes, &nn.Node{Name: e.fresh(n.Name + "_relu"), Op: "Relu", Inputs: []string{xf}, Outputs: []string{r}})
			xf = r
		}
		return append(nodes, e.q(xf, n.Outputs[0], yp)), nil
	}
	if len(n.Op) > 4 && n.Op[len(n.Op)-4:] == "Int8" {
		return nil, fmt.Errorf("%w: no QDQ form for %s", nn.ErrUnsupported, n.Op)
	}
	return []*nn.Node{n}, nil
}

// unary exports n (int8 x -> y with x_* and y_* attributes) as
// DequantizeLinear -> op (attrs; consts are its inputs after x) ->
// QuantizeLinear.
func (e *qdqExporter) unary(n *nn.Node, op string, attrs map[string]nn.Attr, consts ...string) ([]*nn.Node, error) {
	xp, yp, err := pairParams(n, "x", "y")
	if err != nil {
		return nil, err
	}
	dx, xf := e.dq(n.Input(0), xp)
	f := &nn.Node{Name: n.Name, Op: op, Inputs: append([]string{xf}, consts...), Attrs: attrs}
	return append([]*nn.Node{dx}, e.finish(n, f, yp)...), nil
}

// swish exports a LookupInt8 of x·sigmoid(x) as DequantizeLinear ->
// Sigmoid, and a Mul of the two -> QuantizeLinear (SiLU as PyTorch exports
// it).
func (e *qdqExporter) swish(n *nn.Node) ([]*nn.Node, error) {
	xp, yp, err := pairParams(n, "x", "y")
	if err != nil {
		return nil, err
	}
	dx, xf := e.dq(n.Input(0), xp)
	s := e.fresh(n.Outputs[0] + "_sigmoid")
	sig := &nn.Node{Name: e.fresh(n.Name + "_sigmoid"), Op: "Sigmoid", Inputs: []string{xf}, Outputs: []string{s}}
	mul := &nn.Node{Name: n.Name, Op: "Mul", Inputs: []string{xf, s}}
	return append([]*nn.Node{dx, sig}, e.finish(n, mul, yp)...), nil
}

// finish gives op a float output, adds the fused Relu and quantizes into
// n's output.
func (e *qdqExporter) finish(n, op *nn.Node, yp qparams) []*nn.Node {
	f := e.fresh(n.Outputs[0] + "_float")
	op.Outputs = []string{f}
	nodes := []*nn.Node{op}
	if n.AttrInt("relu", 0) != 0 {
		r := e.fresh(n.Outputs[0] + "_relu")
		nodes = append(nodes, &nn.Node{Name: e.fresh(n.Name + "_relu"), Op: "Relu", Inputs: []string{f}, Outputs: []string{r}})
		f = r
	}
	_, hasMin := n.Attrs["y_min"]
	_, hasMax := n.Attrs["y_max"]
	if hasMin || hasMax {
		// The quantized bounds as real values: Clip then Quantize equals
		// the kernel's clamp because quantization is monotonic.
		bound := func(name string, q int64) string {
			c := e.fresh(n.Outputs[0] + "_" + name)
			e.g.Consts[c] = &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{float32(q-int64(yp.zero)) * yp.scale}}
			return c
		}
		lo := bound("clip_min", n.AttrInt("y_min", -128))
		hi := bound("clip_max", n.AttrInt("y_max", 127))
		r := e.fresh(n.Outputs[0] + "_clip")
		nodes = append(nodes, &nn.Node{Name: e.fresh(n.Name + "_clip"), Op: "Clip", Inputs: []string{f, lo, hi}, Outputs: []string{r}})
		f = r
	}
	return append(nodes, e.q(f, n.Outputs[0], yp))
}

// SaveQDQ writes g (which may contain int8 kernels) as an ONNX QDQ model.
func SaveQDQ(path string, g *nn.Graph) error {
	x, err := ExportQDQ(g)
	if err != nil {
		return err
	}
	return Save(path, x)
}
