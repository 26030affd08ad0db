package recipe

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// TrainConfig is one Train run: a fresh network of Arch, or the ONNX model
// From fine-tuned, trained with Options on the first Limit MNIST training
// images (0: all) and saved as ONNX to Out.
type TrainConfig struct {
	Arch, From, Out string
	Options         train.Options
	Limit           int
	Data            Data
	// Log gets a line per step.
	Log io.Writer
}

// TrainReport is what Train did (the CLI's train --json object).
type TrainReport struct {
	TestAccuracy  float64 `json:"test_accuracy"`
	Params        int     `json:"params"`
	NonZeroParams int     `json:"nonzero_params"`
	MACs          int64   `json:"macs"`
	ImagesPerSec  float64 `json:"images_per_sec"`
	Seconds       float64 `json:"seconds"`
	Out           string  `json:"out"`
	// AccuracyBefore is the From model's test accuracy; AccuracyPruned the
	// accuracy right after pruning, before fine-tuning.
	AccuracyBefore *float64 `json:"accuracy_before,omitempty"`
	AccuracyPruned *float64 `json:"accuracy_pruned_no_finetune,omitempty"`
	// TrainLoss and TrainAccuracy are the last epoch's.
	TrainLoss     *float64 `json:"train_loss,omitempty"`
	TrainAccuracy *float64 `json:"train_accuracy,omitempty"`
	TrainImages   int      `json:"-"`
}

// datasets are the training set's first limit images (0: all) and the
// test set, as train.Datasets.
func (d Data) datasets(limit int) (tr, te train.Dataset, err error) {
	s, err := d.train()
	if err != nil {
		return tr, te, err
	}
	tr = train.Dataset{Images: s.Images, Labels: s.Labels}
	if limit > 0 && limit < tr.Len() {
		tr = tr.Subset(0, limit, mnist.Pixels)
	}
	t, err := d.test()
	if err != nil {
		return tr, te, err
	}
	return tr, train.Dataset{Images: t.Images, Labels: t.Labels}, nil
}

// Train trains the network of cfg on MNIST, saves it and reports its test
// accuracy and size.
func Train(ctx context.Context, cfg TrainConfig) (*TrainReport, error) {
	opts := cfg.Options
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	trainSet, testSet, err := cfg.Data.datasets(cfg.Limit)
	if err != nil {
		return nil, err
	}
	res := &TrainReport{Out: cfg.Out}
	var net *train.Net
	if cfg.From != "" {
		g, err := onnx.Load(cfg.From)
		if err != nil {
			return nil, err
		}
		if net, err = train.FromGraph(g); err != nil {
			return nil, err
		}
		acc, err := train.Accuracy(net, testSet, opts.Threads)
		if err != nil {
			return nil, err
		}
		res.AccuracyBefore = &acc
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "%s: test accuracy %.4f, %d params, %d MACs/image\n", cfg.From, acc, net.NumParams(), net.MACs())
		}
	} else if net, err = train.ParseArch(cfg.Arch, opts.Seed); err != nil {
		return nil, err
	}
	if err := opts.LoadTeacher(); err != nil {
		return nil, err
	}
	rep, err := opts.Run(ctx, net, trainSet, testSet)
	if err != nil {
		return nil, err
	}
	net = rep.Net
	if res.TestAccuracy, err = train.Accuracy(net, testSet, opts.Threads); err != nil {
		return nil, err
	}
	name := cfg.Arch
	if cfg.From != "" {
		name = "finetuned"
	}
	g, err := net.ToGraph(name)
	if err != nil {
		return nil, err
	}
	if err := onnx.Save(cfg.Out, g); err != nil {
		return nil, err
	}
	res.Params, res.NonZeroParams, res.MACs = net.NumParams(), net.NonZeroParams(), net.MACs()
	res.ImagesPerSec, res.Seconds, res.TrainImages = rep.ImagesPerSec, rep.Elapsed.Seconds(), rep.TrainImages
	if rep.AccAfterPrune >= 0 {
		res.AccuracyPruned = &rep.AccAfterPrune
	}
	if len(rep.Stats) > 0 {
		last := rep.Stats[len(rep.Stats)-1]
		res.TrainLoss, res.TrainAccuracy = &last.Loss, &last.Acc
	}
	return res, nil
}

// WriteText prints the report, a figure a line.
func (r *TrainReport) WriteText(w io.Writer) {
	if r.AccuracyBefore != nil {
		fmt.Fprintf(w, "accuracy before %.4f\n", *r.AccuracyBefore)
	}
	if r.AccuracyPruned != nil {
		fmt.Fprintf(w, "accuracy after pruning, before fine-tuning %.4f\n", *r.AccuracyPruned)
	}
	fmt.Fprintf(w, "test accuracy %.4f (MNIST test set, 10000 images)\nparams %d (non-zero %d), MACs/image %d\n",
		r.TestAccuracy, r.Params, r.NonZeroParams, r.MACs)
	if r.TrainImages > 0 {
		fmt.Fprintf(w, "training %.0f img/s, %s\n", r.ImagesPerSec, (time.Duration(r.Seconds * float64(time.Second))).Round(time.Second))
	}
	fmt.Fprintf(w, "saved %s\n", r.Out)
}
