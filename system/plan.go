package system

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/edgeworker/adaptive"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
)

// PlanConfig says how PlanCut measures the edge and the link.
type PlanConfig struct {
	// Samples is how many inputs the edge profiles and sizes with: the
	// first images of Set (when not nil and the model takes MNIST images),
	// else seeded random inputs (measure.SampleInputs).
	Samples int
	Set     *mnist.Set
	// Slowdown scales the edge profile (as edgeworker.Config.Slowdown).
	Slowdown float64
	// Bandwidth is the link's, in bytes per second, when known (an
	// emulated link); 0: measured with 64 KiB probes.
	Bandwidth float64
	// Adapt makes Edge an adaptive edge that re-chooses the cut as the
	// link changes.
	Adapt bool
	// MaxAccuracyDrop is the accuracy budget of the joint choice of cut
	// and coding (ModelCodings) a compact edge without Adapt makes
	// (default 0.002).
	MaxAccuracyDrop float64
	// Log, when not nil, gets a progress line; Progress, when set, the
	// edge profiling's sample runs.
	Log      io.Writer
	Progress func(done, total int)
}

// CutPlan is the partitioner's choice for an edge.
type CutPlan struct {
	Model    *partition.Model
	Link     partition.Link
	Best     partition.Estimate
	Decision time.Duration
	Notes    []string
	// Coding is how the chosen cut is sent when the cut and its coding
	// were chosen together (a compact edge whose model has compact
	// codings); nil otherwise.
	Coding *partition.Coding
	adapt  bool
}

// PlanCut chooses the cut with the partitioner: the cloud worker's
// published profile, the edge's profile measured here (scaled by
// Slowdown), the encoded sizes of the edge's requests (adaptive.BuildModel),
// and the link: its round trip measured through the edge's connection
// (echo requests to the cloud workers), its bandwidth given or measured.
func PlanCut(ctx context.Context, nc *nats.Conn, prog *nn.Program, cfg edgeworker.Config, pc PlanConfig) (*CutPlan, error) {
	samples, what, err := measure.SampleInputs(prog.Graph(), pc.Samples, pc.Set)
	if err != nil {
		return nil, err
	}
	if pc.Log != nil {
		fmt.Fprintf(pc.Log, "partitioner: fetching the cloud profile, profiling the edge over %s...\n", what)
	}
	m, notes, err := adaptive.BuildModel(ctx, nc, prog, cfg, adaptive.Setup{Samples: samples, Slowdown: pc.Slowdown, Progress: pc.Progress})
	if err != nil {
		return nil, err
	}
	if cfg.Exit {
		if notes, err = weighExits(m, prog.Graph(), notes); err != nil {
			return nil, err
		}
	}
	probe := 64 << 10
	if pc.Bandwidth > 0 {
		probe = 0
	}
	mctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := adaptive.MeasureLink(mctx, nc, subjectOf(cfg), 5, probe)
	if err != nil {
		return nil, err
	}
	if probe == 0 {
		l.Bandwidth = pc.Bandwidth
		notes = append(notes, fmt.Sprintf("link: bandwidth from --link, round trip %.2f ms measured through the edge's connection", float64(l.RTT)/1e6))
	} else {
		notes = append(notes, fmt.Sprintf("link: measured through the edge's connection (echo round trip %.2f ms, 64 KiB probes)", float64(l.RTT)/1e6))
	}
	t0 := time.Now()
	best, err := m.Best(l)
	if err != nil {
		return nil, err
	}
	plan := &CutPlan{Model: m, Link: l, Best: best, Notes: notes, adapt: pc.Adapt}
	if cfg.Compact && !pc.Adapt {
		more, err := ModelCodings(m, prog, samples, cfg.Codec, cfg.WireDType)
		if err != nil {
			return nil, err
		}
		plan.Notes = append(plan.Notes, more...)
		if len(m.Codings) > 0 {
			drop := pc.MaxAccuracyDrop
			if drop == 0 {
				drop = 0.002
			}
			cands, chosen, err := m.Candidates(m.DAG.CandidateCuts(best.Cut), l, drop)
			if err != nil {
				return nil, err
			}
			if chosen >= 0 {
				plan.Best, plan.Coding = cands[chosen].Estimate, &cands[chosen].Coding
			}
		}
	}
	plan.Decision = time.Since(t0)
	return plan, nil
}

func subjectOf(cfg edgeworker.Config) string {
	if cfg.Subject == "" {
		return pipeline.DefaultSubject
	}
	return cfg.Subject
}

// Edge makes the edge for the plan: an adaptive edge with Adapt (probing
// the cloud's echo endpoint) or for an edge-only choice (it never moves
// without observations), else an edge worker at the chosen cut.
func (p *CutPlan) Edge(nc *nats.Conn, prog *nn.Program, cfg edgeworker.Config, eopts []edgeworker.Option) (Submitter, error) {
	if !p.adapt && !p.Best.Cut.IsEdgeOnly() {
		cfg.Cut = p.Best.Cut.Tensors
		if p.Coding != nil && len(p.Model.Codings[p.Best.Cut.Name]) > 0 {
			cfg.Compact, cfg.CodecBits = p.Coding.Compact, p.Coding.Bits
		}
		return edgeworker.New(nc, prog, cfg, eopts...)
	}
	a, err := partition.NewAdapter(p.Model, p.Link)
	if err != nil {
		return nil, err
	}
	probe := ""
	if p.adapt {
		probe = pipeline.EchoSubject(subjectOf(cfg))
	}
	return adaptive.New(nc, prog, a, cfg, probe, eopts...)
}

// Summary is the plan as the run summary reports it (e is the edge Edge
// made).
func (p *CutPlan) Summary(e Submitter) *Plan {
	s := &Plan{Choice: p.Best.Cut.Name, PredictedMS: round3(p.Best.TotalMS), Link: p.Link.String(),
		DecisionUS: round3(float64(p.Decision) / 1e3), Notes: p.Notes}
	if p.Coding != nil {
		s.Coding = p.Coding.Name
	}
	if ae, ok := e.(*adaptive.Edge); ok && p.adapt {
		s.Adaptive = true
		s.Moves = ae.Adapter().Moves()
	}
	return s
}

// weighExits gives the cost model the exit rates of the early-exit heads
// the model carries (measured on held-back images by compress --exit), so
// the prediction of their cuts counts the requests answered at the edge.
func weighExits(m *partition.Model, g *nn.Graph, notes []string) ([]string, error) {
	for _, name := range earlyexit.Cuts(g) {
		h, err := earlyexit.Lookup(g, name)
		if err != nil {
			return notes, err
		}
		c, err := m.DAG.CutAtTensor(name)
		if err != nil {
			return notes, fmt.Errorf("exit head: %w", err)
		}
		if m.Exits == nil {
			m.Exits = map[string]partition.Exit{}
		}
		m.Exits[c.Name] = partition.Exit{Rate: h.Choice.ExitRate}
		notes = append(notes, fmt.Sprintf("early exit at %s: %.1f%% of requests answered at the edge (held-back images; the head's time is not profiled)", c.Name, 100*h.Choice.ExitRate))
	}
	return notes, nil
}
