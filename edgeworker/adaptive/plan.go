package adaptive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/partition"
	"github.com/splitinfer/splitinfer/partition/measure"
	"github.com/splitinfer/splitinfer/pipeline"
)

// WireSize returns the encoder the partitioner sizes cuts with: the
// length of the request an edge worker with this codec and wire dtype
// (nn.Undefined or nn.Float32: as computed) sends for a cut, built by the
// same pipeline.RequestEncoder the worker sends with (see its Size).
func WireSize(modelHash string, codec pipeline.Codec, wire nn.DType) partition.EncodeFunc {
	return pipeline.RequestEncoder{Model: modelHash, Codec: codec, Wire: wire}.Size
}

// MaxProfileBytes caps a fetched profile (a few hundred nodes take tens of
// kilobytes of JSON).
const MaxProfileBytes = 1 << 20

// ErrNoProfile reports that no cloud worker served a profile.
var ErrNoProfile = errors.New("adaptive: no cloud profile")

// FetchProfile asks the cloud workers serving subject for the per-node
// profile of the model with hash modelHash (see pipeline.ProfileSubject).
// The answer is bounded (MaxProfileBytes), decoded into the fixed
// partition.Profile (unknown fields rejected) and checked against d when d
// is not nil (only nodes of the graph, finite non-negative times).
func FetchProfile(ctx context.Context, nc *nats.Conn, subject, modelHash string, d *partition.DAG) (*partition.Profile, error) {
	if nc == nil {
		return nil, fmt.Errorf("%w: nil connection", ErrNoProfile)
	}
	msg, err := nc.RequestWithContext(ctx, pipeline.ProfileSubject(subject), []byte(modelHash))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoProfile, err)
	}
	if code := msg.Header.Get(micro.ErrorCodeHeader); code != "" {
		return nil, fmt.Errorf("%w: cloud answered %s %s", ErrNoProfile, code, msg.Header.Get(micro.ErrorHeader))
	}
	if len(msg.Data) > MaxProfileBytes {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrNoProfile, len(msg.Data), MaxProfileBytes)
	}
	p, err := partition.ReadProfile(bytes.NewReader(msg.Data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoProfile, err)
	}
	if d != nil {
		if err := p.Validate(d); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoProfile, err)
		}
	}
	return p, nil
}

// maxBandwidth is the fastest link MeasureLink reports (10 Gbit/s), for a
// probe whose transfer hides in the round trip's jitter.
const maxBandwidth = 10e9 / 8

// MeasureLink estimates the link to the cloud workers serving subject from
// their echo endpoint (pipeline.EchoSubject): the round trip is the median
// of n one-byte echoes (after one unmeasured), the bandwidth
// probeBytes / (median probe time - round trip) over n probes of
// probeBytes, at most 10 Gbit/s. With probeBytes 0 it only measures the
// round trip and returns bandwidth 0.
func MeasureLink(ctx context.Context, nc *nats.Conn, subject string, n, probeBytes int) (partition.Link, error) {
	if nc == nil || n < 1 || probeBytes < 0 {
		return partition.Link{}, errors.New("adaptive: MeasureLink needs a connection, n >= 1 and probeBytes >= 0")
	}
	echo := pipeline.EchoSubject(subject)
	median := func(size, n int) (time.Duration, error) {
		var ds []time.Duration
		body := make([]byte, size)
		for i := 0; i < n; i++ {
			t0 := time.Now()
			if _, err := nc.RequestWithContext(ctx, echo, body); err != nil {
				return 0, fmt.Errorf("adaptive: echo: %w", err)
			}
			ds = append(ds, time.Since(t0))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2], nil
	}
	if _, err := median(1, 1); err != nil { // connection warm-up
		return partition.Link{}, err
	}
	rtt, err := median(1, n)
	if err != nil {
		return partition.Link{}, err
	}
	l := partition.Link{RTT: rtt}
	if probeBytes == 0 {
		return l, nil
	}
	d, err := median(probeBytes, n)
	if err != nil {
		return partition.Link{}, err
	}
	l.Bandwidth = maxBandwidth
	if tr := (d - rtt).Seconds(); tr > 0 {
		l.Bandwidth = min(float64(probeBytes)/tr, maxBandwidth)
	}
	return l, nil
}

// Setup says how BuildModel measures the edge.
type Setup struct {
	// Samples are the inputs the edge profiles and sizes with (each in the
	// model's input order).
	Samples [][]*nn.Tensor
	// Runs is how many profiling runs the medians are taken over (default 5).
	Runs int
	// Slowdown scales the edge profile for an emulated slower edge (as
	// edgeworker.Config.Slowdown; 0 or 1: off).
	Slowdown float64
	// MaxBytes is the largest request the transport takes (0: nc's
	// MaxPayload).
	MaxBytes int
	// Progress, when set, gets the edge profiling's sample runs.
	Progress func(done, total int)
}

// BuildModel builds the cost model the edge chooses its cut with
// (measure.Build): the edge profile measured here on the whole model (by
// the thread's CPU time when the system has per-thread clocks and cfg uses
// one thread, so that a loaded host does not inflate it; scaled by
// s.Slowdown), the cloud profile fetched from the cloud workers
// (FetchProfile), and the encoded sizes of every candidate cut measured
// with the edge's own encoder (cfg's codec and wire dtype). Notes say
// where each part came from.
func BuildModel(ctx context.Context, nc *nats.Conn, whole *nn.Program, cfg edgeworker.Config, s Setup) (*partition.Model, []string, error) {
	if whole == nil || len(s.Samples) == 0 {
		return nil, nil, errors.New("adaptive: BuildModel needs a model and samples")
	}
	if cfg.Subject == "" {
		cfg.Subject = pipeline.DefaultSubject
	}
	if cfg.Threads == 0 {
		cfg.Threads = 1
	}
	d, err := partition.NewDAG(whole.Graph())
	if err != nil {
		return nil, nil, err
	}
	hash := pipeline.ModelHash(whole.Graph())
	cloud, err := FetchProfile(ctx, nc, cfg.Subject, hash, d)
	if err != nil {
		return nil, nil, err
	}
	if s.MaxBytes == 0 && nc != nil {
		s.MaxBytes = int(nc.MaxPayload())
	}
	enc, err := pipeline.NewRequestEncoder(whole, cfg.Codec, cfg.WireDType, cfg.Compact)
	if err != nil {
		return nil, nil, err
	}
	cm, err := measure.Build(whole, measure.ModelConfig{Samples: s.Samples, Runs: s.Runs, Threads: cfg.Threads, Device: "edge",
		Cloud: cloud, CloudNote: fmt.Sprintf("fetched from a cloud worker (%d runs, %d thread(s))", cloud.Runs, cloud.Threads),
		EdgeCPU: cfg.Threads == 1 && measure.CPUTimeSupported(), Slowdown: s.Slowdown,
		Encode: enc.Size, EncodeNote: enc.String(), MaxBytes: s.MaxBytes, Context: ctx, Progress: s.Progress})
	if err != nil {
		return nil, nil, err
	}
	return cm.Model, cm.Notes, nil
}
