package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/system"
)

func init() {
	register(&command{
		name:    "partition",
		summary: "predict the latency of every cut of a model on a link and choose one",
		run:     runPartition,
	})
}

// costFlags are the flags partition and sweep share: the model, where the
// profiles come from, the emulated edge and the wire format.
type costFlags struct {
	model        string
	edgeProfile  string
	cloudProfile string
	saveProfile  string
	slowdown     float64
	samples      int
	runs         int
	threads      int
	codec        string
	wireDType    string
	clock        string
	cloudClock   string
	maxBytes     int
	compact      bool
}

func (f *costFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.model, "model", "", "model: a file (ONNX, QDQ ONNX, .sinf) or a built-in name (default: the built-in default model)")
	fs.StringVar(&f.edgeProfile, "edge-profile", "", "edge latency profile (JSON); default: measured here")
	fs.StringVar(&f.cloudProfile, "cloud-profile", "", "cloud latency profile (JSON); default: measured here")
	fs.StringVar(&f.saveProfile, "save-profile", "", "write the edge profile measured here to this JSON file")
	fs.Float64Var(&f.slowdown, "edge-slowdown", 0, "emulate an edge F times slower than the edge profile (0: off, else 1..1000)")
	fs.IntVar(&f.samples, "samples", 4, "sample inputs to profile and size with (MNIST test images, else seeded random)")
	fs.IntVar(&f.runs, "runs", 5, "profiling runs (medians are taken)")
	fs.IntVar(&f.threads, "threads", 1, "threads per inference when profiling")
	fs.StringVar(&f.codec, "codec", "none", "wire codec of activations: none or zstd")
	fs.StringVar(&f.wireDType, "wire", "float32", "activation dtype on the wire: float32 (as computed), uint8 or int8 (quantized, lossy)")
	def := "wall"
	if measure.CPUTimeSupported() {
		def = "cpu"
	}
	fs.StringVar(&f.clock, "clock", def, "edge profile clock: cpu (the thread's CPU time: steady on a loaded host; one thread) or wall")
	fs.StringVar(&f.cloudClock, "cloud-clock", "wall", "cloud profile clock: wall (what requests will see) or cpu")
	fs.BoolVar(&f.compact, "compact", true, "size (and sweep sends) compact requests where the model has a compact coding: its activation codecs, the input as a PNG (see run --compact)")
	fs.IntVar(&f.maxBytes, "max-bytes", 1<<20, "largest request the transport takes (NATS max_payload; 0: no limit): bigger cuts are infeasible")
}

func (f *costFlags) validate() error {
	switch {
	case f.slowdown != 0 && !(f.slowdown >= 1 && f.slowdown <= 1000):
		return fmt.Errorf("--edge-slowdown %v: want 0 (off) or 1..1000", f.slowdown)
	case f.samples < 1 || f.samples > 1024:
		return fmt.Errorf("--samples %d: want 1..1024", f.samples)
	case f.runs < 1 || f.runs > 1000:
		return fmt.Errorf("--runs %d: want 1..1000", f.runs)
	case f.threads < 1:
		return fmt.Errorf("--threads %d: want >= 1", f.threads)
	case f.maxBytes < 0:
		return fmt.Errorf("--max-bytes %d: want >= 0", f.maxBytes)
	}
	if _, err := pipeline.ParseCodec(f.codec); err != nil {
		return fmt.Errorf("--codec: %v", err)
	}
	if _, err := parseWire(f.wireDType); err != nil {
		return err
	}
	for _, c := range []struct{ flag, v string }{{"--clock", f.clock}, {"--cloud-clock", f.cloudClock}} {
		switch {
		case c.v == "cpu" && !measure.CPUTimeSupported():
			return fmt.Errorf("%s cpu: no per-thread CPU clock on this system", c.flag)
		case c.v == "cpu" && f.threads != 1:
			return fmt.Errorf("%s cpu needs --threads 1", c.flag)
		case c.v != "cpu" && c.v != "wall":
			return fmt.Errorf("%s %q: want cpu or wall", c.flag, c.v)
		}
	}
	return nil
}

