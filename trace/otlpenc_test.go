package trace

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	oteltrace "go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// testSpans are spans covering what the encoder handles: every attribute
// type, events, links, status codes, kinds, remote parents, trace state,
// two resources and two scopes, long strings (multi-byte lengths).
func testSpans(t *testing.T) []sdktrace.ReadOnlySpan {
	t.Helper()
	res1 := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.43.0", attribute.String("service.name", "splitinfer-edge"))
	res2 := resource.NewSchemaless(attribute.String("service.name", "splitinfer-cloud"), attribute.Int("n", 3))
	tid := oteltrace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ts, err := oteltrace.ParseTraceState("a=1,b=2")
	if err != nil {
		t.Fatal(err)
	}
	remote := oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: oteltrace.SpanID{9, 9}, TraceFlags: oteltrace.FlagsSampled, Remote: true})
	long := string(make([]byte, 300))
	t0 := time.Unix(1700000000, 123456789)
	attrs := []attribute.KeyValue{
		attribute.Bool("b", true), attribute.Bool("f", false), attribute.Int64("i", -42), attribute.Int("z", 0),
		attribute.Float64("d", 3.25), attribute.String("s", "x"), attribute.String("empty", ""), attribute.String("long", long),
		attribute.BoolSlice("bs", []bool{true, false}), attribute.Int64Slice("is", []int64{1, -2}),
		attribute.Float64Slice("ds", []float64{0.5}), attribute.StringSlice("ss", []string{"p", ""}),
		{Key: "none"},
	}
	stubs := tracetest.SpanStubs{
		{
			Name:        "root",
			SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: oteltrace.SpanID{1}, TraceFlags: oteltrace.FlagsSampled, TraceState: ts}),
			SpanKind:    oteltrace.SpanKindClient, StartTime: t0, EndTime: t0.Add(time.Millisecond),
			Attributes: attrs, Resource: res1,
			InstrumentationScope: instrumentation.Scope{Name: ScopeName, Version: "1.0", SchemaURL: "https://x/s"},
			Events:               []sdktrace.Event{{Name: "exception", Time: t0.Add(time.Microsecond), Attributes: []attribute.KeyValue{attribute.String("exception.message", "boom")}, DroppedAttributeCount: 2}},
			Status:               sdktrace.Status{Code: codes.Error, Description: "failed"}, DroppedAttributes: 1, DroppedEvents: 3, DroppedLinks: 4,
		},
		{
			Name:        "child",
			SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: oteltrace.SpanID{2}, TraceFlags: oteltrace.FlagsSampled}),
			Parent:      remote, SpanKind: oteltrace.SpanKindServer, StartTime: t0, EndTime: t0.Add(2 * time.Millisecond),
			Resource: res2, InstrumentationScope: instrumentation.Scope{Name: ScopeName},
			Links:  []sdktrace.Link{{SpanContext: remote, Attributes: []attribute.KeyValue{attribute.Int("k", 1)}, DroppedAttributeCount: 1}},
			Status: sdktrace.Status{Code: codes.Ok},
		},
		{
			Name:        "other-scope",
			SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: oteltrace.SpanID{3}}),
			Parent:      oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: oteltrace.SpanID{1}}),
			SpanKind:    oteltrace.SpanKindInternal, StartTime: t0, EndTime: t0,
			Resource: res1, InstrumentationScope: instrumentation.Scope{Name: "other"},
		},
		{
			Name:        "root-again",
			SpanContext: oteltrace.NewSpanContext(oteltrace.SpanContextConfig{TraceID: tid, SpanID: oteltrace.SpanID{4}}),
			SpanKind:    oteltrace.SpanKindProducer, StartTime: t0, EndTime: t0.Add(time.Second),
			Resource: res1, InstrumentationScope: instrumentation.Scope{Name: ScopeName, Version: "1.0", SchemaURL: "https://x/s"},
		},
	}
	return stubs.Snapshots()
}

