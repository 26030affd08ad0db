// Command splitinfer runs split inference of compressed CNNs between an edge
// worker and cloud workers over NATS, and the tools around it: inspect,
// infer, eval, compress, train, partition, sweep, run, edge, cloud.
//
// This package is the only one that reads flags and the environment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand, each in a file of its own.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands are the subcommands by name.
var commands = map[string]command{
	"cloud":     {"serve model tails as a cloud worker on a NATS server (drains on SIGTERM)", runCloud},
	"compress":  {"compress a model (pruning, distillation, int8 quantization) and report before/after", runCompress},
	"edge":      {"an edge worker against cloud workers on a NATS server: MNIST test images through the split, or serve the Open Inference Protocol (--serve)", runEdge},
	"eval":      {"accuracy of a model on the MNIST test set", runEval},
	"health":    {"check a worker's /readyz (or /healthz) on its --metrics-addr: exit 0 when it answers 200", runHealth},
	"infer":     {"run a model on ONNX TensorProto input files and write its outputs", runInfer},
	"inspect":   {"list a model's nodes: op, output shapes, parameters, MACs, activation sizes", runInspect},
	"partition": {"predict the latency of every cut of a model on a link and choose one", runPartition},
	"run":       {"run MNIST test images through the split on one machine (embedded NATS, cloud and edge workers)", runRun},
	"sweep":     {"measure every cut over the live pipeline on an emulated link, against the prediction", runSweep},
	"train":     {"train a CNN on MNIST in Go and save it as ONNX", runTrain},
	"version":   {"print the module version, VCS revision and Go version", runVersion},
}

// errUsage marks a usage error already explained to the user (exit code 2).
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(runMain(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "splitinfer: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	if err := c.run(ctx, args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0 // -h: the usage was asked for
		}
		if errors.Is(err, errUsage) {
			return 2
		}
		fmt.Fprintf(stderr, "splitinfer %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: splitinfer COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'splitinfer COMMAND -h' for a command's flags")
}

// newFlagSet makes a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("splitinfer "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// setUsage makes fs's usage the lines given, then the flags' defaults.
func setUsage(fs *flag.FlagSet, stderr io.Writer, lines ...string) {
	fs.Usage = func() {
		fmt.Fprintln(stderr, strings.Join(lines, "\n"))
		fs.PrintDefaults()
	}
}
