package trace

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOffIsNoop(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]Option{
		"default":  nil,
		"disabled": {WithEndpoint("http://127.0.0.1:1"), WithMetricsAddr("127.0.0.1:0"), WithDisabled(true)},
	} {
		t.Run(name, func(t *testing.T) {
			p, err := New(ctx, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if p.Tracing() || p.MetricsHandler() != nil || p.MetricsAddr() != "" || p.Metrics().Enabled() {
				t.Errorf("off provider: tracing=%v handler=%v addr=%q metrics=%v", p.Tracing(), p.MetricsHandler(), p.MetricsAddr(), p.Metrics().Enabled())
			}
			_, span := p.Tracer().Start(ctx, SpanEdgeRequest)
			if span.IsRecording() || span.SpanContext().IsValid() {
				t.Errorf("off provider span: recording=%v valid=%v", span.IsRecording(), span.SpanContext().IsValid())
			}
			span.End()
			p.Metrics().Request(ctx, "1", OutcomeOK, time.Millisecond) // must not panic
			if err := p.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSpansAndResource(t *testing.T) {
	ctx := context.Background()
	exp := tracetest.NewInMemoryExporter()
	p, err := New(ctx, WithSpanExporter(exp), WithServiceName(ServiceCloud), WithHostName("host-a"),
		WithWorkerID("cloud-1"), WithModelHash("abc123"), WithServiceVersion("v0.1"),
		WithResourceAttributes(attribute.String("deployment.environment.name", "test")))
	if err != nil {
		t.Fatal(err)
	}
	if !p.Tracing() {
		t.Fatal("tracing off with a span exporter")
	}
	_, span := p.Tracer().Start(ctx, SpanCloudCompute)
	span.SetAttributes(attribute.String(AttrCutID, "3"))
	span.End()
	// InMemoryExporter forgets its spans on Shutdown: flush, read, then shut down.
	if err := p.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != SpanCloudCompute || spans[0].InstrumentationScope.Name != ScopeName {
		t.Fatalf("exported %d spans: %+v", len(spans), spans)
	}
	got := map[string]string{}
	for _, kv := range spans[0].Resource.Attributes() {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	want := map[string]string{
		"service.name": ServiceCloud, "service.version": "v0.1", "host.name": "host-a",
		"service.instance.id": "cloud-1", AttrWorkerID: "cloud-1", AttrModelHash: "abc123",
		"deployment.environment.name": "test", "telemetry.sdk.language": "go",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("resource %s = %q, want %q", k, got[k], v)
		}
	}
	if u := spans[0].Resource.SchemaURL(); u != "https://opentelemetry.io/schemas/1.43.0" {
		t.Errorf("schema URL %q", u)
	}
}

// blockingExporter blocks each export until its context ends or release
// is closed.
type blockingExporter struct{ release chan struct{} }

func (b *blockingExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-b.release:
		return nil
	}
}
func (b *blockingExporter) Shutdown(context.Context) error { return nil }

func TestShutdownIdempotentAndDeadline(t *testing.T) {
	exp := &blockingExporter{release: make(chan struct{})}
	defer close(exp.release)
	p, err := New(context.Background(), WithSpanExporter(exp), WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer().Start(context.Background(), SpanEdgeRequest)
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a blocked exporter: err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v past a 100ms deadline", d)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	if _, err := http.Get("http://" + p.MetricsAddr() + "/metrics"); err == nil {
		t.Error("metrics server still serving after Shutdown")
	}
}

func TestMetricsAddrBusy(t *testing.T) {
	p, err := New(context.Background(), WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	if _, err := New(context.Background(), WithMetricsAddr(p.MetricsAddr())); err == nil {
		t.Error("second provider on a busy metrics address: no error")
	}
}

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("scrape: status %d, err %v", resp.StatusCode, err)
	}
	return string(body)
}

// TestPrometheusScrape runs two providers (edge and cloud, as in the
// all-in-one run) each with its own endpoint, records, and scrapes both.
func TestPrometheusScrape(t *testing.T) {
	ctx := context.Background()
	edge, err := New(ctx, WithServiceName(ServiceEdge), WithWorkerID("edge-1"), WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer edge.Shutdown(ctx)
	cloud, err := New(ctx, WithServiceName(ServiceCloud), WithWorkerID("cloud-1"), WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer cloud.Shutdown(ctx)

	em := edge.Metrics()
	em.Request(ctx, "3", OutcomeOK, 1500*time.Microsecond)
	em.Request(ctx, "3", OutcomeOK, 3*time.Millisecond)
	em.Request(ctx, "5", OutcomeError, 20*time.Millisecond)
	em.WireBytes(ctx, "3", 2048)
	em.Error(ctx, 503)
	em.Stage(ctx, StageEncode, 200*time.Microsecond)
	cloud.Metrics().QueueDepth(ctx, 7)

	body := scrape(t, edge.MetricsAddr())
	for _, want := range []string{
		`splitinfer_requests_total{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_cut_id="3",splitinfer_outcome="ok"} 2`,
		`splitinfer_requests_total{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_cut_id="5",splitinfer_outcome="error"} 1`,
		`splitinfer_request_duration_seconds_bucket{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_cut_id="3",splitinfer_outcome="ok",le="0.0025"} 1`,
		`splitinfer_request_duration_seconds_bucket{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_cut_id="3",splitinfer_outcome="ok",le="0.005"} 2`,
		`splitinfer_request_duration_seconds_sum{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_cut_id="3",splitinfer_outcome="ok"} 0.0045`,
		`splitinfer_wire_bytes_bucket{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_cut_id="3",le="4096"} 1`,
		`splitinfer_errors_total{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_error_code="503"} 1`,
		`splitinfer_stage_duration_seconds_count{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version="",splitinfer_stage="encode"} 1`,
		`service_name="splitinfer-edge"`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("edge scrape lacks %s", want)
		}
	}
	if strings.Contains(body, "splitinfer_queue_depth") {
		t.Error("edge scrape has the cloud's queue depth")
	}
	cbody := scrape(t, cloud.MetricsAddr())
	for _, want := range []string{`splitinfer_queue_depth{otel_scope_name="github.com/splitinfer/splitinfer",otel_scope_schema_url="",otel_scope_version=""} 7`, `service_name="splitinfer-cloud"`} {
		if !strings.Contains(cbody, want) {
			t.Errorf("cloud scrape lacks %s\n%s", want, cbody)
		}
	}
	if strings.Contains(cbody, "splitinfer_requests_total") {
		t.Error("cloud scrape has the edge's requests")
	}
}

func TestMetricReader(t *testing.T) {
	ctx := context.Background()
	r := sdkmetric.NewManualReader()
	p, err := New(ctx, WithMetricReader(r))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	p.Metrics().WireBytes(ctx, "2", 100)
	p.Metrics().WireBytes(ctx, "2", 300)
	var rm metricdata.ResourceMetrics
	if err := r.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != MetricWireBytes {
				continue
			}
			h := m.Data.(metricdata.Histogram[int64])
			if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 2 || h.DataPoints[0].Sum != 400 {
				t.Fatalf("wire bytes points: %+v", h.DataPoints)
			}
			if v, _ := h.DataPoints[0].Attributes.Value(AttrCutID); v.AsString() != "2" {
				t.Fatalf("cut attribute %v", v)
			}
			return
		}
	}
	t.Fatalf("no %s in %+v", MetricWireBytes, rm)
}

func TestPropagationAcrossProviders(t *testing.T) {
	ctx := context.Background()
	edgeExp, cloudExp := tracetest.NewInMemoryExporter(), tracetest.NewInMemoryExporter()
	edge, err := New(ctx, WithServiceName(ServiceEdge), WithSpanExporter(edgeExp))
	if err != nil {
		t.Fatal(err)
	}
	cloud, err := New(ctx, WithServiceName(ServiceCloud), WithSpanExporter(cloudExp))
	if err != nil {
		t.Fatal(err)
	}
	rctx, root := edge.Tracer().Start(ctx, SpanEdgeRequest)
	sctx, send := edge.Tracer().Start(rctx, SpanNATSRequest, oteltrace.WithSpanKind(SendSpanKind))
	h := map[string][]string{}
	Inject(sctx, h)
	cctx := Extract(ctx, map[string][]string{"Traceparent": h["traceparent"]})
	_, proc := cloud.Tracer().Start(cctx, SpanCloudProcess, oteltrace.WithSpanKind(ProcessSpanKind))
	proc.End()
	send.End()
	root.End()
	if err := errors.Join(edge.ForceFlush(ctx), cloud.ForceFlush(ctx)); err != nil {
		t.Fatal(err)
	}
	defer edge.Shutdown(ctx)
	defer cloud.Shutdown(ctx)
	cs := cloudExp.GetSpans()
	if len(cs) != 1 {
		t.Fatalf("cloud spans: %d", len(cs))
	}
	if cs[0].Parent.SpanID() != send.SpanContext().SpanID() || cs[0].SpanContext.TraceID() != root.SpanContext().TraceID() || !cs[0].Parent.IsRemote() {
		t.Errorf("cloud span parent %v, want remote %v", cs[0].Parent, send.SpanContext())
	}
	if len(edgeExp.GetSpans()) != 2 {
		t.Errorf("edge spans: %d", len(edgeExp.GetSpans()))
	}
}

// TestObserveNATS reads the connection's state and counters through a
// manual reader: connected while open, messages and bytes out, 0 once
// closed.
func TestObserveNATS(t *testing.T) {
	nc, err := nats.Connect(startNATS(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	stop, err := ObserveNATS(mp, nc)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for range 3 {
		if err := nc.Publish("x", make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	collect := func() map[string]int64 {
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				var dps []metricdata.DataPoint[int64]
				switch d := m.Data.(type) {
				case metricdata.Gauge[int64]:
					dps = d.DataPoints
				case metricdata.Sum[int64]:
					dps = d.DataPoints
				}
				for _, dp := range dps {
					dir, _ := dp.Attributes.Value(AttrDirection)
					got[m.Name+"/"+dir.AsString()] = dp.Value
				}
			}
		}
		return got
	}
	got := collect()
	if got[MetricNATSConnected+"/"] != 1 || got[MetricNATSMessages+"/out"] != 3 || got[MetricNATSBytes+"/out"] != 300 || got[MetricNATSReconnects+"/"] != 0 {
		t.Errorf("open connection: %v", got)
	}
	nc.Close()
	if got := collect(); got[MetricNATSConnected+"/"] != 0 {
		t.Errorf("closed connection: connected = %d", got[MetricNATSConnected+"/"])
	}
}

// TestHealthEndpoints: /healthz answers while serving, /readyz follows
// SetReadiness (503 until set, then the check's verdict).
func TestHealthEndpoints(t *testing.T) {
	ctx := context.Background()
	p, err := New(ctx, WithMetricsAddr("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + p.MetricsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "starting") {
		t.Errorf("/readyz before SetReadiness: %d %q", code, body)
	}
	var up atomic.Bool
	p.SetReadiness(func() error {
		if !up.Load() {
			return errors.New("nats disconnected")
		}
		return nil
	})
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "nats disconnected") {
		t.Errorf("/readyz not ready: %d %q", code, body)
	}
	up.Store(true)
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz ready: %d", code)
	}
}
