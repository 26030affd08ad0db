// Package measure measures what the partitioner's cost model is built
// from, by running the model here: per-node latency profiles (by the wall
// clock or the profiling thread's CPU clock) and the encoded sizes of the
// tensors that may cross a cut. Package partition itself stays pure: it
// only computes with profiles and sizes.
package measure

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/splitinfer/splitinfer/internal/cputime"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
)

// ErrProfile is partition.ErrProfile: bad options or inputs.
var ErrProfile = partition.ErrProfile

// CPUTimeSupported reports whether per-thread CPU time can be measured
// here (WithCPUTime).
func CPUTimeSupported() bool { return cputime.Supported() }

type measureConfig struct {
	runs, warmup, threads int
	device                string
	cpu                   bool
	ctx                   context.Context
	progress              func(done, total int)
}

// Option configures Profile and Sizes.
type Option func(*measureConfig)

// WithRuns sets how many measured runs the medians are taken over (default 5).
func WithRuns(n int) Option { return func(c *measureConfig) { c.runs = n } }

// WithWarmup sets how many unmeasured runs come first (default 1).
func WithWarmup(n int) Option { return func(c *measureConfig) { c.warmup = n } }

// WithThreads sets the runner's thread budget (default 1).
func WithThreads(n int) Option { return func(c *measureConfig) { c.threads = n } }

// WithCPUTime makes Profile time nodes by the CPU time of the
// profiling thread instead of the wall clock, so that a loaded host does
// not inflate the profile. It needs one thread (WithThreads(1)) and Linux;
// elsewhere Profile fails.
func WithCPUTime() Option { return func(c *measureConfig) { c.cpu = true } }

// WithContext makes Profile stop between samples, with ctx.Err() wrapped,
// when ctx is done.
func WithContext(ctx context.Context) Option { return func(c *measureConfig) { c.ctx = ctx } }

// WithProgress has Profile report the sample runs done (warm-up included)
// after each.
func WithProgress(f func(done, total int)) Option {
	return func(c *measureConfig) { c.progress = f }
}

// WithDevice names the device in the profile.
func WithDevice(name string) Option { return func(c *measureConfig) { c.device = name } }

func newMeasureConfig(opts []Option) (measureConfig, error) {
	c := measureConfig{runs: 5, warmup: 1, threads: 1}
	for _, o := range opts {
		o(&c)
	}
	if c.runs < 1 || c.warmup < 0 || c.threads < 1 {
		return c, fmt.Errorf("%w: runs %d, warmup %d, threads %d", ErrProfile, c.runs, c.warmup, c.threads)
	}
	if c.cpu && (c.threads != 1 || !CPUTimeSupported()) {
		return c, fmt.Errorf("%w: CPU-time profiles need one thread and per-thread CPU clocks", ErrProfile)
	}
	return c, nil
}

