// Package onnx reads and writes ONNX models and TensorProto files for the
// nn engine.
//
// Load and Decode turn an ONNX ModelProto (default-domain opset 7 to 21,
// and 6 where the adapters can map it) into an *nn.Graph, reading each node
// by the semantics of the declared opset (see opset.go), and, unless WithoutOptimize is given, run nn.Optimize on
// it (constant folding, shape folding, BatchNorm folding, Identity/Dropout
// removal). Encode and Save write a graph back as an ONNX model that ONNX
// Runtime accepts. ReadTensor and WriteTensor handle the TensorProto .pb
// files of ONNX test data sets.
//
// Decoding is bounded: a malformed or hostile file gives an error, never a
// panic, and no allocation is larger than the file's own data justifies.
package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
)

// Errors returned by the decoder. Callers match them with errors.Is.
var (
	// ErrFormat reports a file that is not a well-formed ONNX model or tensor.
	ErrFormat = errors.New("onnx: malformed model")
	// ErrOpset reports an opset outside MinOpset..MaxOpset.
	ErrOpset = errors.New("onnx: unsupported opset")
	// ErrExternalData reports tensors stored outside the model file that
	// cannot be read: decoded from bytes (only Load knows the model's
	// directory), a location outside the model's directory, or a file
	// shorter than the tensor.
	ErrExternalData = errors.New("onnx: external data")
	// ErrUnsupported reports a valid ONNX feature the engine does not handle
	// (sub-graphs, sparse tensors, string tensors, float64, ...).
	ErrUnsupported = errors.New("onnx: unsupported feature")
	// ErrTooLarge reports a file above the size limit.
	ErrTooLarge = errors.New("onnx: file too large")
)

// Supported default-domain ("" or "ai.onnx") opset versions. Models at
// opset 6 load when every node maps onto its opset-7 meaning; nodes that
// do not are reported in an *UnsupportedOpsError.
const (
	MinOpset = 6
	MaxOpset = 21
)

// Decoder limits.
const (
	// DefaultMaxFileSize is the largest model file Load reads unless
	// WithMaxSize says otherwise (protobuf itself cannot exceed 2 GiB).
	DefaultMaxFileSize = 1 << 30
	maxRank            = 16
	maxNodes           = 1 << 20
)

// Option configures Load and Decode.
type Option func(*config)

type config struct {
	optimize bool
	maxSize  int64
}

func newConfig(opts []Option) config {
	c := config{optimize: true, maxSize: DefaultMaxFileSize}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithoutOptimize makes Load and Decode return the graph as written in the
// file, without running nn.Optimize.
func WithoutOptimize() Option { return func(c *config) { c.optimize = false } }

// WithMaxSize sets the largest file Load accepts, in bytes
// (default DefaultMaxFileSize).
func WithMaxSize(n int64) Option { return func(c *config) { c.maxSize = n } }

// Load reads an ONNX model file. By default the graph is optimized with
// nn.Optimize; pass WithoutOptimize to get it as written. Tensors saved as
// external data (save_as_external_data) are read from files in the model's
// directory; a location outside it (absolute, or escaping with ".." or a
// symbolic link) is refused with ErrExternalData.
func Load(path string, opts ...Option) (*nn.Graph, error) {
	c := newConfig(opts)
	data, err := readFile(path, c.maxSize)
	if err != nil {
		return nil, err
	}
	g, err := decode(data, c, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return g, nil
}

func readFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if st.Size() > max {
		return nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrTooLarge, path, st.Size(), max)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: %s exceeds %d bytes", ErrTooLarge, path, max)
	}
	return data, nil
}

// Decode parses an ONNX model from its serialized bytes. By default the
// graph is optimized with nn.Optimize; pass WithoutOptimize to get it as
// written.
func Decode(data []byte, opts ...Option) (*nn.Graph, error) {
	return decode(data, newConfig(opts), "")
}

// decode parses and imports a model; dir is the directory external data
// is read from ("": external data is refused).
func decode(data []byte, c config, dir string) (*nn.Graph, error) {
	if int64(len(data)) > c.maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), c.maxSize)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if dir != "" {
		if err := inlineExternalData(&m, dir, c.maxSize); err != nil {
			return nil, err
		}
	}
	g, err := fromModel(&m)
	if err != nil {
		return nil, err
	}
	if c.optimize {
		og, err := nn.Optimize(g)
		if err != nil {
			return nil, fmt.Errorf("onnx: optimizing %q: %w", g.Name, err)
		}
		g = og
	}
	return g, nil
}

