package train

import (
	"context"
	"github.com/splitinfer/splitinfer/nn"
	"math"
	"math/rand/v2"
	"testing"
)

// lossOf runs a forward pass over the samples of d and returns the batch-mean loss.
func lossOf(n *Net, d Dataset, soft []float32, T, alpha float32) float64 {
	m := d.Len()
	ws := newWorkspace(n, m, true)
	copy(ws.act[0], d.Images)
	n.forward(ws, m)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	l, _ := n.lossGrad(ws, m, m, d.Labels, idx, soft, T, alpha)
	return l / float64(m)
}

// gradients returns the analytic gradients of the batch-mean loss.
func gradients(n *Net, d Dataset, soft []float32, T, alpha float32) [][]float32 {
	m := d.Len()
	n.prepareStep()
	ws := newWorkspace(n, m, true)
	copy(ws.act[0], d.Images)
	n.forward(ws, m)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	n.lossGrad(ws, m, m, d.Labels, idx, soft, T, alpha)
	n.backward(ws, m)
	return ws.pgrad
}

func randomData(shape Shape, m, classes int, seed uint64) Dataset {
	r := rand.New(rand.NewPCG(seed, 1))
	d := Dataset{Images: make([]float32, m*shape.Size()), Labels: make([]uint8, m)}
	for i := range d.Images {
		d.Images[i] = float32(r.NormFloat64())
	}
	for i := range d.Labels {
		d.Labels[i] = uint8(r.IntN(classes))
	}
	return d
}

func checkGradients(t *testing.T, n *Net, d Dataset, soft []float32, T, alpha float32) {
	t.Helper()
	grads := gradients(n, d, soft, T, alpha)
	const eps = 1e-3
	r := rand.New(rand.NewPCG(7, 7))
	for pi, p := range n.Params {
		// Check up to 12 random entries of each parameter.
		for c := 0; c < min(12, len(p.Data)); c++ {
			j := r.IntN(len(p.Data))
			orig := p.Data[j]
			p.Data[j] = orig + eps
			lp := lossOf(n, d, soft, T, alpha)
			p.Data[j] = orig - eps
			lm := lossOf(n, d, soft, T, alpha)
			p.Data[j] = orig
			num := (lp - lm) / (2 * eps)
			got := float64(grads[pi][j])
			if math.Abs(num-got) > 2e-2*math.Max(math.Abs(num), math.Abs(got))+2e-3 {
				t.Errorf("%s[%d]: analytic gradient %.6f, finite difference %.6f", p.Name, j, got, num)
			}
		}
		// Directional derivative along the whole gradient of this parameter:
		// a signal far above float32 rounding, so the tolerance is tight.
		var norm float64
		for _, g := range grads[pi] {
			norm += float64(g) * float64(g)
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			continue
		}
		orig := append([]float32(nil), p.Data...)
		move := func(h float64) float64 {
			for j, g := range grads[pi] {
				p.Data[j] = orig[j] + float32(h*float64(g)/norm)
			}
			return lossOf(n, d, soft, T, alpha)
		}
		num := (move(eps) - move(-eps)) / (2 * eps)
		copy(p.Data, orig)
		if math.Abs(num-norm) > 1e-2*norm+1e-4 {
			t.Errorf("%s: directional derivative %.6f, gradient norm %.6f", p.Name, num, norm)
		}
	}
}

func TestGradientsLinearConvChain(t *testing.T) {
	// No kinks (no ReLU, no max): finite differences are exact up to rounding.
	b := NewBuilder(Shape{3, 7, 6}, 9)
	x := b.ConvFull(b.Input(), 4, 3, 2, 2, 1, 1, 0, 2, 1)
	x = b.Pool(AvgPool, x, 2, 2, 1, 2, 0, 1, 0, 1, true)
	x = b.Conv(x, 3, 3, 1, 1)
	n, err := b.Build(b.Gemm(b.Flatten(x), 4))
	if err != nil {
		t.Fatal(err)
	}
	d := randomData(n.Input, 3, 4, 21)
	grads := gradients(n, d, nil, 1, 0)
	for pi, p := range n.Params {
		for j := range p.Data {
			const eps = 1e-2
			orig := p.Data[j]
			p.Data[j] = orig + eps
			lp := lossOf(n, d, nil, 1, 0)
			p.Data[j] = orig - eps
			lm := lossOf(n, d, nil, 1, 0)
			p.Data[j] = orig
			num := (lp - lm) / (2 * eps)
			if got := float64(grads[pi][j]); math.Abs(num-got) > 1e-2*math.Abs(num)+3e-4 {
				t.Errorf("%s[%d]: analytic gradient %.6f, finite difference %.6f", p.Name, j, got, num)
			}
		}
	}
}

