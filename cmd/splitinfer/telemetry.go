package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/splitinfer/splitinfer/trace"
)

// telemetryFlags are the OpenTelemetry flags of run, edge and cloud. Unset
// flags leave the setting to the standard OTEL_* environment.
type telemetryFlags struct {
	endpoint  *string
	protocol  *string
	sample    *float64
	logFormat *string
	logLevel  *string
}

func addTelemetryFlags(fs *flag.FlagSet) *telemetryFlags {
	return &telemetryFlags{
		endpoint:  fs.String("otlp-endpoint", "", "export traces over OTLP to this endpoint, e.g. http://localhost:4317 (gRPC) or http://localhost:4318 (HTTP)\n(default: OTEL_EXPORTER_OTLP_ENDPOINT; without an endpoint tracing is off)"),
		protocol:  fs.String("otlp-protocol", "", "OTLP protocol: grpc or http/protobuf (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)"),
		sample:    fs.Float64("trace-sample", -1, "fraction of requests traced, 0..1; the cloud follows the edge's decision\n(default: OTEL_TRACES_SAMPLER, else every request)"),
		logFormat: fs.String("log-format", trace.LogFormatText, "log records on stderr as text or json (one object a line; records of a traced request carry trace_id and span_id)"),
		logLevel:  fs.String("log-level", "info", "lowest level logged: debug (one record per request), info, warn or error"),
	}
}

// prepare reports bad flag values as usage errors (printed on stderr) and
// makes the logging flags' logger on stderr the process's slog default
// (OTel's errors, the NATS connection's events and the workers' records
// go through it).
func (f *telemetryFlags) prepare(stderr io.Writer) error {
	err := f.check(stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	return err
}

func (f *telemetryFlags) check(stderr io.Writer) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*f.logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *f.logLevel)
	}
	log, err := trace.NewLogger(stderr, *f.logFormat, level)
	if err != nil {
		return fmt.Errorf("%w: --log-format %q: want %s or %s", errUsage, *f.logFormat, trace.LogFormatText, trace.LogFormatJSON)
	}
	slog.SetDefault(log)
	switch *f.protocol {
	case "", trace.ProtocolGRPC, trace.ProtocolHTTPProtobuf:
	default:
		return fmt.Errorf("%w: --otlp-protocol %q: want %s or %s", errUsage, *f.protocol, trace.ProtocolGRPC, trace.ProtocolHTTPProtobuf)
	}
	if s := *f.sample; s != -1 && !(s >= 0 && s <= 1) {
		return fmt.Errorf("%w: --trace-sample %v: want a fraction in 0..1", errUsage, s)
	}
	return nil
}

// options are the trace.New options the flags set.
func (f *telemetryFlags) options() []trace.Option {
	opts := []trace.Option{trace.WithEndpoint(*f.endpoint), trace.WithProtocol(*f.protocol)}
	if *f.sample >= 0 {
		opts = append(opts, trace.WithSamplerRatio(*f.sample))
	}
	return opts
}

// newTelemetry sets up OTel for one service from the OTEL_* environment
// (read by otel-go's SDK and exporters) and the flags (which win), serving Prometheus metrics at metricsAddr
// when it is not empty.
func newTelemetry(ctx context.Context, tf *telemetryFlags, service, workerID, modelHash, metricsAddr string) (*trace.Provider, error) {
	opts := []trace.Option{trace.WithServiceName(service), trace.WithModelHash(modelHash)}
	if tf != nil {
		opts = append(opts, tf.options()...)
	}
	if workerID != "" {
		opts = append(opts, trace.WithWorkerID(workerID))
	}
	if metricsAddr != "" {
		opts = append(opts, trace.WithMetricsAddr(metricsAddr))
	}
	return trace.New(ctx, opts...)
}

// newTelemetryPair sets up OTel for the edge and the cloud of one process
// (run, sweep): workers "<prefix>-edge" and "<prefix>-cloud", each with
// its metrics address. shutdown ends both.
func newTelemetryPair(ctx context.Context, tf *telemetryFlags, prefix, modelHash, edgeMetrics, cloudMetrics string) (edge, cloud *trace.Provider, shutdown func(), err error) {
	cloud, err = newTelemetry(ctx, tf, trace.ServiceCloud, prefix+"-cloud", modelHash, cloudMetrics)
	if err != nil {
		return nil, nil, nil, err
	}
	edge, err = newTelemetry(ctx, tf, trace.ServiceEdge, prefix+"-edge", modelHash, edgeMetrics)
	if err != nil {
		shutdownTelemetry(cloud)
		return nil, nil, nil, err
	}
	return edge, cloud, func() { shutdownTelemetry(edge, cloud) }, nil
}

func shutdownTelemetry(ps ...*trace.Provider) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range ps {
		if p != nil {
			_ = p.Shutdown(ctx)
		}
	}
}

// natsReady is a worker's readiness while its NATS connection is up.
func natsReady(nc *nats.Conn) error {
	if st := nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("nats connection %s", st)
	}
	return nil
}

// edgeReady is the edge's /readyz check: connected, and a cloud worker for
// the model answers when the edge can tell (ready, bounded by 2s).
func edgeReady(nc *nats.Conn, ready func(context.Context) error) func() error {
	return func() error {
		if err := natsReady(nc); err != nil || ready == nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return ready(ctx)
	}
}
