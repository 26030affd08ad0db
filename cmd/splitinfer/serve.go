package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/oip"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/preprocess"
)

// prepFlags declare a model's image preprocessing and labels (for an ONNX
// file; a .sinf file carries its own).
type prepFlags struct{ preprocess, labels string }

func addPrepFlags(fs *flag.FlagSet) *prepFlags {
	f := &prepFlags{}
	fs.StringVar(&f.preprocess, "preprocess", "", "image preprocessing of the model: mnist, imagenet, or a declaration like \""+preprocess.ImageNet+"\" (default: the model's own, recorded in .sinf metadata)")
	fs.StringVar(&f.labels, "labels", "", "class labels file, one per line (default: the model's own)")
	return f
}

// declaration parses the flags (nil, nil when not given).
func (f *prepFlags) declaration() (spec *preprocess.Spec, labels []string, err error) {
	if f.preprocess != "" {
		if spec, err = preprocess.Parse(f.preprocess); err != nil {
			return nil, nil, fmt.Errorf("%w: --preprocess: %v", errUsage, err)
		}
	}
	if f.labels != "" {
		labels, err = preprocess.LoadLabels(f.labels)
	}
	return spec, labels, err
}

// predictFlags describe the model to applications (edge, run, infer):
// its name, preprocessing and labels.
type predictFlags struct {
	*prepFlags
	cfg edgeworker.PredictorConfig
}

func addPredictFlags(fs *flag.FlagSet) *predictFlags {
	f := &predictFlags{prepFlags: addPrepFlags(fs)}
	fs.StringVar(&f.cfg.Name, "model-name", "", "the model's name to applications (default: the model's name as inspect prints it)")
	fs.IntVar(&f.cfg.MaxInFlight, "max-inflight", 64, "requests served at once; more get 503")
	return f
}

// predictor makes the Predictor of inf for the model g, named name unless
// --model-name says otherwise.
func (f *predictFlags) predictor(inf edgeworker.Inferer, g *nn.Graph, name string, eopts []edgeworker.Option) (*edgeworker.Predictor, error) {
	cfg := f.cfg
	cfg.Name = cmp.Or(cfg.Name, name)
	var err error
	if cfg.Preprocess, cfg.Labels, err = f.declaration(); err != nil {
		return nil, err
	}
	return edgeworker.NewPredictor(inf, g, cfg, eopts...)
}

// serveFlags are the inference endpoint's flags (edge and run).
type serveFlags struct {
	*predictFlags
	http, grpc, input string
	top               int
	oip               oip.Config
}

func addServeFlags(fs *flag.FlagSet) *serveFlags {
	f := &serveFlags{predictFlags: addPredictFlags(fs)}
	fs.StringVar(&f.http, "serve", "", "serve the Open Inference Protocol (KServe v2) over HTTP on ADDR (e.g. 127.0.0.1:8000) until SIGTERM, instead of sending MNIST images")
	fs.StringVar(&f.grpc, "serve-grpc", "", "serve the Open Inference Protocol over gRPC on ADDR (e.g. 127.0.0.1:8001)")
	fs.Int64Var(&f.oip.MaxBodyBytes, "max-body", oip.DefaultMaxBodyBytes, "largest request body (HTTP) or message (gRPC) in bytes")
	fs.StringVar(&f.input, "input", "", "run FILE or the files of DIR (PNG/JPEG images or ONNX TensorProto .pb) through the split instead of MNIST images, one JSON line each")
	fs.IntVar(&f.top, "top", 5, "with --input: the classes to print per file")
	return f
}

func (f *serveFlags) active() bool { return f.http != "" || f.grpc != "" || f.input != "" }

// serve serves inf for the model g until ctx ends (SIGTERM), then drains;
// with --input it runs the files instead.
func (f *serveFlags) serve(ctx context.Context, inf edgeworker.Inferer, g *nn.Graph, name string,
	ready func(context.Context) error, eopts []edgeworker.Option, concurrency int, stdout, stderr io.Writer) error {
	p, err := f.predictor(inf, g, name, eopts)
	if err != nil {
		return err
	}
	if f.input != "" {
		return p.RunFiles(ctx, f.input, f.top, concurrency, stdout)
	}
	cfg := f.oip
	cfg.Ready = ready
	srv, err := oip.New(p, cfg)
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, f.http, f.grpc, func(kind, addr string) {
		fmt.Fprintf(stderr, "splitinfer: serving model %q over %s on %s\n", p.Model().Name, kind, addr)
	})
}
