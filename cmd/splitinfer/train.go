package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/splitinfer/splitinfer/compress/recipe"
	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/internal/progress"
)

// trainFlags are the training flags train and compress share: pruning,
// fine-tuning and distillation, into train.Options.
type trainFlags struct {
	opts  train.Options
	limit int
	quiet bool
}

// register adds the flags to fs; --epochs (and its alias
// --finetune-epochs) defaults to epochs.
func (t *trainFlags) register(fs *flag.FlagSet, epochsUsage string, epochs int) {
	o := &t.opts
	fs.IntVar(&o.Epochs, "epochs", epochs, epochsUsage)
	fs.IntVar(&o.Epochs, "finetune-epochs", epochs, "same as --epochs: epochs of fine-tuning after pruning, or of distillation")
	fs.Float64Var(&o.Prune, "prune", 0, "global magnitude pruning: this fraction of all conv/fc weights is set to zero (mask kept while fine-tuning)")
	fs.Float64Var(&o.PruneChannels, "prune-channels", 0, "structured pruning: remove this fraction of the output channels of each prunable conv and the matching inputs of the next layer (the weakest: on training images, those whose removal changes the next layer least, their means folded into its bias; else the smallest L1 norm); compress fine-tunes after it with --lr-schedule cosine --lr 5e-3 --batch 64 unless given")
	fs.StringVar(&o.BatchNorm, "finetune-bn", "auto", "fine-tuning after --prune-channels with a BatchNorm after each conv (folded back on export): auto (nets with depthwise convs or residual Adds), on or off")
	fs.StringVar(&o.TeacherName, "distill-from", "", "knowledge distillation: train the student on this teacher model's logits")
	fs.Float64Var(&o.Temperature, "temperature", 4, "distillation temperature")
	fs.Float64Var(&o.Alpha, "alpha", 0.7, "distillation: weight of the soft (teacher) loss")
	fs.Float64Var(&o.LR, "lr", 1e-3, "learning rate")
	fs.StringVar(&o.Schedule, "lr-schedule", "constant", "learning-rate schedule: constant, or cosine (decay to 0 over all steps, per batch; it halves the mean rate, so give it a higher --lr: 5e-3 for the 8,16,64 student, see README)")
	fs.IntVar(&o.Warmup, "warmup-steps", 0, "with --lr-schedule cosine: steps of linear warm-up before the decay")
	fs.IntVar(&o.Batch, "batch", 128, "mini-batch size")
	fs.Uint64Var(&o.Seed, "seed", 1, "seed of the initialisation and the shuffling (same seed and threads: same weights)")
	fs.IntVar(&o.Threads, "threads", 0, "goroutines per mini-batch (0: all cores)")
	fs.StringVar(&o.Optimizer, "optimizer", "adam", "adam or sgd")
	fs.Float64Var(&o.Momentum, "momentum", 0.9, "SGD momentum")
	fs.IntVar(&t.limit, "train-limit", 0, "use only the first N training images (0: all)")
	fs.BoolVar(&t.quiet, "quiet", false, "no progress bar")
}

// options are the parsed flags, drawing progress and logging on stderr.
func (t *trainFlags) options(stderr io.Writer) train.Options {
	o := t.opts
	o.Progress, o.Log = progress.Training(stderr, t.quiet), stderr
	return o
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	cfg := recipe.TrainConfig{Data: mnistData(), Log: stderr}
	fs.StringVar(&cfg.Arch, "arch", "seednet", "network: seednet, tinyresnet, mobilenetv2 (depthwise separable inverted residuals, ReLU6), or C1,C2,H (seed network with conv widths C1, C2 and hidden size H)")
	fs.StringVar(&cfg.From, "from", "", "fine-tune this ONNX model instead of training --arch from scratch")
	fs.StringVar(&cfg.Out, "out", "", "write the trained model here (ONNX)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var tf trainFlags
	tf.register(fs, "epochs over the 60k MNIST training images", 3)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if cfg.Out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: splitinfer train [--arch seednet|tinyresnet|C1,C2,H | --from MODEL] [--epochs E] [--lr LR] [--batch B] [--seed S] [--prune S] [--prune-channels F] [--distill-from TEACHER] --out MODEL")
		return errUsage
	}
	cfg.Options, cfg.Limit = tf.options(stderr), tf.limit
	rep, err := recipe.Train(ctx, cfg)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	rep.WriteText(stdout)
	return nil
}