// parseWire parses --wire: float32 (as computed: nn.Undefined), uint8 or
// int8 (float32 activations quantized for the wire).
func parseWire(s string) (nn.DType, error) {
	switch s {
	case "float32", "":
		return nn.Undefined, nil
	case "uint8":
		return nn.Uint8, nil
	case "int8":
		return nn.Int8, nil
	}
	return nn.Undefined, fmt.Errorf("%w: --wire %q: want float32, uint8 or int8", errUsage, s)
}

// costSetup is a cost model of one model, with what the user must be told
// about where the numbers come from.
type costSetup struct {
	*measure.CostModel
	name    string // the model file's base name
	graph   *nn.Graph
	prog    *nn.Program
	samples [][]*nn.Tensor
}

// setup loads the model and builds its cost model from the flags.
func (f *costFlags) setup(ctx context.Context, stderr io.Writer) (*costSetup, error) {
	g, name, err := loadModel(f.model)
	if err != nil {
		return nil, err
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	set, _ := mnistTest() // without it the samples are seeded random inputs
	samples, what, err := measure.SampleInputs(g, f.samples, set)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	codec, _ := pipeline.ParseCodec(f.codec)
	dt, _ := parseWire(f.wireDType)
	enc, err := pipeline.NewRequestEncoder(prog, codec, dt, f.compact)
	if err != nil {
		return nil, err
	}
	cfg := measure.ModelConfig{Samples: samples, SamplesNote: what, Runs: f.runs, Threads: f.threads, Model: name, Device: host,
		EdgeNote: f.edgeProfile, CloudNote: f.cloudProfile, EdgeCPU: f.clock == "cpu", CloudCPU: f.cloudClock == "cpu",
		Slowdown: f.slowdown, Encode: enc.Size, EncodeNote: enc.String(), MaxBytes: f.maxBytes, Log: stderr,
		Context: ctx, Progress: progress(stderr, "profiling")}
	if cfg.Edge, err = loadProfileFlag(f.edgeProfile); err != nil {
		return nil, err
	}
	if cfg.Cloud, err = loadProfileFlag(f.cloudProfile); err != nil {
		return nil, err
	}
	cm, err := measure.Build(prog, cfg)
	if err != nil {
		return nil, err
	}
	if f.saveProfile != "" && cm.EdgeMeasured != nil {
		if err := writeProfile(f.saveProfile, cm.EdgeMeasured); err != nil {
			return nil, err
		}
	}
	return &costSetup{CostModel: cm, name: name, graph: g, prog: prog, samples: samples}, nil
}

// loadProfileFlag reads a profile file (nil for no file).
func loadProfileFlag(path string) (*partition.Profile, error) {
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

func runPartition(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("partition", stderr)
	var cf costFlags
	cf.register(fs)
	bw := fs.String("bandwidth", "10mbit", "link bandwidth (e.g. 1mbit, 512kbit, 1gbit)")
	rtt := fs.Duration("rtt", 20*time.Millisecond, "link round trip")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	plotPath := fs.String("plot", "", "write a PNG of predicted latency against cut for several bandwidths")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "splitinfer partition: unexpected arguments %v\n", fs.Args())
		return errUsage
	}
	if err := cf.validate(); err != nil {
		fmt.Fprintf(stderr, "splitinfer partition: %v\n", err)
		return errUsage
	}
	bits, err := link.ParseBandwidth(*bw)
	if err != nil || bits == 0 {
		fmt.Fprintf(stderr, "splitinfer partition: --bandwidth %q: want a finite bandwidth such as 10mbit\n", *bw)
		return errUsage
	}
	if *rtt < 0 {
		fmt.Fprintf(stderr, "splitinfer partition: --rtt must not be negative\n")
		return errUsage
	}
	l := partition.Link{Bandwidth: bits / 8, RTT: *rtt}
	s, err := cf.setup(ctx, stderr)
	if err != nil {
		return err
	}
	rep, err := system.Predict(s.name, s.CostModel, l, cf.slowdown, *plotPath)
	if err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	rep.WriteText(stdout)
	return nil
}
