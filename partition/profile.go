package partition

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/splitinfer/splitinfer/nn"
)

// Profile is the measured latency of every node of a model on one device.
// It is JSON-serialisable so a worker can publish it and a user can keep it
// in a file.
type Profile struct {
	Model   string `json:"model,omitempty"`
	Device  string `json:"device,omitempty"`
	Threads int    `json:"threads,omitempty"`
	// Clock is what was measured: "wall" or "thread-cpu" (WithCPUTime).
	Clock string `json:"clock,omitempty"`
	// Runs is how many measured runs each node time is the median of.
	Runs int `json:"runs,omitempty"`
	// Scale multiplies every node time (0 means 1): a device Scale times
	// slower than the one measured, e.g. an emulated slower edge.
	Scale float64 `json:"scale,omitempty"`
	// NodesMS maps node name to its median latency in milliseconds, per
	// sample (averaged over the samples of a run).
	NodesMS map[string]float64 `json:"nodes_ms"`
}

// NodeMS is the latency of node name in milliseconds, scaled (0 if unknown).
func (p *Profile) NodeMS(name string) float64 {
	if p == nil {
		return 0
	}
	return p.NodesMS[name] * p.scale()
}

func (p *Profile) scale() float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// TotalMS is the sum of all node latencies, scaled.
func (p *Profile) TotalMS() float64 {
	if p == nil {
		return 0
	}
	s := 0.0
	for _, v := range p.NodesMS {
		s += v
	}
	return s * p.scale()
}

// Scaled returns a copy of p whose times are f times larger (on top of
// p's own scale).
func (p *Profile) Scaled(f float64) *Profile {
	c := *p
	c.Scale = p.scale() * f
	c.NodesMS = make(map[string]float64, len(p.NodesMS))
	for k, v := range p.NodesMS {
		c.NodesMS[k] = v
	}
	return &c
}

// Validate checks the profile against a DAG: no negative or non-finite
// time, a positive scale, and only nodes the graph has. Nodes missing from
// the profile count as free.
func (p *Profile) Validate(d *DAG) error {
	if p == nil {
		return fmt.Errorf("%w: nil profile", ErrProfile)
	}
	if p.Scale < 0 || math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) {
		return fmt.Errorf("%w: scale %v", ErrProfile, p.Scale)
	}
	for name, v := range p.NodesMS {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: node %q time %v", ErrProfile, name, v)
		}
		if d != nil {
			if _, ok := d.index[name]; !ok {
				return fmt.Errorf("%w: node %q is not in graph %q", ErrProfile, name, d.g.Name)
			}
		}
	}
	return nil
}

// ReadProfile decodes a JSON profile and checks its values.
func ReadProfile(r io.Reader) (*Profile, error) {
	var p Profile
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProfile, err)
	}
	if p.NodesMS == nil {
		return nil, fmt.Errorf("%w: no nodes_ms", ErrProfile)
	}
	if err := p.Validate(nil); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadProfile reads a JSON profile from a file.
func LoadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("partition: %w", err)
	}
	defer f.Close()
	p, err := ReadProfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// WriteJSON writes p as indented JSON.
func (p *Profile) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

type measureConfig struct {
	runs, warmup, threads int
	device                string
	cpu                   bool
}

// MeasureOption configures MeasureProfile and MeasureSizes.
type MeasureOption func(*measureConfig)

// WithRuns sets how many measured runs the medians are taken over (default 5).
func WithRuns(n int) MeasureOption { return func(c *measureConfig) { c.runs = n } }

// WithWarmup sets how many unmeasured runs come first (default 1).
func WithWarmup(n int) MeasureOption { return func(c *measureConfig) { c.warmup = n } }

// WithThreads sets the runner's thread budget (default 1).
func WithThreads(n int) MeasureOption { return func(c *measureConfig) { c.threads = n } }

// WithCPUTime makes MeasureProfile time nodes by the CPU time of the
// profiling thread instead of the wall clock, so that a loaded host does
// not inflate the profile. It needs one thread (WithThreads(1)) and Linux;
// elsewhere MeasureProfile fails.
func WithCPUTime() MeasureOption { return func(c *measureConfig) { c.cpu = true } }

// WithDevice names the device in the profile.
func WithDevice(name string) MeasureOption { return func(c *measureConfig) { c.device = name } }

