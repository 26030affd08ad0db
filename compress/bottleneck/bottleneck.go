// Package bottleneck inserts a learned bottleneck at a cut of a model
// (BottleFit, Entropic Student): a narrowing 1x1 convolution and ReLU on
// the edge side, so the edge sends fewer channels, and a widening 1x1
// convolution on the cloud side, trained with the rest of the model by
// distillation from the original model. The narrow tensor becomes the
// model's natural split point: the model records it in its metadata
// (MetaKey), where pipeline.EarlyCut finds it, and it is a cut like any
// other for the partitioner.
package bottleneck

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/nn"
)

// MetaKey is the graph metadata key naming a model's bottleneck tensor.
const MetaKey = "splitinfer.bottleneck"

// prefix starts the names of the inserted and retrained nodes and tensors.
const prefix = "bottleneck/"

// ErrArg reports a model or configuration the bottleneck cannot take.
var ErrArg = errors.New("bottleneck: invalid argument")

// Config says how Insert trains. Zero fields take the defaults given.
type Config struct {
	// Channels is the narrow tensor's channel count (required, fewer
	// than the cut's).
	Channels int
	// Epochs of distillation (default 3) at learning rate LR (default
	// 1e-3, Adam, cosine schedule).
	Epochs int
	LR     float32
	// Threads for the model runs and training (default GOMAXPROCS).
	Threads int
	// Seed of the new weights and the shuffling.
	Seed uint64
	// Progress, when set, is called as training goes.
	Progress func(train.Progress)
}

// Report is what Insert did.
type Report struct {
	Cut      string `json:"cut"`
	Tensor   string `json:"tensor"` // the narrow tensor: the new cut
	Channels int    `json:"channels"`
	// From is the cut's channels; Elements the narrow tensor's values a
	// sample (against From x H x W before).
	From     int `json:"from_channels"`
	Elements int `json:"elements"`
	// Images trained on, and the student's accuracy on them at the end.
	Images        int     `json:"images"`
	TrainAccuracy float64 `json:"train_accuracy"`
}

// Insert returns a copy of g (float32, one input, one output of logits)
// with a bottleneck at cut tensor cut (C x H x W): the head up to cut
// unchanged, then a 1x1 convolution to cfg.Channels and a ReLU (the new
// cut), a 1x1 convolution back to C (and a ReLU when the cut's values are
// never negative on the images), then the rest of g. The new convolutions
// and the rest are trained by distillation from g's logits on images
// (float32 NCHW, labels beside) with the cut's activations as input, so
// the head (the edge) keeps its weights. Activation codecs and exit heads
// g carries in its metadata are dropped: the tail they were fitted with
// changed (fit them again on the result).
func Insert(ctx context.Context, g *nn.Graph, cut string, images *nn.Tensor, labels []uint8, cfg Config) (*nn.Graph, *Report, error) {
	if cfg.Epochs == 0 {
		cfg.Epochs = 3
	}
	if cfg.LR == 0 {
		cfg.LR = 1e-3
	}
	if images == nil || images.DType != nn.Float32 || len(images.Shape) != 4 || images.Shape[0] != len(labels) || len(labels) == 0 {
		return nil, nil, fmt.Errorf("%w: images and labels do not match", ErrArg)
	}
	if cfg.Epochs < 0 || !(cfg.LR > 0) {
		return nil, nil, fmt.Errorf("%w: %d epochs at learning rate %v", ErrArg, cfg.Epochs, cfg.LR)
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: %w", err)
	}
	ac, err := actcode.NewCut(prog, cut)
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: %w", err)
	}
	if ac.Example.DType != nn.Float32 || len(ac.Example.Shape) != 4 {
		return nil, nil, fmt.Errorf("%w: cut %q is %v; the bottleneck trains a float32 model at a [batch, C, H, W] cut: give the float model (for the built-in one, seednet_mnist) and --quantize int8 after it", ErrArg, cut, ac.Example.Type())
	}
	if cfg.Channels < 1 || cfg.Channels >= ac.C {
		return nil, nil, fmt.Errorf("%w: %d channels at a cut of %d (want 1..%d)", ErrArg, cfg.Channels, ac.C, ac.C-1)
	}
	tailGraph := subgraph(g, ac.Tail.NodeIndices(), []nn.ValueInfo{{Name: cut, Type: nn.Type{DType: nn.Float32, Shape: []int{-1, ac.C, ac.H, ac.W}}}}, g.Outputs)
	tail, err := train.FromGraph(tailGraph)
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: the rest of the model after %q cannot be trained: %w", cut, err)
	}

	feats, err := ac.Features(images, cfg.Threads)
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: %w", err)
	}
	nonNeg := true
	for _, v := range feats {
		if v < 0 {
			nonNeg = false
			break
		}
	}
	teacher := train.ProgramTeacher{Program: prog, Input: train.Shape{C: images.Shape[1], H: images.Shape[2], W: images.Shape[3]}, Threads: cfg.Threads}
	soft, err := teacher.Logits(images.F32, len(labels))
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: teacher: %w", err)
	}

	b := train.NewBuilder(train.Shape{C: ac.C, H: ac.H, W: ac.W}, cfg.Seed+1)
	narrow := b.Relu(b.Conv(b.Input(), cfg.Channels, 1, 1, 0))
	wide := b.Conv(narrow, ac.C, 1, 1, 0)
	if nonNeg {
		wide = b.Relu(wide)
	}
	net, err := b.Build(b.Append(wide, tail))
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: %w", err)
	}
	selectChannels(net.Layers[0], net.Layers[2], feats, ac.C, ac.H*ac.W)
	stats, err := train.Fit(ctx, net, train.Dataset{Images: feats, Labels: labels}, train.Config{
		Epochs: cfg.Epochs, Seed: cfg.Seed, Threads: cfg.Threads, Teacher: train.FixedTeacher(soft),
		Optimizer: train.NewAdam(cfg.LR), Schedule: train.ScheduleCosine, Progress: cfg.Progress})
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: %w", err)
	}
	rest, err := net.ToGraph(g.Name)
	if err != nil {
		return nil, nil, fmt.Errorf("bottleneck: %w", err)
	}
	// ToGraph writes a node per layer in order: the second is the ReLU
	// after the narrowing convolution.
	out := splice(g, ac.Head.NodeIndices(), cut, rest)
	tensor := prefix + rest.Nodes[1].Outputs[0]
	out.Meta[MetaKey] = tensor
	if err := out.Validate(); err != nil {
		return nil, nil, fmt.Errorf("bottleneck: %w", err)
	}
	rep := &Report{Cut: cut, Tensor: tensor, Channels: cfg.Channels, From: ac.C, Elements: cfg.Channels * ac.H * ac.W, Images: len(labels)}
	if len(stats) > 0 {
		rep.TrainAccuracy = stats[len(stats)-1].Acc
	}
	return out, rep, nil
}

