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

// serveFlags are the inference endpoint's flags (edge and run).
type serveFlags struct {
	http, grpc  *string
	modelName   *string
	preprocess  *string
	labels      *string
	maxBody     *int64
	maxInFlight *int
}

func addServeFlags(fs *flag.FlagSet) *serveFlags {
	return &serveFlags{
		http:        fs.String("serve", "", "serve the Open Inference Protocol (KServe v2) over HTTP on ADDR (e.g. 127.0.0.1:8000) until SIGTERM, instead of sending MNIST images"),
		grpc:        fs.String("serve-grpc", "", "serve the Open Inference Protocol over gRPC on ADDR (e.g. 127.0.0.1:8001)"),
		modelName:   fs.String("model-name", "", "the served model's name (default: the model's name as inspect prints it)"),
		preprocess:  fs.String("preprocess", "", "image preprocessing of the model: mnist, imagenet, or a declaration like \""+preprocess.ImageNet+"\" (default: the model's own, recorded in .sinf metadata)"),
		labels:      fs.String("labels", "", "class labels file, one per line (default: the model's own)"),
		maxBody:     fs.Int64("max-body", oip.DefaultMaxBodyBytes, "largest request body (HTTP) or message (gRPC) in bytes"),
		maxInFlight: fs.Int("max-inflight", 64, "requests served at once; more get 503"),
	}
}

func (f *serveFlags) active() bool { return *f.http != "" || *f.grpc != "" }

// predictorConfig turns the model's flags into a PredictorConfig.
func (f *serveFlags) predictorConfig(name string) (edgeworker.PredictorConfig, error) {
	cfg := edgeworker.PredictorConfig{Name: name, MaxInFlight: *f.maxInFlight}
	if *f.modelName != "" {
		cfg.Name = *f.modelName
	}
	if *f.preprocess != "" {
		decl := map[string]string{"mnist": preprocess.MNIST, "imagenet": preprocess.ImageNet}[*f.preprocess]
		if decl == "" {
			decl = *f.preprocess
		}
		spec, err := preprocess.Parse(decl)
		if err != nil {
			return cfg, fmt.Errorf("%w: --preprocess: %v", errUsage, err)
		}
		cfg.Preprocess = spec
	}
	if *f.labels != "" {
		b, err := os.ReadFile(*f.labels)
		if err != nil {
			return cfg, fmt.Errorf("--labels: %w", err)
		}
		cfg.Labels = preprocess.Labels(string(b))
	}
	return cfg, nil
}

// serve serves inf for the model g until ctx ends (SIGTERM), then drains.
func (f *serveFlags) serve(ctx context.Context, inf edgeworker.Inferer, g *nn.Graph, name string,
	ready func(context.Context) error, eopts []edgeworker.Option, stderr io.Writer) error {
	pcfg, err := f.predictorConfig(name)
	if err != nil {
		return err
	}
	p, err := edgeworker.NewPredictor(inf, g, pcfg, eopts...)
	if err != nil {
		return err
	}
	srv, err := oip.New(p, oip.Config{MaxBodyBytes: *f.maxBody, Ready: ready})
	if err != nil {
		return err
	}
	return srv.ListenAndServe(ctx, *f.http, *f.grpc, func(kind, addr string) {
		fmt.Fprintf(stderr, "splitinfer: serving model %q over %s on %s\n", p.Model().Name, kind, addr)
	})
}
