package trace

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// Histogram bucket boundaries.
var (
	// LatencyBuckets covers 50µs to 10s, in seconds (OTel unit "s").
	LatencyBuckets = []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// BytesBuckets covers 64 B to 16 MiB in powers of 4.
	BytesBuckets = []float64{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20}
)

// Metrics are a worker's instruments (names in names.go). A Metrics made
// from a no-op meter provider does nothing and costs a branch per call.
// Methods are safe for concurrent use; a nil *Metrics is valid and no-op.
type Metrics struct {
	enabled    bool
	latency    metric.Float64Histogram
	wireBytes  metric.Int64Histogram
	requests   metric.Int64Counter
	errors     metric.Int64Counter
	queueDepth metric.Int64Gauge
	stage      metric.Float64Histogram

	mu   sync.RWMutex
	sets map[setKey]metric.MeasurementOption // cached attribute sets
}

// setKey names one cached attribute set: the label values of one metric.
type setKey struct {
	kind uint8 // setCut, setRequest, setError, setStage
	a, b string
}

const (
	setCut uint8 = iota
	setRequest
	setError
	setStage
)

// maxCachedSets bounds the cache (label values come from the workers'
// configuration, but a bug must not grow it without limit).
const maxCachedSets = 4096

// attrs returns the attribute set for k, built once.
func (m *Metrics) attrs(k setKey) metric.MeasurementOption {
	m.mu.RLock()
	o, ok := m.sets[k]
	m.mu.RUnlock()
	if ok {
		return o
	}
	var set attribute.Set
	switch k.kind {
	case setCut:
		set = attribute.NewSet(attribute.String(AttrCutID, k.a))
	case setRequest:
		set = attribute.NewSet(attribute.String(AttrCutID, k.a), attribute.String(AttrOutcome, k.b))
	case setError:
		set = attribute.NewSet(attribute.String(AttrErrorCode, k.a))
	default:
		set = attribute.NewSet(attribute.String(AttrStage, k.a))
	}
	o = metric.WithAttributeSet(set)
	m.mu.Lock()
	if len(m.sets) < maxCachedSets {
		m.sets[k] = o
	}
	m.mu.Unlock()
	return o
}

// NewMetrics creates the instruments on mp (scope ScopeName).
func NewMetrics(mp metric.MeterProvider) (*Metrics, error) {
	_, noop := mp.(metricnoop.MeterProvider)
	m := &Metrics{enabled: !noop, sets: map[setKey]metric.MeasurementOption{}}
	meter := mp.Meter(ScopeName)
	var err error
	if m.latency, err = meter.Float64Histogram(MetricLatency,
		metric.WithUnit("s"),
		metric.WithDescription("End-to-end request latency, by cut and outcome."),
		metric.WithExplicitBucketBoundaries(LatencyBuckets...)); err != nil {
		return nil, fmt.Errorf("trace: metric %s: %w", MetricLatency, err)
	}
	if m.wireBytes, err = meter.Int64Histogram(MetricWireBytes,
		metric.WithUnit("By"),
		metric.WithDescription("Bytes of the activation message sent over NATS, by cut."),
		metric.WithExplicitBucketBoundaries(BytesBuckets...)); err != nil {
		return nil, fmt.Errorf("trace: metric %s: %w", MetricWireBytes, err)
	}
	if m.requests, err = meter.Int64Counter(MetricRequests,
		metric.WithUnit("{request}"),
		metric.WithDescription("Requests handled, by cut and outcome.")); err != nil {
		return nil, fmt.Errorf("trace: metric %s: %w", MetricRequests, err)
	}
	if m.errors, err = meter.Int64Counter(MetricErrors,
		metric.WithUnit("{error}"),
		metric.WithDescription("Failed requests, by error code.")); err != nil {
		return nil, fmt.Errorf("trace: metric %s: %w", MetricErrors, err)
	}
	if m.queueDepth, err = meter.Int64Gauge(MetricQueueDepth,
		metric.WithUnit("{request}"),
		metric.WithDescription("Requests waiting in the cloud worker's bounded queue.")); err != nil {
		return nil, fmt.Errorf("trace: metric %s: %w", MetricQueueDepth, err)
	}
	if m.stage, err = meter.Float64Histogram(MetricStage,
		metric.WithUnit("s"),
		metric.WithDescription("Time per pipeline stage, by stage."),
		metric.WithExplicitBucketBoundaries(LatencyBuckets...)); err != nil {
		return nil, fmt.Errorf("trace: metric %s: %w", MetricStage, err)
	}
	return m, nil
}

