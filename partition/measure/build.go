package measure

import (
	"context"
	"fmt"
	"io"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
)

// ModelConfig says where Build takes each part of the cost model from.
type ModelConfig struct {
	// Samples are the inputs profiled and sized with (each in the model's
	// input order); SamplesNote names them in the notes ("4 MNIST test
	// images").
	Samples     [][]*nn.Tensor
	SamplesNote string
	// Runs is how many profiling runs the medians are taken over (default
	// 5); Threads the runner's threads (default 1).
	Runs, Threads int
	// Model and Device name the model and the device in profiles measured
	// here (default: the graph's name).
	Model, Device string
	// Edge and Cloud are given profiles (from a file, or fetched from a
	// cloud worker), EdgeNote and CloudNote say where from; nil: measured
	// here, by the thread CPU clock when EdgeCPU / CloudCPU.
	Edge, Cloud         *partition.Profile
	EdgeNote, CloudNote string
	EdgeCPU, CloudCPU   bool
	// Slowdown scales the edge profile for an emulated slower edge (0 or
	// 1: as measured).
	Slowdown float64
	// Encode sizes the requests (the pipeline's RequestEncoder.Size);
	// EncodeNote describes it.
	Encode     partition.EncodeFunc
	EncodeNote string
	// MaxBytes is the largest request the transport takes (0: no limit).
	MaxBytes int
	// Log, when not nil, gets a line before each profiling.
	Log io.Writer
	// Context, when set, stops profiling between samples when done
	// (ctx.Err() wrapped); Progress gets each profiling's sample runs.
	Context  context.Context
	Progress func(done, total int)
}

// CostModel is a built cost model with what it was built from.
type CostModel struct {
	Model *partition.Model
	DAG   *partition.DAG
	// Cuts are the candidate cuts sized (DAG.CandidateCuts).
	Cuts []partition.Cut
	// EdgeMeasured is the edge profile measured here, before Slowdown (nil
	// when given).
	EdgeMeasured *partition.Profile
	// Notes say where each part came from, for the user.
	Notes []string

	prog *nn.Program
	cfg  ModelConfig
}

// Build builds the cost model of prog the edge chooses its cut with: the
// edge and cloud profiles (given, or measured here), the edge profile
// scaled by the slowdown, and the encoded sizes of every candidate cut
// measured with the edge's own encoder.
func Build(prog *nn.Program, cfg ModelConfig) (*CostModel, error) {
	if prog == nil || len(cfg.Samples) == 0 || cfg.Encode == nil {
		return nil, fmt.Errorf("%w: Build needs a model, samples and an encoder", ErrProfile)
	}
	if cfg.Runs == 0 {
		cfg.Runs = 5
	}
	if cfg.Threads == 0 {
		cfg.Threads = 1
	}
	if cfg.SamplesNote == "" {
		cfg.SamplesNote = fmt.Sprintf("%d sample(s)", len(cfg.Samples))
	}
	d, err := partition.NewDAG(prog.Graph())
	if err != nil {
		return nil, err
	}
	c := &CostModel{DAG: d, prog: prog, cfg: cfg}
	edge, err := c.profile("edge", cfg.Edge, cfg.EdgeNote, cfg.EdgeCPU)
	if err != nil {
		return nil, err
	}
	if cfg.Edge == nil {
		c.EdgeMeasured = edge
	}
	cloud, err := c.profile("cloud", cfg.Cloud, cfg.CloudNote, cfg.CloudCPU)
	if err != nil {
		return nil, err
	}
	if cfg.Slowdown > 1 {
		edge = edge.Scaled(cfg.Slowdown)
		c.Notes = append(c.Notes, fmt.Sprintf("emulated edge: the edge profile x %.3g (%.2f ms per inference)", cfg.Slowdown, edge.TotalMS()))
	}
	c.Cuts = d.CandidateCuts()
	sizes, err := Sizes(d, prog, cfg.Samples, cfg.Encode, c.Cuts, WithRuns(3))
	if err != nil {
		return nil, err
	}
	c.Notes = append(c.Notes, fmt.Sprintf("bytes: %s encoded from %s, %d candidate cuts", cfg.EncodeNote, cfg.SamplesNote, len(c.Cuts)))
	if c.Model, err = partition.NewModel(d, edge, cloud, sizes); err != nil {
		return nil, err
	}
	c.Model.MaxBytes = cfg.MaxBytes
	if cfg.MaxBytes > 0 {
		c.Notes = append(c.Notes, fmt.Sprintf("requests above %d bytes are infeasible", cfg.MaxBytes))
	}
	return c, nil
}

// profile returns the given profile (checked against the DAG) or measures
// one here.
func (c *CostModel) profile(side string, given *partition.Profile, note string, cpu bool) (*partition.Profile, error) {
	if given != nil {
		if err := given.Validate(c.DAG); err != nil {
			return nil, fmt.Errorf("%s profile: %w", side, err)
		}
		c.Notes = append(c.Notes, fmt.Sprintf("%s profile: %s (%.2f ms per inference, %s clock)", side, note, given.TotalMS(), given.Clock))
		return given, nil
	}
	p, err := c.measure(cpu)
	if err != nil {
		return nil, err
	}
	c.Notes = append(c.Notes, fmt.Sprintf("%s profile: measured here (%.2f ms per inference by the %s clock, median of %d runs over %s, %d thread(s))",
		side, p.TotalMS(), p.Clock, c.cfg.Runs, c.cfg.SamplesNote, c.cfg.Threads))
	return p, nil
}

func (c *CostModel) measure(cpu bool) (*partition.Profile, error) {
	clock := "wall"
	opts := []Option{WithRuns(c.cfg.Runs), WithThreads(c.cfg.Threads), WithDevice(c.cfg.Device),
		WithContext(c.cfg.Context), WithProgress(c.cfg.Progress)}
	if cpu {
		clock = "cpu"
		opts = append(opts, WithCPUTime())
	}
	if c.cfg.Log != nil {
		name := c.cfg.Model
		if name == "" {
			name = c.prog.Graph().Name
		}
		fmt.Fprintf(c.cfg.Log, "profiling %s (%s clock): %d runs over %s, %d thread(s)...\n", name, clock, c.cfg.Runs, c.cfg.SamplesNote, c.cfg.Threads)
	}
	p, err := Profile(c.prog, c.cfg.Samples, opts...)
	if err == nil && c.cfg.Model != "" {
		p.Model = c.cfg.Model
	}
	return p, err
}

// CloudMeasuredHere reports whether the cloud profile was measured here
// (RemeasureCloud measures it again).
func (c *CostModel) CloudMeasuredHere() bool { return c.cfg.Cloud == nil }

// RemeasureCloud profiles the cloud side again, when it was measured here,
// and rebuilds Model with it: the host's load changes over a long
// measurement, and the cloud's speed with it.
func (c *CostModel) RemeasureCloud() error {
	if !c.CloudMeasuredHere() {
		return nil
	}
	cloud, err := c.measure(c.cfg.CloudCPU)
	if err != nil {
		return err
	}
	m, err := c.Model.WithCloud(cloud)
	if err != nil {
		return err
	}
	c.Model = m
	return nil
}
