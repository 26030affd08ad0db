package trace

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	grpcgzip "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// exportTimeout is the default bound of one export, retries included
// (otel-go's OTLP default; OTEL_EXPORTER_OTLP_TIMEOUT, WithExportTimeout).
const exportTimeout = 10 * time.Second

// Retry backoff: exponential from retryInitial by retryMultiplier up to
// retryMax, each delay randomised by ±retryJitter (otel-go's backoff shape;
// its 5s initial interval is longer than most export timeouts here).
const (
	retryInitial    = 100 * time.Millisecond
	retryMax        = 5 * time.Second
	retryMultiplier = 1.5
	retryJitter     = 0.5
)

// exportMethod is the gRPC method of the OTLP trace service.
const exportMethod = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"

// errShutdown is returned by exports after Shutdown.
var errShutdown = errors.New("trace: exporter is shut down")

// otlpExporter sends spans encoded by appendTraces over OTLP/HTTP (protobuf)
// or OTLP/gRPC, optionally gzipped. Retryable failures (as otel-go's
// exporters: HTTP 429, 502, 503, 504 and temporary transport errors; gRPC
// Canceled, DeadlineExceeded, Aborted, OutOfRange, Unavailable, DataLoss,
// and ResourceExhausted with RetryInfo) are retried with backoff within
// the export timeout, honouring Retry-After and RetryInfo; a final failure
// is reported to the caller (the batch processor hands it to otel's error
// handler).
type otlpExporter struct {
	protocol string
	url      string // HTTP: the traces URL
	headers  map[string]string
	client   *http.Client
	conn     *grpc.ClientConn
	md       metadata.MD
	callOpts []grpc.CallOption // built once: no allocation per export
	gzip     bool
	timeout  time.Duration
	retry    bool

	bufs sync.Pool // *[]byte
	gzs  sync.Pool // *gzipBuf

	stop chan struct{} // closed by Shutdown: ends retries

	mu      sync.Mutex
	stopped bool
}

// gzipBuf is a pooled gzip writer with its output buffer.
type gzipBuf struct {
	zw  *gzip.Writer
	out bytes.Buffer
}

func newFastExporter(s *settings) (*otlpExporter, error) {
	e := &otlpExporter{protocol: s.protocol, url: s.endpoint, headers: s.headers, gzip: s.gzip, timeout: s.timeout, retry: s.retry, stop: make(chan struct{})}
	if e.timeout <= 0 {
		e.timeout = exportTimeout
	}
	var tlsCfg *tls.Config
	if s.tlsConfig != nil {
		tlsCfg = s.tlsConfig.Clone()
	}
	if tlsCfg == nil {
		tlsCfg = &tls.Config{}
	}
	if tlsCfg.MinVersion == 0 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}
	if s.protocol == ProtocolHTTPProtobuf {
		// An own transport: Shutdown closes only its connections, and the
		// TLS config stays ours. The context bounds each export.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsCfg
		e.client = &http.Client{Transport: tr}
		return e, nil
	}
	u, err := url.Parse(s.endpoint)
	if err != nil {
		return nil, fmt.Errorf("%w: OTLP endpoint %q: %v", ErrConfig, s.endpoint, err)
	}
	creds := insecure.NewCredentials()
	if u.Scheme == "https" {
		creds = credentials.NewTLS(tlsCfg)
	}
	conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("trace: OTLP/gRPC client: %w", err)
	}
	e.conn = conn
	e.callOpts = []grpc.CallOption{grpc.ForceCodec(rawCodec{})}
	if e.gzip {
		e.callOpts = append(e.callOpts, grpc.UseCompressor(grpcgzip.Name))
	}
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
		return errShutdown
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
	return e.send(ctx, body, len(spans))
}

