package system_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func defaultModel(t testing.TB) *nn.Program {
	t.Helper()
	g, err := models.Default()
	if err != nil {
		t.Fatal(err)
	}
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// wholePredictions classifies the first n test images with the whole model
// in batches of 100, as `splitinfer eval` does.
func wholePredictions(t *testing.T, p *nn.Program, set *mnist.Set, n int) []int {
	r := p.NewRunner(1)
	preds := make([]int, n)
	for lo := 0; lo < n; lo += 100 {
		hi := min(lo+100, n)
		x, _ := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		out, err := r.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := lo; i < hi; i++ {
			row := out[0].F32[(i-lo)*10 : (i-lo+1)*10]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			preds[i] = best
		}
	}
	return preds
}

// TestSplitChangesNoPrediction runs MNIST test images through the split of
// the default model, at the auto cut and at every other single-tensor cut,
// and checks every prediction against the whole model's.
func TestSplitChangesNoPrediction(t *testing.T) {
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	p := defaultModel(t)
	n := 10000
	if testing.Short() {
		n = 1000
	}
	want := wholePredictions(t, p, set, n)
	sys, err := system.Start("seednet_mnist", p, cloudworker.Config{}, edgeworker.Config{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	sum, err := system.Drive(context.Background(), sys.Edge, set, n, 4)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Errors != 0 || sum.Fallbacks != 0 || sum.Images != n {
		t.Fatalf("summary %+v", sum)
	}
	correct := 0
	for i, pred := range sum.Predictions {
		if pred != want[i] {
			t.Errorf("image %d: split predicts %d, whole model %d", i, pred, want[i])
		}
		if pred == int(set.Labels[i]) {
			correct++
		}
	}
	if correct != sum.Correct || sum.Accuracy < 0.97 {
		t.Errorf("accuracy %.4f (%d correct, counted %d)", sum.Accuracy, sum.Correct, correct)
	}
	if sum.InputBytes != 4096 || sum.BytesPerRequest <= 0 || sum.Latency.P50 <= 0 || sum.Latency.P99 < sum.Latency.P50 {
		t.Errorf("summary %+v", sum)
	}
	t.Logf("cut %s: accuracy %.4f, %.0f bytes/request, p50 %.3f ms p99 %.3f ms, %.0f req/s",
		sum.Cut, sum.Accuracy, sum.BytesPerRequest, sum.Latency.P50, sum.Latency.P99, sum.RequestsPerSec)

	// Every other cut, on fewer images.
	for _, c := range pipeline.Cuts(p) {
		e, err := edgeworker.New(natsConn(t, sys), p, edgeworker.Config{Cut: []string{c.Tensor}, Codec: pipeline.CodecZstd})
		if err != nil {
			t.Fatal(err)
		}
		s, err := system.Drive(context.Background(), e, set, 200, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i, pred := range s.Predictions {
			if pred != want[i] {
				t.Errorf("cut %s image %d: split predicts %d, whole model %d", c.Tensor, i, pred, want[i])
			}
		}
		t.Logf("cut %-30s %-8s %7.0f bytes/request (zstd)", c.Tensor, c.Op, s.BytesPerRequest)
	}
}
