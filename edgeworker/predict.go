package edgeworker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/preprocess"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace"
)

// Errors of Predict. Callers match them with errors.Is; an invalid input is
// an *InputError.
var (
	// ErrInvalidInput reports a request the model cannot take: a missing
	// or unknown input, a wrong shape or dtype, an undecodable image.
	ErrInvalidInput = errors.New("edgeworker: invalid input")
	// ErrOverloaded reports that MaxInFlight requests are already running.
	ErrOverloaded = errors.New("edgeworker: too many requests in flight")
)

// InputError is an invalid input, named.
type InputError struct {
	Input string // the input's (or output's) name; "" for the request
	Msg   string
	Err   error // the cause, if any (e.g. preprocess.ErrTooLarge)
}

func (e *InputError) Error() string {
	if e.Input == "" {
		return e.Msg
	}
	return fmt.Sprintf("input %q: %s", e.Input, e.Msg)
}

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e *InputError) Is(target error) bool { return target == ErrInvalidInput }

// Unwrap returns the cause.
func (e *InputError) Unwrap() error { return e.Err }

func inputErr(name string, cause error, format string, args ...any) *InputError {
	return &InputError{Input: name, Msg: fmt.Sprintf(format, args...), Err: cause}
}

// Inferer runs a model's inputs through a split (or locally) and returns
// its outputs: a *Worker, or an adaptive edge.
type Inferer interface {
	Infer(ctx context.Context, inputs ...*nn.Tensor) (*Result, error)
}

// PredictorConfig configures a Predictor. Zero fields take the defaults
// documented on each field.
type PredictorConfig struct {
	// Name is the model's name to callers (default the graph's name).
	Name string
	// Version is the model's version (default "1").
	Version string
	// Preprocess turns encoded images into the model's first input
	// (default: the declaration in the graph's metadata, if any; without
	// one, images are refused).
	Preprocess *preprocess.Spec
	// Labels name the classes (default: the graph's metadata labels).
	Labels []string
	// MaxInFlight bounds the requests running at once; one more is refused
	// at once with ErrOverloaded (default 64).
	MaxInFlight int
	// MaxBatch bounds the batch size of one request (default 64).
	MaxBatch int
	// Limits bound image decoding (zero: preprocess defaults).
	Limits preprocess.Limits
}

// ModelInfo describes the served model.
type ModelInfo struct {
	Name, Version   string
	Hash            string
	Inputs, Outputs []nn.ValueInfo
	// Preprocess is the declaration that turns images into Inputs[0] (nil:
	// the model takes tensors only).
	Preprocess *preprocess.Spec
	Labels     []string
}

// Predictor is the edge as an inference endpoint: one call from a request's
// inputs (tensors or encoded images) to its outputs (tensors or top-K
// classes) through an Inferer. The Open Inference Protocol handlers
// (edgeworker/oip) call it; applications that embed the edge call it
// directly. It is safe for concurrent use.
type Predictor struct {
	inf     Inferer
	info    ModelInfo
	cfg     PredictorConfig
	sem     chan struct{}
	decode  chan struct{} // bounds the images decoded at once (their memory)
	tracer  oteltrace.Tracer
	metrics *trace.Metrics
}

