package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/splitinfer/splitinfer/trace"
)

// telemetryFlags are the OpenTelemetry and logging flags of run, edge,
// cloud and sweep. Unset flags leave the setting to the standard OTEL_*
// environment.
type telemetryFlags struct {
	endpoint, protocol, logFormat, logLevel string
	sample                                  float64
}

func addTelemetryFlags(fs *flag.FlagSet) *telemetryFlags {
	f := &telemetryFlags{}
	fs.StringVar(&f.endpoint, "otlp-endpoint", "", "export traces over OTLP to this endpoint, e.g. http://localhost:4317 (gRPC) or http://localhost:4318 (HTTP)\n(default: OTEL_EXPORTER_OTLP_ENDPOINT; without an endpoint tracing is off)")
	fs.StringVar(&f.protocol, "otlp-protocol", "", "OTLP protocol: grpc or http/protobuf (default: OTEL_EXPORTER_OTLP_PROTOCOL, else grpc)")
	fs.Float64Var(&f.sample, "trace-sample", -1, "fraction of requests traced, 0..1; the cloud follows the edge's decision\n(default: OTEL_TRACES_SAMPLER, else every request)")
	fs.StringVar(&f.logFormat, "log-format", trace.LogFormatText, "log records on stderr as text or json (one object a line; records of a traced request carry trace_id and span_id)")
	fs.StringVar(&f.logLevel, "log-level", "info", "lowest level logged: debug (one record per request), info, warn or error")
	return f
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
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, f.logLevel)
	}
	log, err := trace.NewLogger(stderr, f.logFormat, level)
	if err != nil {
		return fmt.Errorf("%w: --log-format %q: want %s or %s", errUsage, f.logFormat, trace.LogFormatText, trace.LogFormatJSON)
	}
	slog.SetDefault(log)
	switch f.protocol {
	case "", trace.ProtocolGRPC, trace.ProtocolHTTPProtobuf:
	default:
		return fmt.Errorf("%w: --otlp-protocol %q: want %s or %s", errUsage, f.protocol, trace.ProtocolGRPC, trace.ProtocolHTTPProtobuf)
	}
	if s := f.sample; s != -1 && !(s >= 0 && s <= 1) {
		return fmt.Errorf("%w: --trace-sample %v: want a fraction in 0..1", errUsage, s)
	}
	return nil
}

// provider sets up OTel for one service from the OTEL_* environment (read
// by otel-go's SDK and exporters) and the flags (which win), serving
// Prometheus metrics at metricsAddr when it is not empty.
func (f *telemetryFlags) provider(ctx context.Context, service, workerID, modelHash, metricsAddr string) (*trace.Provider, error) {
	opts := []trace.Option{trace.WithServiceName(service), trace.WithModelHash(modelHash), trace.WithWorkerID(workerID),
		trace.WithMetricsAddr(metricsAddr), trace.WithEndpoint(f.endpoint), trace.WithProtocol(f.protocol)}
	if f.sample >= 0 {
		opts = append(opts, trace.WithSamplerRatio(f.sample))
	}
	return trace.New(ctx, opts...)
}

// pair sets up OTel for the edge and the cloud of one process (run,
// sweep): workers "<prefix>-edge" and "<prefix>-cloud", each with its
// metrics address. shutdown ends both.
func (f *telemetryFlags) pair(ctx context.Context, prefix, modelHash, edgeMetrics, cloudMetrics string) (edge, cloud *trace.Provider, shutdown func(), err error) {
	if cloud, err = f.provider(ctx, trace.ServiceCloud, prefix+"-cloud", modelHash, cloudMetrics); err != nil {
		return nil, nil, nil, err
	}
	if edge, err = f.provider(ctx, trace.ServiceEdge, prefix+"-edge", modelHash, edgeMetrics); err != nil {
		shutdownTelemetry(cloud)
		return nil, nil, nil, err
	}
	return edge, cloud, func() { shutdownTelemetry(edge, cloud) }, nil
}

func shutdownTelemetry(ps ...*trace.Provider) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, p := range ps {
		_ = p.Shutdown(ctx)
	}
}
