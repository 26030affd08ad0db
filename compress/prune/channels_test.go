package prune_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/compress/prune"
	"github.com/splitinfer/splitinfer/nn"
)

// mobileNetV2Block is a MobileNetV2-style graph: a stem conv, an inverted
// residual block (1x1 expand, 3x3 depthwise, 1x1 project, Clip as ReLU6)
// added to the stem's output, GlobalAveragePool, Flatten, Gemm. In every
// channel space the odd channels have all-zero filters and biases, so they
// are the weakest and removing them must not change the output.
func mobileNetV2Block() *nn.Graph {
	seed := uint64(7)
	rnd := func(shape ...int) *nn.Tensor {
		t := nn.New(nn.Float32, shape...)
		for i := range t.F32 {
			seed = seed*6364136223846793005 + 1442695040888963407
			t.F32[i] = float32(seed>>40)/float32(1<<24) - 0.5
		}
		return t
	}
	zeroOdd := func(t *nn.Tensor) *nn.Tensor {
		per := t.Len() / t.Shape[0]
		for c := 1; c < t.Shape[0]; c += 2 {
			clear(t.F32[c*per : (c+1)*per])
		}
		return t
	}
	a := func(kv ...any) map[string]nn.Attr {
		m := map[string]nn.Attr{}
		for i := 0; i < len(kv); i += 2 {
			switch v := kv[i+1].(type) {
			case int:
				m[kv[i].(string)] = nn.Attr{Kind: nn.AttrInt, Int: int64(v)}
			case []int64:
				m[kv[i].(string)] = nn.Attr{Kind: nn.AttrInts, Ints: v}
			}
		}
		return m
	}
	p1 := []int64{1, 1, 1, 1}
	return &nn.Graph{
		Opset:   17,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 3, 8, 8}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts: map[string]*nn.Tensor{
			"ws": zeroOdd(rnd(8, 3, 3, 3)), "bs": zeroOdd(rnd(8)),
			"we": zeroOdd(rnd(16, 8, 1, 1)), "be": zeroOdd(rnd(16)),
			"wd": zeroOdd(rnd(16, 1, 3, 3)), "bd": zeroOdd(rnd(16)),
			"wp": zeroOdd(rnd(8, 16, 1, 1)), "bp": zeroOdd(rnd(8)),
			"lo": {DType: nn.Float32, Shape: []int{}, F32: []float32{0}}, "hi": {DType: nn.Float32, Shape: []int{}, F32: []float32{6}},
			"wf": rnd(4, 8), "bf": rnd(4),
		},
		Nodes: []*nn.Node{
			{Name: "stem", Op: "Conv", Inputs: []string{"x", "ws", "bs"}, Outputs: []string{"s0"}, Attrs: a("pads", p1, "strides", []int64{2, 2})},
			{Name: "stem_relu6", Op: "Clip", Inputs: []string{"s0", "lo", "hi"}, Outputs: []string{"s"}, Attrs: a()},
			{Name: "expand", Op: "Conv", Inputs: []string{"s", "we", "be"}, Outputs: []string{"e0"}, Attrs: a()},
			{Name: "expand_relu6", Op: "Clip", Inputs: []string{"e0", "lo", "hi"}, Outputs: []string{"e"}, Attrs: a()},
			{Name: "dw", Op: "Conv", Inputs: []string{"e", "wd", "bd"}, Outputs: []string{"d0"}, Attrs: a("pads", p1, "group", 16)},
			{Name: "dw_relu6", Op: "Clip", Inputs: []string{"d0", "lo", "hi"}, Outputs: []string{"d"}, Attrs: a()},
			{Name: "project", Op: "Conv", Inputs: []string{"d", "wp", "bp"}, Outputs: []string{"p"}, Attrs: a()},
			{Name: "residual", Op: "Add", Inputs: []string{"s", "p"}, Outputs: []string{"r"}, Attrs: a()},
			{Name: "gap", Op: "GlobalAveragePool", Inputs: []string{"r"}, Outputs: []string{"gp"}, Attrs: a()},
			{Name: "flat", Op: "Flatten", Inputs: []string{"gp"}, Outputs: []string{"f"}, Attrs: a()},
			{Name: "fc", Op: "Gemm", Inputs: []string{"f", "wf", "bf"}, Outputs: []string{"y"}, Attrs: a("transB", 1)},
		},
	}
}

func run(t *testing.T, g *nn.Graph, x *nn.Tensor) *nn.Tensor {
	t.Helper()
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	y, err := p.NewRunner(1).Run(x)
	if err != nil {
		t.Fatal(err)
	}
	return y[0]
}

