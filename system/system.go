// Package system runs a whole split pipeline in one process: an embedded
// nats-server on 127.0.0.1 at a random port, one cloud worker and one edge
// worker. It also holds the MNIST driver that pushes test images through an
// edge worker and summarises accuracy, latency percentiles, stage times and
// bytes, used by both `splitinfer run` and `splitinfer edge`.
package system

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/evaluate"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline/natsembed"
)

// MaxPayload is the embedded server's message size limit (NATS's default
// 1 MiB is too small for early cuts of larger models).
const MaxPayload = natsembed.DefaultMaxPayload

// System is a running all-in-one pipeline.
type System struct {
	Server *server.Server
	Cloud  *cloudworker.Worker
	Edge   *edgeworker.Worker

	cloudConn, edgeConn *nats.Conn
	closeOnce           sync.Once
	closeErr            error
}

// Start starts the embedded server and both workers for the compiled model.
// Cloud and edge take their configurations as for cloudworker.New and
// edgeworker.New (Limits.MaxMessageBytes defaults to MaxPayload here).
func Start(name string, prog *nn.Program, cloud cloudworker.Config, edge edgeworker.Config,
	copts []cloudworker.Option, eopts []edgeworker.Option) (*System, error) {
	sys, err := StartCloud(name, prog, cloud, copts)
	if err != nil {
		return nil, err
	}
	if err := sys.StartEdge(name, prog, edge, eopts); err != nil {
		sys.Close()
		return nil, err
	}
	return sys, nil
}

// StartCloud starts the embedded server (its message limit MaxPayload, or
// cloud.Limits.MaxMessageBytes when larger), the cloud worker and the edge's
// NATS connection (made with edgeOpts, e.g. nats.SetCustomDialer with a
// pipeline/link Dialer to emulate the edge's link), but no edge worker:
// StartEdge starts one, or another edge (edgeworker/adaptive) can use
// EdgeConn.
func StartCloud(name string, prog *nn.Program, cloud cloudworker.Config, copts []cloudworker.Option, edgeOpts ...nats.Option) (*System, error) {
	s, err := natsembed.Start(int32(max(MaxPayload, cloud.Limits.MaxMessageBytes)))
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	sys := &System{Server: s}
	fail := func(err error) (*System, error) {
		sys.Close()
		return nil, err
	}
	if sys.cloudConn, err = nats.Connect(s.ClientURL(), nats.Name("splitinfer-cloud")); err != nil {
		return fail(fmt.Errorf("system: %w", err))
	}
	edgeOpts = append([]nats.Option{nats.Name("splitinfer-edge")}, edgeOpts...)
	if sys.edgeConn, err = nats.Connect(s.ClientURL(), edgeOpts...); err != nil {
		return fail(fmt.Errorf("system: %w", err))
	}
	if cloud.Limits.MaxMessageBytes == 0 {
		cloud.Limits.MaxMessageBytes = MaxPayload
	}
	if sys.Cloud, err = cloudworker.New(sys.cloudConn, []cloudworker.Model{{Name: name, Program: prog}}, cloud, copts...); err != nil {
		return fail(err)
	}
	return sys, nil
}

// StartEdge starts the edge worker (System.Edge) on the edge connection.
func (s *System) StartEdge(name string, prog *nn.Program, edge edgeworker.Config, eopts []edgeworker.Option) error {
	if s.Edge != nil {
		return errors.New("system: the edge worker is already started")
	}
	if edge.Model == "" {
		edge.Model = name
	}
	e, err := edgeworker.New(s.edgeConn, prog, edge, eopts...)
	if err != nil {
		return err
	}
	s.Edge = e
	return nil
}

// EdgeConn is the edge's NATS connection.
func (s *System) EdgeConn() *nats.Conn { return s.edgeConn }

// URL is the embedded server's client URL.
func (s *System) URL() string { return s.Server.ClientURL() }

// Close drains the cloud worker and shuts everything down. It is safe to
// call more than once.
func (s *System) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.Cloud != nil {
			errs = append(errs, s.Cloud.Stop())
		}
		for _, c := range []*nats.Conn{s.edgeConn, s.cloudConn} {
			if c != nil {
				c.Close()
			}
		}
		natsembed.Stop(s.Server)
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// Latency holds latency percentiles in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Mean float64 `json:"mean"`
	Max  float64 `json:"max"`
}

// Stages holds mean stage times in milliseconds.
type Stages struct {
	EdgeCompute  float64 `json:"edge_compute"`
	Encode       float64 `json:"encode"`
	Transit      float64 `json:"transit"`
	CloudQueue   float64 `json:"cloud_queue"`
	CloudDecode  float64 `json:"cloud_decode"`
	CloudCompute float64 `json:"cloud_compute"`
	Decode       float64 `json:"decode"`
	Fallback     float64 `json:"fallback"`
	Exit         float64 `json:"exit"` // the exit head, when the model has one at the cut
}

// Summary is the outcome of a Drive run (the --json object of run and edge).
type Summary struct {
	Model     string  `json:"model"`
	ModelHash string  `json:"model_hash"`
	Images    int     `json:"images"`
	Correct   int     `json:"correct"`
	Accuracy  float64 `json:"accuracy"`
	Errors    int     `json:"errors"`
	Fallbacks int     `json:"fallbacks"`
	// Exited counts the requests the edge's exit head answered (sending
	// nothing: they count as 0 bytes in BytesPerRequest); ExitRate is
	// their share of the images.
	Exited   int     `json:"exited"`
	ExitRate float64 `json:"exit_rate"`
	Retries  int     `json:"retries"`
	Cut      string  `json:"cut"`
	// Cuts counts the requests answered by cut, when they used more than
	// one (an adaptive edge).
	Cuts        map[string]int `json:"cuts,omitempty"`
	Concurrency int            `json:"concurrency"`
	Latency     Latency        `json:"latency_ms"`
	Stages      Stages         `json:"stages_ms"`
	// BytesPerRequest is the mean request message size; InputBytes the
	// model input's size (1x1x32x32 float32 = 4096); InputBytesUint8 the
	// raw 8-bit image it comes from (the 32x32 padded image = 1024).
	BytesPerRequest float64 `json:"bytes_per_request"`
	// HeaderBytes and PayloadBytes split BytesPerRequest into the
	// message's header (ids, hash, cut, deadline, msgpack framing) and the
	// activations as sent. BitsPerElement is BytesPerRequest in bits per
	// activation element, PayloadBitsPerElement the payload's alone. NATS
	// protocol framing and headers (traceparent when tracing) are not
	// counted. Compact counts the compact (wire version 3) requests.
	HeaderBytes           float64 `json:"header_bytes"`
	PayloadBytes          float64 `json:"payload_bytes"`
	BitsPerElement        float64 `json:"bits_per_element"`
	PayloadBitsPerElement float64 `json:"payload_bits_per_element"`
	Compact               int     `json:"compact_requests"`
	ReplyBytes            float64 `json:"reply_bytes"`
	InputBytes            int     `json:"input_bytes"`
	InputBytesUint8       int     `json:"input_bytes_uint8"`
	RequestsPerSec        float64 `json:"requests_per_s"`
	Seconds               float64 `json:"seconds"`
	// Plan is the partitioner's choice (--cut auto), set by the caller.
	Plan *Plan `json:"plan,omitempty"`
	// Traces link the slowest and the median request's traces in
	// Jaeger's web UI (TraceLinks), set by the caller.
	Traces []TraceLink `json:"traces,omitempty"`
	// ErrorSamples holds up to 5 error messages.
	ErrorSamples []string `json:"error_samples,omitempty"`
	// Predictions are the predicted classes (-1 for an error), in image order.
	Predictions []int `json:"-"`
	// Results are the edge worker's results (nil for an error), in image
	// order: the per-request stage times (Timings) that Stages averages,
	// and the request ids that the traces carry (trace.AttrRequestID).
	Results []*edgeworker.Result `json:"-"`
}

// Plan is the partitioner's choice of the cut, as the summary reports it
// next to the measured latency.
type Plan struct {
	Choice string `json:"choice"`
	// Coding is how the choice is sent, when the cut and its coding were
	// chosen together.
	Coding      string   `json:"coding,omitempty"`
	PredictedMS float64  `json:"predicted_ms"`
	Link        string   `json:"link"`
	DecisionUS  float64  `json:"decision_us"`
	Adaptive    bool     `json:"adaptive,omitempty"`
	Moves       int      `json:"moves,omitempty"`
	Notes       []string `json:"notes,omitempty"`
}

// Submitter is what Drive sends images through: an *edgeworker.Worker, or
// an adaptive edge (edgeworker/adaptive.Edge) that picks the cut per
// request.
type Submitter interface {
	Infer(ctx context.Context, inputs ...*nn.Tensor) (*edgeworker.Result, error)
	// Cut names the (current) cut.
	Cut() string
	ModelHash() string
	Stats() edgeworker.Stats
}

