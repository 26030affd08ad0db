package trace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	oteltrace "go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Provider holds one worker's tracer and meter providers, its metrics and
// its Prometheus endpoint. Each worker (edge, cloud) has its own Provider,
// also when both run in one process, so each shows up as its own service.
// Providers are never installed as the otel globals.
type Provider struct {
	tp       oteltrace.TracerProvider
	mp       metric.MeterProvider
	sdkTP    *sdktrace.TracerProvider // nil when tracing is off
	deferred *deferredProvider        // nil when tracing is off or synchronous
	sdkMP    *sdkmetric.MeterProvider // nil when metrics are off
	tracer   oteltrace.Tracer
	metrics  *Metrics
	res      *resource.Resource

	promHandler http.Handler
	srv         *http.Server
	srvAddr     net.Addr
	srvDone     chan struct{}

	mu       sync.Mutex
	shutdown bool
}

// New builds a Provider.
//
// Defaults (each overridable by the environment through WithEnv, and by the
// explicit options, which win):
//
//   - service.name DefaultServiceName ("splitinfer"); host.name os.Hostname().
//
//   - Tracing off: no-op tracer provider, no exporter, near-zero cost. It
//     is on when an endpoint is given (WithEndpoint,
//     OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), with
//     OTEL_TRACES_EXPORTER=otlp or WithTracing(true) (default endpoints
//     DefaultGRPCEndpoint / DefaultHTTPEndpoint), or with WithSpanExporter.
//
//   - Protocol ProtocolGRPC.
//
//   - OTLP export uncompressed (WithCompression,
//     OTEL_EXPORTER_OTLP_COMPRESSION=gzip), bounded by 10s per export,
//     retries included (WithExportTimeout,
//     OTEL_EXPORTER_OTLP_TIMEOUT), system TLS roots for https endpoints
//     (WithTLSConfig, OTEL_EXPORTER_OTLP_CERTIFICATE, client certificates
//     for mTLS), retries on (WithRetry).
//
//   - Sampler parentbased_always_on.
//
//   - Batch timeout DefaultBatchTimeout; DefaultMaxBatch spans start an
//     export sooner; at most DefaultMaxQueue spans wait (more are dropped
//     and reported to otel's error handler).
//
//   - Metrics off (no-op meter provider) unless WithMetricsAddr,
//     WithPrometheus or WithMetricReader is given.
//
//   - Deferred spans: spans are recorded in light structs on the request
//     path and encoded (or, with WithSpanExporter, replayed into the SDK)
//     by a background goroutine; WithSynchronousSpans(true) makes them SDK
//     spans from the start.
//
// WithDisabled(true) or OTEL_SDK_DISABLED=true turn both signals off.
// Spans are exported by this package's own OTLP exporter (gRPC or
// HTTP/protobuf), which encodes the SDK's spans straight to protobuf
// (about a quarter of otel-go's exporters' CPU). Like otel-go's exporters
// it retries retryable failures (HTTP 429, 502, 503, 504; gRPC
// Unavailable, Aborted, ResourceExhausted with RetryInfo and the like)
// with exponential backoff and jitter from 100ms up to 5s between tries,
// honouring Retry-After and RetryInfo, within the export timeout; other
// failures return at once. The OTEL_EXPORTER_OTLP_* variables WithEnv
// lists are applied; OTEL_EXPORTER_OTLP_INSECURE only decides TLS for a
// gRPC endpoint without a scheme, which is plaintext when it is unset.
// New returns an error wrapping ErrConfig for bad settings, or the error of
// binding the metrics address.
func New(ctx context.Context, opts ...Option) (*Provider, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	s, err := resolve(&c)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		tp: tracenoop.NewTracerProvider(),
		mp: metricnoop.NewMeterProvider(),
	}
	if s.disabled {
		return p.finish()
	}
	if p.res, err = buildResource(ctx, s); err != nil {
		return nil, err
	}
	if s.tracing {
		exp := s.exporter
		if exp == nil {
			if exp, err = newFastExporter(s); err != nil {
				return nil, err
			}
		}
		topts := []sdktrace.TracerProviderOption{
			sdktrace.WithResource(p.res),
			sdktrace.WithSpanProcessor(newBatcher(exp, s.batchTimeout, s.timeout)),
		}
		if s.synchronous {
			p.sdkTP = sdktrace.NewTracerProvider(append(topts, sdktrace.WithSampler(s.sampler))...)
			p.tp = p.sdkTP
		} else {
			// Deferred spans: the sampling decision and the IDs are made
			// at Start (deferred.go), the SDK only replays.
			p.sdkTP = sdktrace.NewTracerProvider(append(topts,
				sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithIDGenerator(presetIDs{}))...)
			direct, _ := exp.(*otlpExporter)
			p.deferred = newDeferred(p.sdkTP, s.sampler, direct, p.res, s.batchTimeout)
			p.tp = p.deferred
		}
	}
	if s.metricsAddr != "" || s.prometheus || len(s.readers) > 0 {
		// Exemplars off: the Prometheus text format does not show them,
		// and offering every measurement costs on the hot path.
		mopts := []sdkmetric.Option{sdkmetric.WithResource(p.res), sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter)}
		for _, r := range s.readers {
			mopts = append(mopts, sdkmetric.WithReader(r))
		}
		if s.metricsAddr != "" || s.prometheus {
			reg := prometheus.NewRegistry()
			reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
			exp, err := otelprom.New(otelprom.WithRegisterer(reg))
			if err != nil {
				p.shutdownProviders(ctx)
				return nil, fmt.Errorf("trace: prometheus exporter: %w", err)
			}
			mopts = append(mopts, sdkmetric.WithReader(exp))
			p.promHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		}
		p.sdkMP = sdkmetric.NewMeterProvider(mopts...)
		p.mp = p.sdkMP
	}
	if s.metricsAddr != "" {
		if err := p.serve(s.metricsAddr); err != nil {
			p.shutdownProviders(ctx)
			return nil, err
		}
	}
	return p.finish()
}