// send sends an encoded request, compressing it first for HTTP (gRPC
// compresses in its transport), and retries retryable failures.
func (e *otlpExporter) send(ctx context.Context, body []byte, n int) error {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	if e.conn != nil && e.md != nil {
		ctx = metadata.NewOutgoingContext(ctx, e.md)
	}
	if e.gzip && e.conn == nil {
		gb, _ := e.gzs.Get().(*gzipBuf)
		if gb == nil {
			gb = &gzipBuf{zw: gzip.NewWriter(io.Discard)}
		}
		defer e.gzs.Put(gb)
		gb.out.Reset()
		gb.zw.Reset(&gb.out)
		if _, err := gb.zw.Write(body); err != nil {
			return fmt.Errorf("trace: OTLP/HTTP gzip: %w", err)
		}
		if err := gb.zw.Close(); err != nil {
			return fmt.Errorf("trace: OTLP/HTTP gzip: %w", err)
		}
		body = gb.out.Bytes()
	}
	var interval time.Duration
	for attempt := 1; ; attempt++ {
		var (
			err       error
			retryable bool
			throttle  time.Duration
		)
		if e.conn != nil {
			retryable, throttle, err = e.sendGRPC(ctx, body, n)
		} else {
			retryable, throttle, err = e.sendHTTP(ctx, body, n)
		}
		if err == nil || !e.retry || !retryable {
			return err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (after %d attempts: %w)", err, attempt, context.Cause(ctx))
		}
		var delay time.Duration
		delay, interval = backoff(interval)
		delay = max(delay, throttle)
		if d, ok := ctx.Deadline(); ok && time.Until(d) < delay {
			return fmt.Errorf("%w (after %d attempts; the next, in %v, would pass the export deadline)", err, attempt, delay.Round(time.Millisecond))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (after %d attempts: %w)", err, attempt, context.Cause(ctx))
		case <-e.stop:
			// A closed gRPC connection fails with Canceled, which is
			// retryable: without this a flush cut short by Shutdown would
			// retry until its timeout.
			t.Stop()
			return fmt.Errorf("%w (after %d attempts: %w)", err, attempt, errShutdown)
		case <-t.C:
		}
	}
}

// backoff returns the delay for the un-jittered interval (0: the first
// retry), randomised by ±retryJitter, and the next interval.
func backoff(interval time.Duration) (delay, next time.Duration) {
	if interval <= 0 {
		interval = retryInitial
	}
	delay = time.Duration(float64(interval) * (1 - retryJitter + 2*retryJitter*rand.Float64()))
	return delay, min(time.Duration(float64(interval)*retryMultiplier), retryMax)
}

// sendGRPC makes one gRPC export call.
func (e *otlpExporter) sendGRPC(ctx context.Context, body []byte, n int) (retryable bool, throttle time.Duration, err error) {
	var reply rawMessage
	err = e.conn.Invoke(ctx, exportMethod, &rawMessage{b: body}, &reply, e.callOpts...)
	if err == nil {
		return false, 0, nil
	}
	retryable, throttle = retryableGRPC(status.Convert(err))
	return retryable, throttle, fmt.Errorf("trace: OTLP/gRPC export of %d spans: %w", n, err)
}

// retryableGRPC is otel-go's otlptracegrpc rule: these codes are
// retryable, ResourceExhausted only when the server sends RetryInfo (whose
// delay is then honoured).
func retryableGRPC(s *status.Status) (bool, time.Duration) {
	switch s.Code() {
	case codes.Canceled, codes.DeadlineExceeded, codes.Aborted, codes.OutOfRange, codes.Unavailable, codes.DataLoss:
		_, d := retryInfo(s)
		return true, d
	case codes.ResourceExhausted:
		return retryInfo(s)
	}
	return false, 0
}

func retryInfo(s *status.Status) (bool, time.Duration) {
	for _, d := range s.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok {
			return true, ri.GetRetryDelay().AsDuration()
		}
	}
	return false, 0
}

// sendHTTP makes one HTTP export request.
func (e *otlpExporter) sendHTTP(ctx context.Context, body []byte, n int) (retryable bool, throttle time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return false, 0, fmt.Errorf("trace: OTLP/HTTP export: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	if e.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	for k, v := range e.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		// As otel-go: only temporary transport errors are retried.
		var uerr *url.Error
		return errors.As(err, &uerr) && uerr.Temporary(), 0, fmt.Errorf("trace: OTLP/HTTP export of %d spans: %w", n, err)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // keep the connection reusable
	resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		return false, 0, nil
	}
	err = fmt.Errorf("trace: OTLP/HTTP export of %d spans: %s: %q", n, resp.Status, msg)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true, retryAfter(resp.Header.Get("Retry-After")), err
	}
	return false, 0, err
}

// retryAfter parses a Retry-After value (seconds or an HTTP date); 0 if
// absent or invalid.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil && secs >= 0 {
		if secs > int64(time.Duration(1<<63-1)/time.Second) {
			return time.Duration(1<<63 - 1)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Shutdown closes the connections; later exports fail.
func (e *otlpExporter) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil
	}
	e.stopped = true
	close(e.stop)
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
