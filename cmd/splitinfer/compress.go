package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"runtime"
	"strings"

	"github.com/splitinfer/splitinfer/compress/bottleneck"
	"github.com/splitinfer/splitinfer/compress/quantize"
	"github.com/splitinfer/splitinfer/compress/recipe"
	"github.com/splitinfer/splitinfer/internal/progress"
	"github.com/splitinfer/splitinfer/pipeline"
)

// exitDefaultDrop is --max-accuracy-drop's default for the exit head (the
// flag's own default is the activation codec's).
const exitDefaultDrop = 0.001

func runCompress(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compress", stderr)
	cfg := recipe.Config{Data: mnistData(), EarlyCut: pipeline.EarlyCut, Log: stderr}
	fs.StringVar(&cfg.Model, "model", "", "input model: ONNX (float or QDQ), .sinf, or a built-in name")
	fs.StringVar(&cfg.Out, "out", "", "output model: .sinf (splitinfer's model file) or .onnx (ONNX QDQ that ONNX Runtime runs)")
	fs.StringVar(&cfg.Quantize, "quantize", "", "quantization: int8, or empty for none")
	fs.IntVar(&cfg.CalibImages, "calib", 512, "calibration images (the first N of the MNIST training set)")
	method := fs.String("calib-method", "minmax", "activation calibration: minmax, percentile or entropy")
	fs.Float64Var(&cfg.Percentile, "percentile", 99.99, "percentile of --calib-method percentile")
	floatNodes := fs.String("float-nodes", "", "comma-separated nodes to keep in float32")
	fs.IntVar(&cfg.TestImages, "n", 0, "evaluate on the first N test images (default: all 10,000)")
	fs.IntVar(&cfg.Threads, "eval-threads", runtime.GOMAXPROCS(0), "goroutines for evaluation and calibration")
	asJSON := jsonFlag(fs)
	pf := addPrepFlags(fs)
	act := recipe.Act{}
	actBits := fs.String("act-bits", "", "fit a compact activation codec at --act-cut: bit widths to try (e.g. 2 or 2,3,4, or auto for 1..8); the smallest within --max-accuracy-drop on held-back training images is stored in the model")
	fs.StringVar(&act.Cut, "act-cut", "early", "cut tensor of the activation codec (early: after the last early conv/pool block)")
	deadZones := fs.String("act-dead-zone", "0.5", "dead zones to try (comma-separated, in quantization steps; larger sends more zeros)")
	fs.IntVar(&act.Fit, "act-fit", 5000, "training images the codec is fitted on (the first N)")
	fs.IntVar(&act.Held, "act-held", 5000, "held-back training images the candidates are scored on (the last N)")
	fs.Float64Var(&act.Tune.MaxAccuracyDrop, "max-accuracy-drop", 0.002, "accuracy a codec may lose against the uncoded cut, on the held-back images")
	exit := recipe.Exit{}
	fs.StringVar(&exit.Cut, "exit", "", "train an early-exit head at this cut tensor (early: the default early cut), distilled from the model; its threshold keeps accuracy within --max-accuracy-drop (default 0.001 here) of the whole model on held-back training images")
	fs.IntVar(&exit.Fit, "exit-fit", 20000, "training images the exit head is distilled on (the first N)")
	fs.IntVar(&exit.Held, "exit-held", 10000, "held-back training images the exit threshold is chosen on (the last N)")
	fs.IntVar(&exit.Head.Epochs, "exit-epochs", 4, "distillation epochs of the exit head")
	fs.IntVar(&exit.Head.Hidden, "exit-hidden", 0, "width of a hidden layer in the exit head (0: linear)")
	bneck := recipe.Bottleneck{}
	bneckSpec := fs.String("bottleneck", "", "insert a learned bottleneck CUT:CHANNELS (e.g. early:8) in a float model: narrowing and widening 1x1 convs distilled from the model; the narrow tensor becomes the early cut (then --quantize, --act-bits)")
	fs.IntVar(&bneck.Fit, "bottleneck-fit", 20000, "training images the bottleneck is distilled on (the first N)")
	fs.IntVar(&bneck.Config.Epochs, "bottleneck-epochs", 3, "distillation epochs of the bottleneck")
	var tf trainFlags
	tf.register(fs, "fine-tuning (after pruning) or distillation epochs", 0)
	fs.StringVar(&tf.opts.Student, "student", "", "distil into a seed network of this architecture (C1,C2,H) instead of fine-tuning the model; the student's defaults are then --epochs 5 --lr-schedule cosine --lr 5e-3 (see README)")
	setUsage(fs, stderr, "usage: splitinfer compress --model IN --out OUT [--prune S] [--epochs E] [--quantize int8] [--calib N] [--calib-method minmax|percentile|entropy] [--json]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Model == "" || cfg.Out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	tf.opts.ApplyDefaults(func(name string) bool { return given[name] })
	cfg.Train, cfg.TrainLimit = tf.options(stderr), tf.limit
	var err error
	if cfg.CalibMethod, err = quantize.ParseMethod(*method); err != nil {
		return err
	}
	if *floatNodes != "" {
		cfg.FloatNodes = strings.Split(*floatNodes, ",")
	}
	if *actBits != "" {
		if err := act.ParseBits(*actBits, *deadZones); err != nil {
			return err
		}
		cfg.Act = &act
	}
	if *bneckSpec != "" {
		if bneck.Cut, bneck.Config.Channels, err = bottleneck.ParseSpec(*bneckSpec); err != nil {
			return err
		}
		cfg.Bottleneck = &bneck
	}
	if exit.Cut != "" {
		exit.Head.MaxAccuracyDrop = exitDefaultDrop
		if given["max-accuracy-drop"] {
			exit.Head.MaxAccuracyDrop = act.Tune.MaxAccuracyDrop
		}
		cfg.Exit = &exit
	}
	if cfg.Preprocess, cfg.Labels, err = pf.declaration(); err != nil {
		return err
	}
	cfg.Progress = progress.Bar(stderr, "calibrating")
	rep, err := recipe.Compress(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	rep.WriteText(stdout)
	return nil
}
