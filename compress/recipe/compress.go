// Package recipe runs splitinfer's two model-making flows from start to
// written file: Compress (a model in, its compressed copy out, measured
// before and after) and Train (a CNN trained on MNIST in Go). The steps
// themselves live in compress/train (pruning, fine-tuning, distillation),
// compress/prune, compress/quantize, compress/actcode and
// compress/earlyexit; this package orders them, finds their data and
// reports what they did. The command line only fills a Config.
package recipe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/compress/bottleneck"
	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/compress/prune"
	"github.com/splitinfer/splitinfer/compress/quantize"
	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/preprocess"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// Data is where the flows find the MNIST test and training sets, each
// loaded when a step needs it. A nil Test is the embedded test set
// (mnist.Test); a nil Train fails the steps that need it.
type Data struct {
	Test, Train func() (*mnist.Set, error)
}

func (d Data) test() (*mnist.Set, error) {
	if d.Test == nil {
		return mnist.Test()
	}
	return d.Test()
}

func (d Data) train() (*mnist.Set, error) {
	if d.Train == nil {
		return nil, errors.New("recipe: no MNIST training set (Data.Train)")
	}
	return d.Train()
}

// Config is one Compress run. The steps run in this order: training-based
// compression (Train) or, on models the trainer does not take, the graph
// channel pruner; a learned bottleneck (Bottleneck); int8 quantization;
// the activation codec (Act); the early-exit head (Exit).
type Config struct {
	// Model is the input (models.Resolve: a file or a built-in name); Out
	// the written model, .sinf or .onnx (ONNX QDQ).
	Model, Out string
	// Preprocess and Labels, when set, replace the model's own declaration.
	Preprocess *preprocess.Spec
	Labels     []string
	// Train is the training-based compression (pruning, fine-tuning,
	// distillation: TrainActive), on the first TrainLimit training images
	// (0: all). Its teacher is loaded from Train.TeacherName.
	Train      train.Options
	TrainLimit int
	// Quantize is "int8" or "" (none), calibrated on the first CalibImages
	// training images with CalibMethod (Percentile for the percentile
	// method), FloatNodes kept in float32.
	Quantize    string
	CalibImages int
	CalibMethod quantize.Method
	Percentile  float64
	FloatNodes  []string
	// Bottleneck inserts a learned bottleneck, Act fits an activation
	// codec, Exit an early-exit head (nil: none).
	Bottleneck *Bottleneck
	Act        *Act
	Exit       *Exit
	// TestImages is how many test images measure accuracy (0: all);
	// Threads the goroutines of evaluation and calibration.
	TestImages, Threads int
	Data                Data
	// EarlyCut resolves the cut "early" of Act and Exit on the compressed
	// model (pipeline.EarlyCut; the pipeline sits above compress).
	EarlyCut func(*nn.Program) (string, error)
	// Log gets a line per step; Progress the calibration's progress.
	Log      io.Writer
	Progress func(done, total int)
}

// Act is the activation codec step: candidates fitted on the first Fit
// training images, the smallest within Tune.MaxAccuracyDrop on the last
// Held stored in the model.
type Act struct {
	Cut       string
	Fit, Held int
	Tune      actcode.TuneConfig
}

// Bottleneck is the learned bottleneck step (compress/bottleneck): Config.
// Channels channels at Cut, distilled on the first Fit training images.
type Bottleneck struct {
	Cut    string
	Fit    int
	Config bottleneck.Config
}

// Exit is the early-exit head step: a head at Cut distilled on the first
// Fit training images, its threshold chosen on the last Held.
type Exit struct {
	Cut       string
	Fit, Held int
	Head      earlyexit.Config
}