// NewPredictor makes a Predictor for the model g run through inf.
// Defaults: see PredictorConfig; tracing and metrics are off unless
// WithTracerProvider/WithMeterProvider (give the ones the Worker has).
func NewPredictor(inf Inferer, g *nn.Graph, cfg PredictorConfig, opts ...Option) (*Predictor, error) {
	if inf == nil || g == nil {
		return nil, errors.New("edgeworker: NewPredictor needs an Inferer and the model's graph")
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = 64
	}
	if cfg.MaxBatch == 0 {
		cfg.MaxBatch = 64
	}
	if cfg.Version == "" {
		cfg.Version = "1"
	}
	if cfg.MaxInFlight < 1 || cfg.MaxBatch < 1 {
		return nil, fmt.Errorf("edgeworker: MaxInFlight %d and MaxBatch %d must be positive", cfg.MaxInFlight, cfg.MaxBatch)
	}
	spec, labels, err := preprocess.FromGraph(g)
	if err != nil {
		return nil, fmt.Errorf("edgeworker: model metadata: %w", err)
	}
	if cfg.Preprocess == nil {
		cfg.Preprocess = spec
	}
	if cfg.Labels == nil {
		cfg.Labels = labels
	}
	if cfg.Preprocess != nil {
		if len(g.Inputs) != 1 {
			return nil, fmt.Errorf("edgeworker: image preprocessing needs a model with one input, this one has %d", len(g.Inputs))
		}
		if err := cfg.Preprocess.Check(g.Inputs[0]); err != nil {
			return nil, fmt.Errorf("edgeworker: %w", err)
		}
	}
	name := cfg.Name
	if name == "" {
		name = g.Name
	}
	if name == "" || strings.ContainsAny(name, "/?#% \t\r\n") {
		return nil, fmt.Errorf("edgeworker: model name %q: want a non-empty name without '/', '?', '#', '%%' or spaces", name)
	}
	o := newOptions(opts)
	metrics, err := trace.NewMetrics(o.mp)
	if err != nil {
		return nil, fmt.Errorf("edgeworker: %w", err)
	}
	p := &Predictor{inf: inf, cfg: cfg, sem: make(chan struct{}, cfg.MaxInFlight), decode: make(chan struct{}, runtime.GOMAXPROCS(0)),
		tracer: o.tp.Tracer(trace.ScopeName), metrics: metrics}
	p.info = ModelInfo{Name: name, Version: cfg.Version, Hash: pipeline.ModelHash(g),
		Inputs: append([]nn.ValueInfo(nil), g.Inputs...), Outputs: append([]nn.ValueInfo(nil), g.Outputs...),
		Preprocess: cfg.Preprocess, Labels: cfg.Labels}
	return p, nil
}

// Model describes the served model.
func (p *Predictor) Model() ModelInfo { return p.info }

// Input is one named input of a request: a tensor, or encoded images
// (PNG/JPEG, one per batch row) for a model that declares preprocessing.
type Input struct {
	Name   string
	Tensor *nn.Tensor
	Images [][]byte
}

// OutputRequest asks for one output; Classes > 0 asks for its top Classes
// classes per batch row instead of the tensor.
type OutputRequest struct {
	Name    string
	Classes int
}

// PredictRequest is one inference request.
type PredictRequest struct {
	// ID is the caller's request id (optional); it is put on the trace's
	// root span and returned.
	ID     string
	Inputs []Input
	// Outputs selects outputs (empty: all, as tensors).
	Outputs []OutputRequest
}

// Class is one class of a top-K answer: its index, the output's value
// (the logit as the model gives it) and its label, when the model has one.
type Class struct {
	Index int     `json:"index"`
	Score float32 `json:"score"`
	Label string  `json:"label,omitempty"`
}

// Output is one output of the answer.
type Output struct {
	Name   string
	Tensor *nn.Tensor // nil when classes were asked for
	// Classes holds the top classes of each batch row, best first, when
	// asked for.
	Classes [][]Class
}

// PredictResponse is the answer to a PredictRequest.
type PredictResponse struct {
	ID      string
	Outputs []Output
	// Result is the split's outcome (cut, timings, worker).
	Result *Result
	// Preprocess is the time spent decoding and preprocessing images.
	Preprocess time.Duration
}

