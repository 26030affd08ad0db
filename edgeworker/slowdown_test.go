package edgeworker_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/pipeline/pipetest"
)

// TestSlowdown: Config.Slowdown stretches the head run (an emulated slower
// edge); 0 leaves it alone, and out-of-range factors are rejected.
func TestSlowdown(t *testing.T) {
	for _, bad := range []float64{0.5, -1, 1e6} {
		if err := (edgeworker.Config{Slowdown: bad}).Validate(); err == nil {
			t.Errorf("Slowdown %v accepted", bad)
		}
	}
	g, err := onnx.Load(testref.Path(t, "tinyresnet_mnist.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	s := pipetest.StartServer(t)
	cw, err := cloudworker.New(pipetest.Connect(t, s), []cloudworker.Model{{Name: "tinyresnet", Program: prog}}, cloudworker.Config{Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cw.Stop() })
	x := nn.New(nn.Float32, 1, 1, 32, 32)
	for i := range x.F32 {
		x.F32[i] = float32(i%29) / 29
	}
	// head compute times with a factor; the cut is the last stage before
	// pooling, so the head is most of the model.
	heads := func(factor float64) []time.Duration {
		e, err := edgeworker.New(pipetest.Connect(t, s), prog, edgeworker.Config{Slowdown: factor, Concurrency: 1})
		if err != nil {
			t.Fatal(err)
		}
		var ds []time.Duration
		for i := 0; i < 7; i++ {
			res, err := e.Infer(context.Background(), x)
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, res.Timings.EdgeCompute)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds
	}
	fast, slow := heads(0), heads(6)
	t.Logf("head: fastest %v without slowdown, median %v with 6x", fast[0], slow[3])
	// 6 x CPU time >= 6 x (wall time / load factor): at least 3x the
	// fastest unslowed run unless the host more than doubles wall times.
	if slow[3] < 3*fast[0] {
		t.Fatalf("6x slowdown: median head %v, fastest unslowed %v", slow[3], fast[0])
	}
}
