package trace

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLP protocols accepted by WithProtocol and OTEL_EXPORTER_OTLP_PROTOCOL.
const (
	ProtocolGRPC         = "grpc"
	ProtocolHTTPProtobuf = "http/protobuf"
)

// Default OTLP endpoints, used when export is switched on without an endpoint
// (OTEL_TRACES_EXPORTER=otlp).
const (
	DefaultGRPCEndpoint = "http://localhost:4317"
	DefaultHTTPEndpoint = "http://localhost:4318"
)

// DefaultServiceName is the service.name used when none is given.
const DefaultServiceName = "splitinfer"

// DefaultBatchTimeout is the longest a finished span waits before export.
const DefaultBatchTimeout = 5 * time.Second

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("trace: bad configuration")

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds explicit settings; zero values (nil pointers) mean "not set",
// so the environment (WithEnv) and then the defaults fill them.
type config struct {
	env func(string) (string, bool)

	serviceName    *string
	serviceVersion string
	hostName       *string
	workerID       string
	modelHash      string
	attrs          []attribute.KeyValue

	disabled     *bool
	tracing      *bool
	endpoint     *string
	protocol     *string
	headers      map[string]string
	compression  *string
	timeout      *time.Duration
	tlsConfig    *tls.Config
	retry        *bool
	sampler      sdktrace.Sampler
	exporter     sdktrace.SpanExporter
	batchTimeout time.Duration
	synchronous  bool

	metricsAddr string
	prometheus  bool
	readers     []sdkmetric.Reader
}

// WithEnv makes New read the standard OTEL_* variables through lookup
// (pass os.LookupEnv; the trace package never reads the environment
// itself). Explicit With* options win over the environment whatever their
// order. Recognised: OTEL_SDK_DISABLED, OTEL_TRACES_EXPORTER (otlp|none),
// OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL and OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
// (grpc|http/protobuf), OTEL_EXPORTER_OTLP_HEADERS and
// OTEL_EXPORTER_OTLP_TRACES_HEADERS, OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES.
func WithEnv(lookup func(key string) (string, bool)) Option {
	return optionFunc(func(c *config) { c.env = lookup })
}

// WithServiceName sets the resource's service.name (ServiceEdge or
// ServiceCloud for the workers).
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) { c.serviceName = &name })
}

// WithServiceVersion sets service.version.
func WithServiceVersion(v string) Option {
	return optionFunc(func(c *config) { c.serviceVersion = v })
}

// WithHostName sets host.name; "" leaves it out. Default: os.Hostname().
func WithHostName(name string) Option {
	return optionFunc(func(c *config) { c.hostName = &name })
}

// WithWorkerID sets service.instance.id and splitinfer.worker.id.
func WithWorkerID(id string) Option {
	return optionFunc(func(c *config) { c.workerID = id })
}

// WithModelHash sets splitinfer.model.hash on the resource.
func WithModelHash(hash string) Option {
	return optionFunc(func(c *config) { c.modelHash = hash })
}

// WithResourceAttributes adds resource attributes. They override
// OTEL_RESOURCE_ATTRIBUTES and are overridden by the dedicated options.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) { c.attrs = append(c.attrs, attrs...) })
}

// WithDisabled switches the whole SDK off (as OTEL_SDK_DISABLED=true):
// no-op tracer and meter providers, no exporter, no metrics endpoint.
func WithDisabled(disabled bool) Option {
	return optionFunc(func(c *config) { c.disabled = &disabled })
}

// WithTracing forces span export on (to the default endpoint if none is
// given) or off, overriding OTEL_TRACES_EXPORTER.
func WithTracing(on bool) Option {
	return optionFunc(func(c *config) { c.tracing = &on })
}

// WithEndpoint sets the OTLP base endpoint and switches export on, as
// OTEL_EXPORTER_OTLP_ENDPOINT: a URL such as http://localhost:4317 (http
// means plaintext, https TLS). A bare host:port is taken as plaintext. With
// http/protobuf, /v1/traces is appended to the URL's path. "" leaves the
// setting to the environment (so cmd can pass an unset flag through).
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) {
		if endpoint != "" {
			c.endpoint = &endpoint
		}
	})
}

// WithProtocol selects the OTLP transport: ProtocolGRPC or
// ProtocolHTTPProtobuf. "" leaves the setting to the environment.
func WithProtocol(protocol string) Option {
	return optionFunc(func(c *config) {
		if protocol != "" {
			c.protocol = &protocol
		}
	})
}

// WithHeaders adds headers (or gRPC metadata) to every OTLP export.
func WithHeaders(h map[string]string) Option {
	return optionFunc(func(c *config) {
		if c.headers == nil {
			c.headers = map[string]string{}
		}
		for k, v := range h {
			c.headers[k] = v
		}
	})
}