// Report is what Compress did (the CLI's compress --json object).
type Report struct {
	Model          string   `json:"model"`
	Out            string   `json:"out"`
	Steps          []string `json:"steps"`
	AccuracyBefore float64  `json:"accuracy_before"`
	AccuracyAfter  float64  `json:"accuracy_after"`
	BytesBefore    int64    `json:"bytes_before"`
	BytesAfter     int64    `json:"bytes_after"`
	ParamsBefore   int64    `json:"params_before"`
	ParamsAfter    int64    `json:"params_after"`
	MACsBefore     int64    `json:"macs_before"`
	MACsAfter      int64    `json:"macs_after"`
	TestImages     int      `json:"test_images"`
	Quantize       string   `json:"quantize,omitempty"`
	CalibMethod    string   `json:"calib_method,omitempty"`
	CalibImages    int      `json:"calib_images,omitempty"`
	Int8Nodes      []string `json:"int8_nodes,omitempty"`
	FloatNodes     []string `json:"float_nodes,omitempty"`
	ContentHash    string   `json:"content_hash"`
	// The learned bottleneck (Bottleneck).
	Bottleneck *bottleneck.Report `json:"bottleneck,omitempty"`
	// Activation coding at a cut (Act).
	ActCut        string              `json:"act_cut,omitempty"`
	ActUncoded    *actcode.Score      `json:"act_uncoded,omitempty"`
	ActCandidates []actcode.Candidate `json:"act_candidates,omitempty"`
	ActChosen     *actcode.Candidate  `json:"act_chosen,omitempty"`
	// Early-exit head at a cut (Exit), its threshold chosen on held-back images.
	ExitCut string            `json:"exit_cut,omitempty"`
	Exit    *earlyexit.Choice `json:"exit,omitempty"`
}

// ErrNothingToDo is Validate's error for a Config without a step.
var ErrNothingToDo = errors.New("nothing to do: give --quantize int8, --act-bits, --exit, --bottleneck and/or --prune/--prune-channels/--student/--epochs")

// TrainActive reports whether training-based compression was asked for.
func (c *Config) TrainActive() bool {
	o := &c.Train
	return o.Prune > 0 || o.PruneChannels > 0 || o.TeacherName != "" || o.Epochs > 0
}

// graphPruneOnly reports whether the compression asked for is channel
// pruning without training, which the graph pruner does on any model.
func (c *Config) graphPruneOnly() bool {
	o := &c.Train
	return o.PruneChannels > 0 && o.Prune == 0 && o.Epochs == 0 && o.Student == "" && o.TeacherName == ""
}

// Validate checks the configuration before any model is loaded.
func (c *Config) Validate() error {
	ext := strings.ToLower(filepath.Ext(c.Out))
	switch {
	case ext != ".sinf" && ext != ".onnx":
		return fmt.Errorf("--out %s: want a .sinf or .onnx file", c.Out)
	case c.Quantize != "" && c.Quantize != "int8":
		return fmt.Errorf("--quantize %q: only int8 is supported", c.Quantize)
	case c.Quantize != "" && (c.CalibImages < 1 || c.CalibImages > 60000):
		return fmt.Errorf("--calib %d: want 1..60000 training images", c.CalibImages)
	case c.Threads < 1 || c.TestImages < 0:
		return fmt.Errorf("--eval-threads must be at least 1 and --n not negative")
	case c.Quantize == "" && !c.TrainActive() && c.Act == nil && c.Exit == nil && c.Bottleneck == nil:
		return ErrNothingToDo
	}
	if b := c.Bottleneck; b != nil && (b.Fit < 1 || b.Fit > 60000 || b.Config.Channels < 1 || b.Config.Epochs < 0) {
		return fmt.Errorf("--bottleneck-fit %d, channels %d, --bottleneck-epochs %d: want 1..60000 images, at least one channel and epochs not negative", b.Fit, b.Config.Channels, b.Config.Epochs)
	}
	if a := c.Act; a != nil {
		if err := checkFitHeld("--act-fit", "--act-held", a.Fit, a.Held, a.Tune.MaxAccuracyDrop); err != nil {
			return err
		}
	}
	if e := c.Exit; e != nil {
		if err := checkFitHeld("--exit-fit", "--exit-held", e.Fit, e.Held, e.Head.MaxAccuracyDrop); err != nil {
			return err
		}
		if e.Head.Epochs < 1 || e.Head.Hidden < 0 {
			return fmt.Errorf("--exit-epochs %d, --exit-hidden %d: want at least 1 epoch and a width of 0 or more", e.Head.Epochs, e.Head.Hidden)
		}
	}
	return nil
}

func checkFitHeld(fitFlag, heldFlag string, fit, held int, maxDrop float64) error {
	if fit < 1 || held < 1 || fit+held > 60000 {
		return fmt.Errorf("%s %d and %s %d: want at least 1 each, 60000 together", fitFlag, fit, heldFlag, held)
	}
	if !(maxDrop > 0 && maxDrop < 1) {
		return fmt.Errorf("--max-accuracy-drop %v: want a value in (0, 1)", maxDrop)
	}
	return nil
}