// TestAppendTracesMatchesOTelExporter checks that the encoder's request
// decodes to the same message otel-go's OTLP/HTTP exporter sends for the
// same spans.
func TestAppendTracesMatchesOTelExporter(t *testing.T) {
	spans := testSpans(t)
	var (
		mu   sync.Mutex
		got  [][]byte
		code = http.StatusOK
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		c := code
		mu.Unlock()
		w.WriteHeader(c)
	}))
	defer srv.Close()
	ctx := context.Background()
	ref, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ref.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	ref.Shutdown(ctx)
	fast, err := newFastExporter(&settings{protocol: ProtocolHTTPProtobuf, endpoint: srv.URL + "/v1/traces", headers: map[string]string{"X-Test": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fast.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 2 {
		t.Fatalf("server got %d requests, want 2", len(got))
	}
	want, have := &coltracepb.ExportTraceServiceRequest{}, &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(got[0], want); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(got[1], have); err != nil {
		t.Fatalf("our request does not decode: %v", err)
	}
	mu.Unlock()
	// otel-go groups resources and scopes through maps: their order in its
	// request varies from run to run; ours follows first appearance.
	normalizeOrder(want)
	normalizeOrder(have)
	if !proto.Equal(want, have) {
		t.Errorf("encoded request differs from otel-go's:\n got %v\nwant %v", have, want)
	}
	if n := len(have.ResourceSpans); n != 2 {
		t.Errorf("%d resource spans, want 2", n)
	}
	// A non-2xx answer is an error.
	mu.Lock()
	code = http.StatusBadRequest
	mu.Unlock()
	if err := fast.ExportSpans(ctx, spans); err == nil {
		t.Error("export answered 400 returned no error")
	}
	if err := fast.Shutdown(ctx); err != nil {
		t.Error(err)
	}
	if err := fast.Shutdown(ctx); err != nil {
		t.Error("second Shutdown:", err)
	}
	if err := fast.ExportSpans(ctx, spans); err == nil {
		t.Error("export after Shutdown returned no error")
	}
}

// traceService is an OTLP gRPC trace service keeping what it receives.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*coltracepb.ExportTraceServiceRequest
}

func (s *traceService) Export(_ context.Context, r *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// TestFastExporterGRPC exports over gRPC to an OTLP trace service and
// checks what arrives.
func TestFastExporterGRPC(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	svc := &traceService{}
	coltracepb.RegisterTraceServiceServer(gs, svc)
	go gs.Serve(ln)
	defer gs.Stop()
	ctx := context.Background()
	spans := testSpans(t)
	e, err := newFastExporter(&settings{protocol: ProtocolGRPC, endpoint: "http://" + ln.Addr().String(), headers: map[string]string{"x-test": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := e.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if len(svc.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(svc.reqs))
	}
	want := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(appendTraces(nil, spans), want); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(svc.reqs[0], want) {
		t.Errorf("received %v\nwant %v", svc.reqs[0], want)
	}
	n := 0
	for _, rs := range svc.reqs[0].ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			n += len(ss.Spans)
		}
	}
	if n != len(spans) {
		t.Errorf("%d spans arrived, want %d", n, len(spans))
	}
	// Nobody listening: an error, not a hang.
	gs.Stop()
	e2, err := newFastExporter(&settings{protocol: ProtocolGRPC, endpoint: "http://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Shutdown(ctx)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := e2.ExportSpans(cctx, spans); err == nil {
		t.Error("export to a stopped server returned no error")
	} else if errors.Is(err, context.Canceled) {
		t.Error(err)
	}
}

func BenchmarkAppendTraces(b *testing.B) {
	spans := testSpans(&testing.T{})
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendTraces(buf[:0], spans)
	}
}

// normalizeOrder sorts a request's resource spans by resource and each
// one's scope spans by scope, so that requests differing only in grouping
// order compare equal.
func normalizeOrder(r *coltracepb.ExportTraceServiceRequest) {
	key := func(m proto.Message) string { return prototext.Format(m) }
	sort.SliceStable(r.ResourceSpans, func(i, j int) bool {
		return key(r.ResourceSpans[i].GetResource()) < key(r.ResourceSpans[j].GetResource())
	})
	for _, rs := range r.ResourceSpans {
		sort.SliceStable(rs.ScopeSpans, func(i, j int) bool {
			a, b := rs.ScopeSpans[i], rs.ScopeSpans[j]
			return key(a.GetScope())+a.GetSchemaUrl() < key(b.GetScope())+b.GetSchemaUrl()
		})
	}
}