func fromModel(m *onnxpb.ModelProto) (*nn.Graph, error) {
	opset := -1
	for _, o := range m.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			if opset >= 0 {
				return nil, fmt.Errorf("%w: default-domain opset imported twice", ErrFormat)
			}
			if o.GetVersion() < 0 || o.GetVersion() > math.MaxInt32 {
				return nil, fmt.Errorf("%w: opset version %d", ErrOpset, o.GetVersion())
			}
			opset = int(o.GetVersion())
		}
	}
	if opset < 0 {
		return nil, fmt.Errorf("%w: the model imports no default-domain opset (opset_import is empty)", ErrOpset)
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("%w: model uses opset %d, supported are %d to %d (re-export with opset_version=17)", ErrOpset, opset, MinOpset, MaxOpset)
	}
	gp := m.GetGraph()
	if gp == nil {
		return nil, fmt.Errorf("%w: no graph", ErrFormat)
	}
	if len(gp.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("%w: sparse initializers", ErrUnsupported)
	}
	if len(gp.GetNode()) > maxNodes {
		return nil, fmt.Errorf("%w: %d nodes", ErrFormat, len(gp.GetNode()))
	}
	g := &nn.Graph{
		Name:   gp.GetName(),
		Consts: make(map[string]*nn.Tensor, len(gp.GetInitializer())),
		Opset:  opset,
		Meta:   map[string]string{},
	}
	if m.GetProducerName() != "" {
		g.Meta["producer_name"] = m.GetProducerName()
	}
	if m.GetProducerVersion() != "" {
		g.Meta["producer_version"] = m.GetProducerVersion()
	}
	if m.GetIrVersion() != 0 {
		g.Meta["ir_version"] = strconv.FormatInt(m.GetIrVersion(), 10)
	}
	for _, p := range m.GetMetadataProps() {
		g.Meta[p.GetKey()] = p.GetValue()
	}
	for i, tp := range gp.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			return nil, fmt.Errorf("%w: initializer %d has no name", ErrFormat, i)
		}
		if _, dup := g.Consts[name]; dup {
			return nil, fmt.Errorf("%w: initializer %q repeated", ErrFormat, name)
		}
		t, err := tensorFromProto(tp)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", name, err)
		}
		g.Consts[name] = t
	}
	if err := applyQuantAnnotations(g, gp.GetQuantizationAnnotation()); err != nil {
		return nil, err
	}
	for _, vi := range gp.GetInput() {
		if _, isConst := g.Consts[vi.GetName()]; isConst {
			continue // IR < 4 lists initializers among the inputs
		}
		v, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("graph input: %w", err)
		}
		g.Inputs = append(g.Inputs, v)
	}
	for _, vi := range gp.GetOutput() {
		v, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("graph output: %w", err)
		}
		g.Outputs = append(g.Outputs, v)
		if et := vi.GetType().GetTensorType().GetElemType(); et == onnxBool || et == onnxDouble {
			g.Meta[MetaOutputElemType+v.Name] = strconv.FormatInt(int64(et), 10)
		}
	}
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("%w: graph has no outputs", ErrFormat)
	}
	var problems []OpProblem
	names := make(map[string]bool, len(gp.GetNode()))
	for i, np := range gp.GetNode() {
		if np.GetOpType() == "Constant" && (np.GetDomain() == "" || np.GetDomain() == "ai.onnx") {
			if len(np.GetOutput()) != 1 || np.GetOutput()[0] == "" {
				return nil, fmt.Errorf("%w: Constant node %d needs exactly one output", ErrFormat, i)
			}
			out := np.GetOutput()[0]
			if _, dup := g.Consts[out]; dup {
				return nil, fmt.Errorf("%w: tensor %q defined twice", ErrFormat, out)
			}
			t, err := constantValue(np)
			if err != nil {
				return nil, fmt.Errorf("Constant node %q: %w", np.GetName(), err)
			}
			g.Consts[out] = t
			continue
		}
		n, err := nodeFromProto(np)
		if errors.Is(err, ErrUnsupported) {
			problems = append(problems, OpProblem{Node: np.GetName(), Op: np.GetOpType(), Opset: opset, Reason: err.Error()})
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("node %d %q (%s): %w", i, np.GetName(), np.GetOpType(), err)
		}
		if n.Name == "" || names[n.Name] {
			base := n.Name
			if base == "" {
				base = n.Op
			}
			for k := i; ; k++ {
				cand := base + "_" + strconv.Itoa(k)
				if !names[cand] {
					n.Name = cand
					break
				}
			}
		}
		names[n.Name] = true
		g.Nodes = append(g.Nodes, n)
	}
	for _, in := range g.Inputs {
		if _, c := g.Consts[in.Name]; c {
			return nil, fmt.Errorf("%w: %q is both a graph input and a constant", ErrFormat, in.Name)
		}
	}
	if len(problems) > 0 {
		problems = append(problems, missingKernels(g.Nodes, opset)...)
		return nil, &UnsupportedOpsError{Problems: problems}
	}
	if err := g.TopoSort(); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	var declared []nn.ValueInfo
	for _, vi := range gp.GetValueInfo() {
		if v, err := valueInfo(vi); err == nil {
			declared = append(declared, v)
		}
	}
	if ps := upgradeGraph(g, opset, valueInfoRanks(declared)); len(ps) > 0 {
		return nil, &UnsupportedOpsError{Problems: ps}
	}
	if err := g.TopoSort(); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return g, nil
}