// TestChannelsMobileNetV2: pruning half the channels removes the zero
// channels of the residual space (stem and projection together), of the
// expansion space (with the depthwise conv), keeps the output, and the
// input graph is left as it was.
func TestChannelsMobileNetV2(t *testing.T) {
	src := mobileNetV2Block()
	for _, optimize := range []bool{false, true} {
		g := src
		if optimize {
			var err error
			if g, err = nn.Optimize(src); err != nil {
				t.Fatal(err)
			}
		}
		x := nn.New(nn.Float32, 2, 3, 8, 8)
		for i := range x.F32 {
			x.F32[i] = float32(i%13)/6 - 1
		}
		want := run(t, g, x)
		pg, rep, err := prune.Channels(g, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		got := run(t, pg, x)
		for i := range want.F32 {
			if math.Abs(float64(got.F32[i]-want.F32[i])) > 1e-5 {
				t.Fatalf("optimized %v: output %d = %g, want %g", optimize, i, got.F32[i], want.F32[i])
			}
		}
		spaces := fmt.Sprint(rep.Spaces)
		if len(rep.Spaces) != 2 || spaces != "[{[expand] 16 8} {[stem project] 8 4}]" {
			t.Fatalf("optimized %v: spaces %s, skipped %v", optimize, spaces, rep.Skipped)
		}
		if s := pg.Consts[pg.Node("dw").Input(1)].Shape; fmt.Sprint(s) != "[8 1 3 3]" || pg.Node("dw").AttrInt("group", 0) != 8 {
			t.Fatalf("depthwise weights %v group %d", s, pg.Node("dw").AttrInt("group", 0))
		}
		if s := g.Consts[g.Node("fc").Input(1)].Shape; fmt.Sprint(s) != "[4 8]" {
			t.Fatalf("the input graph changed: fc weights %v", s)
		}
	}
}

// TestChannelsNothing: a graph whose only conv output is the graph output
// has nothing to prune.
func TestChannelsNothing(t *testing.T) {
	g := &nn.Graph{
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{1, 2, 4, 4}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts:  map[string]*nn.Tensor{"w": nn.New(nn.Float32, 4, 2, 1, 1)},
		Nodes:   []*nn.Node{{Name: "c", Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"y"}, Attrs: map[string]nn.Attr{}}},
	}
	_, rep, err := prune.Channels(g, 0.5)
	if !errors.Is(err, prune.ErrNothing) || len(rep.Skipped) == 0 {
		t.Fatalf("error %v, report %+v", err, rep)
	}
}

// TestReportLog: Removed sums the spaces; Log writes a line per space and,
// with kept, per space left alone; a nil writer is nowhere.
func TestReportLog(t *testing.T) {
	rep := &prune.Report{Spaces: []prune.Space{{Producers: []string{"expand"}, Before: 16, After: 8}, {Producers: []string{"stem", "project"}, Before: 8, After: 4}},
		Skipped: []string{"head (graph output)"}}
	if rep.Removed() != 12 {
		t.Errorf("removed %d, want 12", rep.Removed())
	}
	var b strings.Builder
	rep.Log(&b, true)
	want := "prune-channels: 16 -> 8 channels of expand\nprune-channels: 8 -> 4 channels of stem, project\nprune-channels: kept head (graph output)\n"
	if b.String() != want {
		t.Errorf("log %q, want %q", b.String(), want)
	}
	b.Reset()
	rep.Log(&b, false)
	if strings.Contains(b.String(), "kept") {
		t.Errorf("log without kept: %q", b.String())
	}
	rep.Log(nil, true)
}

// TestChannelsWithSamples: channels whose filters are zero but whose
// biases are not feed constants to the layers reading them. Scored on
// samples they are the ones to go (they vary not at all), and their means
// move into the readers' biases (mean replacement), so the output stays;
// without samples the same channels go and the constants are lost.
func TestChannelsWithSamples(t *testing.T) {
	g := mobileNetV2Block()
	for _, name := range []string{"be", "bd"} {
		b := g.Consts[name]
		for c := 1; c < b.Len(); c += 2 {
			b.F32[c] = 0.3 + 0.1*float32(c%5) // odd channels: constant, non-zero
		}
	}
	x := nn.New(nn.Float32, 4, 3, 8, 8)
	for i := range x.F32 {
		x.F32[i] = float32(i%17)/8 - 1
	}
	want := run(t, g, x)
	maxDiff := func(pg *nn.Graph) float64 {
		got := run(t, pg, x)
		d := 0.0
		for i := range want.F32 {
			d = max(d, math.Abs(float64(got.F32[i]-want.F32[i])))
		}
		return d
	}
	pg, rep, err := prune.Channels(g, 0.5, prune.WithSamples(x))
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(pg); d > 1e-5 {
		t.Errorf("with samples: output moved by %g (spaces %v)", d, rep.Spaces)
	}
	if s := pg.Consts[pg.Node("project").Input(1)].Shape; fmt.Sprint(s) != "[4 8 1 1]" {
		t.Errorf("project weights %v", s)
	}
	blind, _, err := prune.Channels(g, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(blind); d < 1e-3 {
		t.Errorf("without samples the constants should be lost, output moved by %g only", d)
	}
}
