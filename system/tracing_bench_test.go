//go:build linux

package system_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/cloudworker"
	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline/link"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

// BenchmarkRunTracing is `splitinfer run` (the all-in-one pipeline driven
// by system.Drive, one request in flight) with tracing off (no-op
// providers) and on (every request sampled, each worker exporting OTLP to
// the real Jaeger with the default batch settings, as run does with
// --otlp-endpoint), side by side; it reports requests/s.
// Run: go test ./system -run '^$' -bench RunTracing -benchtime 4000x -count 6
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
			var sys *system.System
			if on {
				var edgeTel, cloudTel *trace.Provider
				sys, edgeTel, cloudTel = tracedSystemDefaults(b, j, p, ccfg)
				defer cloudTel.Shutdown(context.Background())
				defer edgeTel.Shutdown(context.Background())
			} else {
				sys, err = system.Start("seednet_mnist", p, ccfg, edgeworker.Config{}, nil, nil)
				if err != nil {
					b.Fatal(err)
				}
			}
			defer sys.Close()
			ctx := context.Background()
			if _, err := system.Drive(ctx, sys.Edge, set, 50, 1); err != nil { // warm the runners
				b.Fatal(err)
			}
			b.ResetTimer()
			seconds := 0.0
			for left := b.N; left > 0; {
				n := min(left, set.Len())
				sum, err := system.Drive(ctx, sys.Edge, set, n, 1)
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
	// Pipelines in four modes up at once, driven in alternating chunks of
	// 250 requests, so load from other processes hits all alike: "off";
	// "unsampled" (tracing on, sampler never: context in the NATS headers,
	// non-recording spans); "noexport" (every span recorded by the SDK,
	// exported to a no-op exporter); "on" (every span exported to the real
	// Jaeger over OTLP/gRPC, as run does). The chunks of "on" include
	// flushing the spans, which is conservative. Reported per mode:
	// requests/s, this process's CPU time per request, and the overhead
	// over "off"; and Jaeger's CPU time (a separate process on the same
	// machine here) per request of "on".
	b.Run("alternating", func(b *testing.B) {
		ctx := context.Background()
		start := func(name string, eo []edgeworker.Option, co []cloudworker.Option) *tracingMode {
			sys, err := system.Start("seednet_mnist", p, ccfg, edgeworker.Config{}, co, eo)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { sys.Close() })
			return &tracingMode{name: name, sys: sys}
		}
		// The providers as run makes them (trace.New: the SDK's batch span
		// processor), exporting to a no-op exporter.
		sdk := func(smp sdktrace.Sampler) (oteltrace.TracerProvider, oteltrace.TracerProvider) {
			var tps [2]oteltrace.TracerProvider
			for i, name := range []string{trace.ServiceEdge, trace.ServiceCloud} {
				p, err := trace.New(ctx, trace.WithServiceName(name), trace.WithSampler(smp), trace.WithSpanExporter(tracetest.NewNoopExporter()))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { p.Shutdown(ctx) })
				tps[i] = p.TracerProvider()
			}
			return tps[0], tps[1]
		}
		modes := []*tracingMode{start("off", nil, nil)}
		ue, uc := sdk(sdktrace.ParentBased(sdktrace.NeverSample()))
		modes = append(modes, start("unsampled", []edgeworker.Option{edgeworker.WithTracerProvider(ue)},
			[]cloudworker.Option{cloudworker.WithTracerProvider(uc)}))
		ne, nc := sdk(sdktrace.ParentBased(sdktrace.AlwaysSample()))
		modes = append(modes, start("noexport", []edgeworker.Option{edgeworker.WithTracerProvider(ne)},
			[]cloudworker.Option{cloudworker.WithTracerProvider(nc)}))
		on, edgeTel, cloudTel := tracedSystemDefaults(b, j, p, ccfg)
		b.Cleanup(func() { on.Close(); edgeTel.Shutdown(ctx); cloudTel.Shutdown(ctx) })
		modes = append(modes, &tracingMode{name: "on", sys: on, flush: func() error {
			return errors.Join(edgeTel.ForceFlush(ctx), cloudTel.ForceFlush(ctx))
		}})
		for _, m := range modes {
			if _, err := system.Drive(ctx, m.sys.Edge, set, 50, 1); err != nil {
				b.Fatal(err)
			}
		}
		const chunk = 250
		j0, err := j.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		alternate(ctx, b, set, modes, chunk)
		b.StopTimer()
		j1, err := j.CPUTime()
		if err != nil {
			b.Fatal(err)
		}
		perReq := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(b.N) }
		for _, m := range modes {
			b.ReportMetric(float64(b.N)/m.dur.Seconds(), m.name+"-req/s")
			b.ReportMetric(perReq(m.cpu), m.name+"-cpu-us/req")
			if m != modes[0] {
				b.ReportMetric(100*(m.dur.Seconds()/modes[0].dur.Seconds()-1), m.name+"-overhead-%")
			}
		}
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
func tracedSystemDefaults(tb testing.TB, j *jaegertest.Jaeger, p *nn.Program, ccfg cloudworker.Config, opts ...trace.Option) (*system.System, *trace.Provider, *trace.Provider) {
	tb.Helper()
	ctx := context.Background()
	cloudTel, err := trace.New(ctx, append([]trace.Option{trace.WithServiceName(trace.ServiceCloud), trace.WithEndpoint(j.OTLPGRPC), trace.WithWorkerID("local-cloud")}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	edgeTel, err := trace.New(ctx, append([]trace.Option{trace.WithServiceName(trace.ServiceEdge), trace.WithEndpoint(j.OTLPGRPC), trace.WithWorkerID("local-edge")}, opts...)...)
	if err != nil {
		cloudTel.Shutdown(ctx)
		tb.Fatal(err)
	}
	if !edgeTel.Tracing() || !cloudTel.Tracing() {
		tb.Fatal("tracing is off")
	}
	sys, err := system.Start("seednet_mnist", p, ccfg, edgeworker.Config{},
		[]cloudworker.Option{cloudworker.WithTracerProvider(cloudTel.TracerProvider())},
		[]edgeworker.Option{edgeworker.WithTracerProvider(edgeTel.TracerProvider())})
	if err != nil {
		edgeTel.Shutdown(ctx)
		cloudTel.Shutdown(ctx)
		tb.Fatal(err)
	}
	return sys, edgeTel, cloudTel
}

// BenchmarkRunTracingLink is BenchmarkRunTracing/alternating over an
// emulated edge link (pipeline/link: the edge's NATS connection shaped to
// the bandwidth and round trip in the name), where the network, not the
// CPU, bounds a request, as in the use case: pipelines with tracing off
// and exported to the real Jaeger, up at once, driven in alternating
// chunks of 25 requests (one in flight). Reported per mode: requests/s,
// this process's CPU per request, and the throughput overhead of tracing.
// Run: go test ./system -run '^$' -bench RunTracingLink -benchtime 300x -count 3
func BenchmarkRunTracingLink(b *testing.B) {
	set, err := mnist.Test()
	if err != nil {
		b.Fatal(err)
	}
	p := defaultModel(b)
	j := jaegertest.Start(b)
	ccfg := cloudworker.Config{QueueLen: 8}
	for _, spec := range []string{"100mbit/20ms", "10mbit/20ms"} {
		ls, err := link.Parse(spec)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(strings.ReplaceAll(spec, "/", "_"), func(b *testing.B) {
			ctx := context.Background()
			dial := nats.SetCustomDialer(&link.Dialer{Spec: ls})
			off, err := system.StartCloud("seednet_mnist", p, ccfg, nil, dial)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { off.Close() })
			if err := off.StartEdge("seednet_mnist", p, edgeworker.Config{}, nil); err != nil {
				b.Fatal(err)
			}
			cloudTel, err := trace.New(ctx, trace.WithServiceName(trace.ServiceCloud), trace.WithEndpoint(j.OTLPGRPC))
			if err != nil {
				b.Fatal(err)
			}
			edgeTel, err := trace.New(ctx, trace.WithServiceName(trace.ServiceEdge), trace.WithEndpoint(j.OTLPGRPC))
			if err != nil {
				b.Fatal(err)
			}
			on, err := system.StartCloud("seednet_mnist", p, ccfg, []cloudworker.Option{cloudworker.WithTracerProvider(cloudTel.TracerProvider())}, dial)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { on.Close(); edgeTel.Shutdown(ctx); cloudTel.Shutdown(ctx) })
			if err := on.StartEdge("seednet_mnist", p, edgeworker.Config{}, []edgeworker.Option{edgeworker.WithTracerProvider(edgeTel.TracerProvider())}); err != nil {
				b.Fatal(err)
			}
			modes := []*tracingMode{{name: "off", sys: off}, {name: "on", sys: on, flush: func() error {
				return errors.Join(edgeTel.ForceFlush(ctx), cloudTel.ForceFlush(ctx))
			}}}
			for _, m := range modes {
				if _, err := system.Drive(ctx, m.sys.Edge, set, 5, 1); err != nil {
					b.Fatal(err)
				}
			}
			const chunk = 25
			b.ResetTimer()
			alternate(ctx, b, set, modes, chunk)
			b.StopTimer()
			for _, m := range modes {
				b.ReportMetric(float64(b.N)/m.dur.Seconds(), m.name+"-req/s")
				b.ReportMetric(float64(m.cpu.Nanoseconds())/1e3/float64(b.N), m.name+"-cpu-us/req")
			}
			b.ReportMetric(100*(modes[1].dur.Seconds()/modes[0].dur.Seconds()-1), "on-overhead-%")
		})
	}
}

// tracingMode is one pipeline of a side-by-side tracing benchmark: flush,
// when set, runs after each chunk (exporting its spans); dur and cpu add up
// each chunk's wall and process CPU time.
type tracingMode struct {
	name     string
	sys      *system.System
	flush    func() error
	dur, cpu time.Duration
}

// alternate drives b.N requests (one in flight) through every mode in
// turn, chunk requests at a time, so that load on the machine falls on
// all modes alike.
func alternate(ctx context.Context, b *testing.B, set *mnist.Set, modes []*tracingMode, chunk int) {
	for left := b.N; left > 0; {
		n := min(left, chunk)
		for _, m := range modes {
			t0, c0 := time.Now(), processCPU()
			if s, err := system.Drive(ctx, m.sys.Edge, set, n, 1); err != nil || s.Errors > 0 {
				b.Fatal(err, s.ErrorSamples)
			}
			if m.flush != nil {
				if err := m.flush(); err != nil {
					b.Fatal(err)
				}
			}
			m.dur += time.Since(t0)
			m.cpu += processCPU() - c0
		}
		left -= n
	}
}