// Enabled reports whether the instruments record anything.
func (m *Metrics) Enabled() bool { return m != nil && m.enabled }

// Request records one finished request: its latency and a count, by cut and
// outcome (OutcomeOK, OutcomeError, OutcomeFallback).
func (m *Metrics) Request(ctx context.Context, cut, outcome string, d time.Duration) {
	if !m.Enabled() {
		return
	}
	set := m.attrs(setKey{kind: setRequest, a: cut, b: outcome})
	m.latency.Record(ctx, d.Seconds(), set)
	m.requests.Add(ctx, 1, set)
}

// WireBytes records the size of one activation message sent at cut.
func (m *Metrics) WireBytes(ctx context.Context, cut string, n int) {
	if !m.Enabled() {
		return
	}
	m.wireBytes.Record(ctx, int64(n), m.attrs(setKey{kind: setCut, a: cut}))
}

// Error counts one failed request with its error code.
func (m *Metrics) Error(ctx context.Context, code int) {
	if !m.Enabled() {
		return
	}
	m.errors.Add(ctx, 1, m.attrs(setKey{kind: setError, a: strconv.Itoa(code)}))
}

// Stage records the time spent in one stage (Stage* values).
func (m *Metrics) Stage(ctx context.Context, stage string, d time.Duration) {
	if !m.Enabled() {
		return
	}
	m.stage.Record(ctx, d.Seconds(), m.attrs(setKey{kind: setStage, a: stage}))
}

// QueueDepth records the current depth of the cloud worker's queue.
func (m *Metrics) QueueDepth(ctx context.Context, n int) {
	if !m.Enabled() {
		return
	}
	m.queueDepth.Record(ctx, int64(n))
}

// observed holds the (meter provider, connection) pairs ObserveNATS
// reports, so that workers sharing a connection (the adaptive edge's, one
// per cut) report it once.
var observed sync.Map // natsKey -> struct{}

type natsKey struct {
	mp metric.MeterProvider
	nc *nats.Conn
}

// ObserveNATS reports nc's state on mp (callbacks read nc.Status and
// nc.Stats at each collection): MetricNATSConnected (1 while connected),
// MetricNATSReconnects, and messages and bytes in and out
// (MetricNATSMessages, MetricNATSBytes by direction). A pair already
// reported is not reported twice. It returns a function that stops the
// reporting.
func ObserveNATS(mp metric.MeterProvider, nc *nats.Conn) (stop func() error, err error) {
	if _, noop := mp.(metricnoop.MeterProvider); noop || nc == nil {
		return func() error { return nil }, nil
	}
	key := natsKey{mp, nc}
	if _, dup := observed.LoadOrStore(key, struct{}{}); dup {
		return func() error { return nil }, nil
	}
	meter := mp.Meter(ScopeName)
	connected, err1 := meter.Int64ObservableGauge(MetricNATSConnected, metric.WithUnit("{connection}"),
		metric.WithDescription("1 while the NATS connection is connected, 0 while it is reconnecting or closed."))
	reconnects, err2 := meter.Int64ObservableCounter(MetricNATSReconnects, metric.WithUnit("{reconnect}"),
		metric.WithDescription("Reconnections of the NATS connection."))
	msgs, err3 := meter.Int64ObservableCounter(MetricNATSMessages, metric.WithUnit("{message}"),
		metric.WithDescription("NATS messages, by direction (in, out)."))
	bytes, err4 := meter.Int64ObservableCounter(MetricNATSBytes, metric.WithUnit("By"),
		metric.WithDescription("NATS payload bytes, by direction (in, out)."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		observed.Delete(key)
		return nil, fmt.Errorf("trace: NATS metrics: %w", err)
	}
	in := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrDirection, "in")))
	out := metric.WithAttributeSet(attribute.NewSet(attribute.String(AttrDirection, "out")))
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		up := int64(0)
		if nc.Status() == nats.CONNECTED {
			up = 1
		}
		st := nc.Stats()
		o.ObserveInt64(connected, up)
		o.ObserveInt64(reconnects, int64(st.Reconnects))
		o.ObserveInt64(msgs, int64(st.InMsgs), in)
		o.ObserveInt64(msgs, int64(st.OutMsgs), out)
		o.ObserveInt64(bytes, int64(st.InBytes), in)
		o.ObserveInt64(bytes, int64(st.OutBytes), out)
		return nil
	}, connected, reconnects, msgs, bytes)
	if err != nil {
		observed.Delete(key)
		return nil, fmt.Errorf("trace: NATS metrics: %w", err)
	}
	return func() error { observed.Delete(key); return reg.Unregister() }, nil
}