// Compressions accepted by WithCompression and
// OTEL_EXPORTER_OTLP_COMPRESSION.
const (
	CompressionNone = "none"
	CompressionGzip = "gzip"
)

// WithCompression sets the OTLP export compression: CompressionGzip or
// CompressionNone (the default). "" leaves the setting to the environment.
func WithCompression(compression string) Option {
	return optionFunc(func(c *config) {
		if compression != "" {
			c.compression = &compression
		}
	})
}

// WithExportTimeout bounds one export, its retries included (default
// exportTimeout, 10s, as OTEL_EXPORTER_OTLP_TIMEOUT's). d <= 0 makes New
// fail: retries need a bound.
func WithExportTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = &d })
}

// WithTLSConfig sets the TLS configuration for https endpoints (roots,
// client certificates, server name), instead of
// OTEL_EXPORTER_OTLP_CERTIFICATE and the client certificate variables. The
// config is not modified; a MinVersion of 0 is raised to TLS 1.2.
func WithTLSConfig(cfg *tls.Config) Option {
	return optionFunc(func(c *config) { c.tlsConfig = cfg })
}

// WithRetry switches retrying of retryable export failures on (the
// default) or off. Retries back off exponentially with jitter, within the
// export timeout; see otlpexport.go for what is retryable.
func WithRetry(on bool) Option {
	return optionFunc(func(c *config) { c.retry = &on })
}

// WithSampler sets the sampler (overrides OTEL_TRACES_SAMPLER).
func WithSampler(s sdktrace.Sampler) Option {
	return optionFunc(func(c *config) { c.sampler = s })
}

// WithSamplerRatio samples a ratio of new traces and follows the parent's
// decision otherwise (parentbased_traceidratio). Ratios outside [0,1] make
// New fail.
func WithSamplerRatio(ratio float64) Option {
	return optionFunc(func(c *config) {
		if ratio < 0 || ratio > 1 || ratio != ratio {
			c.sampler = badSampler{fmt.Errorf("%w: sampler ratio %v not in [0,1]", ErrConfig, ratio)}
			return
		}
		c.sampler = sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
	})
}

// WithSpanExporter exports spans to e (batched) instead of OTLP, and
// switches tracing on. Meant for tests (tracetest.InMemoryExporter).
func WithSpanExporter(e sdktrace.SpanExporter) Option {
	return optionFunc(func(c *config) { c.exporter = e })
}

// WithSynchronousSpans(true) makes spans SDK spans from their start, as
// a plain otel-go setup does, instead of recording them in light structs
// that a background goroutine replays into the SDK at the end (deferred.go).
// The exported spans are the same; the deferred default takes the SDK's
// per-span work off the request path.
func WithSynchronousSpans(on bool) Option {
	return optionFunc(func(c *config) { c.synchronous = on })
}

// WithBatchTimeout sets how long finished spans may wait before export.
func WithBatchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.batchTimeout = d })
}

// WithMetricsAddr serves Prometheus metrics at http://addr/metrics (the
// workers' --metrics-addr). New binds the address, so a busy port is an
// error from New; ":0" picks a free port (see Provider.MetricsAddr).
func WithMetricsAddr(addr string) Option {
	return optionFunc(func(c *config) { c.metricsAddr = addr })
}

// WithPrometheus records metrics for Provider.MetricsHandler without
// starting a server (to mount the handler elsewhere).
func WithPrometheus() Option {
	return optionFunc(func(c *config) { c.prometheus = true })
}

// WithMetricReader adds a metric reader (e.g. sdkmetric.NewManualReader in
// tests) and switches metrics on.
func WithMetricReader(r sdkmetric.Reader) Option {
	return optionFunc(func(c *config) { c.readers = append(c.readers, r) })
}

// badSampler carries a configuration error to New.
type badSampler struct{ err error }

func (b badSampler) ShouldSample(sdktrace.SamplingParameters) sdktrace.SamplingResult {
	return sdktrace.SamplingResult{}
}
func (b badSampler) Description() string { return "invalid" }

// settings is the resolved configuration.
type settings struct {
	disabled       bool
	tracing        bool
	endpoint       string // full URL for the exporter
	protocol       string
	headers        map[string]string
	gzip           bool
	timeout        time.Duration // of one export, retries included; 0: exportTimeout
	tlsConfig      *tls.Config   // for https endpoints; nil: system roots
	retry          bool
	sampler        sdktrace.Sampler
	exporter       sdktrace.SpanExporter
	batchTimeout   time.Duration
	synchronous    bool
	serviceName    string
	serviceVersion string
	hostName       *string
	workerID       string
	modelHash      string
	envAttrs       []attribute.KeyValue
	attrs          []attribute.KeyValue
	metricsAddr    string
	prometheus     bool
	readers        []sdkmetric.Reader
}

