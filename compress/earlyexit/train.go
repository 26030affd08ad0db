package earlyexit

import (
	"context"
	"fmt"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/nn"
)

// Data is a labelled batch of model inputs (float32, batch first).
type Data struct {
	Images *nn.Tensor
	Labels []uint8
}

func (d Data) check(what string) error {
	if d.Images == nil || d.Images.DType != nn.Float32 || len(d.Images.Shape) < 2 || d.Images.Shape[0] != len(d.Labels) || len(d.Labels) == 0 {
		return fmt.Errorf("%w: %s images and labels do not match", ErrData, what)
	}
	return nil
}

// Config says how Train trains a head and chooses its threshold. Zero
// fields take the defaults given.
type Config struct {
	// MaxAccuracyDrop is how far below the whole model's accuracy, on the
	// held-back images, accuracy with early exit may be (default 0.001).
	MaxAccuracyDrop float64
	// Epochs of distillation (default 4).
	Epochs int
	// Hidden, when positive, puts a hidden layer of that width (and a
	// ReLU) before the classifier; the default head is linear.
	Hidden int
	// Threads for the model runs and training (default GOMAXPROCS).
	Threads int
	// Seed of the head's initial weights and shuffling.
	Seed uint64
	// Progress, when set, is called as training goes.
	Progress func(train.Progress)
}

func (c Config) withDefaults() Config {
	if c.MaxAccuracyDrop == 0 {
		c.MaxAccuracyDrop = 0.001
	}
	if c.Epochs == 0 {
		c.Epochs = 4
	}
	return c
}

// Train trains an exit head at cut tensor cut of whole (one input, one
// output of logits) by distillation from whole on fit, and chooses its
// threshold on held (held-back training images, not the test set): the
// requests it does not answer go through the cut's activation codec when
// whole's graph carries one (actcode.Lookup). The head is max-pooled 2x2 when the cut is at least 8x8, then a linear
// classifier (Config.Hidden adds a hidden layer).
func Train(ctx context.Context, whole *nn.Program, cut string, fit, held Data, cfg Config) (*Head, error) {
	cfg = cfg.withDefaults()
	if err := fit.check("training"); err != nil {
		return nil, err
	}
	if err := held.check("held-back"); err != nil {
		return nil, err
	}
	if cfg.Epochs < 0 || cfg.Hidden < 0 || !(cfg.MaxAccuracyDrop > 0 && cfg.MaxAccuracyDrop < 1) {
		return nil, fmt.Errorf("%w: epochs %d, hidden %d, accuracy drop %v", ErrData, cfg.Epochs, cfg.Hidden, cfg.MaxAccuracyDrop)
	}
	ac, err := actcode.NewCut(whole, cut)
	if err != nil {
		return nil, fmt.Errorf("earlyexit: %w", err)
	}
	in := imageShape(fit.Images)
	teacher := train.ProgramTeacher{Program: whole, Input: in, Threads: cfg.Threads}
	soft, err := teacher.Logits(fit.Images.F32, len(fit.Labels))
	if err != nil {
		return nil, fmt.Errorf("earlyexit: whole model: %w", err)
	}
	classes := len(soft) / len(fit.Labels)
	feats, err := ac.Features(fit.Images, cfg.Threads)
	if err != nil {
		return nil, fmt.Errorf("earlyexit: %w", err)
	}
	b := train.NewBuilder(train.Shape{C: ac.C, H: ac.H, W: ac.W}, cfg.Seed+1)
	x := b.Input()
	if ac.H >= 8 && ac.W >= 8 {
		x = b.MaxPool(x, 2, 2)
	}
	x = b.Flatten(x)
	if cfg.Hidden > 0 {
		x = b.Relu(b.Gemm(x, cfg.Hidden))
	}
	net, err := b.Build(b.Gemm(x, classes))
	if err != nil {
		return nil, fmt.Errorf("earlyexit: %w", err)
	}
	_, err = train.Fit(ctx, net, train.Dataset{Images: feats, Labels: fit.Labels}, train.Config{
		Epochs: cfg.Epochs, Seed: cfg.Seed, Threads: cfg.Threads, Teacher: train.FixedTeacher(soft),
		Optimizer: train.NewAdam(2e-3), Schedule: train.ScheduleCosine, Progress: cfg.Progress})
	if err != nil {
		return nil, fmt.Errorf("earlyexit: %w", err)
	}
	feats = nil
	g, err := net.ToGraph(whole.Graph().Name + "-exit")
	if err != nil {
		return nil, fmt.Errorf("earlyexit: %w", err)
	}
	h := &Head{Cut: cut, Graph: g}
	// The requests the head does not answer cross the cut: through the
	// cut's activation codec when the model carries one (compact
	// requests), so the threshold is chosen against what the cloud
	// answers from the decoded activations.
	codec, err := actcode.Lookup(whole.Graph(), cut)
	if err != nil {
		return nil, fmt.Errorf("earlyexit: %w", err)
	}
	choice, err := Rechoose(whole, h, held, codec, cfg.MaxAccuracyDrop, cfg.Threads)
	if err != nil {
		return nil, err
	}
	h.Threshold, h.Choice = choice.Threshold, choice
	return h, nil
}

