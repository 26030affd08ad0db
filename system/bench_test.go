package system_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/system"
)

// latencies collects per-request latencies and reports percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	p := func(q float64) float64 {
		return float64(l.d[min(len(l.d)-1, int(q*float64(len(l.d))))]) / 1e6
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// benchSplit measures MNIST requests through the all-in-one pipeline with
// edges edge workers (each with its own NATS connection and one request in
// flight) against one cloud worker.
func benchSplit(b *testing.B, p *nn.Program, set *mnist.Set, cfg edgeworker.Config, edges, maxBatch int) {
	cfg.Concurrency = 1
	sys, err := system.Start("seednet_mnist", p, cloudworker.Config{QueueLen: 4 * edges, MaxBatch: maxBatch}, cfg, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Close()
	workers := []*edgeworker.Worker{sys.Edge}
	for len(workers) < edges {
		nc, err := nats.Connect(sys.URL())
		if err != nil {
			b.Fatal(err)
		}
		defer nc.Close()
		e, err := edgeworker.New(nc, p, cfg)
		if err != nil {
			b.Fatal(err)
		}
		workers = append(workers, e)
	}
	var lat latencies
	var wire, next int64
	var mu sync.Mutex
	infer := func(e *edgeworker.Worker) {
		mu.Lock()
		i := int(next % int64(set.Len()))
		next++
		mu.Unlock()
		x, _ := nn.FromFloat32(set.Image(i), 1, 1, mnist.Rows, mnist.Cols)
		t0 := time.Now()
		res, err := e.Infer(context.Background(), x)
		if err != nil {
			b.Error(err)
			return
		}
		lat.add(time.Since(t0))
		mu.Lock()
		wire += int64(res.WireBytes)
		mu.Unlock()
	}
	for _, e := range workers { // warm the runners
		for i := 0; i < 5; i++ {
			infer(e)
		}
	}
	lat.d, wire, next = nil, 0, 0
	b.ResetTimer()
	start := time.Now()
	if edges == 1 {
		for i := 0; i < b.N; i++ {
			infer(sys.Edge)
		}
	} else {
		var wg sync.WaitGroup
		work := make(chan struct{}, b.N)
		for i := 0; i < b.N; i++ {
			work <- struct{}{}
		}
		close(work)
		for _, e := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range work {
					infer(e)
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	b.StopTimer()
	lat.report(b)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	b.ReportMetric(float64(wire)/float64(b.N), "wire-B/req")
}

// BenchmarkPipeline: the default model split at the auto cut on loopback,
// with 1 and 8 edges (8 also with cloud batching), and each single-tensor
// cut with one edge, sending the activations as computed ("asis") and
// float32 ones quantized to uint8 with zstd ("8bit+zstd"; int8 activations
// are only zstd-compressed).
// Run: go test ./system -run '^$' -bench Pipeline -benchtime 2000x
func BenchmarkPipeline(b *testing.B) {
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	p := defaultModel(b)
	for _, edges := range []int{1, 8} {
		b.Run(fmt.Sprintf("auto/edges=%d", edges), func(b *testing.B) {
			benchSplit(b, p, set, edgeworker.Config{}, edges, 1)
		})
	}
	b.Run("auto/edges=8/batch=8", func(b *testing.B) {
		benchSplit(b, p, set, edgeworker.Config{}, 8, 8)
	})
	for _, c := range pipeline.Cuts(p) {
		for _, v := range []struct {
			name string
			cfg  edgeworker.Config
		}{
			{"asis", edgeworker.Config{}},
			{"8bit+zstd", edgeworker.Config{WireDType: nn.Uint8, Codec: pipeline.CodecZstd}},
		} {
			v.cfg.Cut = []string{c.Tensor}
			b.Run(fmt.Sprintf("cut=%s/%s", c.Tensor, v.name), func(b *testing.B) {
				benchSplit(b, p, set, v.cfg, 1, 1)
			})
		}
	}
}

// BenchmarkWholeLocal is the baseline: the whole model in-process, batch 1.
func BenchmarkWholeLocal(b *testing.B) {
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	r := defaultModel(b).NewRunner(1)
	var lat latencies
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, _ := nn.FromFloat32(set.Image(i%set.Len()), 1, 1, mnist.Rows, mnist.Cols)
		t0 := time.Now()
		if _, err := r.Run(x); err != nil {
			b.Fatal(err)
		}
		lat.add(time.Since(t0))
	}
	b.StopTimer()
	lat.report(b)
}
