package onnx

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
)

// DefaultOpset is the opset Encode declares for a graph whose Opset is 0.
const DefaultOpset = 17

// irVersion is the lowest ONNX IR version that can carry opset (what the
// ONNX release introducing that opset wrote), so older runtimes accept it.
func irVersion(opset int) int64 {
	switch {
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	}
	return 10
}

// Save writes g to path as an ONNX model (see Encode).
func Save(path string, g *nn.Graph) error {
	data, err := Encode(g)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}

// Encode serializes g as an ONNX model. Constants become initializers
// (raw_data); quantization parameters of constants become extra initializers
// named NAME_scale, NAME_zero_point (and NAME_axis) referenced by the
// graph's quantization annotations, which Decode reads back. Ops named
// "domain.Op" are written in that domain. The graph must be valid.
func Encode(g *nn.Graph) ([]byte, error) {
	if g == nil {
		return nil, fmt.Errorf("%w: nil graph", nn.ErrGraph)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: encode: %w", err)
	}
	opset := g.Opset
	if opset == 0 {
		opset = DefaultOpset
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("%w: graph opset %d, supported are %d to %d", ErrOpset, opset, MinOpset, MaxOpset)
	}
	gp := &onnxpb.GraphProto{Name: g.Name}
	if gp.Name == "" {
		gp.Name = "splitinfer"
	}
	for _, in := range g.Inputs {
		vi, err := valueInfoProto(in)
		if err != nil {
			return nil, err
		}
		gp.Input = append(gp.Input, vi)
	}
	for _, o := range g.Outputs {
		vi, err := valueInfoProto(o)
		if err != nil {
			return nil, err
		}
		gp.Output = append(gp.Output, vi)
	}
	names := make([]string, 0, len(g.Consts))
	for name := range g.Consts {
		names = append(names, name)
	}
	sort.Strings(names)
	used := make(map[string]bool, len(names))
	for _, n := range names {
		used[n] = true
	}
	for _, n := range g.Nodes {
		used[n.Name] = true
		for _, o := range n.Outputs {
			used[o] = true
		}
	}
	for _, in := range g.Inputs {
		used[in.Name] = true
	}
	fresh := func(base string) string {
		name := base
		for k := 1; used[name]; k++ {
			name = base + "_" + strconv.Itoa(k)
		}
		used[name] = true
		return name
	}
	for _, name := range names {
		t := g.Consts[name]
		tp, err := tensorProto(name, t)
		if err != nil {
			return nil, fmt.Errorf("constant %q: %w", name, err)
		}
		gp.Initializer = append(gp.Initializer, tp)
		if t.Quant == nil {
			continue
		}
		ann, extra, err := quantAnnotation(name, t, fresh)
		if err != nil {
			return nil, err
		}
		gp.Initializer = append(gp.Initializer, extra...)
		gp.QuantizationAnnotation = append(gp.QuantizationAnnotation, ann)
	}
	domains := map[string]bool{}
	for _, n := range unfuseActivations(g.Nodes, fresh, func(t *onnxpb.TensorProto) { gp.Initializer = append(gp.Initializer, t) }) {
		np := &onnxpb.NodeProto{
			Name:   n.Name,
			OpType: n.Op,
			Input:  append([]string(nil), n.Inputs...),
			Output: append([]string(nil), n.Outputs...),
		}
		if i := strings.LastIndexByte(n.Op, '.'); i > 0 && i < len(n.Op)-1 {
			np.Domain, np.OpType = n.Op[:i], n.Op[i+1:]
			domains[np.Domain] = true
		}
		keys := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ap, err := attrProto(k, n.Attrs[k])
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", n, err)
			}
			np.Attribute = append(np.Attribute, ap)
		}
		gp.Node = append(gp.Node, np)
	}
	m := &onnxpb.ModelProto{
		IrVersion:       irVersion(opset),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: "", Version: int64(opset)}},
		ProducerName:    "splitinfer",
		ProducerVersion: "0",
		Graph:           gp,
	}
	doms := make([]string, 0, len(domains))
	for d := range domains {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	for _, d := range doms {
		m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: d, Version: 1})
	}
	metaKeys := make([]string, 0, len(g.Meta))
	for k := range g.Meta {
		switch k {
		case "producer_name", "producer_version", "ir_version":
			continue
		}
		metaKeys = append(metaKeys, k)
	}
	sort.Strings(metaKeys)
	for _, k := range metaKeys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: k, Value: g.Meta[k]})
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode: %w", err)
	}
	return data, nil
}

func valueInfoProto(v nn.ValueInfo) (*onnxpb.ValueInfoProto, error) {
	vi := &onnxpb.ValueInfoProto{Name: v.Name}
	if v.Type.DType == nn.Undefined {
		return vi, nil
	}
	et, err := dtypeToONNX(v.Type.DType)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", v.Name, err)
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: et}
	if v.Type.Shape != nil {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for i, d := range v.Type.Shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			if d < 0 {
				name := "d" + strconv.Itoa(i)
				if i == 0 {
					name = "batch"
				}
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: name}
			} else {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	vi.Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	return vi, nil
}

// tensorProto converts t (without its quantization parameters) to a
// TensorProto with raw_data.
func tensorProto(name string, t *nn.Tensor) (*onnxpb.TensorProto, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil tensor", nn.ErrMissing)
	}
	dt, err := dtypeToONNX(t.DType)
	if err != nil {
		return nil, err
	}
	if n := nn.NumElements(t.Shape); n < 0 || n != t.Len() {
		return nil, fmt.Errorf("onnx: %w: %d values for shape %v", nn.ErrShape, t.Len(), t.Shape)
	}
	tp := &onnxpb.TensorProto{Name: name, DataType: dt, RawData: append([]byte(nil), t.Bytes()...)}
	for _, d := range t.Shape {
		tp.Dims = append(tp.Dims, int64(d))
	}
	return tp, nil
}

func quantAnnotation(name string, t *nn.Tensor, fresh func(string) string) (*onnxpb.TensorAnnotation, []*onnxpb.TensorProto, error) {
	q := t.Quant
	if len(q.Scale) == 0 || (len(q.ZeroPoint) != 0 && len(q.ZeroPoint) != len(q.Scale)) {
		return nil, nil, fmt.Errorf("onnx: constant %q: %d scales and %d zero points", name, len(q.Scale), len(q.ZeroPoint))
	}
	scaleName, zpName := fresh(name+"_scale"), fresh(name+"_zero_point")
	shape := []int{len(q.Scale)}
	if len(q.Scale) == 1 {
		shape = []int{}
	}
	scale := &nn.Tensor{DType: nn.Float32, Shape: shape, F32: q.Scale}
	zp := &nn.Tensor{DType: nn.Int32, Shape: shape, I32: q.ZeroPoint}
	if len(q.ZeroPoint) == 0 {
		zp.I32 = make([]int32, len(q.Scale))
	}
	sp, err := tensorProto(scaleName, scale)
	if err != nil {
		return nil, nil, err
	}
	zpp, err := tensorProto(zpName, zp)
	if err != nil {
		return nil, nil, err
	}
	ann := &onnxpb.TensorAnnotation{TensorName: name, QuantParameterTensorNames: []*onnxpb.StringStringEntryProto{
		{Key: annScale, Value: scaleName},
		{Key: annZeroPoint, Value: zpName},
	}}
	extra := []*onnxpb.TensorProto{sp, zpp}
	if len(q.Scale) > 1 {
		axisName := fresh(name + "_axis")
		ap, err := tensorProto(axisName, &nn.Tensor{DType: nn.Int64, Shape: []int{}, I64: []int64{int64(q.Axis)}})
		if err != nil {
			return nil, nil, err
		}
		extra = append(extra, ap)
		ann.QuantParameterTensorNames = append(ann.QuantParameterTensorNames, &onnxpb.StringStringEntryProto{Key: annAxis, Value: axisName})
	}
	return ann, extra, nil
}

func attrProto(name string, a nn.Attr) (*onnxpb.AttributeProto, error) {
	ap := &onnxpb.AttributeProto{Name: name}
	switch a.Kind {
	case nn.AttrInt:
		ap.Type, ap.I = onnxpb.AttributeProto_INT, a.Int
	case nn.AttrFloat:
		ap.Type, ap.F = onnxpb.AttributeProto_FLOAT, a.Float
	case nn.AttrString:
		ap.Type, ap.S = onnxpb.AttributeProto_STRING, []byte(a.Str)
	case nn.AttrInts:
		ap.Type, ap.Ints = onnxpb.AttributeProto_INTS, append([]int64(nil), a.Ints...)
	case nn.AttrFloats:
		ap.Type, ap.Floats = onnxpb.AttributeProto_FLOATS, append([]float32(nil), a.Floats...)
	case nn.AttrStrings:
		ap.Type = onnxpb.AttributeProto_STRINGS
		for _, s := range a.Strs {
			ap.Strings = append(ap.Strings, []byte(s))
		}
	case nn.AttrTensor:
		tp, err := tensorProto("", a.Tensor)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", name, err)
		}
		ap.Type, ap.T = onnxpb.AttributeProto_TENSOR, tp
	default:
		return nil, fmt.Errorf("onnx: attribute %q has unknown kind %d", name, a.Kind)
	}
	return ap, nil
}

// unfuseActivations expands Conv and Gemm nodes carrying a fused activation
// (nn.FuseActivations' "activation" attribute, which ONNX does not know)
// back into the op followed by a Relu or Clip node.
func unfuseActivations(nodes []*nn.Node, fresh func(string) string, addInit func(*onnxpb.TensorProto)) []*nn.Node {
	out := make([]*nn.Node, 0, len(nodes))
	for _, n := range nodes {
		act, ok := n.Attrs["activation"]
		if !ok || act.Kind != nn.AttrString || (n.Op != "Conv" && n.Op != "Gemm") || len(n.Outputs) != 1 {
			out = append(out, n)
			continue
		}
		c := *n
		c.Attrs = make(map[string]nn.Attr, len(n.Attrs))
		for k, v := range n.Attrs {
			if k != "activation" && k != "activation_min" && k != "activation_max" {
				c.Attrs[k] = v
			}
		}
		mid := fresh(n.Outputs[0] + "_preact")
		c.Outputs = []string{mid}
		a := &nn.Node{Name: fresh(n.Name + "_" + act.Str), Op: act.Str, Inputs: []string{mid}, Outputs: []string{n.Outputs[0]}, Attrs: map[string]nn.Attr{}}
		if act.Str == "Clip" {
			for _, b := range []string{"activation_min", "activation_max"} {
				v, ok := n.Attrs[b]
				if !ok || v.Kind != nn.AttrFloat || math.IsInf(float64(v.Float), 0) {
					a.Inputs = append(a.Inputs, "")
					continue
				}
				name := fresh(n.Name + "_" + b)
				addInit(&onnxpb.TensorProto{Name: name, DataType: onnxFloat, RawData: (&nn.Tensor{DType: nn.Float32, F32: []float32{v.Float}}).Bytes()})
				a.Inputs = append(a.Inputs, name)
			}
			for len(a.Inputs) > 1 && a.Inputs[len(a.Inputs)-1] == "" {
				a.Inputs = a.Inputs[:len(a.Inputs)-1]
			}
		}
		out = append(out, &c, a)
	}
	return out
}