func newMeasureConfig(opts []MeasureOption) (measureConfig, error) {
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

// MeasureProfile runs prog over the sample inputs (each in Program.Inputs
// order) with a node observer, and returns for each node the median over
// runs of its mean time per sample. Nodes the runner does not time (aliases
// such as Reshape) get 0.
func MeasureProfile(prog *nn.Program, samples [][]*nn.Tensor, opts ...MeasureOption) (*Profile, error) {
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
			now, _ := threadCPU()
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
			lastCPU, _ = threadCPU()
			if _, err := r.Run(in...); err != nil {
				return nil, fmt.Errorf("partition: profiling sample %d: %w", si, err)
			}
		}
		if run < cfg.warmup {
			continue
		}
		for i, d := range acc {
			perRun[i] = append(perRun[i], float64(d)/1e6/float64(len(samples)))
		}
	}
	p := &Profile{
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
		p.NodesMS[n.Name] = median(perRun[i])
	}
	return p, nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// EncodeFunc encodes tensors, named names (the graph's tensor names, in the
// same order), as one request would carry them and returns the encoded
// length in bytes: the pipeline's encoder, passed in so that this package
// stays independent of the wire format. With the real names the sizes are
// the real wire bytes.
type EncodeFunc func(names []string, tensors []*nn.Tensor) (int, error)

// Sizes holds the measured encoded size of the tensors that may cross a cut.
type Sizes struct {
	// Overhead is the size of a request carrying no tensor.
	Overhead int `json:"overhead"`
	// Bytes is each tensor's share of a request (its encoded size alone
	// minus Overhead), the mean over the samples.
	Bytes map[string]int `json:"bytes"`
	// EncodeMS is the median time to encode each tensor alone.
	EncodeMS map[string]float64 `json:"encode_ms,omitempty"`
	// Reply is the size of the cloud's reply carrying the model outputs
	// (it crosses the link back for every cut but edge-only).
	Reply int `json:"reply,omitempty"`
	// Cuts holds the measured size of whole requests by cut name; when
	// present it replaces the per-tensor sum for that cut.
	Cuts map[string]int `json:"cuts,omitempty"`
}

// MeasureSizes runs prog over the samples, encodes every tensor that may
// cross a cut with enc (alone, and the tensors of each cut in cuts
// together) and returns the mean sizes and median encode times. The reply
// is sized by encoding the model outputs with enc too.
func MeasureSizes(d *DAG, prog *nn.Program, samples [][]*nn.Tensor, enc EncodeFunc, cuts []Cut, opts ...MeasureOption) (*Sizes, error) {
	cfg, err := newMeasureConfig(opts)
	if err != nil {
		return nil, err
	}
	if d == nil || prog == nil || enc == nil || len(samples) == 0 {
		return nil, fmt.Errorf("%w: missing DAG, program, encoder or samples", ErrProfile)
	}
	names := make([]string, len(d.tensors))
	for i, t := range d.tensors {
		names[i] = t.name
	}
	all, err := prog.Slice(prog.Inputs(), names)
	if err != nil {
		return nil, fmt.Errorf("partition: %w", err)
	}
	s := &Sizes{Bytes: map[string]int{}, EncodeMS: map[string]float64{}, Cuts: map[string]int{}}
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
			return nil, fmt.Errorf("partition: sizing sample %d: %w", si, err)
		}
		for i, t := range outs {
			for k := 0; k < cfg.runs; k++ {
				t0 := time.Now()
				n, err := enc(names[i:i+1], []*nn.Tensor{t})
				el := time.Since(t0)
				if err != nil {
					return nil, fmt.Errorf("partition: encoding %q: %w", names[i], err)
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
			return nil, fmt.Errorf("partition: encoding the outputs: %w", err)
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
					return nil, fmt.Errorf("%w: cut %q sends unknown tensor %q", ErrCut, c.Name, tn)
				}
				ts[j] = outs[p]
			}
			n, err := enc(c.Tensors, ts)
			if err != nil {
				return nil, fmt.Errorf("partition: encoding cut %q: %w", c.Name, err)
			}
			cutSum[ci] += n
		}
	}
	ns := len(samples)
	s.Reply = (replySum + ns - 1) / ns
	for i, n := range names {
		s.Bytes[n] = (sum[i] + ns - 1) / ns
		s.EncodeMS[n] = median(times[i])
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
// (MeasureSizes) are preferred.
func ShapeSizes(d *DAG, prog *nn.Program, sample []*nn.Tensor, overhead, perTensor int) (*Sizes, error) {
	n := func(_ []string, ts []*nn.Tensor) (int, error) {
		total := overhead
		for _, t := range ts {
			total += perTensor + t.Len()*t.DType.Size()
		}
		return total, nil
	}
	s, err := MeasureSizes(d, prog, [][]*nn.Tensor{sample}, n, nil, WithRuns(1))
	if err != nil {
		return nil, err
	}
	s.EncodeMS = nil
	s.Cuts = nil
	return s, nil
}