func nodeFromProto(np *onnxpb.NodeProto) (*nn.Node, error) {
	op := np.GetOpType()
	if op == "" {
		return nil, fmt.Errorf("%w: node without op_type", ErrFormat)
	}
	if d := np.GetDomain(); d != "" && d != "ai.onnx" {
		op = d + "." + op
	}
	n := &nn.Node{
		Name:    np.GetName(),
		Op:      op,
		Inputs:  append([]string(nil), np.GetInput()...),
		Outputs: append([]string(nil), np.GetOutput()...),
		Attrs:   make(map[string]nn.Attr, len(np.GetAttribute())),
	}
	for _, ap := range np.GetAttribute() {
		if _, dup := n.Attrs[ap.GetName()]; dup {
			return nil, fmt.Errorf("%w: attribute %q repeated", ErrFormat, ap.GetName())
		}
		a, err := attrFromProto(ap)
		if err != nil {
			return nil, err
		}
		n.Attrs[ap.GetName()] = a
	}
	return n, nil
}

func attrFromProto(ap *onnxpb.AttributeProto) (nn.Attr, error) {
	if ap.GetName() == "" {
		return nn.Attr{}, fmt.Errorf("%w: attribute without a name", ErrFormat)
	}
	if ap.GetRefAttrName() != "" {
		return nn.Attr{}, fmt.Errorf("%w: attribute %q refers to a function attribute", ErrUnsupported, ap.GetName())
	}
	switch ap.GetType() {
	case onnxpb.AttributeProto_FLOAT:
		return nn.Attr{Kind: nn.AttrFloat, Float: ap.GetF()}, nil
	case onnxpb.AttributeProto_INT:
		return nn.Attr{Kind: nn.AttrInt, Int: ap.GetI()}, nil
	case onnxpb.AttributeProto_STRING:
		return nn.Attr{Kind: nn.AttrString, Str: string(ap.GetS())}, nil
	case onnxpb.AttributeProto_FLOATS:
		return nn.Attr{Kind: nn.AttrFloats, Floats: append([]float32(nil), ap.GetFloats()...)}, nil
	case onnxpb.AttributeProto_INTS:
		return nn.Attr{Kind: nn.AttrInts, Ints: append([]int64(nil), ap.GetInts()...)}, nil
	case onnxpb.AttributeProto_STRINGS:
		s := make([]string, len(ap.GetStrings()))
		for i, b := range ap.GetStrings() {
			s[i] = string(b)
		}
		return nn.Attr{Kind: nn.AttrStrings, Strs: s}, nil
	case onnxpb.AttributeProto_TENSOR:
		if ap.GetT() == nil {
			return nn.Attr{}, fmt.Errorf("%w: tensor attribute %q without a tensor", ErrFormat, ap.GetName())
		}
		t, err := tensorFromProto(ap.GetT())
		if err != nil {
			return nn.Attr{}, fmt.Errorf("attribute %q: %w", ap.GetName(), err)
		}
		return nn.Attr{Kind: nn.AttrTensor, Tensor: t}, nil
	case onnxpb.AttributeProto_GRAPH, onnxpb.AttributeProto_GRAPHS:
		return nn.Attr{}, fmt.Errorf("%w: attribute %q holds a sub-graph (control flow)", ErrUnsupported, ap.GetName())
	case onnxpb.AttributeProto_UNDEFINED:
		return nn.Attr{}, fmt.Errorf("%w: attribute %q has no type", ErrFormat, ap.GetName())
	}
	return nn.Attr{}, fmt.Errorf("%w: attribute %q of type %v", ErrUnsupported, ap.GetName(), ap.GetType())
}

