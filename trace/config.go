package trace

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
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

// DefaultServiceName is the service.name used when neither the
// environment nor WithServiceName gives one.
const DefaultServiceName = "splitinfer"

// ErrConfig is wrapped by every configuration error New returns.
var ErrConfig = errors.New("trace: bad configuration")

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config holds the explicit settings; zero values mean "not set", so the
// standard environment (read by the SDK, the exporters and
// resource.WithFromEnv) and then the defaults decide.
type config struct {
	serviceName    string
	serviceVersion string
	hostName       *string
	workerID       string
	modelHash      string
	attrs          []attribute.KeyValue

	disabled     *bool
	tracing      *bool
	endpoint     string
	protocol     string
	sampler      sdktrace.Sampler
	exporter     sdktrace.SpanExporter
	batchTimeout time.Duration

	metricsAddr string
	prometheus  bool
	readers     []sdkmetric.Reader
}

// WithServiceName sets the default service.name (ServiceEdge or
// ServiceCloud for the workers). OTEL_SERVICE_NAME, and service.name in
// OTEL_RESOURCE_ATTRIBUTES, win over it, as the specification asks.
func WithServiceName(name string) Option {
	return optionFunc(func(c *config) { c.serviceName = name })
}

// WithServiceVersion sets service.version (default: the module version
// from the binary's build info, see BuildVersion).
func WithServiceVersion(v string) Option {
	return optionFunc(func(c *config) { c.serviceVersion = v })
}

// WithHostName sets host.name; "" leaves it out. Default: the host
// detector's (os.Hostname).
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

// WithResourceAttributes adds default resource attributes;
// OTEL_RESOURCE_ATTRIBUTES wins over them.
func WithResourceAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) { c.attrs = append(c.attrs, attrs...) })
}

// WithDisabled switches the whole SDK off (as OTEL_SDK_DISABLED=true):
// no-op tracer and meter providers, no exporter, no metrics endpoint.
func WithDisabled(disabled bool) Option {
	return optionFunc(func(c *config) { c.disabled = &disabled })
}

// WithTracing forces span export on (to the exporter's default endpoint
// if none is given) or off, overriding OTEL_TRACES_EXPORTER.
func WithTracing(on bool) Option {
	return optionFunc(func(c *config) { c.tracing = &on })
}

// WithEndpoint overrides the OTLP base endpoint and switches export on,
// with OTEL_EXPORTER_OTLP_ENDPOINT's meaning: a URL such as
// http://localhost:4317 (http: plaintext, https: TLS; with http/protobuf
// /v1/traces is appended to its path). A value without a scheme
// (host:port) is given to the exporter as its endpoint, TLS unless
// OTEL_EXPORTER_OTLP_INSECURE=true, as the specification says. "" leaves
// the setting to the environment (so cmd can pass an unset flag through).
func WithEndpoint(endpoint string) Option {
	return optionFunc(func(c *config) { c.endpoint = endpoint })
}

// WithProtocol overrides the OTLP transport: ProtocolGRPC or
// ProtocolHTTPProtobuf. "" leaves it to OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
// OTEL_EXPORTER_OTLP_PROTOCOL, else ProtocolGRPC.
func WithProtocol(protocol string) Option {
	return optionFunc(func(c *config) { c.protocol = protocol })
}

// WithSampler overrides the sampler (default: the SDK's, from
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, else
// parentbased_always_on).
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

// WithSpanExporter exports spans to e (through the batch span processor)
// instead of OTLP, and switches tracing on. Meant for tests
// (tracetest.InMemoryExporter).
func WithSpanExporter(e sdktrace.SpanExporter) Option {
	return optionFunc(func(c *config) { c.exporter = e })
}

// WithBatchTimeout overrides how long finished spans may wait before
// export (default OTEL_BSP_SCHEDULE_DELAY, else the SDK's 5s).
func WithBatchTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.batchTimeout = d })
}

// WithMetricsAddr serves Prometheus metrics at http://addr/metrics, with
// /healthz and /readyz beside them (the workers' --metrics-addr). New
// binds the address, so a busy port is an error from New; ":0" picks a
// free port (see Provider.MetricsAddr).
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

// envBool reads a boolean OTEL_* variable; unset or empty is def.
func envBool(key string, def bool) (bool, error) {
	v := strings.TrimSpace(os.Getenv(key))
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s=%q: not a boolean", ErrConfig, key, v)
	}
	return b, nil
}

// firstEnv returns the first non-empty variable of keys (signal-specific
// first).
func firstEnv(keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(os.Getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// decide resolves what New itself must know before handing the rest to
// the SDK and the exporters: whether the SDK is disabled, whether spans
// are exported, and over which protocol.
func (c *config) decide() (disabled, tracing bool, protocol string, err error) {
	if disabled, err = envBool("OTEL_SDK_DISABLED", false); err != nil {
		return
	}
	if c.disabled != nil {
		disabled = *c.disabled
	}
	// Export is on when an endpoint is configured (not by default: a
	// worker on a laptop without a collector should not log export
	// errors), or when OTEL_TRACES_EXPORTER=otlp asks for it.
	tracing = c.endpoint != "" || c.exporter != nil ||
		firstEnv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT") != ""
	switch v := strings.ToLower(firstEnv("OTEL_TRACES_EXPORTER")); v {
	case "":
	case "none":
		tracing = c.endpoint != "" || c.exporter != nil // a flag or a test's exporter still wins
	case "otlp":
		tracing = true
	default:
		err = fmt.Errorf("%w: OTEL_TRACES_EXPORTER=%q (want otlp or none)", ErrConfig, v)
		return
	}
	if c.tracing != nil {
		tracing = *c.tracing
	}
	protocol = c.protocol
	if protocol == "" {
		protocol = firstEnv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol == "" {
		protocol = ProtocolGRPC
	}
	switch protocol {
	case ProtocolGRPC, ProtocolHTTPProtobuf:
	default:
		err = fmt.Errorf("%w: OTLP protocol %q (want %s or %s)", ErrConfig, protocol, ProtocolGRPC, ProtocolHTTPProtobuf)
		return
	}
	if b, ok := c.sampler.(badSampler); ok {
		err = b.err
	}
	return
}

// endpointURL turns a base endpoint URL (OTEL_EXPORTER_OTLP_ENDPOINT's
// meaning) into the traces URL the exporter takes (for http/protobuf:
// /v1/traces appended; a signal URL, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT's
// meaning, is used as is), or reports that it has no scheme (then the
// exporter takes it as host:port).
func endpointURL(endpoint, protocol string, signal bool) (u string, hasScheme bool, err error) {
	if !strings.Contains(endpoint, "://") {
		return endpoint, false, nil
	}
	p, err := url.Parse(endpoint)
	if err != nil {
		return "", false, fmt.Errorf("%w: OTLP endpoint %q: %v", ErrConfig, endpoint, err)
	}
	if p.Scheme != "http" && p.Scheme != "https" || p.Host == "" {
		return "", false, fmt.Errorf("%w: OTLP endpoint %q: want http(s)://host:port", ErrConfig, endpoint)
	}
	if protocol == ProtocolHTTPProtobuf && !signal {
		p.Path = path.Join("/", p.Path, "v1/traces")
	}
	return p.String(), true, nil
}
