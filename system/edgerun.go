package system

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/adaptive"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline/link"
)

// ErrInputsFailed reports a run in which some inputs ended in an error
// (the summary lists them).
var ErrInputsFailed = errors.New("inputs ended in an error")

// EdgeRun is the edge side of `splitinfer run` and `splitinfer edge`: the
// edge of one model at the configured cut or at the partitioner's choice.
type EdgeRun struct {
	Name    string
	Program *nn.Program
	Config  edgeworker.Config
	Options []edgeworker.Option
	// Plan, when not nil, has the partitioner choose the cut (PlanCut).
	Plan *PlanConfig
	// EarlyCutWithoutProfile cuts by Config.Cut (the early cut) instead of
	// failing when the cloud workers publish no profile
	// (adaptive.ErrNoProfile), said on Plan.Log.
	EarlyCutWithoutProfile bool
}

// Start starts the edge on nc. The plan is nil when the partitioner did not
// choose.
func (r EdgeRun) Start(ctx context.Context, nc *nats.Conn) (Submitter, *CutPlan, error) {
	if r.Config.Model == "" {
		r.Config.Model = r.Name
	}
	if r.Plan == nil {
		e, err := edgeworker.New(nc, r.Program, r.Config, r.Options...)
		return e, nil, err
	}
	plan, err := PlanCut(ctx, nc, r.Program, r.Config, *r.Plan)
	if errors.Is(err, adaptive.ErrNoProfile) && r.EarlyCutWithoutProfile {
		if r.Plan.Log != nil {
			fmt.Fprintf(r.Plan.Log, "splitinfer edge: no partitioner (%v): cutting by pipeline.EarlyCut\n", err)
		}
		e, err := edgeworker.New(nc, r.Program, r.Config, r.Options...)
		return e, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	e, err := plan.Edge(nc, r.Program, r.Config, r.Options)
	return e, plan, err
}

// RunImages drives the first n images of set through e (Drive) and
// summarises them with the plan. A cancelled ctx (SIGINT, SIGTERM) ends the
// run without an error: the images sent were answered and summarised. Inputs
// that ended in an error make the error ErrInputsFailed, with the summary.
func RunImages(ctx context.Context, e Submitter, plan *CutPlan, name string, set *mnist.Set, n, concurrency int) (*Summary, error) {
	sum, err := Drive(ctx, e, set, n, concurrency)
	if plan != nil {
		sum.Plan = plan.Summary(e)
	}
	sum.Model = name
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	if err == nil && sum.Errors > 0 {
		err = fmt.Errorf("%d of %d %w", sum.Errors, sum.Images, ErrInputsFailed)
	}
	return sum, err
}

// Write prints the summary, as one JSON object when asJSON, with the trace
// URLs of the slowest and the median request when jaegerUI (the Jaeger web
// UI's base URL) is set.
func (s *Summary) Write(w io.Writer, asJSON bool, jaegerUI string) error {
	if jaegerUI != "" {
		s.Traces = TraceLinks(jaegerUI, s.Results)
	}
	if asJSON {
		return json.NewEncoder(w).Encode(s)
	}
	s.WriteText(w)
	if jaegerUI != "" {
		WriteTraceLinks(w, s.Traces)
	}
	return nil
}

// EmulationOptions are the edge connection's options for an emulated link
// (sp, nil for none: a shaped dialer); log is told what is emulated, the
// link and an edge slowdown times slower.
func EmulationOptions(sp *link.Spec, slowdown float64, log io.Writer) []nats.Option {
	var opts []nats.Option
	if sp != nil {
		opts = append(opts, nats.SetCustomDialer(&link.Dialer{Spec: *sp}))
		fmt.Fprintf(log, "edge link emulated: %s (token bucket and RTT/2 delay each way on the edge's NATS connection)\n", *sp)
	}
	if slowdown > 1 {
		fmt.Fprintf(log, "edge emulated %gx slower: each head run takes %g x its thread CPU time\n", slowdown, slowdown)
	}
	return opts
}