// constantValue converts a Constant node's value attribute into a tensor.
func constantValue(np *onnxpb.NodeProto) (*nn.Tensor, error) {
	if len(np.GetAttribute()) != 1 {
		return nil, fmt.Errorf("%w: a Constant node needs exactly one attribute, has %d", ErrFormat, len(np.GetAttribute()))
	}
	ap := np.GetAttribute()[0]
	switch ap.GetName() {
	case "value":
		if ap.GetT() == nil {
			return nil, fmt.Errorf("%w: value attribute without a tensor", ErrFormat)
		}
		return tensorFromProto(ap.GetT())
	case "value_float":
		return &nn.Tensor{DType: nn.Float32, Shape: []int{}, F32: []float32{ap.GetF()}}, nil
	case "value_floats":
		f := append([]float32(nil), ap.GetFloats()...)
		return &nn.Tensor{DType: nn.Float32, Shape: []int{len(f)}, F32: f}, nil
	case "value_int":
		return &nn.Tensor{DType: nn.Int64, Shape: []int{}, I64: []int64{ap.GetI()}}, nil
	case "value_ints":
		v := append([]int64(nil), ap.GetInts()...)
		return &nn.Tensor{DType: nn.Int64, Shape: []int{len(v)}, I64: v}, nil
	}
	return nil, fmt.Errorf("%w: Constant attribute %q", ErrUnsupported, ap.GetName())
}

func valueInfo(vi *onnxpb.ValueInfoProto) (nn.ValueInfo, error) {
	v := nn.ValueInfo{Name: vi.GetName()}
	if v.Name == "" {
		return v, fmt.Errorf("%w: value without a name", ErrFormat)
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		// No type, or a kind this subset of onnx.proto does not list
		// (sequence, map, optional): left undefined; a non-tensor value
		// then fails in the kernel that reads it.
		return v, nil
	}
	dt, err := dtypeFromONNX(tt.GetElemType())
	switch tt.GetElemType() {
	case onnxBool:
		dt, err = nn.Uint8, nil // booleans are uint8 0/1, as in tensorFromProto
	case onnxDouble:
		dt, err = nn.Float32, nil // computed in float32, as in tensorFromProto
	}
	if err != nil {
		return v, fmt.Errorf("%q: %w", v.Name, err)
	}
	v.Type.DType = dt
	if sh := tt.GetShape(); sh != nil {
		dims := sh.GetDim()
		if len(dims) > maxRank {
			return v, fmt.Errorf("%w: %q has rank %d", ErrFormat, v.Name, len(dims))
		}
		v.Type.Shape = make([]int, len(dims))
		for i, d := range dims {
			switch x := d.GetValue().(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				if x.DimValue < 0 || x.DimValue > math.MaxInt32 {
					return v, fmt.Errorf("%w: %q dimension %d is %d", ErrFormat, v.Name, i, x.DimValue)
				}
				v.Type.Shape[i] = int(x.DimValue)
			default:
				v.Type.Shape[i] = -1
			}
		}
	}
	return v, nil
}

// ONNX TensorProto data types the engine maps onto its own dtypes.
const (
	onnxFloat  = 1
	onnxUint8  = 2
	onnxInt8   = 3
	onnxInt32  = 6
	onnxInt64  = 7
	onnxBool   = 9
	onnxDouble = 11
)

func dtypeFromONNX(t int32) (nn.DType, error) {
	switch t {
	case onnxFloat:
		return nn.Float32, nil
	case onnxUint8:
		return nn.Uint8, nil
	case onnxInt8:
		return nn.Int8, nil
	case onnxInt32:
		return nn.Int32, nil
	case onnxInt64:
		return nn.Int64, nil
	}
	name := onnxpb.TensorProto_DataType(t).String()
	if name == "" || name == strconv.Itoa(int(t)) {
		name = "data type " + strconv.Itoa(int(t))
	}
	return nn.Undefined, fmt.Errorf("%w: element type %s", ErrUnsupported, name)
}

func dtypeToONNX(d nn.DType) (int32, error) {
	switch d {
	case nn.Float32:
		return onnxFloat, nil
	case nn.Uint8:
		return onnxUint8, nil
	case nn.Int8:
		return onnxInt8, nil
	case nn.Int32:
		return onnxInt32, nil
	case nn.Int64:
		return onnxInt64, nil
	}
	return 0, fmt.Errorf("onnx: cannot encode %w %v", nn.ErrDType, d)
}

