package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/splitinfer/splitinfer/compress/prune"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/nn"
)

// Compressing models that are not MNIST classifiers (any model the
// importer loads): their size and MACs are measured, not their accuracy,
// and structured channel pruning works on the graph itself (compress/prune)
// without data. Steps that need data of the model's input (fine-tuning,
// distillation, int8 calibration, activation codecs) say so.

// needsData reports the first requested step that needs MNIST-shaped
// input when g does not take it.
func needsData(g *nn.Graph, quant string, o *compressTrain, actBits string) error {
	if evaluate.MNISTShaped(g) {
		return nil
	}
	var steps []string
	if quant != "" {
		steps = append(steps, "int8 calibration (--quantize)")
	}
	if o.epochs > 0 || o.student != "" || o.distillFrom != "" {
		steps = append(steps, "training (--epochs, --student, --distill-from)")
	}
	if o.prune > 0 {
		steps = append(steps, "magnitude pruning with its evaluation (--prune)")
	}
	if actBits != "" {
		steps = append(steps, "activation codecs (--act-bits)")
	}
	if len(steps) == 0 {
		return nil
	}
	return fmt.Errorf("%s need images of the model's input, and splitinfer's data is MNIST [N,1,%d,%d] while the model takes %v; --prune-channels alone works on any model",
		strings.Join(steps, ", "), mnist.Rows, mnist.Cols, g.Inputs[0].Type)
}

// graphPruneOnly reports whether the compression asked for is channel
// pruning without training, which the graph pruner does on any model.
func (o *compressTrain) graphPruneOnly() bool {
	return o.pruneChannels > 0 && o.prune == 0 && o.epochs == 0 && o.student == "" && o.distillFrom == ""
}

// pruneChannelsGraph removes channels with compress/prune and reports the
// spaces pruned and those left alone.
func pruneChannelsGraph(g *nn.Graph, frac float64, stderr io.Writer) (*nn.Graph, error) {
	pg, rep, err := prune.Channels(g, frac)
	if rep != nil {
		rep.Log(stderr, true)
	}
	if err != nil {
		return nil, err
	}
	return nn.Optimize(pg)
}
