package trace

import (
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	oteltrace "go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// Providers are where a component's spans and metrics go: the options
// both workers take (their WithTracerProvider and WithMeterProvider).
type Providers struct {
	Tracer oteltrace.TracerProvider
	Meter  metric.MeterProvider
}

// ProviderOption sets one of the Providers.
type ProviderOption func(*Providers)

// WithTracerProvider sets where spans go (nil: unchanged).
func WithTracerProvider(tp oteltrace.TracerProvider) ProviderOption {
	return func(p *Providers) {
		if tp != nil {
			p.Tracer = tp
		}
	}
}

// WithMeterProvider sets where metrics go (nil: unchanged).
func WithMeterProvider(mp metric.MeterProvider) ProviderOption {
	return func(p *Providers) {
		if mp != nil {
			p.Meter = mp
		}
	}
}

// NewProviders applies opts over no-op providers.
func NewProviders(opts ...ProviderOption) Providers {
	p := Providers{Tracer: tracenoop.NewTracerProvider(), Meter: metricnoop.NewMeterProvider()}
	for _, o := range opts {
		o(&p)
	}
	return p
}