// tensorFromProto converts a TensorProto, checking the declared shape
// against the data actually present before allocating anything.
func tensorFromProto(tp *onnxpb.TensorProto) (*nn.Tensor, error) {
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fmt.Errorf("%w: tensor %q is stored in another file: load the model with Load from its file", ErrExternalData, tp.GetName())
	}
	if tp.GetSegment() != nil {
		return nil, fmt.Errorf("%w: segmented tensor", ErrUnsupported)
	}
	if tp.GetDataType() == onnxDouble {
		return doubleTensor(tp)
	}
	isBool := tp.GetDataType() == onnxBool
	dt, err := dtypeFromONNX(tp.GetDataType())
	if isBool {
		// Boolean constants (Dropout's training_mode, masks) are held as
		// uint8 0/1, which is also their byte layout in raw_data.
		dt, err = nn.Uint8, nil
	}
	if err != nil {
		return nil, err
	}
	shape, n, err := tensorShape(tp)
	if err != nil {
		return nil, err
	}
	if raw := tp.GetRawData(); len(raw) > 0 || (n == 0 && !hasTypedData(tp)) {
		if n > len(raw) || n*dt.Size() != len(raw) {
			return nil, fmt.Errorf("%w: %v%v needs %d bytes, raw_data has %d", ErrFormat, dt, shape, n*dt.Size(), len(raw))
		}
		t, err := nn.FromBytes(dt, shape, raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if isBool {
			for i, v := range t.U8 {
				if v > 1 {
					return nil, fmt.Errorf("%w: boolean value %d at %d", ErrFormat, v, i)
				}
			}
		}
		return t, nil
	}
	t := &nn.Tensor{DType: dt, Shape: shape}
	count := func(have int) error {
		if have != n {
			return fmt.Errorf("%w: %v%v needs %d values, the tensor holds %d", ErrFormat, dt, shape, n, have)
		}
		return nil
	}
	switch dt {
	case nn.Float32:
		if err := count(len(tp.GetFloatData())); err != nil {
			return nil, err
		}
		t.F32 = append([]float32(nil), tp.GetFloatData()...)
	case nn.Int64:
		if err := count(len(tp.GetInt64Data())); err != nil {
			return nil, err
		}
		t.I64 = append([]int64(nil), tp.GetInt64Data()...)
	case nn.Int32:
		if err := count(len(tp.GetInt32Data())); err != nil {
			return nil, err
		}
		t.I32 = append([]int32(nil), tp.GetInt32Data()...)
	case nn.Int8:
		src := tp.GetInt32Data()
		if err := count(len(src)); err != nil {
			return nil, err
		}
		t.I8 = make([]int8, n)
		for i, v := range src {
			if v < math.MinInt8 || v > math.MaxInt8 {
				return nil, fmt.Errorf("%w: int8 value %d out of range", ErrFormat, v)
			}
			t.I8[i] = int8(v)
		}
	case nn.Uint8:
		src := tp.GetInt32Data()
		if err := count(len(src)); err != nil {
			return nil, err
		}
		t.U8 = make([]uint8, n)
		for i, v := range src {
			if v < 0 || v > math.MaxUint8 || (isBool && v > 1) {
				return nil, fmt.Errorf("%w: %s value %d out of range", ErrFormat, onnxpb.TensorProto_DataType(tp.GetDataType()), v)
			}
			t.U8[i] = uint8(v)
		}
	}
	return t, nil
}

// tensorShape reads tp's dimensions, bounded: rank at most maxRank, each
// dimension in [0, MaxInt32], and an element count n that does not
// overflow.
func tensorShape(tp *onnxpb.TensorProto) (shape []int, n int, err error) {
	dims := tp.GetDims()
	if len(dims) > maxRank {
		return nil, 0, fmt.Errorf("%w: tensor rank %d", ErrFormat, len(dims))
	}
	shape = make([]int, len(dims))
	for i, d := range dims {
		if d < 0 || d > math.MaxInt32 {
			return nil, 0, fmt.Errorf("%w: tensor dimension %d is %d", ErrFormat, i, d)
		}
		shape[i] = int(d)
	}
	if n = nn.NumElements(shape); n < 0 {
		return nil, 0, fmt.Errorf("%w: tensor shape %v overflows", ErrFormat, shape)
	}
	return shape, n, nil
}