func (c *Config) logf(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", a...)
	}
}

// Compress runs the steps of cfg on its model, writes the result to
// cfg.Out, reloads it and measures both on the MNIST test set (size and
// MACs only for a model that does not take MNIST images).
func Compress(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cmp.Or[io.Writer](cfg.Log, io.Discard)
	g, name, err := models.Resolve(cfg.Model)
	if err != nil {
		return nil, err
	}
	// The preprocessing and labels travel with the model: its own, or the config's.
	spec, labels, err := preprocess.FromGraph(g)
	if err != nil {
		return nil, err
	}
	spec = cmp.Or(cfg.Preprocess, spec)
	if cfg.Labels != nil {
		labels = cfg.Labels
	}
	rep := &Report{Model: name, Out: cfg.Out}
	if st, err := os.Stat(cfg.Model); err == nil {
		rep.BytesBefore = st.Size()
	} else if b, err := sinf.Encode(&sinf.Model{Graph: g}); err == nil {
		rep.BytesBefore = int64(len(b)) // built-in model: its size as a .sinf file
	}
	if err := cfg.needsData(g); err != nil {
		return nil, err
	}
	test, err := cfg.Data.test()
	if err != nil {
		return nil, err
	}
	before, err := evaluate.Measure(ctx, g, test, cfg.TestImages, cfg.Threads)
	if err != nil {
		return nil, fmt.Errorf("input model: %w", err)
	}
	rep.AccuracyBefore, rep.ParamsBefore, rep.MACsBefore, rep.TestImages = before.Accuracy, before.Params, before.MACs, before.Images
	if before.Accuracy >= 0 {
		cfg.logf("%s: accuracy %.4f, %d params, %d MACs/image", name, before.Accuracy, before.Params, before.MACs)
	} else {
		cfg.logf("%s: %d params, %d MACs/image", name, before.Params, before.MACs)
	}

	// The steps, in order. Each takes and returns a graph.
	var calib *sinf.Calibration
	switch {
	case cfg.graphPruneOnly() && (!evaluate.MNISTShaped(g) || train.Problems(g) != ""):
		// Depthwise/grouped convs, BatchNorm, residual spaces: the graph pruner.
		pg, prep, err := prune.Channels(g, cfg.Train.PruneChannels)
		if prep != nil {
			prep.Log(log, true)
		}
		if err != nil {
			return nil, err
		}
		if g, err = nn.Optimize(pg); err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, "prune-channels")
	case cfg.TrainActive():
		if g, err = cfg.compressGraph(ctx, g); err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, "train")
	}
	if cfg.Bottleneck != nil {
		if g, err = cfg.insertBottleneck(ctx, g, rep); err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, "bottleneck")
	}
	if cfg.Quantize == "int8" {
		if g, calib, err = cfg.quantize(ctx, g, rep); err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, "quantize-int8")
	}
	if cfg.Act != nil {
		if err := cfg.attachCodec(g, rep); err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, "act-code")
	}
	if cfg.Exit != nil {
		if err := cfg.attachExit(ctx, g, rep); err != nil {
			return nil, err
		}
		rep.Steps = append(rep.Steps, "exit-head")
	}

	preprocess.Record(g, spec, labels)
	if strings.ToLower(filepath.Ext(cfg.Out)) == ".sinf" {
		err = sinf.Save(cfg.Out, &sinf.Model{Graph: g, Calibration: calib})
	} else {
		err = onnx.SaveQDQ(cfg.Out, g)
	}
	if err != nil {
		return nil, err
	}
	// Measure what was written: reload the file.
	g2, _, err := models.Resolve(cfg.Out)
	if err != nil {
		return nil, fmt.Errorf("reloading %s: %w", cfg.Out, err)
	}
	st, err := os.Stat(cfg.Out)
	if err != nil {
		return nil, err
	}
	rep.BytesAfter = st.Size()
	rep.ContentHash = nn.Hash(g2)
	after, err := evaluate.Measure(ctx, g2, test, cfg.TestImages, cfg.Threads)
	if err != nil {
		return nil, fmt.Errorf("output model: %w", err)
	}
	rep.AccuracyAfter, rep.ParamsAfter, rep.MACsAfter = after.Accuracy, after.Params, after.MACs
	return rep, nil
}