// Drive classifies the first n images of set (all when n <= 0), one
// request per image, with concurrency requests in flight, and summarises.
// Every image sent ends with exactly one outcome: an error counts as wrong.
// When ctx is cancelled Drive stops sending, lets the requests in flight
// finish (each is bounded by the edge's deadline), summarises the images
// sent and returns ctx's error with the summary.
func Drive(ctx context.Context, e Submitter, set *mnist.Set, n, concurrency int) (*Summary, error) {
	if n <= 0 || n > set.Len() {
		n = set.Len()
	}
	if concurrency < 1 {
		concurrency = 1
	}
	type outcome struct {
		res *edgeworker.Result
		err error
	}
	outs := make([]outcome, n)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	inflight := context.WithoutCancel(ctx)
	for g := 0; g < concurrency; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				x, err := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
				if err == nil {
					outs[i].res, err = e.Infer(inflight, x)
				}
				outs[i].err = err
			}
		}()
	}
	sent := 0
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
			sent++
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	if sent < n {
		n = sent
		outs = outs[:n]
	}
	st := e.Stats()
	s := &Summary{Images: n, Cut: e.Cut(), ModelHash: e.ModelHash(), Concurrency: concurrency,
		InputBytes: mnist.Pixels * 4, InputBytesUint8: mnist.Pixels, Seconds: elapsed.Seconds(),
		Retries: int(st.Retries), Predictions: make([]int, n), Results: make([]*edgeworker.Result, n)}
	var lat []float64
	var stages Stages
	var wire, reply, header, payload, elems float64
	for i, o := range outs {
		s.Predictions[i] = -1
		if o.err != nil {
			s.Errors++
			if len(s.ErrorSamples) < 5 {
				s.ErrorSamples = append(s.ErrorSamples, o.err.Error())
			}
			continue
		}
		r := o.res
		s.Results[i] = r
		pred := evaluate.Argmax(r.Outputs[0].F32)
		s.Predictions[i] = pred
		if pred == int(set.Labels[i]) {
			s.Correct++
		}
		if r.Fallback {
			s.Fallbacks++
		}
		if r.Exited {
			s.Exited++
		}
		lat = append(lat, ms(r.Timings.Total))
		t := r.Timings
		stages.EdgeCompute += ms(t.EdgeCompute)
		stages.Encode += ms(t.Encode)
		stages.Transit += ms(t.Transit)
		stages.CloudQueue += ms(t.CloudQueue)
		stages.CloudDecode += ms(t.CloudDecode)
		stages.CloudCompute += ms(t.CloudCompute)
		stages.Decode += ms(t.Decode)
		stages.Fallback += ms(t.Fallback)
		stages.Exit += ms(t.Exit)
		wire += float64(r.WireBytes)
		reply += float64(r.ReplyBytes)
		header += float64(r.HeaderBytes)
		payload += float64(r.PayloadBytes)
		elems += float64(r.Elements)
		if r.Compact {
			s.Compact++
		}
		if s.Cuts == nil {
			s.Cuts = map[string]int{}
		}
		s.Cuts[r.Cut]++
	}
	if len(s.Cuts) < 2 {
		s.Cuts = nil
	}
	if n > 0 {
		s.Accuracy = float64(s.Correct) / float64(n)
		s.ExitRate = float64(s.Exited) / float64(n)
		s.RequestsPerSec = float64(n) / elapsed.Seconds()
	}
	if k := float64(len(lat)); k > 0 {
		for _, p := range []*float64{&stages.EdgeCompute, &stages.Encode, &stages.Transit, &stages.CloudQueue,
			&stages.CloudDecode, &stages.CloudCompute, &stages.Decode, &stages.Fallback, &stages.Exit} {
			*p /= k
		}
		s.Stages = stages
		s.BytesPerRequest = wire / k
		s.ReplyBytes = reply / k
		s.HeaderBytes, s.PayloadBytes = header/k, payload/k
		if elems > 0 {
			s.BitsPerElement, s.PayloadBitsPerElement = 8*wire/elems, 8*payload/elems
		}
		sort.Float64s(lat)
		sum := 0.0
		for _, v := range lat {
			sum += v
		}
		s.Latency = Latency{P50: percentile(lat, 50), P95: percentile(lat, 95), P99: percentile(lat, 99),
			Mean: sum / k, Max: lat[len(lat)-1]}
	}
	return s, ctx.Err()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// percentile of sorted values by the nearest-rank method.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[rank(len(sorted), p)]
}

// rank is the index of the p-th percentile among n > 0 sorted values, by
// the nearest-rank method.
func rank(n int, p float64) int {
	k := int(math.Ceil(p/100*float64(n))) - 1
	return max(0, min(k, n-1))
}
