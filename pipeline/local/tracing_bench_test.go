//go:build linux

package local_test

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline/local"
	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// BenchmarkRunTracing is `splitinfer run` (the all-in-one pipeline driven
// by local.Drive, one request in flight) with tracing off (no-op
// providers) and on (every request sampled, each worker exporting OTLP to
// the real Jaeger with the default batch settings, as run does with
// --otlp-endpoint), side by side; it reports requests/s.
// Run: go test ./pipeline/local -run '^$' -bench RunTracing -benchtime 4000x -count 6
func BenchmarkRunTracing(b *testing.B) {
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	p := defaultModel(b)
	j := jaegertest.Start(b)
	ccfg := cloudworker.Config{QueueLen: 8}
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		b.Run(name, func(b *testing.B) {
			var sys *local.System
			if on {
				var edgeTel, cloudTel *trace.Provider
				sys, edgeTel, cloudTel = tracedSystemDefaults(b, j, p, ccfg)
				defer cloudTel.Shutdown(context.Background())
				defer edgeTel.Shutdown(context.Background())
			} else {
				sys, err = local.Start("seednet_mnist", p, ccfg, edgeworker.Config{}, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			defer sys.Close()
			ctx := context.Background()
			if _, err := local.Drive(ctx, sys.Edge, set, 50, 1); err != nil { // warm the runners
				b.Fatal(err)
			}
			b.ResetTimer()
			seconds := 0.0
			for left := b.N; left > 0; {
				n := min(left, set.Len())
				sum, err := local.Drive(ctx, sys.Edge, set, n, 1)
				if err != nil || sum.Errors > 0 {
					b.Fatalf("%v %+v", err, sum.ErrorSamples)
				}
				seconds += sum.Seconds
				left -= n
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/seconds, "req/s")
		})
	}
	// Both pipelines up at once, driven in alternating chunks, so load
	// from other processes hits both alike. The "on" chunks include
	// flushing their spans to Jaeger (conservative: the batch exporter
	// would do it in the background). Also reported: this process's CPU
	// time per request in each mode, and Jaeger's (a separate process on
	// the same machine here) per traced request.
	b.Run("alternating", func(b *testing.B) {
		ctx := context.Background()
		off, err := local.Start("seednet_mnist", p, ccfg, edgeworker.Config{}, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer off.Close()
		on, edgeTel, cloudTel := tracedSystemDefaults(b, j, p, ccfg)
		defer on.Close()
		defer cloudTel.Shutdown(ctx)
		defer edgeTel.Shutdown(ctx)
		for _, sys := range []*local.System{off, on} {
			if _, err := local.Drive(ctx, sys.Edge, set, 50, 1); err != nil {
				b.Fatal(err)
			}
		}
		const chunk = 250
		var tOff, tOn, cpuOff, cpuOn time.Duration
		j0, err := j.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for left := b.N; left > 0; {
			n := min(left, chunk)
			t0, c0 := time.Now(), processCPU()
			if s, err := local.Drive(ctx, off.Edge, set, n, 1); err != nil || s.Errors > 0 {
				b.Fatal(err, s.ErrorSamples)
			}
			t1, c1 := time.Now(), processCPU()
			if s, err := local.Drive(ctx, on.Edge, set, n, 1); err != nil || s.Errors > 0 {
				b.Fatal(err, s.ErrorSamples)
			}
			if err := errors.Join(edgeTel.ForceFlush(ctx), cloudTel.ForceFlush(ctx)); err != nil {
				b.Fatal(err)
			}
			tOff += t1.Sub(t0)
			tOn += time.Since(t1)
			cpuOff += c1 - c0
			cpuOn += processCPU() - c1
			left -= n
		}
		b.StopTimer()
		j1, err := j.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		perReq := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(b.N) }
		b.ReportMetric(float64(b.N)/tOff.Seconds(), "off-req/s")
		b.ReportMetric(float64(b.N)/tOn.Seconds(), "on-req/s")
		b.ReportMetric(100*(tOn.Seconds()/tOff.Seconds()-1), "overhead-%")
		b.ReportMetric(perReq(cpuOff), "off-cpu-us/req")
		b.ReportMetric(perReq(cpuOn), "on-cpu-us/req")
		b.ReportMetric(perReq(j1-j0), "jaeger-cpu-us/req")
	})
}

// processCPU is this process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// tracedSystemDefaults is tracedSystem with the providers as `splitinfer
// run` makes them (default sampler and batch settings), both over gRPC.
func tracedSystemDefaults(tb testing.TB, j *jaegertest.Jaeger, p *nn.Program, ccfg cloudworker.Config) (*local.System, *trace.Provider, *trace.Provider) {
	tb.Helper()
	ctx := context.Background()
	cloudTel, err := trace.New(ctx, trace.WithServiceName(trace.ServiceCloud), trace.WithEndpoint(j.OTLPGRPC), trace.WithWorkerID("local-cloud"))
	if err != nil {
		tb.Fatal(err)
	}
	edgeTel, err := trace.New(ctx, trace.WithServiceName(trace.ServiceEdge), trace.WithEndpoint(j.OTLPGRPC), trace.WithWorkerID("local-edge"))
	if err != nil {
		cloudTel.Shutdown(ctx)
		tb.Fatal(err)
	}
	if !edgeTel.Tracing() || !cloudTel.Tracing() {
		tb.Fatal("tracing is off")
	}
	sys, err := local.Start("seednet_mnist", p, ccfg, edgeworker.Config{},
		[]cloudworker.Option{cloudworker.WithTracerProvider(cloudTel.TracerProvider())},
		[]edgeworker.Option{edgeworker.WithTracerProvider(edgeTel.TracerProvider())})
	if err != nil {
		edgeTel.Shutdown(ctx)
		cloudTel.Shutdown(ctx)
		tb.Fatal(err)
	}
	return sys, edgeTel, cloudTel
}
