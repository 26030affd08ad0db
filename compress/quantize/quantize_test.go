package quantize

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

func calibSet(t *testing.T, n int) *nn.Tensor {
	t.Helper()
	train, err := testref.MNISTTrain()
	if err != nil {
		t.Fatal(err)
	}
	x, err := nn.FromFloat32(append([]float32(nil), train.Batch(0, n)...), n, 1, mnist.Rows, mnist.Cols)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func accuracy(t *testing.T, g *nn.Graph, n int) float64 {
	t.Helper()
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	if n <= 0 || n > set.Len() {
		n = set.Len()
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(2)
	correct := 0
	for lo := 0; lo < n; lo += 100 {
		hi := min(lo+100, n)
		x, _ := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		out, err := r.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < hi-lo; i++ {
			row := out[0].F32[i*10 : i*10+10]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == int(set.Labels[lo+i]) {
				correct++
			}
		}
	}
	return float64(correct) / float64(n)
}

func figures(t *testing.T) map[string]float64 {
	b, err := os.ReadFile(testref.Path(t, "figures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]float64
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// The done-when criterion: int8 loses no more accuracy than ONNX
// Runtime's int8 quantization of the same model (512 training images).
func TestQuantizeMNISTAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("MNIST accuracy run skipped in -short")
	}
	figs := figures(t)
	calib := calibSet(t, 512)
	for _, c := range []struct {
		model, prefix string
		method        Method
	}{
		{"seednet_mnist", "seednet", MinMax},
		{"tinyresnet_mnist", "tinyresnet", MinMax},
	} {
		t.Run(c.model+"_"+string(c.method), func(t *testing.T) {
			g, err := onnx.Load(testref.Path(t, c.model+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Quantize(g, calib, WithMethod(c.method), WithThreads(2))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.FloatNodes) != 0 || len(res.Int8Nodes) == 0 {
				t.Fatalf("int8 %v, float %v", res.Int8Nodes, res.FloatNodes)
			}
			before := accuracy(t, g, 0)
			after := accuracy(t, res.Graph, 0)
			ortDrop := figs[c.prefix+".ort_fp32_acc"] - figs[c.model+".ort_int8_qdq_perchannel_acc"]
			t.Logf("%s %s: float %.4f -> int8 %.4f (ONNX Runtime %.4f -> %.4f)", c.model, c.method, before, after,
				figs[c.prefix+".ort_fp32_acc"], figs[c.model+".ort_int8_qdq_perchannel_acc"])
			if before-after > ortDrop+1e-9 {
				t.Errorf("int8 loses %.4f, ONNX Runtime lost %.4f", before-after, ortDrop)
			}
		})
	}
}

func TestQuantizeMethodsAndCut(t *testing.T) {
	g, err := onnx.Load(testref.Path(t, "seednet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	calib := calibSet(t, 128)
	for _, m := range []Method{MinMax, Percentile, Entropy} {
		res, err := Quantize(g, calib, WithMethod(m), WithBatchSize(50))
		if err != nil {
			t.Fatal(m, err)
		}
		ops := map[string]int{}
		for _, n := range res.Graph.Nodes {
			ops[n.Op]++
		}
		if ops["QLinearConvInt8"] != 2 || ops["QLinearGemmInt8"] != 2 || ops["MaxPoolInt8"] != 2 || ops["Conv"]+ops["Gemm"] != 0 {
			t.Fatalf("%s: ops %v", m, ops)
		}
		if res.Calibration.Method != string(m) || res.Calibration.Samples != 128 || len(res.Calibration.Ranges) == 0 {
			t.Fatalf("%s: calibration record %+v", m, res.Calibration)
		}
		acc := accuracy(t, res.Graph, 1000)
		t.Logf("%s: accuracy on 1000 test images %.4f", m, acc)
		if acc < 0.97 {
			t.Errorf("%s: accuracy %.4f", m, acc)
		}
	}
	// Cut after the first int8 conv: the head's output is int8 with its
	// scale and zero point, and head+tail equals the whole.
	res, err := Quantize(g, calib)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(res.Graph)
	if err != nil {
		t.Fatal(err)
	}
	var cut string
	for _, n := range res.Graph.Nodes {
		if n.Op == "QLinearConvInt8" {
			cut = n.Outputs[0]
			break
		}
	}
	in, out := res.Graph.Inputs[0].Name, res.Graph.Outputs[0].Name
	head, err := p.Slice([]string{in}, []string{cut})
	if err != nil {
		t.Fatal(err)
	}
	tail, err := p.Slice([]string{cut}, []string{out})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := nn.FromFloat32(calib.F32[:4*mnist.Pixels], 4, 1, mnist.Rows, mnist.Cols)
	whole, err := p.Run(map[string]*nn.Tensor{in: x})
	if err != nil {
		t.Fatal(err)
	}
	h, err := head.Run(map[string]*nn.Tensor{in: x})
	if err != nil {
		t.Fatal(err)
	}
	act := h[cut]
	if act.DType != nn.Int8 || act.Quant == nil || len(act.Quant.Scale) != 1 {
		t.Fatalf("head output %v quant %+v: want int8 with scale and zero point", act.DType, act.Quant)
	}
	tl, err := tail.Run(map[string]*nn.Tensor{cut: act})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range whole[out].F32 {
		if tl[out].F32[i] != v {
			t.Fatalf("split output %d: %v, whole %v", i, tl[out].F32[i], v)
		}
	}
}

func TestQuantizeBadInput(t *testing.T) {
	g, err := onnx.Load(testref.Path(t, "seednet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*nn.Tensor{
		"28x28":    nn.New(nn.Float32, 8, 1, 28, 28),
		"rank 3":   nn.New(nn.Float32, 8, 32, 32),
		"channels": nn.New(nn.Float32, 8, 3, 32, 32),
		"int8":     nn.New(nn.Int8, 8, 1, 32, 32),
		"empty":    nn.New(nn.Float32, 0, 1, 32, 32),
		"nil":      nil,
	} {
		_, err := Quantize(g, c)
		if !errors.Is(err, ErrCalibData) {
			t.Errorf("%s: error %v, want ErrCalibData", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	ok := nn.New(nn.Float32, 2, 1, 32, 32)
	if _, err := Quantize(g, ok, WithMethod("median")); !errors.Is(err, ErrOption) {
		t.Errorf("bad method: %v", err)
	}
	if _, err := Quantize(g, ok, WithFloatNodes("nope")); !errors.Is(err, ErrOption) {
		t.Errorf("unknown float node: %v", err)
	}
}

func TestCalibrationMath(t *testing.T) {
	// affineParams: ReLU range maps 0 to -128.
	s, z := affineParams(0, 2.55)
	if math.Abs(float64(s)-0.01) > 1e-7 || z != -128 {
		t.Fatalf("affine(0, 2.55) = %v, %d", s, z)
	}
	s, z = affineParams(-1, 1)
	if z != 0 && z != -1 || math.Abs(float64(s)-2.0/255) > 1e-7 {
		t.Fatalf("affine(-1, 1) = %v, %d", s, z)
	}
	// Percentile clips an outlier, minmax does not.
	v := make([]float32, 100000)
	for i := range v {
		v[i] = float32(i%1000) / 1000
	}
	v[0] = 100
	st := newStats()
	st.observe(v)
	st.startHist(Percentile)
	st.fill(Percentile, v)
	if _, hi := st.rangeFor(MinMax, 0); hi != 100 {
		t.Fatalf("minmax hi %v", hi)
	}
	if _, hi := st.rangeFor(Percentile, 99.9); hi > 1.1 {
		t.Fatalf("percentile hi %v, outlier not clipped", hi)
	}
	// Entropy on a Gaussian with one far outlier: the threshold clips the
	// outlier and keeps the bulk.
	r := rand.New(rand.NewPCG(1, 2))
	g := make([]float32, 200000)
	for i := range g {
		g[i] = float32(r.NormFloat64())
	}
	g[0] = 30
	se := newStats()
	se.observe(g)
	se.startHist(Entropy)
	se.fill(Entropy, g)
	lo, hi := se.rangeFor(Entropy, 0)
	t.Logf("entropy range of N(0,1) with an outlier at 30: [%.3f, %.3f]", lo, hi)
	if hi > 10 || hi < 2.5 || lo < -10 || lo > -2.5 {
		t.Fatalf("entropy range [%v, %v]", lo, hi)
	}
	// Per-channel symmetric weights.
	q, sc := symmetricWeights([]float32{1, -0.5, 0.25, 0, 0, 0}, []int{2, 3}, 0)
	if sc[0] != 1.0/127 || sc[1] != 1 || q[0] != 127 || q[1] != -64 || q[2] != 32 || q[3] != 0 {
		t.Fatalf("weights %v scales %v", q, sc)
	}
}

// MobileNetV2 (random weights, 224x224): every Conv, depthwise included,
// runs in int8 with its ReLU6 folded in; the int8 logits follow the float
// ones; the QDQ export re-imports to the same kernels and outputs.
func TestQuantizeMobileNetV2(t *testing.T) {
	g, err := onnx.Load(testref.Path(t, "mobilenet_v2.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	calib := nn.New(nn.Float32, 2, 3, 224, 224)
	for i := range calib.F32 {
		calib.F32[i] = float32(r.NormFloat64())
	}
	res, err := Quantize(g, calib, WithBatchSize(1), WithThreads(2))
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	depthwise := 0
	for _, n := range res.Graph.Nodes {
		ops[n.Op]++
		if n.Op == "QLinearConvInt8" && n.AttrInt("group", 1) > 1 {
			depthwise++
		}
	}
	if ops["Conv"] != 0 || ops["Clip"] != 0 || ops["QLinearConvInt8"] != 52 || depthwise != 17 || ops["QLinearAddInt8"] != 10 {
		t.Fatalf("ops %v, %d depthwise int8 convs", ops, depthwise)
	}
	if len(res.FloatNodes) != 0 {
		t.Fatalf("float nodes %v", res.FloatNodes)
	}
	x, _ := nn.FromFloat32(calib.F32[:3*224*224], 1, 3, 224, 224)
	run := func(g *nn.Graph) []float32 {
		p, err := nn.Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		out, err := p.NewRunner(2).Run(x)
		if err != nil {
			t.Fatal(err)
		}
		return append([]float32(nil), out[0].F32...)
	}
	fl, q := run(g), run(res.Graph)
	var maxAbs, maxDiff float64
	for i := range fl {
		maxAbs = math.Max(maxAbs, math.Abs(float64(fl[i])))
		maxDiff = math.Max(maxDiff, math.Abs(float64(fl[i]-q[i])))
	}
	t.Logf("max |int8 - float| = %.3g, max |float| = %.3g", maxDiff, maxAbs)
	if maxAbs == 0 || maxDiff > 0.1*maxAbs {
		t.Errorf("int8 logits off by %.3g for a range of %.3g", maxDiff, maxAbs)
	}
	exp, err := onnx.ExportQDQ(res.Graph)
	if err != nil {
		t.Fatal(err)
	}
	back, err := onnx.ImportQDQ(exp)
	if err != nil {
		t.Fatal(err)
	}
	q2 := run(back)
	for i := range q {
		if q[i] != q2[i] {
			t.Fatalf("logit %d: %v, after QDQ export and import %v", i, q[i], q2[i])
		}
	}
}

// ONNX Runtime runs our exported QDQ model to the accuracy we measure.
// Needs node and onnxruntime-node (not a CI dependency): set
// SPLITINFER_ORT_NODE_DIR to a directory with node_modules/onnxruntime-node
// (see scripts/ort-eval.js); skipped otherwise.
func TestORTRunsExportedQDQ(t *testing.T) {
	ortDir := os.Getenv("SPLITINFER_ORT_NODE_DIR")
	if ortDir == "" {
		t.Skip("SPLITINFER_ORT_NODE_DIR not set")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	dataDir, err := mnist.Locate(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	calib := calibSet(t, 512)
	for _, c := range []struct {
		model  string
		method Method
	}{{"seednet_mnist", MinMax}, {"tinyresnet_mnist", Percentile}} {
		g, err := onnx.Load(testref.Path(t, c.model+".onnx"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Quantize(g, calib, WithMethod(c.method), WithThreads(2))
		if err != nil {
			t.Fatal(err)
		}
		ours := accuracy(t, res.Graph, 0)
		path := filepath.Join(t.TempDir(), c.model+"_int8.onnx")
		if err := onnx.SaveQDQ(path, res.Graph); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(node, filepath.Join(testref.RepoRoot(t), "scripts", "ort-eval.js"), path, dataDir)
		cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(ortDir, "node_modules"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", c.model, err, out)
		}
		var ort float64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(out)), "accuracy %f", &ort); err != nil {
			t.Fatalf("%s: %q: %v", c.model, out, err)
		}
		t.Logf("%s %s: splitinfer int8 %.4f, ONNX Runtime on the exported QDQ %.4f", c.model, c.method, ours, ort)
		if math.Abs(ours-ort) > 0.0005+1e-9 {
			t.Errorf("%s: ONNX Runtime %.4f, splitinfer %.4f", c.model, ort, ours)
		}
	}
}

// TestCalibrationProgressAndCancel: calibration reports every input of both
// passes (Entropy makes two) and stops, with ctx.Err(), once ctx is done.
func TestCalibrationProgressAndCancel(t *testing.T) {
	g, err := onnx.Load(testref.Path(t, "seednet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	calib := calibSet(t, 100)
	var last, total, calls int
	if _, err := Quantize(g, calib, WithMethod(Entropy), WithBatchSize(50), WithContext(context.Background()),
		WithProgress(func(d, n int) { last, total, calls = d, n, calls+1 })); err != nil {
		t.Fatal(err)
	}
	if last != 200 || total != 200 || calls != 4 {
		t.Errorf("progress ended at %d/%d after %d calls, want 200/200 after 4", last, total, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls = 0
	_, err = Quantize(g, calib, WithBatchSize(50), WithContext(ctx), WithProgress(func(int, int) { calls++; cancel() }))
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled after the first batch: err %v after %d batches, want context.Canceled after 1", err, calls)
	}
}
