package measure

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/partition"
)

// refModel loads a reference model, compiles it and takes the first image
// of its test input as the sample.
func refModel(t testing.TB, name string) (*nn.Program, *partition.DAG, []*nn.Tensor) {
	t.Helper()
	g, err := onnx.Load(testref.Path(t, name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	d, err := partition.NewDAG(g)
	if err != nil {
		t.Fatal(err)
	}
	in, err := onnx.ReadTensor(testref.Path(t, name, "test_data_set_0", "input_0.pb"))
	if err != nil {
		t.Fatal(err)
	}
	per := in.Len() / in.Shape[0]
	one := &nn.Tensor{DType: nn.Float32, Shape: append([]int{1}, in.Shape[1:]...), F32: in.F32[:per]}
	return p, d, []*nn.Tensor{one}
}

func mbit(f float64) float64 { return f * 1e6 / 8 }

func links() []partition.Link {
	var ls []partition.Link
	for _, mb := range []float64{1, 10, 100} {
		ls = append(ls, partition.Link{Bandwidth: mbit(mb), RTT: 20 * time.Millisecond})
	}
	return ls
}

// TestReferenceModels measures real profiles of the three reference models
// (a chain, a ResNet with skip connections, MobileNetV2 with ~100 nodes),
// checks the min-cut choice against the exhaustive search where the graph
// is small enough and against every prefix cut otherwise, and runs the
// chosen head and tail: together they give exactly the whole model's output.
func TestReferenceModels(t *testing.T) {
	for _, name := range []string{"seednet_mnist", "tinyresnet_mnist", "mobilenet_v2"} {
		t.Run(name, func(t *testing.T) {
			if name == "mobilenet_v2" && testing.Short() {
				t.Skip("mobilenet_v2 profiling is slow; runs without -short")
			}
			p, d, sample := refModel(t, name)
			prof, err := Profile(p, [][]*nn.Tensor{sample}, WithRuns(1))
			if err != nil {
				t.Fatal(err)
			}
			if prof.TotalMS() <= 0 || len(prof.NodesMS) != d.Len() {
				t.Fatalf("profile: total %v ms over %d of %d nodes", prof.TotalMS(), len(prof.NodesMS), d.Len())
			}
			sizes, err := ShapeSizes(d, p, sample, 64, 32)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := sizes.Bytes[p.Inputs()[0]], sample[0].Len()*4+32; got != want {
				t.Fatalf("input size %d, want %d", got, want)
			}
			m, err := partition.NewModel(d, prof.Scaled(4), prof, sizes)
			if err != nil {
				t.Fatal(err)
			}
			prefixes := d.Prefixes(false)
			chosen := map[string]bool{}
			for _, l := range links() {
				best, err := m.Best(l)
				if err != nil {
					t.Fatal(err)
				}
				chosen[best.Cut.Name] = true
				ex, err := m.Exhaustive(l, 1<<14)
				switch {
				case err == nil:
					if math.Abs(ex.TotalMS-best.TotalMS) > 1e-9*ex.TotalMS {
						t.Errorf("%v: min cut %s %.4f ms, exhaustive %s %.4f ms", l, best.Cut.Name, best.TotalMS, ex.Cut.Name, ex.TotalMS)
					}
				case name != "mobilenet_v2":
					t.Fatalf("%s should be small enough to enumerate: %v", name, err)
				}
				for _, c := range prefixes {
					e, _ := m.Predict(c, l)
					if e.TotalMS < best.TotalMS-1e-9 {
						t.Errorf("%v: prefix cut %s (%.3f ms) beats the min cut %s (%.3f ms)", l, c.Name, e.TotalMS, best.Cut.Name, best.TotalMS)
					}
				}
				t.Logf("%v: %s, %d bytes, predicted %.1f ms", l, best.Cut.Name, best.Bytes, best.TotalMS)
			}
			// Every natural cut and every chosen one splits the model
			// into a head and a tail that compute the same output.
			whole, err := p.Run(map[string]*nn.Tensor{p.Inputs()[0]: sample[0]})
			if err != nil {
				t.Fatal(err)
			}
			// (at most 8 natural cuts, spread out: each costs a full inference)
			natural := d.Prefixes(true)
			for i := 0; i < len(natural); i += max(1, len(natural)/8) {
				chosen[natural[i].Name] = true
			}
			for name := range chosen {
				c, err := d.CutByName(name)
				if err != nil {
					t.Fatal(err)
				}
				if c.IsEdgeOnly() {
					continue
				}
				if err := checkSplit(p, c, sample[0], whole); err != nil {
					t.Errorf("cut %s: %v", name, err)
				}
			}
		})
	}
}

func checkSplit(p *nn.Program, c partition.Cut, in *nn.Tensor, whole map[string]*nn.Tensor) error {
	head, err := p.Slice(p.Inputs(), c.Tensors)
	if err != nil {
		return err
	}
	tail, err := p.Slice(c.Tensors, p.Outputs())
	if err != nil {
		return err
	}
	mid, err := head.Run(map[string]*nn.Tensor{p.Inputs()[0]: in})
	if err != nil {
		return err
	}
	out, err := tail.Run(mid)
	if err != nil {
		return err
	}
	for name, w := range whole {
		g := out[name]
		if g == nil || len(g.F32) != len(w.F32) {
			return fmt.Errorf("output %s missing or resized", name)
		}
		for i := range w.F32 {
			if g.F32[i] != w.F32[i] {
				return fmt.Errorf("output %s[%d] = %v, whole model %v", name, i, g.F32[i], w.F32[i])
			}
		}
	}
	return nil
}

// BenchmarkBest times one decision (the min cut) on the reference models,
// with profiles and sizes in place.
func BenchmarkBest(b *testing.B) {
	for _, name := range []string{"seednet_mnist", "tinyresnet_mnist", "mobilenet_v2"} {
		b.Run(name, func(b *testing.B) {
			p, d, sample := refModel(b, name)
			prof := &partition.Profile{NodesMS: map[string]float64{}}
			for i, n := range d.Graph().Nodes {
				prof.NodesMS[n.Name] = float64(1 + i%7)
			}
			sizes, err := ShapeSizes(d, p, sample, 64, 32)
			if err != nil {
				b.Fatal(err)
			}
			m, err := partition.NewModel(d, prof.Scaled(4), prof, sizes)
			if err != nil {
				b.Fatal(err)
			}
			l := partition.Link{Bandwidth: mbit(10), RTT: 20 * time.Millisecond}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.Best(l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestProfileCPUTime(t *testing.T) {
	if !CPUTimeSupported() {
		t.Skip("no per-thread CPU clock here")
	}
	p, d, sample := refModel(t, "tinyresnet_mnist")
	prof, err := Profile(p, [][]*nn.Tensor{sample}, WithCPUTime(), WithRuns(3))
	if err != nil {
		t.Fatal(err)
	}
	if prof.Clock != "thread-cpu" || prof.TotalMS() <= 0 || len(prof.NodesMS) != d.Len() {
		t.Fatalf("profile %+v", prof)
	}
	wall, err := Profile(p, [][]*nn.Tensor{sample}, WithRuns(3))
	if err != nil {
		t.Fatal(err)
	}
	// CPU time never much exceeds wall time on one thread
	t.Logf("tinyresnet: %.3f ms CPU, %.3f ms wall", prof.TotalMS(), wall.TotalMS())
	if _, err := Profile(p, [][]*nn.Tensor{sample}, WithCPUTime(), WithThreads(2)); !errors.Is(err, ErrProfile) {
		t.Fatalf("CPU time with 2 threads: %v", err)
	}
}

// TestProfileProgressAndCancel: Profile reports each sample run (warm-up
// included) and stops, with ctx.Err(), once ctx is done.
func TestProfileProgressAndCancel(t *testing.T) {
	p, _, sample := refModel(t, "tinyresnet_mnist")
	samples := [][]*nn.Tensor{sample, sample}
	var last, total int
	if _, err := Profile(p, samples, WithRuns(2), WithProgress(func(d, n int) { last, total = d, n })); err != nil {
		t.Fatal(err)
	}
	if last != 6 || total != 6 { // (1 warm-up + 2 runs) x 2 samples
		t.Errorf("progress ended at %d/%d, want 6/6", last, total)
	}
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err := Profile(p, samples, WithContext(ctx), WithProgress(func(int, int) { calls++; cancel() }))
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled after the first sample: err %v after %d runs, want context.Canceled after 1", err, calls)
	}
}