// needsData reports the steps asked for that need MNIST-shaped input when
// g does not take it: those models' size and MACs are measured, and
// structured channel pruning works on the graph itself without data.
func (c *Config) needsData(g *nn.Graph) error {
	if evaluate.MNISTShaped(g) {
		return nil
	}
	o := &c.Train
	var steps []string
	if c.Quantize != "" {
		steps = append(steps, "int8 calibration (--quantize)")
	}
	if o.Epochs > 0 || o.Student != "" || o.TeacherName != "" {
		steps = append(steps, "training (--epochs, --student, --distill-from)")
	}
	if o.Prune > 0 {
		steps = append(steps, "magnitude pruning with its evaluation (--prune)")
	}
	if c.Act != nil {
		steps = append(steps, "activation codecs (--act-bits)")
	}
	if c.Exit != nil {
		steps = append(steps, "an early-exit head (--exit)")
	}
	if c.Bottleneck != nil {
		steps = append(steps, "a learned bottleneck (--bottleneck)")
	}
	if len(steps) == 0 {
		return nil
	}
	return fmt.Errorf("%s need images of the model's input, and splitinfer's data is MNIST [N,1,%d,%d] while the model takes %v; --prune-channels alone works on any model",
		strings.Join(steps, ", "), mnist.Rows, mnist.Cols, g.Inputs[0].Type)
}

// compressGraph applies the training-based compression to the float model
// g (train.Options.CompressGraph on MNIST).
func (c *Config) compressGraph(ctx context.Context, g *nn.Graph) (*nn.Graph, error) {
	if err := c.Train.Validate(); err != nil {
		return nil, err
	}
	trainSet, testSet, err := c.Data.datasets(c.TrainLimit)
	if err != nil {
		return nil, err
	}
	opts := c.Train
	if err := opts.LoadTeacher(); err != nil {
		return nil, err
	}
	return opts.CompressGraph(ctx, g, trainSet, testSet)
}

// quantize calibrates g on the first CalibImages training images and
// quantizes it to int8.
func (c *Config) quantize(ctx context.Context, g *nn.Graph, rep *Report) (*nn.Graph, *sinf.Calibration, error) {
	set, err := c.Data.train()
	if err != nil {
		return nil, nil, err
	}
	n := c.CalibImages
	x, err := nn.FromFloat32(set.Batch(0, n), n, 1, mnist.Rows, mnist.Cols)
	if err != nil {
		return nil, nil, err
	}
	opts := []quantize.Option{quantize.WithMethod(c.CalibMethod), quantize.WithPercentile(c.Percentile), quantize.WithThreads(c.Threads),
		quantize.WithSource(fmt.Sprintf("mnist-train[0:%d]", n)), quantize.WithContext(ctx), quantize.WithProgress(c.Progress)}
	if len(c.FloatNodes) > 0 {
		opts = append(opts, quantize.WithFloatNodes(c.FloatNodes...))
	}
	res, err := quantize.Quantize(g, x, opts...)
	if err != nil {
		return nil, nil, err
	}
	rep.Quantize, rep.CalibMethod, rep.CalibImages = "int8", string(c.CalibMethod), n
	rep.Int8Nodes, rep.FloatNodes = res.Int8Nodes, res.FloatNodes
	c.logf("int8: %d compute nodes in int8 %v, %d in float32 %v", len(res.Int8Nodes), res.Int8Nodes, len(res.FloatNodes), res.FloatNodes)
	// A bottleneck's cut is now its int8 tensor.
	if t := bottleneck.Tensor(res.Graph); t != "" {
		bottleneck.Rename(res.Graph, quantize.QuantizedName(t))
	}
	return res.Graph, res.Calibration, nil
}

// fitHeld is what a step bound to a model's cut works on: the model
// compiled, the cut tensor, the first fit MNIST training images to fit on
// and the last held, never the test set, to choose on.
type fitHeld struct {
	prog      *nn.Program
	cut       string
	fit, held earlyexit.Data
}