func TestGradientsAllLayers(t *testing.T) {
	b := NewBuilder(Shape{2, 9, 9}, 3)
	x := b.ConvFull(b.Input(), 4, 3, 3, 2, 2, 1, 0, 1, 1) // stride 2, asymmetric pads
	x = b.Relu(x)
	y := b.Conv(x, 4, 3, 1, 1)
	x = b.Add(x, y) // residual
	x = b.Conv(x, 5, 1, 1, 0)
	m := b.Pool(MaxPool, x, 2, 2, 1, 1, 0, 0, 1, 1, false)
	a := b.Pool(AvgPool, x, 3, 3, 2, 2, 1, 1, 1, 1, false)
	ap := b.Pool(AvgPool, x, 3, 3, 2, 2, 1, 1, 1, 1, true)
	g := b.Flatten(b.GlobalAvgPool(m))
	h := b.Gemm(b.Relu(b.Gemm(b.Flatten(a), 6)), 3)
	h2 := b.Gemm(b.Flatten(ap), 3)
	out := b.Add(b.Add(b.Gemm(g, 3), h), h2)
	n, err := b.Build(out)
	if err != nil {
		t.Fatal(err)
	}
	d := randomData(n.Input, 4, 3, 11)
	checkGradients(t, n, d, nil, 1, 0)
}

func TestGradientsSeedNetAndDistillation(t *testing.T) {
	n, err := SeedNet(2, 3, 8, 5)
	if err != nil {
		t.Fatal(err)
	}
	d := randomData(n.Input, 3, 10, 12)
	checkGradients(t, n, d, nil, 1, 0)
	soft := make([]float32, 3*10)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range soft {
		soft[i] = float32(r.NormFloat64() * 3)
	}
	checkGradients(t, n, d, soft, 4, 0.7)
}

