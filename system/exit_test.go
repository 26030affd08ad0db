package system_test

import (
	"context"
	"slices"
	"sort"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/compress/earlyexit"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
)

// TestEarlyExit runs MNIST test images through the built-in model with an
// exit head at its early cut, on the embedded system: a request the head
// is confident about is answered at the edge with the head's logits and
// sends nothing (the cloud never sees it); every other one goes through
// the split unchanged (the whole model's outputs, bit for bit). The spans
// and the summary say which requests exited.
func TestEarlyExit(t *testing.T) {
	set, err := mnist.Test()
	if err != nil {
		t.Fatal(err)
	}
	whole := defaultModel(t)
	cut, err := pipeline.EarlyCut(whole)
	if err != nil {
		t.Fatal(err)
	}
	// A head trained on test images 1000..2999 (the mechanism is under test
	// here; compress --exit trains on the training set), run on 0..199.
	data := func(lo, hi int) earlyexit.Data {
		x, err := nn.FromFloat32(set.Batch(lo, hi), hi-lo, 1, mnist.Rows, mnist.Cols)
		if err != nil {
			t.Fatal(err)
		}
		return earlyexit.Data{Images: x, Labels: set.Labels[lo:hi]}
	}
	h, err := earlyexit.Train(context.Background(), whole, cut, data(1000, 2500), data(2500, 3000), earlyexit.Config{Epochs: 1, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	split, err := pipeline.NewSplit(whole, []string{cut})
	if err != nil {
		t.Fatal(err)
	}
	// The head's logits and confidence on each image, computed apart from
	// the worker; the threshold is their median, so about half exit.
	h.Threshold = 0
	ep, err := earlyexit.Compile(h, 10)
	if err != nil {
		t.Fatal(err)
	}
	headRun, exitRun, wholeRun := split.Head.NewRunner(1), ep.NewRunner(1), whole.NewRunner(1)
	headLogits, wholeLogits := make([][]float32, n), make([][]float32, n)
	conf := make([]float32, n)
	for i := 0; i < n; i++ {
		x, _ := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
		mid, err := headRun.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		d, err := exitRun.Decide(mid[0])
		if err != nil {
			t.Fatal(err)
		}
		headLogits[i], conf[i] = d.Logits.F32, d.Confidence
		out, err := wholeRun.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		wholeLogits[i] = slices.Clone(out[0].F32)
	}
	sorted := slices.Clone(conf)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	h.Threshold = sorted[n/2]
	g := whole.Graph().Clone()
	if err := earlyexit.Attach(g, h); err != nil {
		t.Fatal(err)
	}
	withExit, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	if nn.Hash(g) != nn.Hash(whole.Graph()) {
		t.Fatal("the exit head changed the model's content hash")
	}

	for _, on := range []bool{true, false} {
		rec := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
		// The cloud runs the model without the head: the split's identity
		// is the same.
		sys, err := system.StartCloud("seednet", whole, cloudworker.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := sys.StartEdge("seednet", withExit, edgeworker.Config{Exit: on}, []edgeworker.Option{edgeworker.WithTracerProvider(tp)}); err != nil {
			t.Fatal(err)
		}
		sum, err := system.Drive(context.Background(), sys.Edge, set, n, 2)
		if err != nil {
			t.Fatal(err)
		}
		received := sys.Cloud.Stats().Received
		sys.Close()
		_ = tp.Shutdown(context.Background())

		exited, wire := 0, 0
		for i, r := range sum.Results {
			if r == nil {
				t.Fatalf("exit %v: image %d: no result (%v)", on, i, sum.ErrorSamples)
			}
			wantExit := on && conf[i] >= h.Threshold
			if r.Exited != wantExit {
				t.Errorf("exit %v: image %d (confidence %v, threshold %v): exited %v", on, i, conf[i], h.Threshold, r.Exited)
				continue
			}
			if r.Exited {
				exited++
				if r.WireBytes != 0 || r.ReplyBytes != 0 || r.Attempts != 0 || !slices.Equal(r.Outputs[0].F32, headLogits[i]) {
					t.Errorf("image %d exited: wire %d, reply %d, attempts %d, outputs %v (head %v)", i, r.WireBytes, r.ReplyBytes, r.Attempts, r.Outputs[0].F32, headLogits[i])
				}
			} else if r.WireBytes == 0 || r.Attempts != 1 || !slices.Equal(r.Outputs[0].F32, wholeLogits[i]) {
				t.Errorf("exit %v: image %d sent: wire %d, attempts %d, outputs %v (whole model %v)", on, i, r.WireBytes, r.Attempts, r.Outputs[0].F32, wholeLogits[i])
			}
			wire += r.WireBytes
		}
		if on && (exited < n/4 || exited > 3*n/4) {
			t.Errorf("%d of %d exited at the median confidence", exited, n)
		}
		if sum.Exited != exited || sum.ExitRate != float64(exited)/n || sum.BytesPerRequest != float64(wire)/n {
			t.Errorf("exit %v: summary exited %d, rate %v, %v bytes/request; results: %d exited, %d bytes", on, sum.Exited, sum.ExitRate, sum.BytesPerRequest, exited, wire)
		}
		if received != int64(n-exited) {
			t.Errorf("exit %v: the cloud received %d requests, want %d", on, received, n-exited)
		}
		// The edge's root spans carry the decision when the head ran.
		spans := 0
		for _, sp := range rec.Ended() {
			if sp.Name() != trace.SpanEdgeRequest {
				continue
			}
			spans++
			var ex *attribute.Value
			for _, kv := range sp.Attributes() {
				if kv.Key == trace.AttrExited {
					ex = &kv.Value
				}
			}
			if on != (ex != nil) {
				t.Errorf("exit %v: root span exited attribute %v", on, ex)
			} else if ex != nil && ex.AsBool() {
				exited--
			}
		}
		if spans != n || exited != 0 {
			t.Errorf("exit %v: %d root spans, %d exits not on a span", on, spans, exited)
		}
	}
}