// resolve merges defaults, environment and explicit options.
func resolve(c *config) (*settings, error) {
	env := func(key string) string {
		if c.env == nil {
			return ""
		}
		v, _ := c.env(key)
		return strings.TrimSpace(v)
	}
	firstEnv := func(keys ...string) string {
		for _, k := range keys {
			if v := env(k); v != "" {
				return v
			}
		}
		return ""
	}
	s := &settings{
		serviceName:    DefaultServiceName,
		serviceVersion: c.serviceVersion,
		hostName:       c.hostName,
		workerID:       c.workerID,
		modelHash:      c.modelHash,
		attrs:          c.attrs,
		metricsAddr:    c.metricsAddr,
		prometheus:     c.prometheus,
		readers:        c.readers,
		exporter:       c.exporter,
		batchTimeout:   DefaultBatchTimeout,
	}
	if c.batchTimeout > 0 {
		s.batchTimeout = c.batchTimeout
	}
	s.synchronous = c.synchronous

	// SDK switch.
	if v := env("OTEL_SDK_DISABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%w: OTEL_SDK_DISABLED=%q: not a boolean", ErrConfig, v)
		}
		s.disabled = b
	}
	if c.disabled != nil {
		s.disabled = *c.disabled
	}

	// Service name and resource attributes.
	if v := env("OTEL_RESOURCE_ATTRIBUTES"); v != "" {
		attrs, err := parseKeyValues(v)
		if err != nil {
			return nil, fmt.Errorf("%w: OTEL_RESOURCE_ATTRIBUTES: %v", ErrConfig, err)
		}
		for k, val := range attrs {
			if k == "service.name" {
				s.serviceName = val
				continue
			}
			s.envAttrs = append(s.envAttrs, attribute.String(k, val))
		}
	}
	if v := env("OTEL_SERVICE_NAME"); v != "" {
		s.serviceName = v
	}
	if c.serviceName != nil {
		if *c.serviceName == "" {
			return nil, fmt.Errorf("%w: empty service name", ErrConfig)
		}
		s.serviceName = *c.serviceName
	}

	// Protocol.
	s.protocol = ProtocolGRPC
	if v := firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); v != "" {
		s.protocol = v
	}
	if c.protocol != nil {
		s.protocol = *c.protocol
	}
	switch s.protocol {
	case ProtocolGRPC, ProtocolHTTPProtobuf:
	default:
		return nil, fmt.Errorf("%w: OTLP protocol %q (want %s or %s)", ErrConfig, s.protocol, ProtocolGRPC, ProtocolHTTPProtobuf)
	}

	// Endpoint and whether to export at all.
	var (
		endpoint  string
		signalURL bool // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: used as is
	)
	if v := env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		endpoint, signalURL = v, true
	} else if v := env("OTEL_EXPORTER_OTLP_ENDPOINT"); v != "" {
		endpoint = v
	}
	if c.endpoint != nil {
		endpoint, signalURL = *c.endpoint, false
	}
	s.tracing = endpoint != ""
	switch v := strings.ToLower(env("OTEL_TRACES_EXPORTER")); v {
	case "":
	case "none":
		s.tracing = false
	case "otlp":
		s.tracing = true
	default:
		return nil, fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q (want otlp or none)", ErrConfig, v)
	}
	if c.endpoint != nil {
		s.tracing = true
	}
	if c.exporter != nil {
		s.tracing = true
	}
	if c.tracing != nil {
		s.tracing = *c.tracing
	}
	// The spec makes a scheme-less gRPC endpoint TLS unless INSECURE is
	// true; this package has always taken it as plaintext, so only an
	// explicit INSECURE=false turns TLS on.
	secure := false
	if v := firstEnv("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"); v != "" {
		insecure, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_INSECURE=%q: not a boolean", ErrConfig, v)
		}
		secure = !insecure
	}
	if s.tracing && s.exporter == nil {
		if endpoint == "" {
			endpoint = DefaultGRPCEndpoint
			if s.protocol == ProtocolHTTPProtobuf {
				endpoint = DefaultHTTPEndpoint
			}
		}
		if secure && s.protocol == ProtocolGRPC && !strings.Contains(endpoint, "://") {
			endpoint = "https://" + endpoint
		}
		u, err := endpointURL(endpoint, s.protocol, signalURL)
		if err != nil {
			return nil, err
		}
		s.endpoint = u
		if s.tlsConfig, err = tlsFromEnv(c, firstEnv); err != nil {
			return nil, err
		}
	}

	// Compression, timeout, retry.
	compression := CompressionNone
	if v := firstEnv("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"); v != "" {
		compression = strings.ToLower(v)
	}
	if c.compression != nil {
		compression = *c.compression
	}
	switch compression {
	case CompressionNone:
	case CompressionGzip:
		s.gzip = true
	default:
		return nil, fmt.Errorf("%w: OTLP compression %q (want %s or %s)", ErrConfig, compression, CompressionGzip, CompressionNone)
	}
	s.timeout = exportTimeout
	if v := firstEnv("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
			return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_TIMEOUT=%q: want a positive number of milliseconds", ErrConfig, v)
		}
		s.timeout = time.Duration(ms) * time.Millisecond
	}
	if c.timeout != nil {
		if *c.timeout <= 0 {
			return nil, fmt.Errorf("%w: export timeout %v not positive", ErrConfig, *c.timeout)
		}
		s.timeout = *c.timeout
	}
	s.retry = c.retry == nil || *c.retry

	// Headers.
	if v := firstEnv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"); v != "" {
		h, err := parseKeyValues(v)
		if err != nil {
			return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_HEADERS: %v", ErrConfig, err)
		}
		s.headers = h
	}
	if len(c.headers) > 0 {
		if s.headers == nil {
			s.headers = map[string]string{}
		}
		for k, v := range c.headers {
			s.headers[k] = v
		}
	}

	// Sampler.
	s.sampler = sdktrace.ParentBased(sdktrace.AlwaysSample())
	if name := strings.ToLower(env("OTEL_TRACES_SAMPLER")); name != "" {
		smp, err := samplerFromEnv(name, env("OTEL_TRACES_SAMPLER_ARG"))
		if err != nil {
			return nil, err
		}
		s.sampler = smp
	}
	if c.sampler != nil {
		if b, ok := c.sampler.(badSampler); ok {
			return nil, b.err
		}
		s.sampler = c.sampler
	}
	return s, nil
}

