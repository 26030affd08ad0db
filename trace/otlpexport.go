package trace

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// exportTimeout bounds one export call (otel-go's OTLP default).
const exportTimeout = 10 * time.Second

// exportMethod is the gRPC method of the OTLP trace service.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// otlpExporter sends spans encoded by appendTraces over OTLP/HTTP (protobuf)
// or OTLP/gRPC. A failed export is reported to the batch processor (which
// hands it to otel's error handler) and not retried.
type otlpExporter struct {
	protocol string
	url      string // HTTP: the traces URL
	headers  map[string]string
	client   *http.Client
	conn     *grpc.ClientConn
	md       metadata.MD

	bufs sync.Pool // *[]byte

	mu      sync.Mutex
	stopped bool
}

func newFastExporter(s *settings) (*otlpExporter, error) {
	e := &otlpExporter{protocol: s.protocol, url: s.endpoint, headers: s.headers}
	if s.protocol == ProtocolHTTPProtobuf {
		e.client = &http.Client{Timeout: exportTimeout}
		return e, nil
	}
	u, err := url.Parse(s.endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: OTLP endpoint %q: %v", ErrConfig, s.endpoint, err)
	}
	creds := insecure.NewCredentials()
	if u.Scheme == "https" {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("trace: OTLP/gRPC client: %w", err)
	}
	e.conn = conn
	if len(s.headers) > 0 {
		e.md = metadata.New(s.headers)
	}
	return e, nil
}

// ExportSpans encodes spans and sends them in one request.
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	return exportViews(ctx, e, spans)
}

// exportViews is ExportSpans for any span representation.
func exportViews[S spanView](ctx context.Context, e *otlpExporter, spans []S) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	stopped := e.stopped
	e.mu.Unlock()
	if stopped {
		return errors.New("trace: exporter is shut down")
	}
	bp, _ := e.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	body := appendTraces((*bp)[:0], spans)
	defer func() {
		*bp = body
		e.bufs.Put(bp)
	}()
	ctx, cancel := context.WithTimeout(ctx, exportTimeout)
	defer cancel()
	if e.conn != nil {
		if e.md != nil {
			ctx = metadata.NewOutgoingContext(ctx, e.md)
		}
		var reply rawMessage
		if err := e.conn.Invoke(ctx, exportMethod, &rawMessage{b: body}, &reply, grpc.ForceCodec(rawCodec{})); err != nil {
			return fmt.Errorf("trace: OTLP/gRPC export of %d spans: %w", len(spans), err)
		}
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("trace: OTLP/HTTP export: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("trace: OTLP/HTTP export of %d spans: %w", len(spans), err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // keep the connection reusable
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("trace: OTLP/HTTP export of %d spans: %s: %q", len(spans), resp.Status, msg)
	}
	return nil
}

// Shutdown closes the connections; later exports fail.
func (e *otlpExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	e.mu.Unlock()
	if e.conn != nil {
		return e.conn.Close()
	}
	e.client.CloseIdleConnections()
	return ctx.Err()
}

// rawMessage is an encoded protobuf message passed through rawCodec.
type rawMessage struct{ b []byte }

// rawCodec sends rawMessage bytes as they are, and keeps the reply's bytes
// (an ExportTraceServiceResponse, not interpreted).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("trace: raw codec cannot marshal %T", v)
	}
	return m.b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("trace: raw codec cannot unmarshal into %T", v)
	}
	m.b = append(m.b[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }
