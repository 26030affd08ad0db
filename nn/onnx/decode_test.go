package onnx_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	pb "github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
)

// tinyModel is Y = Relu(X + B) with B a float initializer given in
// float_data, X float32[batch,3].
func tinyModel() *pb.ModelProto {
	return &pb.ModelProto{
		IrVersion:   8,
		OpsetImport: []*pb.OperatorSetIdProto{{Version: 17}},
		Graph: &pb.GraphProto{
			Name: "tiny",
			Node: []*pb.NodeProto{
				{Name: "add", OpType: "Add", Input: []string{"X", "B"}, Output: []string{"S"}},
				{Name: "relu", OpType: "Relu", Input: []string{"S"}, Output: []string{"Y"}},
			},
			Initializer: []*pb.TensorProto{{Name: "B", DataType: 1, Dims: []int64{3}, FloatData: []float32{1, -2, 3}}},
			Input:       []*pb.ValueInfoProto{valueInfo("X", 1, -1, 3)},
			Output:      []*pb.ValueInfoProto{valueInfo("Y", 1, -1, 3)},
		},
	}
}

func valueInfo(name string, elem int32, dims ...int64) *pb.ValueInfoProto {
	sh := &pb.TensorShapeProto{}
	for _, d := range dims {
		if d < 0 {
			sh.Dim = append(sh.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}})
		} else {
			sh.Dim = append(sh.Dim, &pb.TensorShapeProto_Dimension{Value: &pb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
	}
	return &pb.ValueInfoProto{Name: name, Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{ElemType: elem, Shape: sh}}}}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeTiny(t *testing.T) {
	g, err := onnx.Decode(marshal(t, tinyModel()))
	if err != nil {
		t.Fatal(err)
	}
	if g.Opset != 17 || len(g.Inputs) != 1 || fmt.Sprint(g.Inputs[0].Type.Shape) != "[-1 3]" || g.Inputs[0].Type.DType != nn.Float32 {
		t.Fatalf("decoded opset %d inputs %v", g.Opset, g.Inputs)
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := nn.FromFloat32([]float32{0, 1, -5, 2, 2, 2}, 2, 3)
	out, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out[0].F32); got != "[1 0 0 3 0 5]" {
		t.Fatalf("Relu(X+B) = %v, want [1 0 0 3 0 5]", got)
	}
}

// TestDecodeTypedFields decodes initializers from each typed field and from
// raw_data, and Constant nodes of each value kind.
func TestDecodeTypedFields(t *testing.T) {
	m := tinyModel()
	gp := m.Graph
	gp.Initializer = append(gp.Initializer,
		&pb.TensorProto{Name: "i8", DataType: 3, Dims: []int64{2}, Int32Data: []int32{-128, 127}},
		&pb.TensorProto{Name: "u8", DataType: 2, Dims: []int64{2}, Int32Data: []int32{0, 255}},
		&pb.TensorProto{Name: "i32", DataType: 6, Dims: []int64{1, 2}, Int32Data: []int32{-7, 9}},
		&pb.TensorProto{Name: "i64", DataType: 7, Dims: []int64{}, Int64Data: []int64{1 << 40}},
		&pb.TensorProto{Name: "raw", DataType: 1, Dims: []int64{2}, RawData: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}},
		&pb.TensorProto{Name: "empty", DataType: 1, Dims: []int64{0, 4}},
		&pb.TensorProto{Name: "bool", DataType: 9, Dims: []int64{3}, RawData: []byte{1, 0, 1}},
		&pb.TensorProto{Name: "bool32", DataType: 9, Dims: []int64{1}, Int32Data: []int32{1}},
	)
	gp.Node = append([]*pb.NodeProto{
		{Name: "c1", OpType: "Constant", Output: []string{"cf"}, Attribute: []*pb.AttributeProto{{Name: "value_float", Type: pb.AttributeProto_FLOAT, F: 2.5}}},
		{Name: "c2", OpType: "Constant", Output: []string{"cis"}, Attribute: []*pb.AttributeProto{{Name: "value_ints", Type: pb.AttributeProto_INTS, Ints: []int64{4, 5}}}},
		{Name: "c3", OpType: "Constant", Output: []string{"ct"}, Attribute: []*pb.AttributeProto{{Name: "value", Type: pb.AttributeProto_TENSOR,
			T: &pb.TensorProto{DataType: 1, Dims: []int64{2, 1}, FloatData: []float32{7, 8}}}}},
	}, gp.Node...)
	g, err := onnx.Decode(marshal(t, m), onnx.WithoutOptimize())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
	}{
		{"B", "float32[3] [1 -2 3]"},
		{"i8", "int8[2] [-128 127]"},
		{"u8", "uint8[2] [0 255]"},
		{"i32", "int32[1 2] [-7 9]"},
		{"i64", "int64[] [1099511627776]"},
		{"raw", "float32[2] [1 -2]"},
		{"empty", "float32[0 4] []"},
		{"bool", "uint8[3] [1 0 1]"},
		{"bool32", "uint8[1] [1]"},
		{"cf", "float32[] [2.5]"},
		{"cis", "int64[2] [4 5]"},
		{"ct", "float32[2 1] [7 8]"},
	} {
		tt := g.Consts[c.name]
		if tt == nil {
			t.Errorf("%s: missing", c.name)
			continue
		}
		var vals any
		switch tt.DType {
		case nn.Float32:
			vals = tt.F32
		case nn.Int8:
			vals = tt.I8
		case nn.Uint8:
			vals = tt.U8
		case nn.Int32:
			vals = tt.I32
		case nn.Int64:
			vals = tt.I64
		}
		if got := fmt.Sprintf("%v %v", tt.Type(), vals); got != c.want {
			t.Errorf("%s = %s, want %s", c.name, got, c.want)
		}
	}
	for _, n := range g.Nodes {
		if n.Op == "Constant" {
			t.Errorf("Constant node %s kept as a node", n.Name)
		}
	}
}

// TestDecodeErrors feeds malformed and unsupported models: each must give
// the documented error, never a panic or a huge allocation.
func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(m *pb.ModelProto)
		want   error
	}{
		{"opset 5", func(m *pb.ModelProto) { m.OpsetImport[0].Version = 5 }, onnx.ErrOpset},
		{"opset 22", func(m *pb.ModelProto) { m.OpsetImport[0].Version = 22 }, onnx.ErrOpset},
		{"no opset", func(m *pb.ModelProto) { m.OpsetImport = nil }, onnx.ErrOpset},
		{"only a custom domain", func(m *pb.ModelProto) { m.OpsetImport[0].Domain = "com.microsoft" }, onnx.ErrOpset},
		{"no graph", func(m *pb.ModelProto) { m.Graph = nil }, onnx.ErrFormat},
		{"no outputs", func(m *pb.ModelProto) { m.Graph.Output = nil }, onnx.ErrFormat},
		{"external data", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: "B", DataType: 1, Dims: []int64{3}, DataLocation: pb.TensorProto_EXTERNAL,
				ExternalData: []*pb.StringStringEntryProto{{Key: "location", Value: "weights.bin"}}}
		}, onnx.ErrExternalData},
		{"too few float_data", func(m *pb.ModelProto) { m.Graph.Initializer[0].FloatData = []float32{1} }, onnx.ErrFormat},
		{"huge dims, tiny raw_data", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: "B", DataType: 1, Dims: []int64{1 << 30, 1 << 30}, RawData: []byte{1, 2, 3, 4}}
		}, onnx.ErrFormat},
		{"huge dims, no data", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: "B", DataType: 7, Dims: []int64{1 << 31, 1 << 31, 1 << 31}}
		}, onnx.ErrFormat},
		{"negative dim", func(m *pb.ModelProto) { m.Graph.Initializer[0].Dims = []int64{-3} }, onnx.ErrFormat},
		{"raw size mismatch", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: "B", DataType: 1, Dims: []int64{3}, RawData: make([]byte, 11)}
		}, onnx.ErrFormat},
		{"float16 tensor", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: "B", DataType: 10, Dims: []int64{3}, Int32Data: []int32{1, 2, 3}}
		}, onnx.ErrUnsupported},
		{"bool out of range", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: "B", DataType: 9, Dims: []int64{2}, RawData: []byte{0, 2}}
		}, onnx.ErrFormat},
		{"int8 out of range", func(m *pb.ModelProto) {
			m.Graph.Initializer[0] = &pb.TensorProto{Name: "B", DataType: 3, Dims: []int64{1}, Int32Data: []int32{300}}
		}, onnx.ErrFormat},
		{"sub-graph attribute", func(m *pb.ModelProto) {
			m.Graph.Node[0].Attribute = []*pb.AttributeProto{{Name: "then_branch", Type: pb.AttributeProto_GRAPH, G: &pb.GraphProto{}}}
		}, onnx.ErrUnsupported},
		{"untyped attribute", func(m *pb.ModelProto) {
			m.Graph.Node[0].Attribute = []*pb.AttributeProto{{Name: "x"}}
		}, onnx.ErrFormat},
		{"Constant without value", func(m *pb.ModelProto) {
			m.Graph.Node = append([]*pb.NodeProto{{OpType: "Constant", Output: []string{"c"}}}, m.Graph.Node...)
		}, onnx.ErrFormat},
		{"undefined input", func(m *pb.ModelProto) { m.Graph.Node[0].Input[1] = "nope" }, nn.ErrGraph},
		{"cycle", func(m *pb.ModelProto) { m.Graph.Node[0].Input[0] = "Y" }, nn.ErrGraph},
		{"output defined twice", func(m *pb.ModelProto) { m.Graph.Node[1].Output[0] = "S" }, nn.ErrGraph},
		{"output never produced", func(m *pb.ModelProto) { m.Graph.Output[0].Name = "Z" }, nn.ErrGraph},
		{"input is an initializer name twice", func(m *pb.ModelProto) {
			m.Graph.Initializer = append(m.Graph.Initializer, m.Graph.Initializer[0])
		}, onnx.ErrFormat},
		{"negative input dim", func(m *pb.ModelProto) {
			m.Graph.Input[0] = valueInfo("X", 1, 2, 3)
			m.Graph.Input[0].Type.GetTensorType().Shape.Dim[0].Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: -2}
		}, onnx.ErrFormat},
		{"string input", func(m *pb.ModelProto) { m.Graph.Input[0] = valueInfo("X", 8, 3) }, onnx.ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel()
			c.mutate(m)
			_, err := onnx.Decode(marshal(t, m))
			if !errors.Is(err, c.want) {
				t.Fatalf("error %v, want %v", err, c.want)
			}
		})
	}
	if _, err := onnx.Decode([]byte("not a protobuf \xff\xff\xff")); !errors.Is(err, onnx.ErrFormat) {
		t.Errorf("garbage: error %v, want ErrFormat", err)
	}
	if _, err := onnx.Decode(marshal(t, tinyModel()), onnx.WithMaxSize(10)); !errors.Is(err, onnx.ErrTooLarge) {
		t.Errorf("size limit: error %v, want ErrTooLarge", err)
	}
}