// Rechoose chooses head h's threshold (ChooseThreshold) on held-back
// images held, the requests it does not answer crossing the cut through
// codec (nil: the activations as computed): what a model with h and
// codec at h.Cut does.
func Rechoose(whole *nn.Program, h *Head, held Data, codec *actcode.Codec, maxDrop float64, threads int) (Choice, error) {
	if err := held.check("held-back"); err != nil {
		return Choice{}, err
	}
	ac, err := actcode.NewCut(whole, h.Cut)
	if err != nil {
		return Choice{}, fmt.Errorf("earlyexit: %w", err)
	}
	prog, err := nn.Compile(h.Graph)
	if err != nil {
		return Choice{}, fmt.Errorf("earlyexit: head: %w", err)
	}
	n := len(held.Labels)
	hf, err := ac.Features(held.Images, threads)
	if err != nil {
		return Choice{}, fmt.Errorf("earlyexit: %w", err)
	}
	ft, err := nn.FromFloat32(hf, n, ac.C, ac.H, ac.W)
	if err != nil {
		return Choice{}, fmt.Errorf("earlyexit: %w", err)
	}
	teacher := train.ProgramTeacher{Program: prog, Input: train.Shape{C: ac.C, H: ac.H, W: ac.W}, Threads: threads}
	hl, err := teacher.Logits(ft.F32, n)
	if err != nil {
		return Choice{}, fmt.Errorf("earlyexit: head: %w", err)
	}
	whole0 := train.ProgramTeacher{Program: whole, Input: imageShape(held.Images), Threads: threads}
	wl, err := whole0.Logits(held.Images.F32, n)
	if err != nil {
		return Choice{}, fmt.Errorf("earlyexit: whole model: %w", err)
	}
	classes := len(wl) / n
	if len(hl) != len(wl) {
		return Choice{}, fmt.Errorf("%w: the head gives %d logits, the model %d", ErrShape, len(hl)/n, classes)
	}
	hd := Held{Conf: make([]float32, n), Head: make([]int, n), Whole: make([]int, n), Labels: held.Labels}
	for i := 0; i < n; i++ {
		row := hl[i*classes : (i+1)*classes]
		hd.Conf[i], hd.Head[i] = Confidence(row), evaluate.Argmax(row)
		hd.Whole[i] = evaluate.Argmax(wl[i*classes : (i+1)*classes])
	}
	hd.Split = hd.Whole
	if codec != nil {
		if _, hd.Split, err = ac.Predict(codec, held.Images, held.Labels, threads); err != nil {
			return Choice{}, fmt.Errorf("earlyexit: split through the codec: %w", err)
		}
	}
	return ChooseThreshold(hd, maxDrop)
}

// imageShape is the per-sample shape of a batch of images.
func imageShape(t *nn.Tensor) train.Shape {
	s := train.Shape{C: 1, H: 1, W: 1}
	switch d := t.Shape[1:]; len(d) {
	case 1:
		s.C = d[0]
	case 2:
		s.H, s.W = d[0], d[1]
	default:
		s.C, s.H, s.W = d[0], d[1], nn.NumElements(d[2:])
	}
	return s
}
