package train

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestScheduleLRAt(t *testing.T) {
	const base = 1e-3
	for _, c := range []struct {
		name                string
		s                   Schedule
		step, total, warmup int
		want                float64
	}{
		{"constant start", ScheduleConstant, 0, 100, 0, base},
		{"constant end", ScheduleConstant, 99, 100, 0, base},
		{"zero value is constant", "", 50, 100, 10, base},
		{"cosine start", ScheduleCosine, 0, 100, 0, base},
		{"cosine middle", ScheduleCosine, 50, 100, 0, base / 2},
		{"cosine quarter", ScheduleCosine, 25, 100, 0, base * (1 + math.Sqrt2/2) / 2},
		{"cosine last step", ScheduleCosine, 99, 100, 0, base * (1 + math.Cos(math.Pi*0.99)) / 2},
		{"cosine past the end", ScheduleCosine, 100, 100, 0, 0},
		{"warm-up first step", ScheduleCosine, 0, 110, 10, base / 10},
		{"warm-up last step", ScheduleCosine, 9, 110, 10, base},
		{"after warm-up: decay starts", ScheduleCosine, 10, 110, 10, base},
		{"after warm-up: middle of decay", ScheduleCosine, 60, 110, 10, base / 2},
		{"warm-up longer than the run", ScheduleCosine, 0, 4, 10, base / 3},
	} {
		got := float64(c.s.LRAt(base, c.step, c.total, c.warmup))
		if math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: lr %v at step %d/%d (warm-up %d), want %v", c.name, got, c.step, c.total, c.warmup, c.want)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Schedule
		ok   bool
	}{{"", ScheduleConstant, true}, {"constant", ScheduleConstant, true}, {"cosine", ScheduleCosine, true},
		{"Cosine", "", false}, {"linear", "", false}} {
		got, err := ParseSchedule(c.in)
		if c.ok && (err != nil || got != c.want) {
			t.Errorf("%q: %q, %v; want %q", c.in, got, err, c.want)
		}
		if !c.ok && !errors.Is(err, ErrArg) {
			t.Errorf("%q: error %v, want ErrArg", c.in, err)
		}
	}
}

// recordLR is an optimizer that does nothing but record the rate of each step.
type recordLR struct {
	lr   float32
	seen []float32
}

func (o *recordLR) Step([]*Param)         { o.seen = append(o.seen, o.lr) }
func (o *recordLR) SetLR(lr float32)      { o.lr = lr }
func (o *recordLR) LearningRate() float32 { return o.lr }

func TestFitSchedule(t *testing.T) {
	n, _ := SeedNet(2, 2, 4, 1)
	d := randomData(n.Input, 64, 10, 1) // 8 steps per epoch of 8
	for _, c := range []struct {
		name   string
		cfg    Config
		want   []float32 // rate at each step, within 1e-9
		errArg bool
	}{
		{"constant", Config{Epochs: 2}, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, false},
		// 16 steps over 2 epochs: the decay spans both, not each epoch.
		{"cosine", Config{Epochs: 2, Schedule: ScheduleCosine}, cosineSteps(16, 0), false},
		{"cosine with warm-up", Config{Epochs: 2, Schedule: ScheduleCosine, Warmup: 4}, cosineSteps(16, 4), false},
		// MaxSteps ends the run early: the decay spans the steps actually taken.
		{"cosine MaxSteps", Config{Epochs: 2, Schedule: ScheduleCosine, MaxSteps: 5}, cosineSteps(5, 0), false},
		{"bad schedule", Config{Schedule: "step"}, nil, true},
		{"negative warm-up", Config{Schedule: ScheduleCosine, Warmup: -1}, nil, true},
	} {
		opt := &recordLR{lr: 1}
		cfg := c.cfg
		cfg.Batch, cfg.Optimizer = 8, opt
		_, err := Fit(context.Background(), n, d, cfg)
		if c.errArg {
			if !errors.Is(err, ErrArg) {
				t.Errorf("%s: error %v, want ErrArg", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(opt.seen) != len(c.want) {
			t.Fatalf("%s: %d steps, want %d", c.name, len(opt.seen), len(c.want))
		}
		for i := range c.want {
			if math.Abs(float64(opt.seen[i]-c.want[i])) > 1e-6 {
				t.Errorf("%s: step %d lr %v, want %v", c.name, i, opt.seen[i], c.want[i])
			}
		}
		if opt.lr != 1 {
			t.Errorf("%s: optimizer left at lr %v, want its base rate 1 restored", c.name, opt.lr)
		}
	}
}

// cosineSteps is the reference schedule for base rate 1, written out
// independently of LRAt: linear warm-up (i+1)/w, then a half cosine over
// the remaining steps.
func cosineSteps(total, w int) []float32 {
	out := make([]float32, total)
	for i := range out {
		if i < w {
			out[i] = float32(i+1) / float32(w)
			continue
		}
		out[i] = float32(0.5 * (1 + math.Cos(math.Pi*float64(i-w)/float64(total-w))))
	}
	return out
}
