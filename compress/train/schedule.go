package train

import (
	"fmt"
	"math"

	"github.com/splitinfer/splitinfer/internal/enum"
)

// Schedule is how the learning rate changes over a Fit run.
type Schedule string

const (
	// ScheduleConstant keeps the optimizer's learning rate (the zero value).
	ScheduleConstant Schedule = "constant"
	// ScheduleCosine decays it from the optimizer's rate to 0 along a half
	// cosine over all steps (PyTorch's CosineAnnealingLR with T_max = the
	// step count, stepped per batch), after Config.Warmup steps of linear
	// warm-up.
	ScheduleCosine Schedule = "cosine"
)

// ParseSchedule accepts "constant" (or "") and "cosine".
func ParseSchedule(s string) (Schedule, error) {
	if v, ok := enum.Parse(s, ScheduleConstant, ScheduleCosine); ok {
		return v, nil
	}
	return "", fmt.Errorf("%w: learning-rate schedule %q (constant or cosine)", ErrArg, s)
}

// LRAt returns the learning rate of step (0-based) out of total steps for
// base rate base, with warmup steps of linear warm-up. The warm-up runs
// base·(step+1)/warmup, so no step is wasted at rate 0; the cosine part
// spans the remaining steps and would reach 0 one step after the last.
func (s Schedule) LRAt(base float32, step, total, warmup int) float32 {
	if s == "" || s == ScheduleConstant || total <= 0 {
		return base
	}
	warmup = max(min(warmup, total-1), 0)
	if step < warmup {
		return base * float32(step+1) / float32(warmup)
	}
	t := float64(step-warmup) / float64(total-warmup)
	return float32(float64(base) * 0.5 * (1 + math.Cos(math.Pi*min(t, 1))))
}

// totalSteps is how many optimizer steps Fit takes.
func totalSteps(cfg Config, n int) int {
	s := cfg.Epochs * ((n + cfg.Batch - 1) / cfg.Batch)
	if cfg.MaxSteps > 0 {
		s = min(s, cfg.MaxSteps)
	}
	return s
}
