package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/compress/quantize"
	"github.com/splitinfer/splitinfer/compress/train"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/preprocess"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

func init() {
	register(&command{
		name:    "compress",
		summary: "compress a model (pruning, distillation, int8 quantization) and report before/after",
		run:     runCompress,
	})
}

// compressReport is what compress prints (the --json object).
type compressReport struct {
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
	// Activation coding at a cut (--act-bits).
	ActCut        string              `json:"act_cut,omitempty"`
	ActUncoded    *actcode.Score      `json:"act_uncoded,omitempty"`
	ActCandidates []actcode.Candidate `json:"act_candidates,omitempty"`
	ActChosen     *actcode.Candidate  `json:"act_chosen,omitempty"`
	// Early-exit head at a cut (--exit), its threshold chosen on held-back images.
	ExitCut string            `json:"exit_cut,omitempty"`
	Exit    *earlyexit.Choice `json:"exit,omitempty"`
}

func runCompress(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compress", stderr)
	model := fs.String("model", "", "input model: ONNX (float or QDQ), .sinf, or a built-in name")
	out := fs.String("out", "", "output model: .sinf (splitinfer's model file) or .onnx (ONNX QDQ that ONNX Runtime runs)")
	quant := fs.String("quantize", "", "quantization: int8, or empty for none")
	calibN := fs.Int("calib", 512, "calibration images (the first N of the MNIST training set)")
	method := fs.String("calib-method", "minmax", "activation calibration: minmax, percentile or entropy")
	pct := fs.Float64("percentile", 99.99, "percentile of --calib-method percentile")
	floatNodes := fs.String("float-nodes", "", "comma-separated nodes to keep in float32")
	testN := fs.Int("n", 0, "evaluate on the first N test images (default: all 10,000)")
	threads := fs.Int("eval-threads", runtime.GOMAXPROCS(0), "goroutines for evaluation and calibration")
	asJSON := jsonFlag(fs)
	pf := addPrepFlags(fs)
	var act actFlags
	act.register(fs)
	var exit exitFlags
	exit.register(fs)
	o := compressTrain{trainFlags: trainFlags{schedule: "constant"}}
	fs.IntVar(&o.epochs, "epochs", 0, "fine-tuning (after pruning) or distillation epochs")
	fs.StringVar(&o.student, "student", "", "distil into a seed network of this architecture (C1,C2,H) instead of fine-tuning the model; the student's defaults are then --epochs 5 --lr-schedule cosine --lr 5e-3 (see README)")
	o.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: splitinfer compress --model IN --out OUT [--prune S] [--epochs E] [--quantize int8] [--calib N] [--calib-method minmax|percentile|entropy] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *model == "" || *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	o.distillDefaults(fs)
	exit.maxDrop = exit.drop(fs, act.maxDrop)
	if exit.cut != "" {
		if err := exit.check(); err != nil {
			return err
		}
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if ext != ".sinf" && ext != ".onnx" {
		return fmt.Errorf("--out %s: want a .sinf or .onnx file", *out)
	}
	if *quant != "" && *quant != "int8" {
		return fmt.Errorf("--quantize %q: only int8 is supported", *quant)
	}
	m, err := quantize.ParseMethod(*method)
	if err != nil {
		return err
	}
	if *quant != "" && (*calibN < 1 || *calibN > 60000) {
		return fmt.Errorf("--calib %d: want 1..60000 training images", *calibN)
	}
	if *threads < 1 || *testN < 0 {
		return fmt.Errorf("--eval-threads must be at least 1 and --n not negative")
	}
	if *quant == "" && !o.active() && act.bits == "" && exit.cut == "" {
		return fmt.Errorf("nothing to do: give --quantize int8, --act-bits, --exit and/or --prune/--prune-channels/--student/--epochs")
	}

	g, name, err := loadModel(*model)
	if err != nil {
		return err
	}
	// The preprocessing and labels travel with the model: its own, or the flags'.
	spec, labels, err := preprocess.FromGraph(g)
	if err != nil {
		return err
	}
	fspec, flabels, err := pf.declaration()
	if err != nil {
		return err
	}
	spec = cmp.Or(fspec, spec)
	if flabels != nil {
		labels = flabels
	}
	rep := &compressReport{Model: name, Out: *out}
	if st, err := os.Stat(*model); err == nil {
		rep.BytesBefore = st.Size()
	} else if b, err := sinf.Encode(&sinf.Model{Graph: g}); err == nil {
		rep.BytesBefore = int64(len(b)) // built-in model: its size as a .sinf file
	}
	if err := needsData(g, *quant, &o, act.bits); err != nil {
		return err
	}
	test, err := mnistTest()
	if err != nil {
		return err
	}
	before, err := evaluate.Measure(ctx, g, test, *testN, *threads)
	if err != nil {
		return fmt.Errorf("input model: %w", err)
	}
	rep.AccuracyBefore, rep.ParamsBefore, rep.MACsBefore, rep.TestImages = before.Accuracy, before.Params, before.MACs, before.Images
	if before.Accuracy >= 0 {
		fmt.Fprintf(stderr, "%s: accuracy %.4f, %d params, %d MACs/image\n", name, before.Accuracy, before.Params, before.MACs)
	} else {
		fmt.Fprintf(stderr, "%s: %d params, %d MACs/image\n", name, before.Params, before.MACs)
	}

	// The compression steps, in order. Each takes and returns a graph.
	var calib *sinf.Calibration
	switch {
	case o.graphPruneOnly() && (!evaluate.MNISTShaped(g) || train.Problems(g) != ""):
		// Depthwise/grouped convs, BatchNorm, residual spaces: the graph pruner.
		if g, err = pruneChannelsGraph(g, o.pruneChannels, stderr); err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, "prune-channels")
	case o.active():
		if g, err = o.compressGraph(ctx, g, stderr); err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, "train")
	}
	if *quant == "int8" {
		train, err := mnistTrain()
		if err != nil {
			return err
		}
		x, err := nn.FromFloat32(train.Batch(0, *calibN), *calibN, 1, mnist.Rows, mnist.Cols)
		if err != nil {
			return err
		}
		opts := []quantize.Option{quantize.WithMethod(m), quantize.WithPercentile(*pct), quantize.WithThreads(*threads),
			quantize.WithSource(fmt.Sprintf("mnist-train[0:%d]", *calibN)),
			quantize.WithContext(ctx), quantize.WithProgress(progress(stderr, "calibrating"))}
		if *floatNodes != "" {
			opts = append(opts, quantize.WithFloatNodes(strings.Split(*floatNodes, ",")...))
		}
		res, err := quantize.Quantize(g, x, opts...)
		if err != nil {
			return err
		}
		g, calib = res.Graph, res.Calibration
		rep.Steps = append(rep.Steps, "quantize-int8")
		rep.Quantize, rep.CalibMethod, rep.CalibImages = "int8", string(m), *calibN
		rep.Int8Nodes, rep.FloatNodes = res.Int8Nodes, res.FloatNodes
		fmt.Fprintf(stderr, "int8: %d compute nodes in int8 %v, %d in float32 %v\n", len(res.Int8Nodes), res.Int8Nodes, len(res.FloatNodes), res.FloatNodes)
	}

	if act.bits != "" {
		if err := act.attach(g, rep, *threads, stderr); err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, "act-code")
	}
	if exit.cut != "" {
		if err := exit.attach(ctx, g, rep, *threads, stderr); err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, "exit-head")
	}

	preprocess.Record(g, spec, labels)
	if ext == ".sinf" {
		err = sinf.Save(*out, &sinf.Model{Graph: g, Calibration: calib})
	} else {
		err = onnx.SaveQDQ(*out, g)
	}
	if err != nil {
		return err
	}
	// Measure what was written: reload the file.
	g2, _, err := loadModel(*out)
	if err != nil {
		return fmt.Errorf("reloading %s: %w", *out, err)
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	rep.BytesAfter = st.Size()
	rep.ContentHash = nn.Hash(g2)
	after, err := evaluate.Measure(ctx, g2, test, *testN, *threads)
	if err != nil {
		return fmt.Errorf("output model: %w", err)
	}
	rep.AccuracyAfter, rep.ParamsAfter, rep.MACsAfter = after.Accuracy, after.Params, after.MACs
	if *asJSON {
		return json.NewEncoder(stdout).Encode(rep)
	}
	fmt.Fprintf(stdout, "%-10s %14s %14s\n", "", "before", "after")
	fmt.Fprintf(stdout, "%-10s %14d %14d\n", "bytes", rep.BytesBefore, rep.BytesAfter)
	fmt.Fprintf(stdout, "%-10s %14d %14d\n", "params", rep.ParamsBefore, rep.ParamsAfter)
	fmt.Fprintf(stdout, "%-10s %14d %14d\n", "MACs", rep.MACsBefore, rep.MACsAfter)
	if rep.AccuracyBefore >= 0 {
		fmt.Fprintf(stdout, "%-10s %14.4f %14.4f   (MNIST test, %d images)\n", "accuracy", rep.AccuracyBefore, rep.AccuracyAfter, rep.TestImages)
	} else {
		fmt.Fprintf(stdout, "%-10s %14s %14s   (the input is not MNIST-shaped)\n", "accuracy", "n/a", "n/a")
	}
	if rep.Quantize != "" {
		fmt.Fprintf(stdout, "int8 nodes   %s\nfloat nodes  %s\ncalibration  %s on %d training images\n",
			strings.Join(rep.Int8Nodes, " "), strings.Join(rep.FloatNodes, " "), rep.CalibMethod, rep.CalibImages)
	}
	if rep.ActChosen != nil {
		c := rep.ActChosen
		fmt.Fprintf(stdout, "activations  cut %s: %d bits, dead zone %.2f, %.1f bytes (%.3f bits/element), accuracy %.4f on %d held-back training images (uncoded %.4f)\n",
			rep.ActCut, c.Bits, c.DeadZone, c.Bytes, c.BitsPerElement, c.Accuracy, c.Images, rep.ActUncoded.Accuracy)
	}
	if c := rep.Exit; c != nil {
		fmt.Fprintf(stdout, "early exit   cut %s: threshold %.4f, exits %.1f%% of %d held-back training images at accuracy %.4f (whole model %.4f)\n",
			rep.ExitCut, c.Threshold, 100*c.ExitRate, c.Images, c.Accuracy, c.WholeAccuracy)
	}
	fmt.Fprintf(stdout, "wrote %s (content hash %s)\n", *out, rep.ContentHash)
	return nil
}

// distillDefaults applies the student's defaults to the flags of fs
// (parsed) that were not given. Fine-tuning keeps the plain defaults.
func (o *compressTrain) distillDefaults(fs *flag.FlagSet) {
	if o.student == "" {
		return
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if !given["lr-schedule"] {
		o.schedule = train.StudentSchedule
	}
	if !given["lr"] {
		o.lr = train.StudentLR
	}
	if !given["epochs"] && !given["finetune-epochs"] {
		o.epochs = train.StudentEpochs
	}
}
