package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

func init() {
	register(&command{name: "train", summary: "train a CNN on MNIST in Go and save it as ONNX", run: runTrain})
}

// trainFlags are the training options shared by train and compress.
type trainFlags struct {
	lr        float64
	batch     int
	seed      uint64
	threads   int
	optimizer string
	momentum  float64
	limit     int
	quiet     bool
	schedule  string // learning-rate schedule: constant or cosine
	warmup    int    // linear warm-up steps before the cosine decay
}

// mnistSets loads the training (first limit images if limit > 0) and test sets.
func mnistSets(limit int) (tr, te train.Dataset, err error) {
	s, err := mnistTrain()
	if err != nil {
		return tr, te, err
	}
	t, err := mnistTest()
	if err != nil {
		return tr, te, err
	}
	tr = train.Dataset{Images: s.Images, Labels: s.Labels}
	if limit > 0 && limit < tr.Len() {
		tr = tr.Subset(0, limit, mnist.Pixels)
	}
	return tr, train.Dataset{Images: t.Images, Labels: t.Labels}, nil
}

// compressTrain holds the training-based compression options shared by
// train and compress: pruning, fine-tuning and distillation.
type compressTrain struct {
	trainFlags
	prune          float64 // global magnitude sparsity
	pruneChannels  float64 // fraction of conv channels removed
	epochs         int     // fine-tuning / training epochs
	distillFrom    string  // teacher model
	student        string  // student architecture (C1,C2,H)
	temperature    float64
	alpha          float64
	epochsExplicit bool
}

// register adds the pruning and distillation flags to fs (epochs is
// registered by the caller under its own name).
func (o *compressTrain) register(fs *flag.FlagSet) {
	fs.IntVar(&o.epochs, "finetune-epochs", o.epochs, "same as --epochs: epochs of fine-tuning after pruning, or of distillation")
	fs.Float64Var(&o.prune, "prune", 0, "global magnitude pruning: this fraction of all conv/fc weights is set to zero (mask kept while fine-tuning)")
	fs.Float64Var(&o.pruneChannels, "prune-channels", 0, "structured pruning: remove this fraction of the output channels of each prunable conv (smallest L1 norm) and the matching inputs of the next layer")
	fs.StringVar(&o.distillFrom, "distill-from", "", "knowledge distillation: train the student on this teacher model's logits")
	fs.Float64Var(&o.temperature, "temperature", 4, "distillation temperature")
	fs.Float64Var(&o.alpha, "alpha", 0.7, "distillation: weight of the soft (teacher) loss")
	fs.Float64Var(&o.lr, "lr", 1e-3, "learning rate")
	fs.StringVar(&o.schedule, "lr-schedule", o.schedule, "learning-rate schedule: constant, or cosine (decay to 0 over all steps, per batch; it halves the mean rate, so give it a higher --lr: 5e-3 for the 8,16,64 student, see README)")
	fs.IntVar(&o.warmup, "warmup-steps", 0, "with --lr-schedule cosine: steps of linear warm-up before the decay")
	fs.IntVar(&o.batch, "batch", 128, "mini-batch size")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the initialisation and the shuffling (same seed and threads: same weights)")
	fs.IntVar(&o.threads, "threads", 0, "goroutines per mini-batch (0: all cores)")
	fs.StringVar(&o.optimizer, "optimizer", "adam", "adam or sgd")
	fs.Float64Var(&o.momentum, "momentum", 0.9, "SGD momentum")
	fs.IntVar(&o.limit, "train-limit", 0, "use only the first N training images (0: all)")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress bar")
}

// active reports whether any training-based compression was asked for.
func (o *compressTrain) active() bool {
	return o.prune > 0 || o.pruneChannels > 0 || o.distillFrom != "" || o.epochs > 0
}

func (o *compressTrain) validate() error {
	switch {
	case !(o.prune >= 0 && o.prune < 1):
		return fmt.Errorf("--prune %v: want a fraction in [0,1)", o.prune)
	case !(o.pruneChannels >= 0 && o.pruneChannels < 1):
		return fmt.Errorf("--prune-channels %v: want a fraction in [0,1)", o.pruneChannels)
	case o.epochs < 0, o.batch <= 0, !(o.lr > 0):
		return fmt.Errorf("epochs %d, batch %d, lr %v: want epochs >= 0, batch > 0, lr > 0", o.epochs, o.batch, o.lr)
	case o.distillFrom != "" && !(o.temperature > 0 && o.alpha >= 0 && o.alpha <= 1):
		return fmt.Errorf("--temperature %v --alpha %v: want T > 0 and alpha in [0,1]", o.temperature, o.alpha)
	case o.optimizer != "adam" && o.optimizer != "sgd":
		return fmt.Errorf("unknown --optimizer %q (adam or sgd)", o.optimizer)
	case o.warmup < 0:
		return fmt.Errorf("--warmup-steps %d: want >= 0", o.warmup)
	case (o.distillFrom != "" || o.student != "") && o.epochs == 0:
		return fmt.Errorf("distillation needs at least one epoch of training")
	}
	if _, err := train.ParseSchedule(o.schedule); err != nil {
		return fmt.Errorf("--lr-schedule: %w", err)
	}
	return nil
}