// tlsFromEnv returns c's TLS config, or one built from the certificate
// variables, or nil (system roots, no client certificate).
func tlsFromEnv(c *config, firstEnv func(...string) string) (*tls.Config, error) {
	if c.tlsConfig != nil {
		return c.tlsConfig, nil
	}
	var cfg *tls.Config
	if name := firstEnv("OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE", "OTEL_EXPORTER_OTLP_CERTIFICATE"); name != "" {
		pem, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_CERTIFICATE: %v", ErrConfig, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_CERTIFICATE: no PEM certificate in %s", ErrConfig, name)
		}
		cfg = &tls.Config{RootCAs: pool}
	}
	certFile := firstEnv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE")
	keyFile := firstEnv("OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY", "OTEL_EXPORTER_OTLP_CLIENT_KEY")
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%w: OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY go together", ErrConfig)
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("%w: OTLP client certificate: %v", ErrConfig, err)
		}
		if cfg == nil {
			cfg = &tls.Config{}
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// endpointURL normalises an OTLP endpoint to a URL with scheme; for
// http/protobuf the signal path /v1/traces is appended to a base endpoint.
func endpointURL(endpoint, protocol string, signalURL bool) (string, error) {
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: OTLP endpoint %q: %v", ErrConfig, endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%w: OTLP endpoint %q: scheme %q (want http or https)", ErrConfig, endpoint, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w: OTLP endpoint %q: no host", ErrConfig, endpoint)
	}
	if protocol == ProtocolHTTPProtobuf && (!signalURL || u.Path == "" || u.Path == "/") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}

// samplerFromEnv maps OTEL_TRACES_SAMPLER and its argument to a sampler.
func samplerFromEnv(name, arg string) (sdktrace.Sampler, error) {
	ratio := 1.0
	if arg != "" && strings.HasSuffix(name, "traceidratio") {
		r, err := strconv.ParseFloat(arg, 64)
		if err != nil || r < 0 || r > 1 {
			return nil, fmt.Errorf("%w: OTEL_TRACES_SAMPLER_ARG=%q: want a ratio in [0,1]", ErrConfig, arg)
		}
		ratio = r
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	}
	return nil, fmt.Errorf("%w: OTEL_TRACES_SAMPLER=%q not supported", ErrConfig, name)
}

// parseKeyValues parses the OTEL "k1=v1,k2=v2" list format (values
// percent-encoded).
func parseKeyValues(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("%q: want key=value", item)
		}
		dv, err := url.PathUnescape(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("%q: %v", item, err)
		}
		out[k] = dv
	}
	return out, nil
}