func TestSeedNetShapes(t *testing.T) {
	n, err := SeedNet(8, 16, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.NumParams(); got != 67498 {
		t.Errorf("student 8,16,64 has %d params, want 67498", got)
	}
	n, err = SeedNet(16, 32, 128, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.NumParams(); got != 268362 {
		t.Errorf("seednet has %d params, want 268362", got)
	}
	// conv1 16*1024*9 + conv2 32*256*144 + fc 2048*128 + fc 128*10
	if got, want := n.MACs(), int64(16*1024*9+32*256*144+2048*128+128*10); got != want {
		t.Errorf("MACs %d, want %d", got, want)
	}
}

func TestBuilderErrors(t *testing.T) {
	b := NewBuilder(Shape{1, 4, 4}, 1)
	x := b.Gemm(b.Input(), 3) // not flat
	if _, err := b.Build(x); err == nil {
		t.Error("Gemm on an image input: no error")
	}
	b = NewBuilder(Shape{1, 4, 4}, 1)
	x = b.Conv(b.Input(), 2, 5, 1, 0) // kernel larger than input
	if _, err := b.Build(x); err == nil {
		t.Error("conv with empty output: no error")
	}
	b = NewBuilder(Shape{1, 4, 4}, 1)
	if _, err := b.Build(b.Conv(b.Input(), 2, 3, 1, 1)); err == nil {
		t.Error("non-vector output: no error")
	}
}

func TestFitErrors(t *testing.T) {
	n, _ := SeedNet(2, 2, 4, 1)
	if _, err := Fit(context.Background(), n, Dataset{}, Config{}); err == nil {
		t.Error("empty dataset: no error")
	}
	d := randomData(n.Input, 2, 10, 1)
	d.Labels[0] = 10
	if _, err := Fit(context.Background(), n, d, Config{}); err == nil {
		t.Error("label out of range: no error")
	}
	d = randomData(n.Input, 2, 10, 1)
	d.Images = d.Images[:10]
	if _, err := Fit(context.Background(), n, d, Config{}); err == nil {
		t.Error("short images: no error")
	}
}

func TestSubsetClamps(t *testing.T) {
	d := randomData(Shape{1, 2, 2}, 5, 3, 1)
	for _, c := range []struct{ lo, hi, want int }{{1, 3, 2}, {-2, 2, 2}, {3, 99, 2}, {4, 1, 0}, {7, 9, 0}} {
		s := d.Subset(c.lo, c.hi, 4)
		if s.Len() != c.want || len(s.Images) != 4*c.want {
			t.Errorf("Subset(%d,%d): %d samples, %d values", c.lo, c.hi, s.Len(), len(s.Images))
		}
	}
	if s := d.Subset(0, 5, 0); s.Len() != 0 {
		t.Errorf("sample size 0: %d samples", s.Len())
	}
}

// TestGradientsDepthwiseRelu6: MobileNet layers (depthwise conv with
// stride and padding, ReLU6, a residual Add around them).
func TestGradientsDepthwiseRelu6(t *testing.T) {
	b := NewBuilder(Shape{2, 7, 7}, 4)
	x := b.Relu6(b.Conv(b.Input(), 3, 3, 1, 1))
	d := b.Relu6(b.DepthwiseConv(x, 3, 1, 1))
	x = b.Add(x, b.Conv(d, 3, 1, 1, 0))
	x = b.DepthwiseConv(x, 3, 2, 1)
	n, err := b.Build(b.Gemm(b.Flatten(b.GlobalAvgPool(x)), 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range n.Params {
		for i := range p.Data {
			p.Data[i] *= 4 // activations beyond 6 exercise the clamp
		}
	}
	d2 := randomData(n.Input, 4, 3, 13)
	checkGradients(t, n, d2, nil, 1, 0)
}

// TestMobileNetV2GraphRoundTrip: the MobileNetV2-style net exports as
// depthwise Convs and Clips, the engine computes its logits, and FromGraph
// reads it back.
func TestMobileNetV2GraphRoundTrip(t *testing.T) {
	n, err := MobileNetV2(1)
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.ToGraph("mbv2")
	if err != nil {
		t.Fatal(err)
	}
	x := randomData(n.Input, 2, 10, 3)
	want, err := n.Logits(x.Images, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	og, err := nn.Optimize(g)
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(og)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := nn.FromFloat32(x.Images, 2, 1, 32, 32)
	got, err := p.NewRunner(1).Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(got[0].F32, want); d > 1e-4 {
		t.Fatalf("engine and trainer differ by %g", d)
	}
	back, err := FromGraph(og)
	if err != nil {
		t.Fatal(err)
	}
	again, err := back.Logits(x.Images, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(again, want); d > 1e-4 {
		t.Fatalf("FromGraph round trip differs by %g", d)
	}
}

// TestAppend: a net appended after the input of a new builder computes
// what it computes alone (layers, weights and value numbering carried
// over), and continues after new layers; a shape mismatch is an error.
func TestAppend(t *testing.T) {
	tail, err := SeedNet(4, 8, 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(tail.Input, 1)
	same, err := b.Build(b.Append(b.Input(), tail))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 2*tail.Input.Size())
	for i := range x {
		x[i] = rng.Float32()
	}
	want, err := tail.Logits(x, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := same.Logits(x, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("logit %d: %v appended, %v alone", i, got[i], want[i])
		}
	}
	if same.NumParams() != tail.NumParams() || len(same.Layers) != len(tail.Layers) {
		t.Errorf("%d params in %d layers, want %d in %d", same.NumParams(), len(same.Layers), tail.NumParams(), len(tail.Layers))
	}
	// After a 1x1 conv to the tail's input shape.
	b = NewBuilder(Shape{C: 2, H: 32, W: 32}, 1)
	longer, err := b.Build(b.Append(b.Conv(b.Input(), 1, 1, 1, 0), tail))
	if err != nil || len(longer.Layers) != len(tail.Layers)+1 {
		t.Fatalf("after a conv: %v", err)
	}
	b = NewBuilder(Shape{C: 2, H: 32, W: 32}, 1)
	if _, err := b.Build(b.Append(b.Input(), tail)); err == nil {
		t.Error("appending to a value of another shape: no error")
	}
}

// TestGradientsBatchNorm: BatchNorm in training mode (batch statistics)
// after a conv and a depthwise conv, with a residual Add around it.
func TestGradientsBatchNorm(t *testing.T) {
	b := NewBuilder(Shape{2, 6, 6}, 5)
	x := b.BatchNorm(b.Conv(b.Input(), 3, 3, 1, 1))
	d := b.BatchNorm(b.DepthwiseConv(x, 3, 1, 1))
	x = b.Add(x, d)
	n, err := b.Build(b.Gemm(b.Flatten(b.GlobalAvgPool(x)), 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range n.Layers {
		if l.Kind == BatchNorm {
			for c := range l.W.Data {
				l.W.Data[c] = 0.5 + 0.3*float32(c) // not the identity
				l.B.Data[c] = 0.1 * float32(c)
			}
		}
	}
	checkGradients(t, n, randomData(n.Input, 5, 3, 17), nil, 1, 0)
}

// TestBatchNormInference: in inference a BatchNorm uses its running
// statistics, which Fit moves towards the data's, and the graph it
// exports computes the same logits in the engine (folded into the conv).
func TestBatchNormInference(t *testing.T) {
	b := NewBuilder(Shape{1, 5, 5}, 3)
	x := b.Relu(b.BatchNorm(b.Conv(b.Input(), 4, 3, 1, 1)))
	n, err := b.Build(b.Gemm(b.Flatten(x), 3))
	if err != nil {
		t.Fatal(err)
	}
	d := randomData(n.Input, 64, 3, 5)
	for i := range d.Images {
		d.Images[i] = 3*d.Images[i] + 2 // statistics far from (0, 1)
	}
	if _, err := Fit(context.Background(), n, d, Config{Epochs: 8, Batch: 32, Seed: 1, Optimizer: NewSGD(1e-4, 0)}); err != nil {
		t.Fatal(err)
	}
	bn := n.Layers[1]
	if bn.Kind != BatchNorm || bn.RunVar[0] < 1.3 || math.Abs(float64(bn.RunMean[0])) < 0.1 {
		t.Fatalf("running statistics did not move: mean %v var %v", bn.RunMean, bn.RunVar)
	}
	want, err := n.Logits(d.Images, d.Len(), 1)
	if err != nil {
		t.Fatal(err)
	}
	g, err := n.ToGraph("bn")
	if err != nil {
		t.Fatal(err)
	}
	og, err := nn.Optimize(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range og.Nodes {
		if nd.Op == "BatchNormalization" {
			t.Errorf("BatchNormalization %s not folded", nd.Name)
		}
	}
	p, err := nn.Compile(og)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := nn.FromFloat32(d.Images, d.Len(), 1, 5, 5)
	got, err := p.NewRunner(1).Run(in)
	if err != nil {
		t.Fatal(err)
	}
	if df := maxDiff(got[0].F32, want); df > 1e-4 {
		t.Fatalf("engine and trainer differ by %g", df)
	}
	back, err := FromGraph(g)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := back.Logits(d.Images, d.Len(), 1)
	if df := maxDiff(again, want); df > 1e-5 || back.Layers[1].Kind != BatchNorm {
		t.Fatalf("FromGraph of the unfolded graph differs by %g (layer %v)", df, back.Layers[1].Kind)
	}
}

// TestInsertBatchNorms: BatchNorms inserted after the convs of a net are
// the identity in inference (on the data they were fitted to, and on any
// other), fold away in the exported graph, and RecalibrateBatchNorm
// re-estimates their statistics from the data.
func TestInsertBatchNorms(t *testing.T) {
	b := NewBuilder(Shape{2, 6, 6}, 3)
	x := b.Relu(b.Conv(b.Input(), 4, 3, 1, 1))
	x = b.Add(x, b.Conv(x, 4, 1, 1, 0))
	n, err := b.Build(b.Gemm(b.Flatten(b.GlobalAvgPool(x)), 3))
	if err != nil {
		t.Fatal(err)
	}
	d := randomData(n.Input, 64, 3, 11)
	want, _ := n.Logits(d.Images, d.Len(), 1)
	k, err := n.InsertBatchNorms(d, 64)
	if err != nil || k != 2 {
		t.Fatalf("inserted %d (%v), want 2", k, err)
	}
	got, _ := n.Logits(d.Images, d.Len(), 1)
	if df := maxDiff(got, want); df > 1e-4 {
		t.Fatalf("inference moved by %g", df)
	}
	g, err := n.ToGraph("bn")
	if err != nil {
		t.Fatal(err)
	}
	og, err := nn.Optimize(g)
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range og.Nodes {
		if nd.Op == "BatchNormalization" {
			t.Errorf("BatchNormalization %s left in the optimized graph", nd.Name)
		}
	}
	var bns []*Layer
	for _, l := range n.Layers {
		if l.Kind == BatchNorm {
			bns = append(bns, l)
		}
	}
	fitted := [][]float32{append([]float32(nil), bns[0].RunMean...), append([]float32(nil), bns[0].RunVar...)}
	for _, l := range bns {
		clear(l.RunMean)
		for c := range l.RunVar {
			l.RunVar[c] = 1
		}
	}
	if !n.RecalibrateBatchNorm(d, 64) {
		t.Fatal("no BatchNorm found")
	}
	for c := range fitted[0] {
		if math.Abs(float64(bns[0].RunMean[c]-fitted[0][c])) > 1e-4 || math.Abs(float64(bns[0].RunVar[c]/fitted[1][c]-1)) > 0.01 {
			t.Errorf("channel %d: recalibrated mean %v var %v, fitted %v %v", c, bns[0].RunMean[c], bns[0].RunVar[c], fitted[0][c], fitted[1][c])
		}
	}
}
