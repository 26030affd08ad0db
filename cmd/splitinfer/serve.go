package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/oip"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/preprocess"
)

// prepFlags declare a model's image preprocessing and labels (for an ONNX
// file; a .sinf file carries its own).
type prepFlags struct {
	preprocess *string
	labels     *string
}

func addPrepFlags(fs *flag.FlagSet) *prepFlags {
	return &prepFlags{
		preprocess: fs.String("preprocess", "", "image preprocessing of the model: mnist, imagenet, or a declaration like \""+preprocess.ImageNet+"\" (default: the model's own, recorded in .sinf metadata)"),
		labels:     fs.String("labels", "", "class labels file, one per line (default: the model's own)"),
	}
}

// declaration parses the flags (nil, nil when not given).
func (f *prepFlags) declaration() (*preprocess.Spec, []string, error) {
	var spec *preprocess.Spec
	if *f.preprocess != "" {
		var err error
		if spec, err = preprocess.Parse(*f.preprocess); err != nil {
			return nil, nil, fmt.Errorf("%w: --preprocess: %v", errUsage, err)
		}
	}
	var labels []string
	if *f.labels != "" {
		b, err := os.ReadFile(*f.labels)
		if err != nil {
			return nil, nil, fmt.Errorf("--labels: %w", err)
		}
		if labels = preprocess.Labels(string(b)); len(labels) == 0 {
			return nil, nil, fmt.Errorf("--labels %s: no labels", *f.labels)
		}
	}
	return spec, labels, nil
}

// predictFlags describe the model to applications (edge, run, infer):
// its name, preprocessing and labels.
type predictFlags struct {
	*prepFlags
	modelName   *string
	maxInFlight *int
}

func addPredictFlags(fs *flag.FlagSet) *predictFlags {
	return &predictFlags{
		prepFlags:   addPrepFlags(fs),
		modelName:   fs.String("model-name", "", "the model's name to applications (default: the model's name as inspect prints it)"),
		maxInFlight: fs.Int("max-inflight", 64, "requests served at once; more get 503"),
	}
}

// predictorConfig turns the model's flags into a PredictorConfig.
func (f *predictFlags) predictorConfig(name string) (edgeworker.PredictorConfig, error) {
	cfg := edgeworker.PredictorConfig{Name: name, MaxInFlight: *f.maxInFlight}
	if *f.modelName != "" {
		cfg.Name = *f.modelName
	}
	var err error
	cfg.Preprocess, cfg.Labels, err = f.declaration()
	return cfg, err
}

// serveFlags are the inference endpoint's flags (edge and run).
type serveFlags struct {
	*predictFlags
	http, grpc *string
	maxBody    *int64
	input      *string
	top        *int
}

func addServeFlags(fs *flag.FlagSet) *serveFlags {
	return &serveFlags{
		predictFlags: addPredictFlags(fs),
		http:         fs.String("serve", "", "serve the Open Inference Protocol (KServe v2) over HTTP on ADDR (e.g. 127.0.0.1:8000) until SIGTERM, instead of sending MNIST images"),
		grpc:         fs.String("serve-grpc", "", "serve the Open Inference Protocol over gRPC on ADDR (e.g. 127.0.0.1:8001)"),
		maxBody:      fs.Int64("max-body", oip.DefaultMaxBodyBytes, "largest request body (HTTP) or message (gRPC) in bytes"),
		input:        fs.String("input", "", "run FILE or the files of DIR (PNG/JPEG images or ONNX TensorProto .pb) through the split instead of MNIST images, one JSON line each"),
		top:          fs.Int("top", 5, "with --input: the classes to print per file"),
	}
}

func (f *serveFlags) active() bool { return *f.http != "" || *f.grpc != "" || *f.input != "" }

// predictor makes the Predictor of inf for the model g.
func (f *predictFlags) predictor(inf edgeworker.Inferer, g *nn.Graph, name string, eopts []edgeworker.Option) (*edgeworker.Predictor, error) {
	pcfg, err := f.predictorConfig(name)
	if err != nil {
		return nil, err
	}
	return edgeworker.NewPredictor(inf, g, pcfg, eopts...)
}

// serve serves inf for the model g until ctx ends (SIGTERM), then drains;
// with --input it runs the files instead.
func (f *serveFlags) serve(ctx context.Context, inf edgeworker.Inferer, g *nn.Graph, name string,
	ready func(context.Context) error, eopts []edgeworker.Option, concurrency int, stdout, stderr io.Writer) error {
	p, err := f.predictor(inf, g, name, eopts)
	if err != nil {
		return err
	}
	if *f.input != "" {
		return p.RunFiles(ctx, *f.input, *f.top, concurrency, stdout)
	}
	srv, err := oip.New(p, oip.Config{MaxBodyBytes: *f.maxBody, Ready: ready})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, *f.http, *f.grpc, func(kind, addr string) {
		fmt.Fprintf(stderr, "splitinfer: serving model %q over %s on %s\n", p.Model().Name, kind, addr)
	})
}