// TestExternalData: Decode (no directory) refuses external data with a
// message saying why; Load reads it from the model's directory and refuses
// locations outside it and files too short.
func TestExternalData(t *testing.T) {
	m := tinyModel()
	m.Graph.Initializer[0].DataLocation = pb.TensorProto_EXTERNAL
	_, err := onnx.Decode(marshal(t, m))
	if err == nil || !errors.Is(err, onnx.ErrExternalData) || !contains(err.Error(), "Load") {
		t.Fatalf("error %v", err)
	}
	dir := t.TempDir()
	sub := filepath.Join(dir, "model")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 0, 16)
	for _, v := range []float32{9, 1, -2, 3} { // 4 bytes of padding, then B
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	for _, f := range []string{filepath.Join(sub, "w.bin"), filepath.Join(dir, "outside.bin")} {
		if err := os.WriteFile(f, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "outside.bin"), filepath.Join(sub, "link.bin")); err != nil {
		t.Fatal(err)
	}
	save := func(loc, offset, length string) string {
		m := tinyModel()
		b := m.Graph.Initializer[0]
		b.FloatData = nil
		b.DataLocation = pb.TensorProto_EXTERNAL
		b.ExternalData = []*pb.StringStringEntryProto{{Key: "location", Value: loc}, {Key: "offset", Value: offset}, {Key: "length", Value: length}}
		path := filepath.Join(sub, "m.onnx")
		if err := os.WriteFile(path, marshal(t, m), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	g, err := onnx.Load(save("w.bin", "4", "12"), onnx.WithoutOptimize())
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(g.Consts["B"].F32); got != "[1 -2 3]" {
		t.Fatalf("B = %s, want [1 -2 3]", got)
	}
	for _, c := range []struct{ loc, offset, length string }{
		{"../outside.bin", "4", "12"},
		{filepath.Join(dir, "outside.bin"), "4", "12"},
		{"link.bin", "4", "12"},
		{"w.bin", "8", "12"},
		{"missing.bin", "0", "12"},
	} {
		if _, err := onnx.Load(save(c.loc, c.offset, c.length)); !errors.Is(err, onnx.ErrExternalData) {
			t.Errorf("location %q offset %s: error %v, want ErrExternalData", c.loc, c.offset, err)
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestOpsetRange accepts every opset from 6 to 21; older ones are
// upgraded to opset 13's operator forms.
func TestOpsetRange(t *testing.T) {
	for v := onnx.MinOpset; v <= onnx.MaxOpset; v++ {
		m := tinyModel()
		m.OpsetImport[0].Version = int64(v)
		m.OpsetImport = append(m.OpsetImport, &pb.OperatorSetIdProto{Domain: "com.microsoft", Version: 1})
		g, err := onnx.Decode(marshal(t, m))
		if err != nil {
			t.Fatalf("opset %d: %v", v, err)
		}
		want, src := v, ""
		if v < 13 {
			want, src = 13, fmt.Sprint(v)
		}
		if g.Opset != want || g.Meta[onnx.MetaSourceOpset] != src {
			t.Fatalf("opset %d decoded as %d (source %q)", v, g.Opset, g.Meta[onnx.MetaSourceOpset])
		}
	}
}

func TestTensorFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tensors := []*nn.Tensor{
		mustF32(t, []float32{1.5, -2, float32(math.Inf(1)), 0}, 2, 2),
		{DType: nn.Int8, Shape: []int{3}, I8: []int8{-128, 0, 127}},
		{DType: nn.Uint8, Shape: []int{1, 2}, U8: []uint8{0, 255}},
		{DType: nn.Int32, Shape: []int{}, I32: []int32{-5}},
		{DType: nn.Int64, Shape: []int{2}, I64: []int64{1 << 50, -1}},
		{DType: nn.Float32, Shape: []int{0, 3}},
	}
	for i, want := range tensors {
		path := filepath.Join(dir, fmt.Sprintf("t%d.pb", i))
		if err := onnx.WriteTensor(path, want); err != nil {
			t.Fatal(err)
		}
		got, err := onnx.ReadTensor(path)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type().String() != want.Type().String() || string(got.Bytes()) != string(want.Bytes()) {
			t.Fatalf("tensor %d: got %v, want %v", i, got.Type(), want.Type())
		}
	}
	if err := onnx.WriteTensor(filepath.Join(dir, "bad.pb"), &nn.Tensor{DType: nn.Float32, Shape: []int{3}, F32: []float32{1}}); !errors.Is(err, nn.ErrShape) {
		t.Fatalf("inconsistent tensor: error %v, want nn.ErrShape", err)
	}
	if _, err := onnx.ReadTensor(filepath.Join(dir, "missing.pb")); err == nil {
		t.Fatal("missing file: no error")
	}
}

func mustF32(t testing.TB, v []float32, shape ...int) *nn.Tensor {
	t.Helper()
	x, err := nn.FromFloat32(v, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestEncodeQuantAndDomains round-trips quantization parameters of
// constants, custom-domain ops and metadata.
func TestEncodeQuantAndDomains(t *testing.T) {
	w := &nn.Tensor{DType: nn.Int8, Shape: []int{2, 3}, I8: []int8{1, 2, 3, -1, -2, -3},
		Quant: &nn.Quant{Scale: []float32{0.5, 0.25}, ZeroPoint: []int32{0, 1}, Axis: 0}}
	b := &nn.Tensor{DType: nn.Int32, Shape: []int{2}, I32: []int32{7, 8}, Quant: &nn.Quant{Scale: []float32{0.125}, ZeroPoint: []int32{0}}}
	g := &nn.Graph{
		Name:    "q",
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Int8, Shape: []int{-1, 3}}}},
		Outputs: []nn.ValueInfo{{Name: "y", Type: nn.Type{DType: nn.Int8, Shape: []int{-1, 2}}}},
		Nodes: []*nn.Node{{Name: "fc", Op: "com.example.QGemm", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"},
			Attrs: map[string]nn.Attr{"alpha": {Kind: nn.AttrFloat, Float: 2}, "mode": {Kind: nn.AttrString, Str: "fast"}, "k": {Kind: nn.AttrInts, Ints: []int64{1, 2}}}}},
		Consts: map[string]*nn.Tensor{"w": w, "b": b},
		Opset:  21,
		Meta:   map[string]string{"calibration": "minmax"},
	}
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	var m pb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if m.IrVersion != 10 || len(m.OpsetImport) != 2 || m.OpsetImport[1].Domain != "com.example" || m.Graph.Node[0].OpType != "QGemm" {
		t.Fatalf("ir %d opsets %v node %v", m.IrVersion, m.OpsetImport, m.Graph.Node[0])
	}
	g2, err := onnx.Decode(data, onnx.WithoutOptimize())
	if err != nil {
		t.Fatal(err)
	}
	if g2.Nodes[0].Op != "com.example.QGemm" || g2.Meta["calibration"] != "minmax" || g2.Nodes[0].AttrString("mode", "") != "fast" {
		t.Fatalf("decoded node %+v meta %v", g2.Nodes[0], g2.Meta)
	}
	q := g2.Consts["w"].Quant
	if q == nil || fmt.Sprint(q.Scale, q.ZeroPoint, q.Axis) != "[0.5 0.25] [0 1] 0" {
		t.Fatalf("w quant %+v", q)
	}
	if q := g2.Consts["b"].Quant; q == nil || fmt.Sprint(q.Scale, q.ZeroPoint) != "[0.125] [0]" {
		t.Fatalf("b quant %+v", q)
	}
}

// TestDoubleTensors: float64 tensors (raw or double_data) and inputs read
// as float32.
func TestDoubleTensors(t *testing.T) {
	raw := binary.LittleEndian.AppendUint64(nil, math.Float64bits(1.5))
	raw = binary.LittleEndian.AppendUint64(raw, math.Float64bits(-2.25))
	for _, tp := range []*pb.TensorProto{
		{DataType: 11, Dims: []int64{2}, RawData: raw},
		{DataType: 11, Dims: []int64{2}, DoubleData: []float64{1.5, -2.25}},
	} {
		got, err := onnx.DecodeTensor(marshal(t, tp))
		if err != nil {
			t.Fatal(err)
		}
		if got.DType != nn.Float32 || fmt.Sprint(got.F32) != "[1.5 -2.25]" {
			t.Fatalf("got %v %v", got.Type(), got.F32)
		}
	}
	if _, err := onnx.DecodeTensor(marshal(t, &pb.TensorProto{DataType: 11, Dims: []int64{3}, RawData: raw})); !errors.Is(err, onnx.ErrFormat) {
		t.Fatalf("short double tensor: error %v", err)
	}
	m := tinyModel()
	m.Graph.Input[0] = valueInfo("X", 11, -1, 3)
	if g, err := onnx.Decode(marshal(t, m)); err != nil || g.Inputs[0].Type.DType != nn.Float32 {
		t.Fatalf("double input: %v", err)
	}
}
