package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
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

	"github.com/splitinfer/splitinfer/internal/buildinfo"
)

// Provider holds one worker's tracer and meter providers, its metrics and
// its Prometheus endpoint. Each worker (edge, cloud) has its own Provider,
// also when both run in one process, so each shows up as its own service.
// Providers are never installed as the otel globals.
type Provider struct {
	tp      oteltrace.TracerProvider
	mp      metric.MeterProvider
	sdkTP   *sdktrace.TracerProvider // nil when tracing is off
	sdkMP   *sdkmetric.MeterProvider // nil when metrics are off
	tracer  oteltrace.Tracer
	metrics *Metrics
	res     *resource.Resource

	promHandler http.Handler
	srv         *http.Server
	srvAddr     net.Addr
	srvDone     chan struct{}

	mu       sync.Mutex
	shutdown bool
	ready    func() error // SetReadiness; nil: not ready yet
}

// SetReadiness sets the check /readyz runs: ready while it returns nil
// (200), not ready with its error otherwise (503). Until it is set,
// /readyz answers 503 "starting"; /healthz answers 200 while the process
// serves at all.
func (p *Provider) SetReadiness(check func() error) {
	p.mu.Lock()
	p.ready = check
	p.mu.Unlock()
}

func (p *Provider) serveReady(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	check := p.ready
	p.mu.Unlock()
	err := errors.New("starting")
	if check != nil {
		err = check()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not ready: "+err.Error()+"\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// New builds a Provider on otel-go's SDK: an sdktrace.TracerProvider
// with a BatchSpanProcessor and the official OTLP exporters
// (otlptracegrpc, otlptracehttp), configured from the standard
// environment by the SDK and the exporters themselves; the options are
// overrides.
//
// Defaults:
//
//   - Resource: service.name from WithServiceName (else
//     DefaultServiceName), service.version from the build info, host.name,
//     telemetry.sdk.*; OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME win
//     over all of them (resource.WithFromEnv).
//
//   - Tracing off: no-op tracer provider, no exporter, near-zero cost. It
//     is on when an endpoint is given (WithEndpoint,
//     OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), with
//     OTEL_TRACES_EXPORTER=otlp or WithTracing(true) (the exporter's default
//     endpoint), or with WithSpanExporter; OTEL_TRACES_EXPORTER=none turns
//     the environment's endpoint off.
//
//   - Protocol ProtocolGRPC unless OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL or
//     WithProtocol says otherwise. Everything else about the export
//     (headers, compression, timeout, certificates, INSECURE, retries)
//     is the exporter's, from its OTEL_EXPORTER_OTLP_* variables.
//
//   - Sampler and batching: the SDK's, from OTEL_TRACES_SAMPLER(_ARG)
//     (default parentbased_always_on) and OTEL_BSP_*.
//
//   - Propagation: OTEL_PROPAGATORS (default tracecontext,baggage), used
//     by Inject and Extract.
//
//   - Metrics off (no-op meter provider) unless WithMetricsAddr,
//     WithPrometheus or WithMetricReader is given.
//
// WithDisabled(true) or OTEL_SDK_DISABLED=true turn both signals off.
// OTel's errors (failed exports, OTLP partial_success replies) go to
// log/slog's default logger and are counted (see ExportErrors).
// New returns an error wrapping ErrConfig for bad settings, or the error of
// building the exporter or binding the metrics address.
func New(ctx context.Context, opts ...Option) (*Provider, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	disabled, tracing, protocol, err := c.decide()
	if err != nil {
		return nil, err
	}
	installErrorHandler()
	if err := setPropagatorFromEnv(); err != nil {
		return nil, err
	}
	p := &Provider{
		tp: tracenoop.NewTracerProvider(),
		mp: metricnoop.NewMeterProvider(),
	}
	if disabled {
		return p.finish()
	}
	if p.res, err = buildResource(ctx, &c); err != nil {
		return nil, err
	}
	if tracing {
		exp := c.exporter
		if exp == nil {
			if exp, err = newExporter(ctx, &c, protocol); err != nil {
				return nil, err
			}
		}
		var bopts []sdktrace.BatchSpanProcessorOption
		if c.batchTimeout > 0 {
			bopts = append(bopts, sdktrace.WithBatchTimeout(c.batchTimeout))
		}
		topts := []sdktrace.TracerProviderOption{sdktrace.WithResource(p.res), sdktrace.WithBatcher(exp, bopts...)}
		if c.sampler != nil {
			topts = append(topts, sdktrace.WithSampler(c.sampler))
		}
		p.sdkTP = sdktrace.NewTracerProvider(topts...)
		p.tp = p.sdkTP
	}
	if c.metricsAddr != "" || c.prometheus || len(c.readers) > 0 {
		// Exemplars off: the Prometheus text format does not show them,
		// and offering every measurement costs on the hot path.
		mopts := []sdkmetric.Option{sdkmetric.WithResource(p.res), sdkmetric.WithExemplarFilter(exemplar.AlwaysOffFilter)}
		for _, r := range c.readers {
			mopts = append(mopts, sdkmetric.WithReader(r))
		}
		if c.metricsAddr != "" || c.prometheus {
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
	if c.metricsAddr != "" {
		if err := p.serve(c.metricsAddr); err != nil {
			p.shutdownProviders(ctx)
			return nil, err
		}
	}
	return p.finish()
}

// newExporter builds the official OTLP exporter for protocol. The
// exporter reads its OTEL_EXPORTER_OTLP_* variables itself. An endpoint
// with a scheme (WithEndpoint, else the environment's) is passed on as a
// URL option too, so that the scheme alone decides TLS: otel-go lets
// OTEL_EXPORTER_OTLP_INSECURE override it, where the specification
// applies INSECURE only to a gRPC endpoint without a scheme.
func newExporter(ctx context.Context, c *config, protocol string) (sdktrace.SpanExporter, error) {
	endpoint, signal := c.endpoint, false
	if endpoint == "" {
		if endpoint = firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); endpoint != "" {
			signal = true
		} else {
			endpoint = firstEnv("OTEL_EXPORTER_OTLP_ENDPOINT")
		}
	}
	u, hasScheme, err := endpointURL(endpoint, protocol, signal)
	if err != nil {
		return nil, err
	}
	var exp sdktrace.SpanExporter
	if protocol == ProtocolHTTPProtobuf {
		var o []otlptracehttp.Option
		switch {
		case hasScheme:
			o = append(o, otlptracehttp.WithEndpointURL(u))
		case c.endpoint != "":
			o = append(o, otlptracehttp.WithEndpoint(u))
		}
		exp, err = otlptracehttp.New(ctx, o...)
	} else {
		var o []otlptracegrpc.Option
		switch {
		case hasScheme:
			o = append(o, otlptracegrpc.WithEndpointURL(u))
		case c.endpoint != "":
			o = append(o, otlptracegrpc.WithEndpoint(u))
		}
		exp, err = otlptracegrpc.New(ctx, o...)
	}
	if err != nil {
		return nil, fmt.Errorf("trace: OTLP %s exporter: %w", protocol, err)
	}
	return exp, nil
}

func (p *Provider) finish() (*Provider, error) {
	p.tracer = p.tp.Tracer(ScopeName)
	m, err := NewMetrics(p.mp)
	if err == nil {
		err = registerExportErrorMetrics(p.mp)
	}
	if err != nil {
		p.shutdownProviders(context.Background())
		p.stopServer(context.Background())
		return nil, err
	}
	p.metrics = m
	return p, nil
}

// buildResource merges, later winning: the SDK's and the host's
// attributes, splitinfer's defaults (service name and version, worker,
// model) and the environment (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME).
func buildResource(ctx context.Context, c *config) (*resource.Resource, error) {
	name := c.serviceName
	if name == "" {
		name = DefaultServiceName
	}
	version := c.serviceVersion
	if version == "" {
		version = BuildVersion()
	}
	attrs := append([]attribute.KeyValue(nil), c.attrs...)
	attrs = append(attrs, semconv.ServiceName(name), semconv.ServiceVersion(version))
	if c.hostName != nil && *c.hostName != "" {
		attrs = append(attrs, semconv.HostName(*c.hostName))
	}
	if c.workerID != "" {
		attrs = append(attrs, semconv.ServiceInstanceID(c.workerID), attribute.String(AttrWorkerID, c.workerID))
	}
	if c.modelHash != "" {
		attrs = append(attrs, attribute.String(AttrModelHash, c.modelHash))
	}
	detectors := []resource.Option{resource.WithSchemaURL(semconv.SchemaURL), resource.WithTelemetrySDK()}
	if c.hostName == nil {
		detectors = append(detectors, resource.WithHost())
	}
	detectors = append(detectors, resource.WithAttributes(attrs...), resource.WithFromEnv())
	r, err := resource.New(ctx, detectors...)
	if err != nil {
		return nil, fmt.Errorf("%w: resource: %v", ErrConfig, err)
	}
	return r, nil
}

// BuildVersion is the service.version New reports by default: the
// module version from the binary's build info ("(devel)" plus the VCS
// revision for a build from a work tree).
func BuildVersion() string { return buildinfo.Read().ServiceVersion() }

func (p *Provider) serve(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("trace: metrics address: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", p.promHandler)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", p.serveReady)
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

// Propagator returns the propagator used with HeaderCarrier (see
// Propagator).
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

// ForceFlush exports the spans finished so far. A partial_success reply
// is not an error: it goes to OTel's error handler (logged and counted),
// as it does for the background exports.
func (p *Provider) ForceFlush(ctx context.Context) error {
	var errs []error
	if p.sdkTP != nil {
		errs = append(errs, handlePartialSuccess(p.sdkTP.ForceFlush(ctx)))
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

// Probe checks the health endpoint a Provider serves at addr (host:port
// or a URL; its WithMetricsAddr): /readyz, or /healthz with live. It
// returns the answer's body when the status is 200, else an error naming
// the path, the status and the body.
func Probe(ctx context.Context, addr string, live bool) (string, error) {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	path := "/readyz"
	if live {
		path = "/healthz"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(addr, "/")+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(body))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s: %s", path, resp.Status, msg)
	}
	return msg, nil
}
