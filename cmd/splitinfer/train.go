package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/dataset/mnist"
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
}

func (tf *trainFlags) optimizerFor(lr float64) (train.Optimizer, error) {
	switch tf.optimizer {
	case "adam":
		return train.NewAdam(float32(lr)), nil
	case "sgd":
		return train.NewSGD(float32(lr), float32(tf.momentum)), nil
	}
	return nil, fmt.Errorf("unknown --optimizer %q (adam or sgd)", tf.optimizer)
}

// parseArch builds a fresh network: seednet, tinyresnet, or C1,C2,H (the
// seed network with other widths).
func parseArch(arch string, seed uint64) (*train.Net, error) {
	switch arch {
	case "seednet":
		return train.SeedNet(16, 32, 128, seed)
	case "tinyresnet":
		return train.TinyResNet(seed)
	}
	parts := strings.Split(arch, ",")
	if len(parts) != 3 {
		return nil, fmt.Errorf("--arch %q: want seednet, tinyresnet or C1,C2,H", arch)
	}
	var w [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v <= 0 || v > 4096 {
			return nil, fmt.Errorf("--arch %q: width %q is not a positive integer", arch, p)
		}
		w[i] = v
	}
	return train.SeedNet(w[0], w[1], w[2], seed)
}

// mnistSets loads the training (first limit images if limit > 0) and test sets.
func mnistSets(limit int) (tr, te train.Dataset, err error) {
	s, err := mnist.Train()
	if err != nil {
		return tr, te, err
	}
	t, err := mnist.Test()
	if err != nil {
		return tr, te, err
	}
	tr = train.Dataset{Images: s.Images, Labels: s.Labels}
	if limit > 0 && limit < tr.Len() {
		tr = tr.Subset(0, limit, mnist.Pixels)
	}
	return tr, train.Dataset{Images: t.Images, Labels: t.Labels}, nil
}

// progressBar renders training progress on w, at most a few times a second.
func progressBar(w io.Writer, quiet bool) func(train.Progress) {
	if quiet {
		return nil
	}
	var last time.Time
	return func(p train.Progress) {
		if !p.EpochDone && time.Since(last) < 250*time.Millisecond && p.Seen < p.Total {
			return
		}
		last = time.Now()
		const width = 30
		frac := float64(p.Seen) / float64(p.Total)
		fill := int(frac * width)
		bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
		if fill < width {
			bar = bar[:fill] + ">" + bar[fill+1:]
		}
		fmt.Fprintf(w, "\repoch %d/%d [%s] %5.1f%% loss %.4f acc %.4f %6.0f img/s ETA %s ",
			p.Epoch, p.Epochs, bar, 100*frac, p.Loss, p.Acc, p.ImagesPerSec, p.ETA.Round(time.Second))
		if p.EpochDone {
			fmt.Fprintln(w)
		}
	}
}

func runTrain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("train", stderr)
	arch := fs.String("arch", "seednet", "network: seednet, tinyresnet, or C1,C2,H (seed network with conv widths C1, C2 and hidden size H)")
	from := fs.String("from", "", "fine-tune this ONNX model instead of training --arch from scratch")
	epochs := fs.Int("epochs", 3, "epochs over the 60k MNIST training images")
	out := fs.String("out", "", "write the trained model here (ONNX)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	var tf trainFlags
	fs.Float64Var(&tf.lr, "lr", 1e-3, "learning rate")
	fs.IntVar(&tf.batch, "batch", 128, "mini-batch size")
	fs.Uint64Var(&tf.seed, "seed", 1, "seed of the initialisation and the shuffling (same seed and threads: same weights)")
	fs.IntVar(&tf.threads, "threads", 0, "goroutines per mini-batch (0: all cores)")
	fs.StringVar(&tf.optimizer, "optimizer", "adam", "adam or sgd")
	fs.Float64Var(&tf.momentum, "momentum", 0.9, "SGD momentum")
	fs.IntVar(&tf.limit, "train-limit", 0, "use only the first N training images (0: all)")
	fs.BoolVar(&tf.quiet, "quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 || *epochs <= 0 || tf.batch <= 0 || !(tf.lr > 0) {
		fmt.Fprintln(stderr, "usage: splitinfer train [--arch seednet|tinyresnet|C1,C2,H | --from MODEL] [--epochs E] [--lr LR] [--batch B] [--seed S] --out MODEL")
		return errUsage
	}
	var net *train.Net
	var err error
	if *from != "" {
		g, err := onnx.Load(*from)
		if err != nil {
			return err
		}
		if net, err = train.FromGraph(g); err != nil {
			return err
		}
	} else if net, err = parseArch(*arch, tf.seed); err != nil {
		return err
	}
	opt, err := tf.optimizerFor(tf.lr)
	if err != nil {
		return err
	}
	trainSet, testSet, err := mnistSets(tf.limit)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "training %d params, %d MACs/image on %d images, %d epochs, batch %d, %s lr %g\n",
		net.NumParams(), net.MACs(), trainSet.Len(), *epochs, tf.batch, tf.optimizer, tf.lr)
	t0 := time.Now()
	stats, err := train.Fit(ctx, net, trainSet, train.Config{Epochs: *epochs, Batch: tf.batch, Seed: tf.seed, Threads: tf.threads, Optimizer: opt, Progress: progressBar(stderr, tf.quiet)})
	if err != nil {
		return err
	}
	elapsed := time.Since(t0)
	acc, err := train.Accuracy(net, testSet, tf.threads)
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
	images := 0
	for range stats {
		images += trainSet.Len()
	}
	res := map[string]any{
		"test_accuracy":  acc,
		"train_loss":     stats[len(stats)-1].Loss,
		"train_accuracy": stats[len(stats)-1].Acc,
		"params":         net.NumParams(),
		"macs":           net.MACs(),
		"images_per_sec": float64(images) / elapsed.Seconds(),
		"seconds":        elapsed.Seconds(),
		"out":            *out,
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "test accuracy %.4f (MNIST test set, 10000 images)\nparams %d, MACs/image %d\ntraining %.0f img/s, %s\nsaved %s\n",
		acc, net.NumParams(), net.MACs(), res["images_per_sec"], elapsed.Round(time.Second), *out)
	return nil
}
