package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"

	"github.com/splitinfer/splitinfer/evaluate"
)

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	model := modelFlag(fs)
	n := fs.Int("n", 0, "evaluate the first N test images (default: all 10,000)")
	batch := fs.Int("batch", 100, "images per run")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "goroutines, each running whole batches")
	asJSON := jsonFlag(fs)
	setUsage(fs, stderr, "usage: splitinfer eval [--model MODEL] [--n N] [--batch B] [--threads T] [--json]")
	if err := parseModelArg(fs, args, model); err != nil {
		return err
	}
	if *batch < 1 || *threads < 1 || *n < 0 {
		fmt.Fprintln(stderr, "splitinfer eval: --batch and --threads must be at least 1, --n not negative")
		return errUsage
	}
	g, name, err := loadModel(*model)
	if err != nil {
		return err
	}
	set, err := mnistTest()
	if err != nil {
		return err
	}
	res, err := evaluate.MNIST(ctx, g, set, *n, *batch, *threads)
	if err != nil {
		return err
	}
	res.Model = name
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "model      %s\naccuracy   %.4f (%d/%d)\nimages     %d\nseconds    %.3f\nimages/s   %.1f\n",
		res.Model, res.Accuracy, res.Correct, res.Images, res.Images, res.Seconds, res.ImagesPerS)
	return nil
}