// Profile runs prog over the sample inputs (each in Program.Inputs
// order) with a node observer, and returns for each node the median over
// runs of its mean time per sample. Nodes the runner does not time (aliases
// such as Reshape) get 0.
func Profile(prog *nn.Program, samples [][]*nn.Tensor, opts ...Option) (*partition.Profile, error) {
	cfg, err := newMeasureConfig(opts)
	if err != nil {
		return nil, err
	}
	if prog == nil || len(samples) == 0 {
		return nil, fmt.Errorf("%w: no program or no samples", ErrProfile)
	}
	nodes := prog.Nodes()
	idx := make(map[*nn.Node]int, len(nodes))
	for i, n := range nodes {
		idx[n] = i
	}
	acc := make([]time.Duration, len(nodes))
	r := prog.NewRunner(cfg.threads)
	var lastCPU time.Duration
	r.SetObserver(func(n *nn.Node, d time.Duration) {
		if cfg.cpu {
			// the CPU time since the previous node (or the run's start):
			// this node's kernel plus a little runner bookkeeping
			now, _ := cputime.Thread()
			d, lastCPU = now-lastCPU, now
		}
		if i, ok := idx[n]; ok {
			acc[i] += d
		}
	})
	if cfg.cpu {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	perRun := make([][]float64, len(nodes))
	for run := 0; run < cfg.warmup+cfg.runs; run++ {
		for i := range acc {
			acc[i] = 0
		}
		for si, in := range samples {
			if cfg.ctx != nil && cfg.ctx.Err() != nil {
				return nil, fmt.Errorf("measure: profiling: %w", cfg.ctx.Err())
			}
			lastCPU, _ = cputime.Thread()
			if _, err := r.Run(in...); err != nil {
				return nil, fmt.Errorf("measure: profiling sample %d: %w", si, err)
			}
			if cfg.progress != nil {
				cfg.progress(run*len(samples)+si+1, (cfg.warmup+cfg.runs)*len(samples))
			}
		}
		if run < cfg.warmup {
			continue
		}
		for i, d := range acc {
			perRun[i] = append(perRun[i], float64(d)/1e6/float64(len(samples)))
		}
	}
	p := &partition.Profile{
		Model:   prog.Graph().Name,
		Device:  cfg.device,
		Threads: cfg.threads,
		Runs:    cfg.runs,
		Clock:   "wall",
		NodesMS: make(map[string]float64, len(nodes)),
	}
	if cfg.cpu {
		p.Clock = "thread-cpu"
	}
	for i, n := range nodes {
		p.NodesMS[n.Name] = partition.Median(perRun[i])
	}
	return p, nil
}

// Sizes runs prog over the samples, encodes every tensor that may
// cross a cut with enc (alone, and the tensors of each cut in cuts
// together) and returns the mean sizes and median encode times. The reply
// is sized by encoding the model outputs with enc too.
func Sizes(d *partition.DAG, prog *nn.Program, samples [][]*nn.Tensor, enc partition.EncodeFunc, cuts []partition.Cut, opts ...Option) (*partition.Sizes, error) {
	cfg, err := newMeasureConfig(opts)
	if err != nil {
		return nil, err
	}
	if d == nil || prog == nil || enc == nil || len(samples) == 0 {
		return nil, fmt.Errorf("%w: missing DAG, program, encoder or samples", ErrProfile)
	}
	names := d.TensorNames()
	all, err := prog.Slice(prog.Inputs(), names)
	if err != nil {
		return nil, fmt.Errorf("measure: %w", err)
	}
	s := &partition.Sizes{Bytes: map[string]int{}, EncodeMS: map[string]float64{}, Cuts: map[string]int{}, Elements: map[string]int{}}
	if n, err := enc(nil, nil); err == nil {
		s.Overhead = n
	}
	sum := make([]int, len(names))
	times := make([][]float64, len(names))
	cutSum := make([]int, len(cuts))
	replySum := 0
	r := all.NewRunner(cfg.threads)
	pos := make(map[string]int, len(names))
	for i, n := range names {
		pos[n] = i
	}
	for si, in := range samples {
		outs, err := r.Run(in...)
		if err != nil {
			return nil, fmt.Errorf("measure: sizing sample %d: %w", si, err)
		}
		for i, t := range outs {
			s.Elements[names[i]] = t.Len()
			for k := 0; k < cfg.runs; k++ {
				t0 := time.Now()
				n, err := enc(names[i:i+1], []*nn.Tensor{t})
				el := time.Since(t0)
				if err != nil {
					return nil, fmt.Errorf("measure: encoding %q: %w", names[i], err)
				}
				times[i] = append(times[i], float64(el)/1e6)
				if k == 0 {
					sum[i] += n - s.Overhead
				}
			}
		}
		var outT []*nn.Tensor
		for _, o := range prog.Outputs() {
			outT = append(outT, outs[pos[o]])
		}
		n, err := enc(prog.Outputs(), outT)
		if err != nil {
			return nil, fmt.Errorf("measure: encoding the outputs: %w", err)
		}
		replySum += n
		for ci, c := range cuts {
			if len(c.Tensors) == 0 {
				continue
			}
			ts := make([]*nn.Tensor, len(c.Tensors))
			for j, tn := range c.Tensors {
				p, ok := pos[tn]
				if !ok {
					return nil, fmt.Errorf("%w: cut %q sends unknown tensor %q", partition.ErrCut, c.Name, tn)
				}
				ts[j] = outs[p]
			}
			n, err := enc(c.Tensors, ts)
			if err != nil {
				return nil, fmt.Errorf("measure: encoding cut %q: %w", c.Name, err)
			}
			cutSum[ci] += n
		}
	}
	ns := len(samples)
	s.Reply = (replySum + ns - 1) / ns
	for i, n := range names {
		// A compact request (pipeline's wire v2) can be smaller than the
		// empty request Overhead measures: its share is then 0, and the
		// cut's own size (Cuts) is what predictions use.
		s.Bytes[n] = max((sum[i]+ns-1)/ns, 0)
		s.EncodeMS[n] = partition.Median(times[i])
	}
	for ci, c := range cuts {
		if len(c.Tensors) > 0 {
			s.Cuts[c.Name] = (cutSum[ci] + ns - 1) / ns
		}
	}
	return s, nil
}

// ShapeSizes estimates sizes from the tensor shapes and dtypes of one
// sample, for when no encoder is at hand: raw tensor bytes plus perTensor
// bytes of framing each, and overhead bytes per request. Measured sizes
// (Sizes) are preferred.
func ShapeSizes(d *partition.DAG, prog *nn.Program, sample []*nn.Tensor, overhead, perTensor int) (*partition.Sizes, error) {
	n := func(_ []string, ts []*nn.Tensor) (int, error) {
		total := overhead
		for _, t := range ts {
			total += perTensor + t.Len()*t.DType.Size()
		}
		return total, nil
	}
	s, err := Sizes(d, prog, [][]*nn.Tensor{sample}, n, nil, WithRuns(1))
	if err != nil {
		return nil, err
	}
	s.EncodeMS = nil
	s.Cuts = nil
	return s, nil
}
