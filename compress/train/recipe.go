package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/splitinfer/splitinfer/compress/prune"
	"github.com/splitinfer/splitinfer/nn"
)

// Recipe is the training-based compression: structured channel pruning,
// global magnitude pruning, then fine-tuning or distillation (Epochs of
// Fit with Config; Config.Teacher set distils).
type Recipe struct {
	// PruneChannels removes this fraction of the conv channels
	// (PruneNetChannels); Prune zeroes this fraction of all weights
	// (Net.PruneGlobal), the mask kept while fine-tuning.
	PruneChannels, Prune float64
	// Config trains the net after pruning when Config.Epochs > 0.
	Config Config
	// BatchNorm says whether fine-tuning after channel pruning puts a
	// BatchNorm after each conv that has none (Net.InsertBatchNorms):
	// BatchNormOn, BatchNormOff, or BatchNormAuto ("") for nets with
	// depthwise convs or residual Adds, the MobileNets and ResNets that
	// are trained with BatchNorm and loaded with it folded.
	BatchNorm string
	// Log, when not nil, gets a line per step; TrainNote describes the
	// optimizer in the training line ("adam lr 0.001 (constant)").
	Log       io.Writer
	TrainNote string
}

// RecipeReport is what Run did.
type RecipeReport struct {
	Net *Net
	// AccAfterPrune is the test accuracy right after pruning (before
	// fine-tuning); -1 without pruning.
	AccAfterPrune float64
	Stats         []EpochStats
	ImagesPerSec  float64
	Elapsed       time.Duration
	TrainImages   int
}

func (r Recipe) logf(format string, a ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", a...)
	}
}

// Run applies the recipe to net; testSet gives the accuracy right after
// pruning.
func (r Recipe) Run(ctx context.Context, net *Net, trainSet, testSet Dataset) (*RecipeReport, error) {
	if net == nil {
		return nil, errors.New("train: no model to compress")
	}
	rep := &RecipeReport{AccAfterPrune: -1}
	var err error
	if r.PruneChannels > 0 {
		var removed int
		if net, removed, err = PruneNetChannels(net, r.PruneChannels, r.Log, trainSet.Subset(0, meanSamples, net.Input.Size())); err != nil {
			return nil, err
		}
		r.logf("structured pruning: removed %d conv channels, %d params, %d MACs/image left", removed, net.NumParams(), net.MACs())
		if r.Config.Epochs > 0 && r.insertBN(net) {
			k, err := net.InsertBatchNorms(trainSet, bnSamples)
			if err != nil {
				return nil, err
			}
			r.logf("fine-tuning with a BatchNorm after %d convs (folded back on export)", k)
		}
		if net.RecalibrateBatchNorm(trainSet, bnSamples) {
			r.logf("BatchNorm statistics re-estimated on %d training images", min(bnSamples, trainSet.Len()))
		}
	}
	if r.Prune > 0 {
		k, err := net.PruneGlobal(r.Prune)
		if err != nil {
			return nil, err
		}
		r.logf("global magnitude pruning: %d weights zeroed (sparsity %.4f)", k, net.Sparsity())
	}
	if r.Prune > 0 || r.PruneChannels > 0 {
		if rep.AccAfterPrune, err = Accuracy(net, testSet, r.Config.Threads); err != nil {
			return nil, err
		}
		r.logf("test accuracy after pruning, before fine-tuning: %.4f", rep.AccAfterPrune)
	}
	if r.Config.Epochs > 0 {
		r.logf("training %d params, %d MACs/image on %d images, %d epochs, batch %d, %s",
			net.NumParams(), net.MACs(), trainSet.Len(), r.Config.Epochs, r.Config.Batch, r.TrainNote)
		t0 := time.Now()
		if rep.Stats, err = Fit(ctx, net, trainSet, r.Config); err != nil {
			return nil, err
		}
		rep.Elapsed = time.Since(t0)
		rep.TrainImages = len(rep.Stats) * trainSet.Len()
		rep.ImagesPerSec = float64(rep.TrainImages) / rep.Elapsed.Seconds()
	}
	rep.Net = net
	return rep, nil
}

// bnSamples is how many training images estimate BatchNorm statistics,
// meanSamples the means of pruned channels.
const (
	bnSamples   = 2048
	meanSamples = 512
)

// BatchNorm modes of Recipe.
const (
	BatchNormAuto = "auto"
	BatchNormOn   = "on"
	BatchNormOff  = "off"
)

// insertBN applies r.BatchNorm to net.
func (r Recipe) insertBN(net *Net) bool {
	switch r.BatchNorm {
	case BatchNormOn:
		return true
	case BatchNormOff:
		return false
	}
	deep := false
	for _, l := range net.Layers {
		if l.Kind == BatchNorm {
			return false
		}
		if l.Depthwise || l.Kind == Add {
			deep = true
		}
	}
	return deep
}

// PruneNetChannels removes the fraction frac of conv channels of net. A
// net with depthwise convs, residual Adds or BatchNorms goes through the
// graph pruner (residual-aware: convs joined by Adds lose the same
// channels, depthwise convs and BatchNorms follow their input) and back
// into a trainable net, with the mean over samples (if any) of each
// removed channel folded into the biases of its readers
// (prune.WithSamples); others use the trainer's own chain pruning. It returns the pruned net and the number of
// channels removed.
func PruneNetChannels(net *Net, frac float64, log io.Writer, samples Dataset) (*Net, int, error) {
	graphPath := false
	for _, l := range net.Layers {
		if l.Depthwise || l.Kind == Add || l.Kind == BatchNorm {
			graphPath = true
		}
	}
	if !graphPath {
		removed, err := net.PruneChannels(frac)
		return net, removed, err
	}
	// The graph as the trainer wrote it, BatchNorms unfolded, so that the
	// pruned net trains with them.
	g, err := net.ToGraph("prune")
	if err != nil {
		return nil, 0, err
	}
	var opts []prune.Option
	if samples.Len() > 0 {
		x, err := nn.FromFloat32(samples.Images, samples.Len(), net.Input.C, net.Input.H, net.Input.W)
		if err != nil {
			return nil, 0, err
		}
		opts = append(opts, prune.WithSamples(x))
	}
	pg, rep, err := prune.Channels(g, frac, opts...)
	if err != nil {
		return nil, 0, err
	}
	rep.Log(log, false)
	out, err := FromGraph(pg)
	if err != nil {
		return nil, 0, err
	}
	return out, rep.Removed(), nil
}