// options are the flags as train.Options; a --distill-from model is
// loaded as the teacher.
func (o *compressTrain) options(stderr io.Writer) (train.Options, error) {
	opts := train.Options{LR: o.lr, Optimizer: o.optimizer, Momentum: o.momentum, Schedule: o.schedule, Warmup: o.warmup,
		Batch: o.batch, Seed: o.seed, Threads: o.threads, Epochs: o.epochs, Prune: o.prune, PruneChannels: o.pruneChannels,
		Student: o.student, TeacherName: o.distillFrom, Temperature: o.temperature, Alpha: o.alpha,
		Progress: progressBar(stderr, o.quiet), Log: stderr}
	if o.distillFrom != "" && o.epochs > 0 {
		var err error
		if opts.Teacher, err = onnx.Load(o.distillFrom); err != nil {
			return opts, err
		}
	}
	return opts, o.validate()
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	arch := fs.String("arch", "seednet", "network: seednet, tinyresnet, mobilenetv2 (depthwise separable inverted residuals, ReLU6), or C1,C2,H (seed network with conv widths C1, C2 and hidden size H)")
	from := fs.String("from", "", "fine-tune this ONNX model instead of training --arch from scratch")
	out := fs.String("out", "", "write the trained model here (ONNX)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	o := compressTrain{trainFlags: trainFlags{schedule: "constant"}}
	fs.IntVar(&o.epochs, "epochs", 3, "epochs over the 60k MNIST training images")
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: splitinfer train [--arch seednet|tinyresnet|C1,C2,H | --from MODEL] [--epochs E] [--lr LR] [--batch B] [--seed S] [--prune S] [--prune-channels F] [--distill-from TEACHER] --out MODEL")
		return errUsage
	}
	if err := o.validate(); err != nil {
		return err
	}
	trainSet, testSet, err := mnistSets(o.limit)
	if err != nil {
		return err
	}
	var net *train.Net
	accBefore := -1.0
	if *from != "" {
		g, err := onnx.Load(*from)
		if err != nil {
			return err
		}
		if net, err = train.FromGraph(g); err != nil {
			return err
		}
		if accBefore, err = train.Accuracy(net, testSet, o.threads); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s: test accuracy %.4f, %d params, %d MACs/image\n", *from, accBefore, net.NumParams(), net.MACs())
	} else if net, err = train.ParseArch(*arch, o.seed); err != nil {
		return err
	}
	opts, err := o.options(stderr)
	if err != nil {
		return err
	}
	rep, err := opts.Run(ctx, net, trainSet, testSet)
	if err != nil {
		return err
	}
	net = rep.Net
	acc, err := train.Accuracy(net, testSet, o.threads)
	if err != nil {
		return err
	}
	name := *arch
	if *from != "" {
		name = "finetuned"
	}
	g, err := net.ToGraph(name)
	if err != nil {
		return err
	}
	if err := onnx.Save(*out, g); err != nil {
		return err
	}
	res := map[string]any{
		"test_accuracy":  acc,
		"params":         net.NumParams(),
		"nonzero_params": net.NonZeroParams(),
		"macs":           net.MACs(),
		"images_per_sec": rep.ImagesPerSec,
		"seconds":        rep.Elapsed.Seconds(),
		"out":            *out,
	}
	if accBefore >= 0 {
		res["accuracy_before"] = accBefore
	}
	if rep.AccAfterPrune >= 0 {
		res["accuracy_pruned_no_finetune"] = rep.AccAfterPrune
	}
	if len(rep.Stats) > 0 {
		res["train_loss"] = rep.Stats[len(rep.Stats)-1].Loss
		res["train_accuracy"] = rep.Stats[len(rep.Stats)-1].Acc
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	if accBefore >= 0 {
		fmt.Fprintf(stdout, "accuracy before %.4f\n", accBefore)
	}
	if rep.AccAfterPrune >= 0 {
		fmt.Fprintf(stdout, "accuracy after pruning, before fine-tuning %.4f\n", rep.AccAfterPrune)
	}
	fmt.Fprintf(stdout, "test accuracy %.4f (MNIST test set, 10000 images)\nparams %d (non-zero %d), MACs/image %d\n",
		acc, net.NumParams(), net.NonZeroParams(), net.MACs())
	if rep.TrainImages > 0 {
		fmt.Fprintf(stdout, "training %.0f img/s, %s\n", rep.ImagesPerSec, rep.Elapsed.Round(time.Second))
	}
	fmt.Fprintf(stdout, "saved %s\n", *out)
	return nil
}

// compressGraph applies the training-based compression of o to the float
// model g (train.Options.CompressGraph on MNIST); it is what compress runs
// before quantizing.
func (o *compressTrain) compressGraph(ctx context.Context, g *nn.Graph, stderr io.Writer) (*nn.Graph, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	trainSet, testSet, err := mnistSets(o.limit)
	if err != nil {
		return nil, err
	}
	opts, err := o.options(stderr)
	if err != nil {
		return nil, err
	}
	return opts.CompressGraph(ctx, g, trainSet, testSet)
}
