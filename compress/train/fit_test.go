package train

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/internal/testref"
)

var mnistTrain = sync.OnceValues(testref.MNISTTrain)

func mnistSubset(t *testing.T, n int) Dataset {
	t.Helper()
	s, err := mnistTrain()
	if err != nil {
		t.Fatal(err)
	}
	return Dataset{Images: s.Images, Labels: s.Labels}.Subset(0, n, mnist.Pixels)
}

func TestFitDeterministic(t *testing.T) {
	d := randomData(Shape{1, 32, 32}, 96, 10, 8)
	run := func(threads int, opt Optimizer) []float32 {
		n, err := SeedNet(4, 4, 8, 42)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Fit(context.Background(), n, d, Config{Epochs: 2, Batch: 32, Seed: 7, Threads: threads, Optimizer: opt}); err != nil {
			t.Fatal(err)
		}
		var w []float32
		for _, p := range n.Params {
			w = append(w, p.Data...)
		}
		return w
	}
	for _, threads := range []int{1, 2, 3} {
		a, b := run(threads, NewAdam(1e-3)), run(threads, NewAdam(1e-3))
		if !slices.Equal(a, b) {
			t.Errorf("threads=%d: two runs with the same seed differ", threads)
		}
	}
	a, b := run(2, NewSGD(0.05, 0.9)), run(2, NewSGD(0.05, 0.9))
	if !slices.Equal(a, b) {
		t.Error("SGD: two runs with the same seed differ")
	}
	// The mini-batch is split into fixed chunks whose gradients are summed
	// in order: the thread count does not change the result.
	one := run(1, NewAdam(1e-3))
	for _, threads := range []int{2, 3} {
		if !slices.Equal(one, run(threads, NewAdam(1e-3))) {
			t.Errorf("1 and %d threads give different weights", threads)
		}
	}
}

func TestFitLowersLossOnMNIST(t *testing.T) {
	d := mnistSubset(t, 512)
	for _, opt := range []struct {
		name string
		o    Optimizer
	}{{"adam", NewAdam(2e-3)}, {"sgd", NewSGD(0.05, 0.9)}} {
		t.Run(opt.name, func(t *testing.T) {
			n, err := SeedNet(8, 8, 32, 1)
			if err != nil {
				t.Fatal(err)
			}
			acc0, _ := Accuracy(n, d, 0)
			var calls int
			st, err := Fit(context.Background(), n, d, Config{Epochs: 3, Batch: 16, Seed: 1, Optimizer: opt.o, Progress: func(Progress) { calls++ }})
			if err != nil {
				t.Fatal(err)
			}
			if len(st) != 3 || calls != 3*32+3 {
				t.Fatalf("%d epochs, %d progress calls", len(st), calls)
			}
			if !(st[2].Loss < st[0].Loss*0.6) {
				t.Errorf("loss %v -> %v: did not drop", st[0].Loss, st[2].Loss)
			}
			acc, err := Accuracy(n, d, 0)
			if err != nil {
				t.Fatal(err)
			}
			if acc < 0.8 || acc < acc0+0.5 {
				t.Errorf("training accuracy %v (from %v)", acc, acc0)
			}
		})
	}
}

func TestFitCancelAndMaxSteps(t *testing.T) {
	n, _ := SeedNet(2, 2, 4, 1)
	d := randomData(n.Input, 64, 10, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, n, d, Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	steps := 0
	if _, err := Fit(context.Background(), n, d, Config{Epochs: 5, Batch: 8, MaxSteps: 3, Progress: func(p Progress) {
		if !p.EpochDone {
			steps++
		}
	}}); err != nil || steps != 3 {
		t.Errorf("MaxSteps 3: %d steps, %v", steps, err)
	}
}

func TestDistillFollowsTeacher(t *testing.T) {
	d := mnistSubset(t, 512)
	teacher, _ := SeedNet(8, 8, 32, 1)
	if _, err := Fit(context.Background(), teacher, d, Config{Epochs: 3, Batch: 32, Seed: 1, Optimizer: NewAdam(2e-3)}); err != nil {
		t.Fatal(err)
	}
	tl, _ := teacher.Logits(d.Images, d.Len(), 0)
	agree := func(n *Net) float64 {
		sl, _ := n.Logits(d.Images, d.Len(), 0)
		c := 0
		for i := 0; i < d.Len(); i++ {
			if evaluate.Argmax(sl[i*10:(i+1)*10]) == evaluate.Argmax(tl[i*10:(i+1)*10]) {
				c++
			}
		}
		return float64(c) / float64(d.Len())
	}
	student, _ := SeedNet(4, 4, 16, 2)
	a0 := agree(student)
	// Pure soft loss (Alpha=1): the labels are not used, only the teacher.
	st, err := Fit(context.Background(), student, d, Config{Epochs: 3, Batch: 32, Seed: 1, Optimizer: NewAdam(2e-3), Teacher: NetTeacher{Net: teacher}, Alpha: new(float32(1))})
	if err != nil {
		t.Fatal(err)
	}
	if !(st[2].Loss < st[0].Loss) {
		t.Errorf("distillation loss %v -> %v", st[0].Loss, st[2].Loss)
	}
	if a := agree(student); a < 0.45 || a < a0+0.3 {
		t.Errorf("student agrees with the teacher on %v of samples (from %v)", a, a0)
	}
	if _, err := Fit(context.Background(), student, d, Config{Teacher: NetTeacher{Net: teacher}, Alpha: new(float32(2))}); err == nil {
		t.Error("alpha 2: no error")
	}
}

// TestMobileNetV2Learns: the MobileNetV2-style net (depthwise convs, ReLU6,
// residual Adds) trains on MNIST.
func TestMobileNetV2Learns(t *testing.T) {
	d := mnistSubset(t, 512)
	n, err := MobileNetV2(1)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Fit(context.Background(), n, d, Config{Epochs: 4, Batch: 16, Seed: 1, Optimizer: NewAdam(2e-3)})
	if err != nil {
		t.Fatal(err)
	}
	if !(st[3].Loss < st[0].Loss*0.75) {
		t.Errorf("loss %v -> %v: did not drop", st[0].Loss, st[3].Loss)
	}
	if acc, err := Accuracy(n, d, 0); err != nil || acc < 0.6 {
		t.Errorf("training accuracy %v (%v)", acc, err)
	}
}