// doubleTensor reads a float64 tensor as float32 (the engine computes in
// float32; PyTorch-converted tests and some exporters write doubles).
func doubleTensor(tp *onnxpb.TensorProto) (*nn.Tensor, error) {
	shape, n, err := tensorShape(tp)
	if err != nil {
		return nil, err
	}
	t := &nn.Tensor{DType: nn.Float32, Shape: shape}
	if raw := tp.GetRawData(); len(raw) > 0 || len(tp.GetDoubleData()) == 0 {
		if n > len(raw) || len(raw) != 8*n {
			return nil, fmt.Errorf("%w: double%v needs %d bytes, raw_data has %d", ErrFormat, shape, 8*n, len(raw))
		}
		t.F32 = make([]float32, n)
		for i := range t.F32 {
			t.F32[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
		return t, nil
	}
	if len(tp.GetDoubleData()) != n {
		return nil, fmt.Errorf("%w: double%v needs %d values, the tensor holds %d", ErrFormat, shape, n, len(tp.GetDoubleData()))
	}
	t.F32 = make([]float32, n)
	for i, v := range tp.GetDoubleData() {
		t.F32[i] = float32(v)
	}
	return t, nil
}

func hasTypedData(tp *onnxpb.TensorProto) bool {
	return len(tp.GetFloatData()) > 0 || len(tp.GetInt32Data()) > 0 || len(tp.GetInt64Data()) > 0 ||
		len(tp.GetDoubleData()) > 0 || len(tp.GetUint64Data()) > 0 || len(tp.GetStringData()) > 0
}

// Quantization annotation keys (ONNX TensorAnnotation): the names of the
// constant tensors holding a tensor's scale, zero point and, for per-channel
// parameters, the axis (splitinfer's own key, an int64 scalar).
const (
	annScale     = "SCALE_TENSOR"
	annZeroPoint = "ZERO_POINT_TENSOR"
	annAxis      = "SPLITINFER_AXIS_TENSOR"
)

// applyQuantAnnotations attaches quantization parameters written by Encode
// (or any tool using ONNX quantization annotations) to constant tensors.
// Annotations on non-constant tensors are ignored: the graph's Q/DQ nodes
// carry those.
func applyQuantAnnotations(g *nn.Graph, anns []*onnxpb.TensorAnnotation) error {
	for _, a := range anns {
		t, ok := g.Consts[a.GetTensorName()]
		if !ok {
			continue
		}
		var scale, zp, axis *nn.Tensor
		for _, kv := range a.GetQuantParameterTensorNames() {
			v := g.Consts[kv.GetValue()]
			switch kv.GetKey() {
			case annScale:
				scale = v
			case annZeroPoint:
				zp = v
			case annAxis:
				axis = v
			}
		}
		if scale == nil || scale.DType != nn.Float32 || len(scale.F32) == 0 {
			return fmt.Errorf("%w: quantization annotation of %q lacks a float scale", ErrFormat, a.GetTensorName())
		}
		q := &nn.Quant{Scale: append([]float32(nil), scale.F32...)}
		if zp != nil {
			if zp.Len() != len(q.Scale) {
				return fmt.Errorf("%w: %q has %d scales and %d zero points", ErrFormat, a.GetTensorName(), len(q.Scale), zp.Len())
			}
			q.ZeroPoint = make([]int32, zp.Len())
			for i := range q.ZeroPoint {
				switch zp.DType {
				case nn.Int8:
					q.ZeroPoint[i] = int32(zp.I8[i])
				case nn.Uint8:
					q.ZeroPoint[i] = int32(zp.U8[i])
				case nn.Int32:
					q.ZeroPoint[i] = zp.I32[i]
				default:
					return fmt.Errorf("%w: zero point of %q is %v", ErrFormat, a.GetTensorName(), zp.DType)
				}
			}
		} else {
			q.ZeroPoint = make([]int32, len(q.Scale))
		}
		if axis != nil {
			if axis.DType != nn.Int64 || len(axis.I64) != 1 || axis.I64[0] < 0 || axis.I64[0] >= int64(max(len(t.Shape), 1)) {
				return fmt.Errorf("%w: quantization axis of %q", ErrFormat, a.GetTensorName())
			}
			q.Axis = int(axis.I64[0])
		}
		if len(q.Scale) > 1 && (q.Axis >= len(t.Shape) || t.Shape[q.Axis] != len(q.Scale)) {
			return fmt.Errorf("%w: %q has %d scales for shape %v axis %d", ErrFormat, a.GetTensorName(), len(q.Scale), t.Shape, q.Axis)
		}
		t.Quant = q
	}
	return nil
}
