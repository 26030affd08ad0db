package cloudworker

import (
	"fmt"
	"runtime"
	"strings"

	"go.opentelemetry.io/otel/metric"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace"
)

// Config configures a Worker. Zero fields take the defaults documented on
// each field; Validate reports the rest.
type Config struct {
	// Subject is the endpoint subject (default pipeline.DefaultSubject).
	Subject string
	// QueueGroup lets N workers share the subject (default "splitinfer").
	QueueGroup string
	// Version is the micro service's SemVer version (default "0.1.0").
	Version string
	// Workers is the number of goroutines running tails (default GOMAXPROCS).
	Workers int
	// Threads is each runner's kernel thread budget (default 1).
	Threads int
	// QueueLen bounds the requests waiting for a worker goroutine
	// (default 4 x Workers); when it is full requests get a 503 at once.
	QueueLen int
	// Dedup is how many recent replies are kept by request id so that a
	// retried request is answered from the cache (default 1024; NoDedup
	// keeps none).
	Dedup int
	// MaxCuts bounds the compiled tails kept per model (default 64).
	MaxCuts int
	// MaxBatch > 1 turns on dynamic batching: a worker goroutine takes up
	// to MaxBatch requests already waiting in the queue (it never waits for
	// more) and runs those for the same cut and input shape as one batch
	// along dimension 0 (default 1: off).
	MaxBatch int
	// Codec compresses reply tensors (default none).
	Codec pipeline.Codec
	// Metadata is added to the micro service's metadata (for example a
	// per-node profile for the partitioner); it cannot replace the keys the
	// worker sets (model, model_hash, models, model_hashes, workers,
	// queue_len, max_batch).
	Metadata map[string]string
	// Limits bound request decoding (zero fields: pipeline.DefaultLimits).
	Limits pipeline.Limits
	// ProfileRuns is how many runs New measures each model's per-node
	// latency profile over (medians; one warm-up run first), served as JSON
	// on pipeline.ProfileSubject(Subject) for the edge's partitioner
	// (default 3; negative: no profile, the endpoint answers 404).
	ProfileRuns int
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Subject == "" {
		d.Subject = pipeline.DefaultSubject
	}
	if d.QueueGroup == "" {
		d.QueueGroup = "splitinfer"
	}
	if d.Version == "" {
		d.Version = "0.1.0"
	}
	if d.Workers == 0 {
		d.Workers = runtime.GOMAXPROCS(0)
	}
	if d.Threads == 0 {
		d.Threads = 1
	}
	if d.QueueLen == 0 {
		d.QueueLen = 4 * d.Workers
	}
	if d.Dedup == 0 {
		d.Dedup = 1024
	}
	if d.MaxCuts == 0 {
		d.MaxCuts = 64
	}
	if d.Codec == "" {
		d.Codec = pipeline.CodecNone
	}
	if d.ProfileRuns == 0 {
		d.ProfileRuns = 3
	}
	return d
}

// Validate reports a configuration that New would reject.
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case strings.ContainsAny(d.Subject, " \t\r\n") || strings.HasSuffix(d.Subject, ".") || strings.HasPrefix(d.Subject, "."):
		return fmt.Errorf("cloudworker: invalid subject %q", d.Subject)
	case strings.ContainsAny(d.QueueGroup, " \t\r\n"):
		return fmt.Errorf("cloudworker: invalid queue group %q", d.QueueGroup)
	case d.Workers < 1 || d.Workers > 1024:
		return fmt.Errorf("cloudworker: Workers %d out of 1..1024", d.Workers)
	case d.Threads < 1 || d.Threads > 256:
		return fmt.Errorf("cloudworker: Threads %d out of 1..256", d.Threads)
	case d.QueueLen < 1 || d.QueueLen > 1<<20:
		return fmt.Errorf("cloudworker: QueueLen %d out of 1..1048576", d.QueueLen)
	case d.Dedup < NoDedup || d.Dedup > 1<<20:
		return fmt.Errorf("cloudworker: Dedup %d out of -1 (NoDedup)..1048576", d.Dedup)
	case d.MaxBatch < 0 || d.MaxBatch > 1024:
		return fmt.Errorf("cloudworker: MaxBatch %d out of 0..1024", d.MaxBatch)
	case d.ProfileRuns > 1000:
		return fmt.Errorf("cloudworker: ProfileRuns %d > 1000", d.ProfileRuns)
	case d.MaxCuts < 1:
		return fmt.Errorf("cloudworker: MaxCuts %d < 1", d.MaxCuts)
	}
	if _, err := pipeline.ParseCodec(string(d.Codec)); err != nil {
		return fmt.Errorf("cloudworker: %w", err)
	}
	return nil
}

// NoDedup as Config.Dedup turns the reply cache off (0 means the default).
const NoDedup = -1

// Option configures optional parts of a Worker: where its spans and
// metrics go (trace.Providers).
type Option = trace.ProviderOption

// WithTracerProvider sets where spans go (default a no-op provider).
func WithTracerProvider(tp oteltrace.TracerProvider) Option { return trace.WithTracerProvider(tp) }

// WithMeterProvider sets where metrics go (default a no-op provider).
func WithMeterProvider(mp metric.MeterProvider) Option { return trace.WithMeterProvider(mp) }

// options are the providers opts set.
type options struct {
	tp oteltrace.TracerProvider
	mp metric.MeterProvider
}

func newOptions(opts []Option) options {
	p := trace.NewProviders(opts...)
	return options{tp: p.Tracer, mp: p.Meter}
}
