package edgeworker

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"
	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/trace"
)

// Config configures a Worker. Zero fields take the defaults documented on
// each field; Validate reports the rest.
type Config struct {
	// Subject is the cloud workers' subject (default pipeline.DefaultSubject).
	Subject string
	// Model names the model in traces (default the graph's name).
	Model string
	// Cut lists the tensors the head sends; empty picks pipeline.EarlyCut.
	Cut []string
	// Codec compresses the activations (default none).
	Codec pipeline.Codec
	// WireDType, when nn.Uint8 or nn.Int8, quantizes float32 activations
	// for the wire (lossy, 4x smaller); the default sends them as computed.
	WireDType nn.DType
	// Exit lets the edge answer by itself, sending nothing, when the model
	// carries an exit head at the cut (compress --exit) and the head's
	// confidence reaches its threshold. Default off.
	Exit bool
	// Compact sends the activations of a cut the model carries an
	// activation codec for (compress/actcode, `compress --act-bits`) as
	// compact requests: a few bits per element, entropy coded, behind a
	// 30-byte header. Lossy by the codec's measured accuracy. Default off;
	// cuts without a codec are sent as computed either way.
	Compact bool
	// CodecBits, with Compact, sends the activation codec of this many
	// bits among those the model's tuning record keeps (compress
	// --act-bits with several widths) instead of the one compress chose
	// (0, the default). A width the model lacks fails each request.
	CodecBits int
	// Timeout bounds one attempt (default 2s).
	Timeout time.Duration
	// Deadline bounds a request over all attempts; it travels in the
	// request so a cloud worker does not run a request nobody waits for
	// (default 10s).
	Deadline time.Duration
	// Attempts, when positive, bounds how many times a request is sent;
	// by default (0) retries go on while they fit before the Deadline, so
	// they outlast a reconnect. Retries keep the request id, so a cloud
	// worker that already computed it answers from its cache.
	Attempts int
	// Backoff is the pause after the first failed attempt, doubled each
	// time up to MaxBackoff and jittered; a 503's retry hint lengthens it
	// (pipeline.RetryPolicy; default 5ms).
	Backoff time.Duration
	// MaxBackoff caps a pause between attempts (default 1s).
	MaxBackoff time.Duration
	// Fallback runs the whole model locally when no cloud worker answers
	// (no responders, timeouts, 503s on every attempt). Default off.
	Fallback bool
	// Concurrency is how many requests run their head at once (default
	// GOMAXPROCS); each has its own runner.
	Concurrency int
	// Threads is each runner's kernel thread budget (default 1).
	Threads int
	// Limits bound reply decoding (zero fields: pipeline.DefaultLimits).
	Limits pipeline.Limits
	// Slowdown, when 1 or above, emulates an edge that many times slower:
	// each head run takes Slowdown x its thread CPU time (the worker sleeps
	// the difference, see EmulateSlower; 1 paces the head by its CPU time,
	// so host load does not change it). Default 0: off.
	Slowdown float64
	// LinkEstimate, when set, is the link estimate the request spans carry
	// (round trip, bandwidth in bytes per second) instead of the worker's
	// own: an adaptive edge passes its adapter's, the one that chooses the
	// cut.
	LinkEstimate func() (rtt time.Duration, bandwidthBps float64)
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Subject == "" {
		d.Subject = pipeline.DefaultSubject
	}
	if d.Codec == "" {
		d.Codec = pipeline.CodecNone
	}
	if d.Timeout == 0 {
		d.Timeout = 2 * time.Second
	}
	if d.Deadline == 0 {
		d.Deadline = 10 * time.Second
	}
	if d.Backoff == 0 {
		d.Backoff = 5 * time.Millisecond
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = time.Second
	}
	if d.Concurrency == 0 {
		d.Concurrency = runtime.GOMAXPROCS(0)
	}
	if d.Threads == 0 {
		d.Threads = 1
	}
	return d
}

// Validate reports a configuration that New would reject.
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case d.Subject == "" || strings.ContainsAny(d.Subject, " \t\r\n*>"):
		return fmt.Errorf("edgeworker: invalid subject %q", d.Subject)
	case d.WireDType != nn.Undefined && d.WireDType != nn.Uint8 && d.WireDType != nn.Int8:
		return fmt.Errorf("edgeworker: WireDType %v (want uint8, int8 or unset)", d.WireDType)
	case d.Timeout < 0 || d.Deadline < 0 || d.Backoff < 0 || d.MaxBackoff < 0:
		return fmt.Errorf("edgeworker: negative duration")
	case d.Attempts < 0 || d.Attempts > 10000:
		return fmt.Errorf("edgeworker: Attempts %d out of 0..10000", d.Attempts)
	case d.Concurrency < 1 || d.Concurrency > 4096:
		return fmt.Errorf("edgeworker: Concurrency %d out of 1..4096", d.Concurrency)
	case d.Threads < 1 || d.Threads > 256:
		return fmt.Errorf("edgeworker: Threads %d out of 1..256", d.Threads)
	case d.CodecBits < 0 || d.CodecBits > 8:
		return fmt.Errorf("edgeworker: CodecBits %d out of 0..8", d.CodecBits)
	case d.Slowdown != 0 && !(d.Slowdown >= 1 && d.Slowdown <= 1000):
		return fmt.Errorf("edgeworker: Slowdown %v (want 0 or 1..1000)", d.Slowdown)
	}
	if _, err := pipeline.ParseCodec(string(d.Codec)); err != nil {
		return fmt.Errorf("edgeworker: %w", err)
	}
	return nil
}

// Option configures optional parts of a Worker: where its spans and
// metrics go (trace.Providers).
type Option = trace.ProviderOption

// WithTracerProvider sets where spans go (default a no-op provider).
func WithTracerProvider(tp oteltrace.TracerProvider) Option { return trace.WithTracerProvider(tp) }

// WithMeterProvider sets where metrics go (default a no-op provider).
func WithMeterProvider(mp metric.MeterProvider) Option { return trace.WithMeterProvider(mp) }

// Tracer returns the tracer (scope trace.ScopeName) that opts configure, a
// no-op one without WithTracerProvider: for edge work traced outside a
// Worker, such as the edge-only requests of an adaptive edge.
func Tracer(opts ...Option) oteltrace.Tracer { return newOptions(opts).tp.Tracer(trace.ScopeName) }

// options are the providers opts set.
type options struct {
	tp oteltrace.TracerProvider
	mp metric.MeterProvider
}

func newOptions(opts []Option) options {
	p := trace.NewProviders(opts...)
	return options{tp: p.Tracer, mp: p.Meter}
}