// Predict runs one request: it checks the inputs against the model, decodes
// and preprocesses images, runs the model through the Inferer (the
// inputs' batch is one request through the split) and builds the outputs.
// Errors: an *InputError (ErrInvalidInput), ErrOverloaded, or the
// Inferer's (a *pipeline.Error, ErrNoCloud, the context's).
func (p *Predictor) Predict(ctx context.Context, req *PredictRequest) (resp *PredictResponse, err error) {
	start := time.Now()
	ctx, span := p.tracer.Start(ctx, trace.SpanServe, oteltrace.WithSpanKind(oteltrace.SpanKindServer))
	if span.IsRecording() {
		span.SetAttributes(attribute.String(trace.AttrModelName, p.info.Name))
		if req != nil && req.ID != "" {
			span.SetAttributes(attribute.String(trace.AttrServeRequestID, req.ID))
		}
	}
	inferred := false
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
			if !inferred { // the Inferer counts what reaches it
				code := int(pipeline.CodeBadRequest)
				if errors.Is(err, ErrOverloaded) {
					code = int(pipeline.CodeQueueFull)
				}
				p.metrics.Error(ctx, code)
				p.metrics.Request(ctx, "", trace.OutcomeError, time.Since(start))
			}
		}
		span.End()
	}()
	if req == nil {
		return nil, inputErr("", nil, "no request")
	}
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	default:
		return nil, fmt.Errorf("%w (%d)", ErrOverloaded, p.cfg.MaxInFlight)
	}
	outs, err := p.outputs(req.Outputs)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	feeds, err := p.feeds(req.Inputs)
	prep := time.Since(t0)
	if span.IsRecording() {
		_, ps := p.tracer.Start(ctx, trace.SpanPreprocess, oteltrace.WithTimestamp(t0))
		if err != nil {
			ps.SetStatus(codes.Error, err.Error())
		}
		ps.End(oteltrace.WithTimestamp(trace.EndTime(t0, t0.Add(prep))))
	}
	if err != nil {
		return nil, err
	}
	p.metrics.Stage(ctx, trace.StagePreprocess, prep)
	inferred = true
	res, err := p.inf.Infer(ctx, feeds...)
	if err != nil {
		return nil, err
	}
	resp = &PredictResponse{ID: req.ID, Result: res, Preprocess: prep}
	for _, o := range outs {
		t := res.Outputs[o.index]
		out := Output{Name: o.Name}
		if o.Classes > 0 {
			if out.Classes, err = p.topK(o.Name, t, o.Classes); err != nil {
				return nil, err
			}
		} else {
			out.Tensor = t
		}
		resp.Outputs = append(resp.Outputs, out)
	}
	return resp, nil
}

type outputSel struct {
	OutputRequest
	index int
}

func (p *Predictor) outputs(reqs []OutputRequest) ([]outputSel, error) {
	if len(reqs) == 0 {
		sel := make([]outputSel, len(p.info.Outputs))
		for i, o := range p.info.Outputs {
			sel[i] = outputSel{OutputRequest{Name: o.Name}, i}
		}
		return sel, nil
	}
	var sel []outputSel
	for _, r := range reqs {
		i := p.outputIndex(r.Name)
		if i < 0 {
			return nil, inputErr("", nil, "unknown output %q (the model's outputs: %s)", r.Name, names(p.info.Outputs))
		}
		if r.Classes < 0 || r.Classes > 1<<20 {
			return nil, inputErr("", nil, "output %q: classification %d out of range", r.Name, r.Classes)
		}
		sel = append(sel, outputSel{r, i})
	}
	return sel, nil
}

func (p *Predictor) outputIndex(name string) int {
	for i, o := range p.info.Outputs {
		if o.Name == name {
			return i
		}
	}
	return -1
}

func names(vs []nn.ValueInfo) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = fmt.Sprintf("%q", v.Name)
	}
	return strings.Join(s, ", ")
}