func (c *Config) loadFitHeld(g *nn.Graph, cut string, fitN, heldN int) (*fitHeld, error) {
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	if cut == "early" {
		if c.EarlyCut == nil {
			return nil, errors.New("recipe: the cut \"early\" needs Config.EarlyCut")
		}
		if cut, err = c.EarlyCut(prog); err != nil {
			return nil, err
		}
	}
	set, err := c.Data.train()
	if err != nil {
		return nil, err
	}
	images := func(lo, hi int) (earlyexit.Data, error) {
		x, err := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		return earlyexit.Data{Images: x, Labels: set.Labels[lo:hi]}, err
	}
	n := set.Len()
	d := &fitHeld{prog: prog, cut: cut}
	if d.fit, err = images(0, fitN); err != nil {
		return nil, err
	}
	if heldN > 0 {
		if d.held, err = images(n-heldN, n); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// insertBottleneck returns g with the learned bottleneck of c.Bottleneck.
func (c *Config) insertBottleneck(ctx context.Context, g *nn.Graph, rep *Report) (*nn.Graph, error) {
	b := c.Bottleneck
	d, err := c.loadFitHeld(g, b.Cut, b.Fit, 0)
	if err != nil {
		return nil, err
	}
	cfg := b.Config
	cfg.Threads = c.Threads
	c.logf("bottleneck at %s: %d channels, distilled on %d training images", d.cut, cfg.Channels, b.Fit)
	out, br, err := bottleneck.Insert(ctx, g, d.cut, d.fit.Images, d.fit.Labels, cfg)
	if err != nil {
		return nil, err
	}
	c.logf("  new cut %s: %d values a sample (was %d), training accuracy %.4f", br.Tensor, br.Elements, br.From*br.Elements/br.Channels, br.TrainAccuracy)
	rep.Bottleneck = br
	return out, nil
}

// attachCodec fits the codec candidates on g and stores the chosen one in g.
func (c *Config) attachCodec(g *nn.Graph, rep *Report) error {
	a := c.Act
	d, err := c.loadFitHeld(g, a.Cut, a.Fit, a.Held)
	if err != nil {
		return err
	}
	cfg := a.Tune
	cfg.Threads = c.Threads
	tu, err := actcode.TuneAndAttach(g, d.prog, d.cut, d.fit.Images, d.held.Images, d.held.Labels, cfg, cmp.Or[io.Writer](c.Log, io.Discard))
	if tu != nil {
		rep.ActCut, rep.ActUncoded, rep.ActCandidates = d.cut, &tu.Uncoded, tu.Candidates
		if tu.Chosen >= 0 {
			rep.ActChosen = &tu.Candidates[tu.Chosen]
		}
	}
	return err
}

// attachExit trains the exit head on g (the compressed model, as the edge
// will run it) and stores it in g.
func (c *Config) attachExit(ctx context.Context, g *nn.Graph, rep *Report) error {
	e := c.Exit
	d, err := c.loadFitHeld(g, e.Cut, e.Fit, e.Held)
	if err != nil {
		return err
	}
	cfg := e.Head
	cfg.Threads = c.Threads
	c.logf("exit head at %s: distilling on %d training images, choosing the threshold on the last %d (accuracy drop at most %v)", d.cut, e.Fit, e.Held, cfg.MaxAccuracyDrop)
	h, err := earlyexit.Train(ctx, d.prog, d.cut, d.fit, d.held, cfg)
	if err != nil {
		return err
	}
	ch := h.Choice
	c.logf("  threshold %.4f: exits %.1f%% of held-back images, accuracy %.4f (whole model %.4f, split %.4f, head alone %.4f)",
		ch.Threshold, 100*ch.ExitRate, ch.Accuracy, ch.WholeAccuracy, ch.SplitAccuracy, ch.HeadAccuracy)
	if rep.ActCut == d.cut && len(rep.ActCandidates) > 1 {
		if err := c.chooseCodecWithExit(g, d, h, rep); err != nil {
			return err
		}
		ch = h.Choice
	}
	rep.ExitCut, rep.Exit = d.cut, &ch
	return earlyexit.Attach(g, h)
}

// chooseCodecWithExit chooses the activation codec and the exit threshold
// together when both sit at one cut: the requests the head answers send
// nothing, so the codec that sends the fewest bytes over all requests may
// be a wider one that lets more requests exit within the accuracy budget
// (a narrow codec's loss can leave no threshold within it). Among the
// tuned candidates whose threshold keeps the whole pipeline within the
// exit's budget, the one with the fewest payload bytes per request over
// all requests is stored in g with its threshold in h; when none does,
// the first choices stand.
func (c *Config) chooseCodecWithExit(g *nn.Graph, d *fitHeld, h *earlyexit.Head, rep *Report) error {
	drop := c.Exit.Head.MaxAccuracyDrop
	best, bestBytes := -1, math.Inf(1)
	var bestChoice earlyexit.Choice
	for i, cand := range rep.ActCandidates {
		ch, err := earlyexit.Rechoose(d.prog, h, d.held, cand.Codec, drop, c.Threads)
		if err != nil {
			return err
		}
		sent := (1 - ch.ExitRate) * cand.Bytes
		ok := ch.Accuracy >= ch.WholeAccuracy-drop-1e-9
		c.logf("  with the %d-bit codec (dead zone %.2f): exits %.1f%%, accuracy %.4f, %.1f payload bytes per request over all%s",
			cand.Bits, cand.DeadZone, 100*ch.ExitRate, ch.Accuracy, sent, map[bool]string{true: "", false: " (over the budget)"}[ok])
		if ok && sent < bestBytes {
			best, bestBytes, bestChoice = i, sent, ch
		}
	}
	if best < 0 {
		return nil
	}
	cand := &rep.ActCandidates[best]
	c.logf("  chosen together: the %d-bit codec, threshold %.4f", cand.Bits, bestChoice.Threshold)
	rep.ActChosen = cand
	h.Threshold, h.Choice = bestChoice.Threshold, bestChoice
	return actcode.Attach(g, d.cut, cand.Codec)
}

// WriteText prints the report as a before/after table.
func (r *Report) WriteText(w io.Writer) {
	fmt.Fprintf(w, "%-10s %14s %14s\n", "", "before", "after")
	fmt.Fprintf(w, "%-10s %14d %14d\n", "bytes", r.BytesBefore, r.BytesAfter)
	fmt.Fprintf(w, "%-10s %14d %14d\n", "params", r.ParamsBefore, r.ParamsAfter)
	fmt.Fprintf(w, "%-10s %14d %14d\n", "MACs", r.MACsBefore, r.MACsAfter)
	if r.AccuracyBefore >= 0 {
		fmt.Fprintf(w, "%-10s %14.4f %14.4f   (MNIST test, %d images)\n", "accuracy", r.AccuracyBefore, r.AccuracyAfter, r.TestImages)
	} else {
		fmt.Fprintf(w, "%-10s %14s %14s   (the input is not MNIST-shaped)\n", "accuracy", "n/a", "n/a")
	}
	if r.Quantize != "" {
		fmt.Fprintf(w, "int8 nodes   %s\nfloat nodes  %s\ncalibration  %s on %d training images\n",
			strings.Join(r.Int8Nodes, " "), strings.Join(r.FloatNodes, " "), r.CalibMethod, r.CalibImages)
	}
	if c := r.ActChosen; c != nil {
		fmt.Fprintf(w, "activations  cut %s: %d bits, dead zone %.2f, %.1f bytes (%.3f bits/element), accuracy %.4f on %d held-back training images (uncoded %.4f)\n",
			r.ActCut, c.Bits, c.DeadZone, c.Bytes, c.BitsPerElement, c.Accuracy, c.Images, r.ActUncoded.Accuracy)
	}
	if c := r.Exit; c != nil {
		fmt.Fprintf(w, "early exit   cut %s: threshold %.4f, exits %.1f%% of %d held-back training images at accuracy %.4f (whole model %.4f)\n",
			r.ExitCut, c.Threshold, 100*c.ExitRate, c.Images, c.Accuracy, c.WholeAccuracy)
	}
	fmt.Fprintf(w, "wrote %s (content hash %s)\n", r.Out, r.ContentHash)
}

// ParseBits sets the codec's bit widths from a list such as "2,3,4", or
// "auto" for 1..8, and its dead zones from a list such as "0.5,1".
func (a *Act) ParseBits(bits, deadZones string) error {
	if bits != "auto" {
		for _, f := range strings.Split(bits, ",") {
			b, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || b < 1 || b > 8 {
				return fmt.Errorf("--act-bits %q: want widths 1..8 or auto", bits)
			}
			a.Tune.Bits = append(a.Tune.Bits, b)
		}
	}
	for _, f := range strings.Split(deadZones, ",") {
		d, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
		if err != nil || d <= 0 || d > 4 {
			return fmt.Errorf("--act-dead-zone %q: want values in (0, 4]", deadZones)
		}
		a.Tune.DeadZones = append(a.Tune.DeadZones, float32(d))
	}
	return nil
}
