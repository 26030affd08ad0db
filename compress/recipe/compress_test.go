package recipe

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// TestCompressPruneChannelsAnyModel: channel pruning works on a model
// that is not an MNIST classifier (RGB input, depthwise conv, ReLU6 as
// Clip, a residual Add), reports MACs before and after, and a step that
// needs data says so.
func TestCompressPruneChannelsAnyModel(t *testing.T) {
	dir := t.TempDir()
	w := func(seed int, shape ...int) *nn.Tensor {
		t := nn.New(nn.Float32, shape...)
		for i := range t.F32 {
			t.F32[i] = float32((i*7+seed*13)%17)/17 - 0.5
		}
		return t
	}
	ints := func(v ...int64) nn.Attr { return nn.Attr{Kind: nn.AttrInts, Ints: v} }
	g := &nn.Graph{
		Opset:   11,
		Inputs:  []nn.ValueInfo{{Name: "x", Type: nn.Type{DType: nn.Float32, Shape: []int{-1, 3, 16, 16}}}},
		Outputs: []nn.ValueInfo{{Name: "y"}},
		Consts: map[string]*nn.Tensor{"w1": w(1, 8, 3, 3, 3), "w2": w(2, 8, 1, 3, 3), "w3": w(3, 8, 8, 1, 1), "fc": w(4, 5, 8),
			"lo": {DType: nn.Float32, Shape: []int{}, F32: []float32{0}}, "hi": {DType: nn.Float32, Shape: []int{}, F32: []float32{6}}},
		Nodes: []*nn.Node{
			{Name: "c1", Op: "Conv", Inputs: []string{"x", "w1"}, Outputs: []string{"a"}, Attrs: map[string]nn.Attr{"pads": ints(1, 1, 1, 1), "strides": ints(2, 2)}},
			{Name: "r1", Op: "Clip", Inputs: []string{"a", "lo", "hi"}, Outputs: []string{"b"}, Attrs: map[string]nn.Attr{}},
			{Name: "dw", Op: "Conv", Inputs: []string{"b", "w2"}, Outputs: []string{"c"}, Attrs: map[string]nn.Attr{"pads": ints(1, 1, 1, 1), "group": {Kind: nn.AttrInt, Int: 8}}},
			{Name: "pw", Op: "Conv", Inputs: []string{"c", "w3"}, Outputs: []string{"d"}, Attrs: map[string]nn.Attr{}},
			{Name: "add", Op: "Add", Inputs: []string{"b", "d"}, Outputs: []string{"e"}, Attrs: map[string]nn.Attr{}},
			{Name: "gap", Op: "GlobalAveragePool", Inputs: []string{"e"}, Outputs: []string{"f"}, Attrs: map[string]nn.Attr{}},
			{Name: "flat", Op: "Flatten", Inputs: []string{"f"}, Outputs: []string{"h"}, Attrs: map[string]nn.Attr{}},
			{Name: "fc", Op: "Gemm", Inputs: []string{"h", "fc"}, Outputs: []string{"y"}, Attrs: map[string]nn.Attr{"transB": {Kind: nn.AttrInt, Int: 1}}},
		},
	}
	model := filepath.Join(dir, "m.onnx")
	if err := onnx.Save(model, g); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	out := filepath.Join(dir, "m.sinf")
	cfg := Config{Model: model, Out: out, Threads: 1, Log: &stderr}
	cfg.Train.PruneChannels = 0.5
	rep, err := Compress(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !(rep.MACsAfter > 0 && rep.MACsAfter < rep.MACsBefore*6/10) || rep.ParamsAfter >= rep.ParamsBefore {
		t.Fatalf("MACs %d -> %d, params %d -> %d", rep.MACsBefore, rep.MACsAfter, rep.ParamsBefore, rep.ParamsAfter)
	}
	if !strings.Contains(stderr.String(), "8 -> 4 channels of c1, pw") {
		t.Fatalf("stderr %s", stderr.String())
	}
	cfg = Config{Model: model, Out: out, Threads: 1, Quantize: "int8", CalibImages: 16}
	_, err = Compress(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "int8 calibration") {
		t.Fatalf("quantizing an RGB model: error %v", err)
	}
}

// TestValidate: each bad configuration is refused before any model is
// loaded, with a message naming the setting.
func TestValidate(t *testing.T) {
	ok := Config{Model: "m", Out: "x.sinf", Threads: 1, Quantize: "int8", CalibImages: 16}
	for _, c := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) {}, ""},
		{func(c *Config) { c.Out = "x.bin" }, ".sinf or .onnx"},
		{func(c *Config) { c.Quantize = "int4" }, "only int8"},
		{func(c *Config) { c.CalibImages = 0 }, "--calib 0"},
		{func(c *Config) { c.Threads = 0 }, "--eval-threads"},
		{func(c *Config) { c.Quantize = "" }, "nothing to do"},
		{func(c *Config) {
			c.Act = &Act{Fit: 50000, Held: 20000, Tune: actcode.TuneConfig{MaxAccuracyDrop: 0.01}}
		}, "60000 together"},
		{func(c *Config) { c.Act = &Act{Fit: 1, Held: 1} }, "--max-accuracy-drop"},
		{func(c *Config) { c.Exit = &Exit{Fit: 1, Held: 1, Head: earlyexit.Config{MaxAccuracyDrop: 0.01}} }, "--exit-epochs 0"},
	} {
		cfg := ok
		c.edit(&cfg)
		err := cfg.Validate()
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", cfg, err, c.want)
		}
	}
	var a Act
	if err := a.ParseBits("2,3", "0.5,1"); err != nil || len(a.Tune.Bits) != 2 || len(a.Tune.DeadZones) != 2 {
		t.Errorf("ParseBits: %v %+v", err, a.Tune)
	}
	for _, bad := range [][2]string{{"9", "0.5"}, {"x", "0.5"}, {"2", "0"}, {"2", "5"}} {
		if err := new(Act).ParseBits(bad[0], bad[1]); err == nil {
			t.Errorf("ParseBits(%q, %q) accepted", bad[0], bad[1])
		}
	}
	if err := new(Act).ParseBits("auto", "0.5"); err != nil {
		t.Error(err)
	}
}