// feeds checks the inputs and makes the model's input tensors, in order.
func (p *Predictor) feeds(ins []Input) ([]*nn.Tensor, error) {
	byName := make(map[string]*Input, len(ins))
	for i := range ins {
		in := &ins[i]
		if p.InputIndex(in.Name) < 0 {
			return nil, inputErr(in.Name, nil, "unknown input (the model's inputs: %s)", names(p.info.Inputs))
		}
		if byName[in.Name] != nil {
			return nil, inputErr(in.Name, nil, "given twice")
		}
		byName[in.Name] = in
	}
	feeds := make([]*nn.Tensor, len(p.info.Inputs))
	batch := -1
	for i, vi := range p.info.Inputs {
		in := byName[vi.Name]
		if in == nil {
			return nil, inputErr(vi.Name, nil, "missing (the model wants %s)", WantString(vi, p.info.Preprocess != nil && i == 0))
		}
		var t *nn.Tensor
		switch {
		case in.Images != nil:
			if p.info.Preprocess == nil || i != 0 {
				return nil, inputErr(vi.Name, nil, "takes a tensor %v, not images (the model declares no preprocessing)", vi.Type)
			}
			if len(in.Images) == 0 || len(in.Images) > p.cfg.MaxBatch {
				return nil, inputErr(vi.Name, nil, "%d images: want 1..%d", len(in.Images), p.cfg.MaxBatch)
			}
			var err error
			p.decode <- struct{}{}
			t, err = p.info.Preprocess.Batch(in.Images, p.cfg.Limits)
			<-p.decode
			if err != nil {
				return nil, inputErr(vi.Name, err, "%v", err)
			}
		case in.Tensor != nil:
			t = in.Tensor
			if err := CheckInput(vi, t, p.info.Preprocess != nil && i == 0); err != nil {
				return nil, err
			}
			if len(t.Shape) > 0 && t.Shape[0] > p.cfg.MaxBatch {
				return nil, inputErr(vi.Name, nil, "batch %d over the limit %d", t.Shape[0], p.cfg.MaxBatch)
			}
		default:
			return nil, inputErr(vi.Name, nil, "no data")
		}
		if len(t.Shape) > 0 {
			if batch >= 0 && t.Shape[0] != batch {
				return nil, inputErr(vi.Name, nil, "batch %d, other inputs have %d", t.Shape[0], batch)
			}
			batch = t.Shape[0]
		}
		feeds[i] = t
	}
	return feeds, nil
}

// InputIndex is the position of the model input named name (-1: none).
func (p *Predictor) InputIndex(name string) int {
	for i, v := range p.info.Inputs {
		if v.Name == name {
			return i
		}
	}
	return -1
}

// WantString says what an input takes, for error messages.
func WantString(vi nn.ValueInfo, images bool) string {
	s := vi.Type.String()
	if images {
		s += " or encoded images (PNG/JPEG)"
	}
	return s
}

// CheckInput compares a tensor with a model input's declared dtype and
// shape (dynamic dimensions match anything); the error names the input and
// what it wants.
func CheckInput(vi nn.ValueInfo, t *nn.Tensor, images bool) error {
	bad := vi.Type.DType != nn.Undefined && vi.Type.DType != t.DType
	if vi.Type.Shape != nil {
		if len(vi.Type.Shape) != len(t.Shape) {
			bad = true
		} else {
			for i, d := range vi.Type.Shape {
				if d >= 0 && d != t.Shape[i] {
					bad = true
				}
			}
		}
	}
	if bad {
		return inputErr(vi.Name, nil, "got %v, the model wants %s", t.Type(), WantString(vi, images))
	}
	return nil
}

// topK returns the best k classes of each row of a [N, C, 1...] output.
func (p *Predictor) topK(name string, t *nn.Tensor, k int) ([][]Class, error) {
	if t.DType != nn.Float32 || len(t.Shape) < 2 || t.Shape[0] < 1 {
		return nil, inputErr("", nil, "output %q is %v: classification needs float32 [batch, classes]", name, t.Type())
	}
	rows := t.Shape[0]
	n := t.Len() / rows
	k = min(k, n)
	out := make([][]Class, rows)
	idx := make([]int, n)
	for r := range rows {
		row := t.F32[r*n : (r+1)*n]
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
		cls := make([]Class, k)
		for j := range k {
			cls[j] = Class{Index: idx[j], Score: row[idx[j]]}
			if idx[j] < len(p.info.Labels) {
				cls[j].Label = p.info.Labels[idx[j]]
			}
		}
		out[r] = cls
	}
	return out, nil
}
