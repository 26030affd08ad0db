package main

import (
	"context"
	"io"
	"runtime"
	"strings"

	"github.com/splitinfer/splitinfer/edgeworker"

	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// inferFiles is a repeatable string flag.
type inferFiles []string

func (s *inferFiles) String() string     { return strings.Join(*s, ",") }
func (s *inferFiles) Set(v string) error { *s = append(*s, v); return nil }

func runInfer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("infer", stderr)
	model := modelFlag(fs)
	var inputs, outputs inferFiles
	fs.Var(&inputs, "input", "input tensor file (ONNX TensorProto .pb); repeat for each graph input, in order")
	fs.Var(&outputs, "output", "output tensor file to write; repeat for each graph output, in order (default: print a summary only)")
	threads := fs.Int("threads", 1, "threads the kernels may use")
	pf := addPredictFlags(fs)
	top := fs.Int("top", 5, "with image or directory inputs: the classes to print per file")
	setUsage(fs, stderr, "usage: splitinfer infer --model MODEL --input IN.pb [--output OUT.pb]", "       splitinfer infer --model MODEL --input IMAGE|DIR [--preprocess P] [--labels FILE] [--top K]   (one JSON line per file)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || len(inputs) == 0 {
		fs.Usage()
		return errUsage
	}
	g, name, err := loadModel(*model)
	if err != nil {
		return err
	}
	if len(inputs) == 1 && len(outputs) == 0 && edgeworker.IsFileInput(inputs[0]) {
		// The files run locally (the whole model, no split), one JSON line each.
		w, err := edgeworker.NewLocal(g, *threads)
		if err != nil {
			return err
		}
		p, err := pf.predictor(w, g, name, nil)
		if err != nil {
			return err
		}
		return p.RunFiles(ctx, inputs[0], *top, runtime.GOMAXPROCS(0), stdout)
	}
	outs, err := onnx.RunFiles(ctx, g, inputs, outputs, *threads)
	if err != nil {
		return err
	}
	evaluate.WriteOutputs(stdout, g, outs)
	return nil
}
