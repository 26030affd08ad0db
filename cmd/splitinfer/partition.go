package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/splitinfer/splitinfer/internal/progress"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/system"
)

// addCostFlags registers the flags partition and sweep share, into the
// cost model's configuration: the model, where the profiles come from,
// the emulated edge and the wire format.
func addCostFlags(fs *flag.FlagSet) *system.CostConfig {
	c := &system.CostConfig{}
	fs.StringVar(&c.Model, "model", "", "model: a file (ONNX, QDQ ONNX, .sinf) or a built-in name (default: the built-in default model)")
	fs.StringVar(&c.EdgeProfile, "edge-profile", "", "edge latency profile (JSON); default: measured here")
	fs.StringVar(&c.CloudProfile, "cloud-profile", "", "cloud latency profile (JSON); default: measured here")
	fs.StringVar(&c.SaveProfile, "save-profile", "", "write the edge profile measured here to this JSON file")
	fs.Float64Var(&c.Slowdown, "edge-slowdown", 0, "emulate an edge F times slower than the edge profile (0: off, else 1..1000)")
	fs.IntVar(&c.Samples, "samples", 4, "sample inputs to profile and size with (MNIST test images, else seeded random)")
	fs.IntVar(&c.Runs, "runs", 5, "profiling runs (medians are taken)")
	fs.IntVar(&c.Threads, "threads", 1, "threads per inference when profiling")
	fs.StringVar(&c.Codec, "codec", "none", "wire codec of activations: none or zstd")
	fs.StringVar(&c.Wire, "wire", "float32", "activation dtype on the wire: float32 (as computed), uint8 or int8 (quantized, lossy)")
	def := "wall"
	if measure.CPUTimeSupported() {
		def = "cpu"
	}
	fs.StringVar(&c.EdgeClock, "clock", def, "edge profile clock: cpu (the thread's CPU time: steady on a loaded host; one thread) or wall")
	fs.StringVar(&c.CloudClock, "cloud-clock", "wall", "cloud profile clock: wall (what requests will see) or cpu")
	fs.BoolVar(&c.Compact, "compact", true, "size (and sweep sends) compact requests where the model has a compact coding: its activation codecs, the input as a PNG (see run --compact)")
	fs.Float64Var(&c.MaxAccuracyDrop, "max-accuracy-drop", 0.002, "with --compact, choose the cut and its coding together among those within this accuracy of the model's on held-back images (the codecs' tuning records)")
	fs.IntVar(&c.MaxBytes, "max-bytes", 1<<20, "largest request the transport takes (NATS max_payload; 0: no limit): bigger cuts are infeasible")
	return c
}

// buildCost builds the cost model of the flags, the samples from the MNIST
// test set and profiling progress drawn on stderr.
func buildCost(ctx context.Context, c *system.CostConfig, stderr io.Writer) (*system.Cost, error) {
	c.Set, _ = mnistTest() // without it the samples are seeded random inputs
	c.Log, c.Progress = stderr, progress.Bar(stderr, "profiling")
	return system.BuildCost(ctx, *c)
}

// parseWire parses --wire (pipeline.ParseWire) as a usage error.
func parseWire(s string) (nn.DType, error) {
	dt, err := pipeline.ParseWire(s)
	if err != nil {
		return dt, fmt.Errorf("%w: --wire %q: want float32, uint8 or int8", errUsage, s)
	}
	return dt, nil
}

func runPartition(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("partition", stderr)
	cc := addCostFlags(fs)
	bw := fs.String("bandwidth", "10mbit", "link bandwidth (e.g. 1mbit, 512kbit, 1gbit)")
	rtt := fs.Duration("rtt", 20*time.Millisecond, "link round trip")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a table")
	plotPath := fs.String("plot", "", "write a PNG of predicted latency against cut for several bandwidths")
	bad := badUsage("partition", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return bad("unexpected arguments %v", fs.Args())
	}
	if err := cc.Validate(); err != nil {
		return bad("%v", err)
	}
	bits, err := link.ParseBandwidth(*bw)
	if err != nil || bits == 0 {
		return bad("--bandwidth %q: want a finite bandwidth such as 10mbit", *bw)
	}
	if *rtt < 0 {
		return bad("--rtt must not be negative")
	}
	s, err := buildCost(ctx, cc, stderr)
	if err != nil {
		return err
	}
	rep, err := system.Predict(s.Name, s.CostModel, partition.Link{Bandwidth: bits / 8, RTT: *rtt}, cc.Slowdown, *plotPath, cc.MaxAccuracyDrop)
	if err != nil {
		return err
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	rep.WriteText(stdout)
	return nil
}

// badUsage returns a function that prints a usage error of the command
// and returns errUsage.
func badUsage(command string, stderr io.Writer) func(format string, a ...any) error {
	return func(format string, a ...any) error {
		fmt.Fprintf(stderr, "splitinfer "+command+": "+format+"\n", a...)
		return errUsage
	}
}
