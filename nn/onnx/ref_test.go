package onnx_test

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	pb "github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
)

// refModels are the float reference models with an ONNX Runtime test data set.
var refModels = []string{"seednet_mnist", "tinyresnet_mnist", "mobilenet_v2"}

// maxAbsDiff returns the largest |a-b| over two float32 tensors of one shape.
func maxAbsDiff(t testing.TB, a, b *nn.Tensor) float64 {
	t.Helper()
	if a.DType != nn.Float32 || b.DType != nn.Float32 {
		t.Fatalf("dtypes %v and %v, want float32", a.DType, b.DType)
	}
	if fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) {
		t.Fatalf("shapes %v and %v differ", a.Shape, b.Shape)
	}
	d := 0.0
	for i := range a.F32 {
		v := math.Abs(float64(a.F32[i]) - float64(b.F32[i]))
		if math.IsNaN(v) {
			return math.Inf(1)
		}
		d = max(d, v)
	}
	return d
}

func runRef(t *testing.T, g *nn.Graph, model string) float64 {
	t.Helper()
	dir := testref.Path(t, model, "test_data_set_0")
	in, err := onnx.ReadTensor(filepath.Join(dir, "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := onnx.ReadTensor(filepath.Join(dir, "output_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewRunner(2).Run(in)
	if err != nil {
		t.Fatal(err)
	}
	d := maxAbsDiff(t, out[0], want)
	scale := 0.0
	for _, v := range want.F32 {
		scale = max(scale, math.Abs(float64(v)))
	}
	t.Logf("%s: max abs diff %.3g (largest |output| %.3g)", model, d, scale)
	// mobilenet_v2 has random weights and outputs near 1e-9, where an
	// absolute bound means nothing: also bound the error relative to the
	// output's magnitude.
	if d > 1e-4*scale {
		t.Errorf("%s: max abs diff %.3g exceeds 1e-4 of the largest output %.3g", model, d, scale)
	}
	return d
}

// TestReferenceOutputs runs every reference model on its test data set and
// compares with ONNX Runtime's output, optimized and as written in the file.
func TestReferenceOutputs(t *testing.T) {
	for _, m := range refModels {
		t.Run(m, func(t *testing.T) {
			g, err := onnx.Load(testref.Path(t, m+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			d := runRef(t, g, m)
			if !(d <= 1e-4) {
				t.Fatalf("max abs diff %g > 1e-4", d)
			}
		})
	}
}

// TestReferenceOutputsUnoptimized checks that the optimizer does not change
// results: the graph as written gives the same outputs (when every op it
// uses has a kernel).
func TestReferenceOutputsUnoptimized(t *testing.T) {
	for _, m := range refModels {
		t.Run(m, func(t *testing.T) {
			g, err := onnx.Load(testref.Path(t, m+".onnx"), onnx.WithoutOptimize())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := nn.Compile(g); errors.Is(err, nn.ErrUnsupported) {
				t.Skipf("raw graph does not compile (an op only the optimizer removes): %v", err)
			} else if err != nil {
				t.Fatal(err)
			}
			if d := runRef(t, g, m); !(d <= 1e-4) {
				t.Fatalf("unoptimized max abs diff %g > 1e-4", d)
			}
		})
	}
}

// TestSeednetReshapeFolded checks that the dynamic reshape of the seed
// network (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) becomes one
// Reshape with a constant target, and that batch sizes other than the
// reference's still work.
func TestSeednetReshapeFolded(t *testing.T) {
	g, err := onnx.Load(testref.Path(t, "seednet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var reshape *nn.Node
	for _, n := range g.Nodes {
		switch n.Op {
		case "Shape", "Gather", "Unsqueeze", "Concat":
			t.Errorf("shape op %s (%s) survived optimization", n.Name, n.Op)
		case "Reshape":
			reshape = n
		}
	}
	if reshape == nil {
		t.Fatal("no Reshape left")
	}
	target := g.Consts[reshape.Inputs[1]]
	// The file's Concat joins the batch with a constant 2048 (C*H*W).
	if target == nil || target.DType != nn.Int64 || (fmt.Sprint(target.I64) != "[0 2048]" && fmt.Sprint(target.I64) != "[0 -1]") {
		t.Fatalf("reshape target %v, want constant [0 2048] or [0 -1]", target)
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(1)
	for _, b := range []int{1, 5, 32} {
		out, err := r.Run(nn.New(nn.Float32, b, 1, 32, 32))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(out[0].Shape) != fmt.Sprint([]int{b, 10}) {
			t.Fatalf("batch %d: output shape %v", b, out[0].Shape)
		}
	}
}

// TestRoundTripReference encodes each reference model and decodes it again:
// same outputs, same constants.
func TestRoundTripReference(t *testing.T) {
	for _, m := range refModels {
		t.Run(m, func(t *testing.T) {
			g, err := onnx.Load(testref.Path(t, m+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			data, err := onnx.Encode(g)
			if err != nil {
				t.Fatal(err)
			}
			// Fused activations are written as ONNX Relu/Clip nodes, which
			// ONNX Runtime understands, and fused again when decoding.
			var mp pb.ModelProto
			if err := proto.Unmarshal(data, &mp); err != nil {
				t.Fatal(err)
			}
			acts := 0
			for _, n := range mp.Graph.Node {
				for _, a := range n.Attribute {
					if strings.HasPrefix(a.Name, "activation") {
						t.Fatalf("encoded node %s carries the non-ONNX attribute %q", n.Name, a.Name)
					}
				}
				if n.OpType == "Relu" || n.OpType == "Clip" {
					acts++
				}
			}
			if acts == 0 {
				t.Fatal("no Relu/Clip in the encoded model")
			}
			g2, err := onnx.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(g2.Nodes) != len(g.Nodes) || len(g2.Consts) != len(g.Consts) || g2.Opset != g.Opset {
				t.Fatalf("round trip: %d nodes %d consts opset %d, want %d %d %d",
					len(g2.Nodes), len(g2.Consts), g2.Opset, len(g.Nodes), len(g.Consts), g.Opset)
			}
			for name, c := range g.Consts {
				c2 := g2.Consts[name]
				if c2 == nil || string(c2.Bytes()) != string(c.Bytes()) || fmt.Sprint(c2.Shape) != fmt.Sprint(c.Shape) {
					t.Fatalf("constant %q changed in the round trip", name)
				}
			}
			if d := runRef(t, g2, m); !(d <= 1e-4) {
				t.Fatalf("round-tripped model: max abs diff %g", d)
			}
		})
	}
}

// TestOptimizeIdempotent: optimizing an optimized reference model changes
// nothing, and optimizing does not touch the graph it is given.
func TestOptimizeIdempotent(t *testing.T) {
	for _, m := range refModels {
		raw, err := onnx.Load(testref.Path(t, m+".onnx"), onnx.WithoutOptimize())
		if err != nil {
			t.Fatal(err)
		}
		before := nn.Hash(raw)
		once, err := nn.Optimize(raw)
		if err != nil {
			t.Fatal(err)
		}
		if nn.Hash(raw) != before {
			t.Fatalf("%s: Optimize modified its argument", m)
		}
		twice, err := nn.Optimize(once)
		if err != nil {
			t.Fatal(err)
		}
		if nn.Hash(twice) != nn.Hash(once) {
			t.Fatalf("%s: a second Optimize changed the graph (%d -> %d nodes)", m, len(once.Nodes), len(twice.Nodes))
		}
		if len(once.Nodes) >= len(raw.Nodes) {
			t.Errorf("%s: %d nodes before optimizing, %d after", m, len(raw.Nodes), len(once.Nodes))
		}
	}
}