func (p *Provider) finish() (*Provider, error) {
	p.tracer = p.tp.Tracer(ScopeName)
	m, err := NewMetrics(p.mp)
	if err != nil {
		p.shutdownProviders(context.Background())
		p.stopServer(context.Background())
		return nil, err
	}
	p.metrics = m
	return p, nil
}

func buildResource(ctx context.Context, s *settings) (*resource.Resource, error) {
	attrs := append([]attribute.KeyValue(nil), s.envAttrs...)
	attrs = append(attrs, s.attrs...)
	attrs = append(attrs, semconv.ServiceName(s.serviceName))
	if s.serviceVersion != "" {
		attrs = append(attrs, semconv.ServiceVersion(s.serviceVersion))
	}
	host := ""
	if s.hostName != nil {
		host = *s.hostName
	} else if h, err := os.Hostname(); err == nil {
		host = h
	}
	if host != "" {
		attrs = append(attrs, semconv.HostName(host))
	}
	if s.workerID != "" {
		attrs = append(attrs, semconv.ServiceInstanceID(s.workerID), attribute.String(AttrWorkerID, s.workerID))
	}
	if s.modelHash != "" {
		attrs = append(attrs, attribute.String(AttrModelHash, s.modelHash))
	}
	// Later attributes win within one resource.New.
	r, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attrs...),
	)
	if err != nil {
		return nil, fmt.Errorf("trace: resource: %w", err)
	}
	return r, nil
}

func (p *Provider) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("trace: metrics address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.promHandler)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	p.srvAddr = ln.Addr()
	p.srvDone = make(chan struct{})
	go func() {
		defer close(p.srvDone)
		_ = p.srv.Serve(ln) // returns http.ErrServerClosed on Shutdown
	}()
	return nil
}

// TracerProvider returns the worker's tracer provider (a no-op one when
// tracing is off).
func (p *Provider) TracerProvider() oteltrace.TracerProvider { return p.tp }

// MeterProvider returns the worker's meter provider (a no-op one when
// metrics are off).
func (p *Provider) MeterProvider() metric.MeterProvider { return p.mp }

// Tracer returns the tracer of scope ScopeName.
func (p *Provider) Tracer() oteltrace.Tracer { return p.tracer }

// Metrics returns the worker's instruments (no-ops when metrics are off).
func (p *Provider) Metrics() *Metrics { return p.metrics }

// Propagator returns the W3C trace-context and baggage propagator used
// with HeaderCarrier.
func (p *Provider) Propagator() propagation.TextMapPropagator { return Propagator() }

// Resource returns the resource describing the worker, or nil when the SDK
// is disabled.
func (p *Provider) Resource() *resource.Resource { return p.res }

// Tracing reports whether spans are recorded and exported.
func (p *Provider) Tracing() bool { return p.sdkTP != nil }

// MetricsHandler returns the Prometheus /metrics handler, or nil when no
// Prometheus export was asked for.
func (p *Provider) MetricsHandler() http.Handler { return p.promHandler }

// MetricsAddr returns the address the metrics server listens on, or "" if
// there is none.
func (p *Provider) MetricsAddr() string {
	if p.srvAddr == nil {
		return ""
	}
	return p.srvAddr.String()
}

// ForceFlush exports the spans finished so far.
func (p *Provider) ForceFlush(ctx context.Context) error {
	var errs []error
	if p.deferred != nil {
		errs = append(errs, p.deferred.ForceFlush(ctx))
	} else if p.sdkTP != nil {
		errs = append(errs, p.sdkTP.ForceFlush(ctx))
	}
	if p.sdkMP != nil {
		errs = append(errs, p.sdkMP.ForceFlush(ctx))
	}
	return errors.Join(errs...)
}

// Shutdown flushes pending spans, stops the exporters and the metrics
// server. It returns when done or when ctx ends (with ctx's error then).
// Calls after the first return nil.
func (p *Provider) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.shutdown {
		p.mu.Unlock()
		return nil
	}
	p.shutdown = true
	p.mu.Unlock()
	errs := []error{p.stopServer(ctx)}
	errs = append(errs, p.shutdownProviders(ctx)...)
	return errors.Join(errs...)
}

func (p *Provider) shutdownProviders(ctx context.Context) []error {
	var errs []error
	if p.deferred != nil {
		if err := p.deferred.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("trace: deferred spans: %w", err))
		}
	}
	if p.sdkTP != nil {
		if err := p.sdkTP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("trace: tracer provider shutdown: %w", err))
		}
	}
	if p.sdkMP != nil {
		if err := p.sdkMP.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("trace: meter provider shutdown: %w", err))
		}
	}
	return errs
}

func (p *Provider) stopServer(ctx context.Context) error {
	if p.srv == nil {
		return nil
	}
	err := p.srv.Shutdown(ctx)
	if err != nil {
		_ = p.srv.Close()
	}
	<-p.srvDone
	if err != nil {
		return fmt.Errorf("trace: metrics server shutdown: %w", err)
	}
	return nil
}
