package system

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
)

// CostConfig is how `splitinfer partition` and `splitinfer sweep` build a
// model's cost model: where the profiles come from, the emulated edge and
// the requests' wire format.
type CostConfig struct {
	// Model is a file or a built-in name (models.Resolve).
	Model string
	// EdgeProfile and CloudProfile are profile files (partition.LoadProfile;
	// "": measured here, by the thread CPU clock when EdgeClock or
	// CloudClock is "cpu", else "wall"). SaveProfile, when set, receives
	// the edge profile measured here.
	EdgeProfile, CloudProfile, SaveProfile string
	EdgeClock, CloudClock                  string
	// Slowdown emulates an edge this many times slower (0: off, else 1..1000).
	Slowdown float64
	// Samples inputs are profiled and sized with: the first images of Set
	// when not nil and the model takes MNIST images, else seeded random.
	Samples int
	Set     *mnist.Set
	// Runs is how many profiling runs the medians are taken over; Threads
	// the threads per inference.
	Runs, Threads int
	// Codec ("none", "zstd"), Wire (ParseWire) and Compact size the requests
	// as the edge will send them.
	Codec, Wire string
	Compact     bool
	// MaxAccuracyDrop is the budget of the joint choice of cut and coding
	// (with Compact, the codings of AddCodings).
	MaxAccuracyDrop float64
	// MaxBytes is the largest request the transport takes (0: no limit).
	MaxBytes int
	// Log gets a line before each profiling; Progress its sample runs.
	Log      io.Writer
	Progress func(done, total int)
}

// Validate checks the settings (the CLI's flag names in the messages).
func (c *CostConfig) Validate() error {
	switch {
	case c.Slowdown != 0 && !(c.Slowdown >= 1 && c.Slowdown <= 1000):
		return fmt.Errorf("--edge-slowdown %v: want 0 (off) or 1..1000", c.Slowdown)
	case c.Samples < 1 || c.Samples > 1024:
		return fmt.Errorf("--samples %d: want 1..1024", c.Samples)
	case c.Runs < 1 || c.Runs > 1000:
		return fmt.Errorf("--runs %d: want 1..1000", c.Runs)
	case c.Threads < 1:
		return fmt.Errorf("--threads %d: want >= 1", c.Threads)
	case c.MaxBytes < 0:
		return fmt.Errorf("--max-bytes %d: want >= 0", c.MaxBytes)
	case !(c.MaxAccuracyDrop >= 0 && c.MaxAccuracyDrop < 1):
		return fmt.Errorf("--max-accuracy-drop %v: want 0 <= drop < 1", c.MaxAccuracyDrop)
	}
	if _, err := pipeline.ParseCodec(c.Codec); err != nil {
		return fmt.Errorf("--codec: %v", err)
	}
	if _, err := pipeline.ParseWire(c.Wire); err != nil {
		return fmt.Errorf("--wire: %v", err)
	}
	for _, k := range []struct{ flag, v string }{{"--clock", c.EdgeClock}, {"--cloud-clock", c.CloudClock}} {
		switch {
		case k.v == "cpu" && !measure.CPUTimeSupported():
			return fmt.Errorf("%s cpu: no per-thread CPU clock on this system", k.flag)
		case k.v == "cpu" && c.Threads != 1:
			return fmt.Errorf("%s cpu needs --threads 1", k.flag)
		case k.v != "cpu" && k.v != "wall":
			return fmt.Errorf("%s %q: want cpu or wall", k.flag, k.v)
		}
	}
	return nil
}

// Cost is a model's cost model with the model and the samples it was
// built from.
type Cost struct {
	*measure.CostModel
	Name    string
	Program *nn.Program
	Samples [][]*nn.Tensor
	Config  CostConfig
}

// SweepConfig is the sweep of this cost model over links: its edges send
// the requests as they were sized (codec, wire dtype, compact), with the
// profiling threads, one at a time, each bounded by timeout without a
// retry. With the CPU clock (or a slowdown) the edge emulates the profile:
// each head run takes Slowdown (at least 1) x its thread CPU time, so the
// host's load does not change the emulated edge.
func (c *Cost) SweepConfig(links []link.Spec, timeout time.Duration) SweepConfig {
	cfg := c.Config
	var slowdown float64
	if cfg.Slowdown > 1 || cfg.EdgeClock == "cpu" {
		slowdown = max(cfg.Slowdown, 1)
	}
	codec, _ := pipeline.ParseCodec(cfg.Codec)
	wire, _ := pipeline.ParseWire(cfg.Wire)
	return SweepConfig{Name: c.Name, Program: c.Program, Cost: c.CostModel, Samples: c.Samples, Links: links,
		Edge: edgeworker.Config{Codec: codec, WireDType: wire, Compact: cfg.Compact, Threads: cfg.Threads, Slowdown: slowdown,
			Concurrency: 1, Timeout: timeout, Deadline: timeout, Attempts: 1},
		MaxAccuracyDrop: cfg.MaxAccuracyDrop}
}

// BuildCost loads the model of cfg and builds its cost model
// (measure.Build) with the requests sized by the edge's own encoder and,
// with Compact, every coding of its compact cuts (AddCodings).
func BuildCost(ctx context.Context, cfg CostConfig) (*Cost, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g, name, err := models.Resolve(cfg.Model)
	if err != nil {
		return nil, err
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	samples, what, err := measure.SampleInputs(g, cfg.Samples, cfg.Set)
	if err != nil {
		return nil, err
	}
	codec, _ := pipeline.ParseCodec(cfg.Codec)
	wire, _ := pipeline.ParseWire(cfg.Wire)
	enc, err := pipeline.NewRequestEncoder(prog, codec, wire, cfg.Compact)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	mc := measure.ModelConfig{Samples: samples, SamplesNote: what, Runs: cfg.Runs, Threads: cfg.Threads, Model: name, Device: host,
		EdgeNote: cfg.EdgeProfile, CloudNote: cfg.CloudProfile, EdgeCPU: cfg.EdgeClock == "cpu", CloudCPU: cfg.CloudClock == "cpu",
		Slowdown: cfg.Slowdown, Encode: enc.Size, EncodeNote: enc.String(), MaxBytes: cfg.MaxBytes, Log: cfg.Log,
		Context: ctx, Progress: cfg.Progress}
	if mc.Edge, err = loadProfile(cfg.EdgeProfile); err != nil {
		return nil, err
	}
	if mc.Cloud, err = loadProfile(cfg.CloudProfile); err != nil {
		return nil, err
	}
	cm, err := measure.Build(prog, mc)
	if err != nil {
		return nil, err
	}
	if cfg.Compact {
		if err := AddCodings(cm, prog, samples, codec, wire); err != nil {
			return nil, err
		}
	}
	if cfg.SaveProfile != "" && cm.EdgeMeasured != nil {
		if err := writeProfile(cfg.SaveProfile, cm.EdgeMeasured); err != nil {
			return nil, err
		}
	}
	return &Cost{CostModel: cm, Name: name, Program: prog, Samples: samples, Config: cfg}, nil
}

// loadProfile reads a profile file (nil for no file).
func loadProfile(path string) (*partition.Profile, error) {
	if path == "" {
		return nil, nil
	}
	return partition.LoadProfile(path)
}

func writeProfile(path string, p *partition.Profile) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := p.WriteJSON(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
