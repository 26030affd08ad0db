package cloudworker

import (
	"encoding/json"
	"fmt"
	"math/rand"

	"github.com/nats-io/nats.go/micro"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
)

// maxProfileInput bounds the elements of one profiling input.
const maxProfileInput = 1 << 26

// profileSamples makes one batch-1 input per graph input for profiling:
// seeded uniform [0,1) values for float32 inputs, zeros otherwise (the
// kernels' time does not depend on the values, except for skipped zeros).
func profileSamples(g *nn.Graph) ([][]*nn.Tensor, error) {
	rng := rand.New(rand.NewSource(1))
	var ins []*nn.Tensor
	for _, in := range g.Inputs {
		s := append([]int(nil), in.Type.Shape...)
		for j := range s {
			if s[j] < 0 {
				if j != 0 {
					return nil, fmt.Errorf("input %q has a dynamic dimension %d besides the batch", in.Name, j)
				}
				s[j] = 1
			}
		}
		if n := nn.NumElements(s); n <= 0 || n > maxProfileInput {
			return nil, fmt.Errorf("input %q shape %v is not usable", in.Name, in.Type.Shape)
		}
		t := nn.New(in.Type.DType, s...)
		for j := range t.F32 {
			t.F32[j] = rng.Float32()
		}
		ins = append(ins, t)
	}
	return [][]*nn.Tensor{ins}, nil
}

// measureProfiles measures the per-node profile of every served model
// (Config.ProfileRuns runs with the runners' thread budget, wall clock:
// what requests see) and keeps it as JSON for the profile endpoint.
func (w *Worker) measureProfiles() error {
	w.profiles = map[string][]byte{}
	if w.cfg.ProfileRuns < 0 {
		return nil
	}
	for h, m := range w.models {
		samples, err := profileSamples(m.prog.Graph())
		if err != nil {
			return fmt.Errorf("cloudworker: profiling %s: %w", m.name, err)
		}
		p, err := measure.Profile(m.prog, samples, measure.WithRuns(w.cfg.ProfileRuns),
			measure.WithThreads(w.cfg.Threads), measure.WithDevice("cloud worker"))
		if err != nil {
			return fmt.Errorf("cloudworker: profiling %s: %w", m.name, err)
		}
		p.Model = m.name
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("cloudworker: profile of %s: %w", m.name, err)
		}
		w.profiles[h] = b
	}
	return nil
}

// Profile returns the per-node profile measured at start for the model
// with hash modelHash ("" for the first model), as JSON; nil when
// profiling is off or the model is not served.
func (w *Worker) Profile(modelHash string) []byte {
	if modelHash == "" {
		modelHash = w.first
	}
	return w.profiles[modelHash]
}

// addProfileEndpoints measures the profiles and adds the "profile" and
// "echo" endpoints (pipeline.ProfileSubject and pipeline.EchoSubject of
// the worker's subject, in its queue group).
func (w *Worker) addProfileEndpoints() error {
	if err := w.measureProfiles(); err != nil {
		return err
	}
	err := w.svc.AddEndpoint("profile", micro.HandlerFunc(w.handleProfile),
		micro.WithEndpointSubject(pipeline.ProfileSubject(w.cfg.Subject)),
		micro.WithEndpointQueueGroup(w.cfg.QueueGroup))
	if err != nil {
		return fmt.Errorf("cloudworker: %w", err)
	}
	err = w.svc.AddEndpoint("echo", micro.HandlerFunc(func(req micro.Request) { _ = req.Respond([]byte{1}) }),
		micro.WithEndpointSubject(pipeline.EchoSubject(w.cfg.Subject)),
		micro.WithEndpointQueueGroup(w.cfg.QueueGroup))
	if err != nil {
		return fmt.Errorf("cloudworker: %w", err)
	}
	return nil
}

// handleProfile answers a profile request: the body is a model hash (empty:
// the first model). Errors carry micro's error headers: 400 for a body
// that is not a hash, 404 for a model not served or no profile.
func (w *Worker) handleProfile(req micro.Request) {
	data := req.Data()
	if len(data) > 128 {
		_ = req.Error("400", "profile request: the body is a model hash", nil)
		return
	}
	b := w.Profile(string(data))
	if b == nil {
		_ = req.Error("404", fmt.Sprintf("no profile for model %q", data), nil)
		return
	}
	_ = req.Respond(b)
}