// selectChannels starts the bottleneck as a channel selection: the
// narrowing convolution passes the cut's most energetic channels (the
// largest mean square on feats) through unchanged and the widening one
// puts them back in place, so training starts from the model with the
// other channels dropped instead of from noise.
func selectChannels(narrow, widen *train.Layer, feats []float32, c, hw int) {
	energy := make([]float64, c)
	for i, v := range feats {
		energy[i/hw%c] += float64(v) * float64(v)
	}
	order := make([]int, c)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return energy[order[a]] > energy[order[b]] })
	k := len(narrow.B.Data)
	clear(narrow.W.Data)
	clear(narrow.B.Data)
	clear(widen.W.Data)
	clear(widen.B.Data)
	for j, ch := range order[:k] {
		narrow.W.Data[j*c+ch] = 1 // W is k x c (1x1)
		widen.W.Data[ch*k+j] = 1  // W is c x k
	}
}

// ParseSpec reads a bottleneck as the command line gives it, CUT:CHANNELS
// (the cut may be "early").
func ParseSpec(s string) (cut string, channels int, err error) {
	i := strings.LastIndexByte(s, ':')
	if i > 0 {
		channels, err = strconv.Atoi(s[i+1:])
	}
	if i <= 0 || err != nil || channels < 1 {
		return "", 0, fmt.Errorf("%w: bottleneck %q: want CUT:CHANNELS (e.g. early:8)", ErrArg, s)
	}
	return s[:i], channels, nil
}

// Rename records tensor as g's bottleneck when a node of g makes it
// (after a pass that renames the narrow tensor, such as quantization) and
// reports whether it did.
func Rename(g *nn.Graph, tensor string) bool {
	for _, n := range g.Nodes {
		if slices.Contains(n.Outputs, tensor) {
			g.Meta[MetaKey] = tensor
			return true
		}
	}
	return false
}

// Tensor returns the bottleneck tensor g records (MetaKey), or "".
func Tensor(g *nn.Graph) string { return g.Meta[MetaKey] }

// subgraph is the graph of g's nodes at indices nodes, with the given
// inputs and outputs and the constants they read.
func subgraph(g *nn.Graph, nodes []int, inputs, outputs []nn.ValueInfo) *nn.Graph {
	s := &nn.Graph{Name: g.Name, Inputs: inputs, Outputs: outputs, Consts: map[string]*nn.Tensor{}, Opset: g.Opset}
	for _, ni := range nodes {
		n := g.Nodes[ni]
		s.Nodes = append(s.Nodes, n)
		for _, in := range n.Inputs {
			if t, ok := g.Consts[in]; ok {
				s.Consts[in] = t
			}
		}
	}
	return s
}

// splice is g's head (the nodes at indices head, ending in tensor cut)
// followed by rest, a graph from cut's values (its input) to g's output:
// rest's names get prefix, its input becomes cut and its output g's.
func splice(g *nn.Graph, head []int, cut string, rest *nn.Graph) *nn.Graph {
	out := subgraph(g, head, g.Inputs, g.Outputs)
	out.Name = g.Name
	out.Meta = maps.Clone(g.Meta)
	if out.Meta == nil {
		out.Meta = map[string]string{}
	}
	for k := range out.Meta {
		// Fitted with the old tail (the keys of actcode and earlyexit).
		if strings.HasPrefix(k, actcode.MetaPrefix) || strings.HasPrefix(k, earlyexit.MetaPrefix) {
			delete(out.Meta, k)
		}
	}
	rename := func(t string) string {
		switch t {
		case "":
			return ""
		case rest.Inputs[0].Name:
			return cut
		case rest.Outputs[0].Name:
			return g.Outputs[0].Name
		}
		return prefix + t
	}
	for name, t := range rest.Consts {
		out.Consts[rename(name)] = t
	}
	for _, n := range rest.Nodes {
		m := &nn.Node{Name: prefix + n.Name, Op: n.Op, Attrs: n.Attrs}
		for _, in := range n.Inputs {
			m.Inputs = append(m.Inputs, rename(in))
		}
		for _, o := range n.Outputs {
			m.Outputs = append(m.Outputs, rename(o))
		}
		out.Nodes = append(out.Nodes, m)
	}
	return out
}
