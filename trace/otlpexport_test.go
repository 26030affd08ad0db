package trace

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/stats"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// testCert is a self-signed CA that is also the server's and the client's
// certificate (IP SAN 127.0.0.1), written as PEM files.
type testCert struct {
	certFile, keyFile string
	pair              tls.Certificate
	pool              *x509.CertPool
}

func newTestCert(t *testing.T) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "splitinfer test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &testCert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem")}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if err := os.WriteFile(c.certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if c.pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		t.Fatal(err)
	}
	c.pool = x509.NewCertPool()
	c.pool.AppendCertsFromPEM(certPEM)
	return c
}

// resolveOpts resolves options the way New does.
func resolveOpts(opts ...Option) (*settings, error) {
	var c config
	for _, o := range opts {
		o.apply(&c)
	}
	return resolve(&c)
}

// newTestExporter builds the OTLP exporter New would build for opts; it
// is shut down when the test ends.
func newTestExporter(t *testing.T, opts ...Option) *otlpExporter {
	t.Helper()
	s, err := resolveOpts(opts...)
	if err != nil {
		t.Fatal(err)
	}
	e, err := newFastExporter(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Shutdown(context.Background()) })
	return e
}

func TestResolveExportEnv(t *testing.T) {
	cert := newTestCert(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	ownTLS := &tls.Config{ServerName: "own"}
	tests := []struct {
		name     string
		env      map[string]string
		opts     []Option
		gzip     bool
		timeout  time.Duration // 0: exportTimeout
		noRetry  bool
		endpoint string // "" : don't check
		roots    bool   // tlsConfig has RootCAs
		client   bool   // tlsConfig has a client certificate
		tls      *tls.Config
		err      bool
	}{
		{name: "defaults"},
		{name: "gzip", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, gzip: true},
		{name: "gzip upper case", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "GZIP"}, gzip: true},
		{name: "traces compression wins", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "none"}},
		{name: "option beats env compression", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "none"}, opts: []Option{WithCompression(CompressionGzip)}, gzip: true},
		{name: "empty option leaves env", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip"}, opts: []Option{WithCompression("")}, gzip: true},
		{name: "bad compression", env: map[string]string{"OTEL_EXPORTER_OTLP_COMPRESSION": "zstd"}, err: true},
		{name: "bad compression option", opts: []Option{WithCompression("lz4")}, err: true},
		{name: "timeout ms", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "2500"}, timeout: 2500 * time.Millisecond},
		{name: "traces timeout wins", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5000", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "100"}, timeout: 100 * time.Millisecond},
		{name: "option beats env timeout", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "5000"}, opts: []Option{WithExportTimeout(3 * time.Second)}, timeout: 3 * time.Second},
		{name: "timeout not a number", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "10s"}, err: true},
		{name: "timeout fraction", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "1.5"}, err: true},
		{name: "timeout zero", env: map[string]string{"OTEL_EXPORTER_OTLP_TIMEOUT": "0"}, err: true},
		{name: "timeout negative", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "-1"}, err: true},
		{name: "timeout option zero", opts: []Option{WithExportTimeout(0)}, err: true},
		{name: "retry off", opts: []Option{WithRetry(false)}, noRetry: true},
		{name: "retry on", opts: []Option{WithRetry(true)}},
		{name: "insecure false: bare gRPC endpoint is TLS",
			env:      map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "false"},
			endpoint: "https://collector:4317"},
		{name: "insecure true: plaintext",
			env:      map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
			endpoint: "http://collector:4317"},
		{name: "insecure unset: plaintext as before",
			env:      map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317"},
			endpoint: "http://collector:4317"},
		{name: "traces insecure wins",
			env:      map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "false", "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true"},
			endpoint: "http://collector:4317"},
		{name: "insecure does not change a scheme",
			env:      map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_INSECURE": "false"},
			endpoint: "http://collector:4317"},
		{name: "insecure is for gRPC only",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
				"OTEL_EXPORTER_OTLP_INSECURE": "false"},
			endpoint: "http://collector:4318/v1/traces"},
		{name: "insecure not a boolean", env: map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "sometimes"}, err: true},
		{name: "CA file",
			env:   map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile},
			roots: true},
		{name: "client certificate",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317",
				"OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": cert.certFile, "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": cert.keyFile},
			client: true},
		{name: "CA file missing",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile + ".missing"}, err: true},
		{name: "CA file not PEM",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": garbage}, err: true},
		{name: "client certificate without key",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert.certFile}, err: true},
		{name: "client key not a key",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317",
				"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert.certFile, "OTEL_EXPORTER_OTLP_CLIENT_KEY": garbage}, err: true},
		{name: "certificates not read while tracing is off",
			env: map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile + ".missing"}},
		{name: "TLS option beats the certificate variables",
			env:  map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c:4317", "OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile + ".missing"},
			opts: []Option{WithTLSConfig(ownTLS)}, tls: ownTLS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := resolveOpts(append(tt.opts, envMap(tt.env))...)
			if tt.err {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want one wrapping ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.timeout
			if want == 0 {
				want = exportTimeout
			}
			if s.gzip != tt.gzip || s.timeout != want || s.retry == tt.noRetry {
				t.Errorf("gzip %v timeout %v retry %v, want %v %v %v", s.gzip, s.timeout, s.retry, tt.gzip, want, !tt.noRetry)
			}
			if tt.endpoint != "" && s.endpoint != tt.endpoint {
				t.Errorf("endpoint %q, want %q", s.endpoint, tt.endpoint)
			}
			roots := s.tlsConfig != nil && s.tlsConfig.RootCAs != nil
			client := s.tlsConfig != nil && len(s.tlsConfig.Certificates) == 1
			if roots != tt.roots || client != tt.client {
				t.Errorf("TLS roots %v client cert %v, want %v %v", roots, client, tt.roots, tt.client)
			}
			if tt.tls != nil && s.tlsConfig != tt.tls {
				t.Errorf("TLS config %p, want the option's %p", s.tlsConfig, tt.tls)
			}
		})
	}
}

// TestNewBadCertificate checks that New fails on an unreadable CA file.
func TestNewBadCertificate(t *testing.T) {
	_, err := New(context.Background(), envMap(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": "https://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(t.TempDir(), "none.pem")}))
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("New: %v, want an error wrapping ErrConfig", err)
	}
}

// httpReply is one scripted answer of the test OTLP/HTTP server.
type httpReply struct {
	code       int
	retryAfter string
	hang       bool // answer only when the request is cancelled
}

// httpCollector is an OTLP/HTTP endpoint answering from a script (the
// last reply repeats) and keeping the decoded request bodies.
type httpCollector struct {
	mu        sync.Mutex
	script    []httpReply
	bodies    [][]byte
	encodings []string
}

func (c *httpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rd = zr
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.encodings = append(c.encodings, r.Header.Get("Content-Encoding"))
	rep := httpReply{code: http.StatusOK}
	if n := len(c.script); n > 0 {
		rep = c.script[min(len(c.bodies)-1, n-1)]
	}
	c.mu.Unlock()
	if rep.hang {
		<-r.Context().Done()
		return
	}
	if rep.retryAfter != "" {
		w.Header().Set("Retry-After", rep.retryAfter)
	}
	w.WriteHeader(rep.code)
}

func (c *httpCollector) requests() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.bodies)
}

// TestExportHTTPGzip checks that a gzipped export decodes to the bytes of
// an uncompressed one.
func TestExportHTTPGzip(t *testing.T) {
	col := &httpCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	spans := testSpans(t)
	ctx := context.Background()
	for _, comp := range []string{CompressionNone, CompressionGzip} {
		e := newTestExporter(t, WithEnv(noEnvLookup), WithEndpoint(srv.URL), WithProtocol(ProtocolHTTPProtobuf), WithCompression(comp))
		if err := e.ExportSpans(ctx, spans); err != nil {
			t.Fatalf("%s: %v", comp, err)
		}
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.bodies) != 2 {
		t.Fatalf("%d requests, want 2", len(col.bodies))
	}
	if col.encodings[0] != "" || col.encodings[1] != "gzip" {
		t.Errorf("Content-Encoding %q, want \"\" then gzip", col.encodings)
	}
	if !bytes.Equal(col.bodies[0], col.bodies[1]) || len(col.bodies[0]) == 0 {
		t.Errorf("gunzipped body (%d bytes) differs from the uncompressed one (%d bytes)", len(col.bodies[1]), len(col.bodies[0]))
	}
	if want := appendTraces(nil, spans); !bytes.Equal(col.bodies[0], want) {
		t.Error("body differs from appendTraces' encoding")
	}
}

func noEnvLookup(string) (string, bool) { return "", false }

// TestExportHTTPRetry checks which HTTP answers are retried, Retry-After
// and the export timeout.
func TestExportHTTPRetry(t *testing.T) {
	tests := []struct {
		name     string
		script   []httpReply
		opts     []Option
		err      bool
		requests int           // exact; 0: at least 2
		minTime  time.Duration // the export took at least
		maxTime  time.Duration // and at most
	}{
		{name: "503 then 200 is retried", script: []httpReply{{code: 503}, {code: 200}}, requests: 2, maxTime: 2 * time.Second},
		{name: "429, 502, 504 are retried", script: []httpReply{{code: 429}, {code: 502}, {code: 504}, {code: 200}}, requests: 4, maxTime: 3 * time.Second},
		{name: "400 is not retried", script: []httpReply{{code: 400}}, err: true, requests: 1, maxTime: time.Second},
		{name: "500 is not retried", script: []httpReply{{code: 500}}, err: true, requests: 1, maxTime: time.Second},
		{name: "retry off", script: []httpReply{{code: 503}, {code: 200}}, opts: []Option{WithRetry(false)}, err: true, requests: 1, maxTime: time.Second},
		{name: "Retry-After honoured", script: []httpReply{{code: 503, retryAfter: "1"}, {code: 200}}, requests: 2, minTime: time.Second, maxTime: 3 * time.Second},
		{name: "Retry-After past the timeout gives up at once", script: []httpReply{{code: 429, retryAfter: "30"}},
			opts: []Option{WithExportTimeout(2 * time.Second)}, err: true, requests: 1, maxTime: time.Second},
		{name: "retries end with the timeout", script: []httpReply{{code: 503}}, opts: []Option{WithExportTimeout(600 * time.Millisecond)},
			err: true, maxTime: 1500 * time.Millisecond},
		{name: "timeout of a hanging request", script: []httpReply{{hang: true}}, opts: []Option{WithExportTimeout(300 * time.Millisecond)},
			err: true, requests: 1, minTime: 300 * time.Millisecond, maxTime: 2 * time.Second},
	}
	spans := testSpans(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := &httpCollector{script: tt.script}
			srv := httptest.NewServer(col)
			defer srv.Close()
			e := newTestExporter(t, append(tt.opts, WithEnv(noEnvLookup), WithEndpoint(srv.URL), WithProtocol(ProtocolHTTPProtobuf))...)
			t0 := time.Now()
			err := e.ExportSpans(context.Background(), spans)
			took := time.Since(t0)
			if (err != nil) != tt.err {
				t.Errorf("err = %v, want error %v", err, tt.err)
			}
			if n := col.requests(); (tt.requests > 0 && n != tt.requests) || (tt.requests == 0 && n < 2) {
				t.Errorf("%d requests, want %d (0: at least 2)", n, tt.requests)
			}
			if took < tt.minTime || took > tt.maxTime {
				t.Errorf("export took %v, want [%v, %v]", took, tt.minTime, tt.maxTime)
			}
			e.Shutdown(context.Background()) // before srv.Close: no idle connection left
		})
	}
}

// grpcCollector is a raw OTLP/gRPC trace service answering from a script
// of status codes (the last repeats; nil: OK), keeping the received
// requests and their compression.
type grpcCollector struct {
	mu           sync.Mutex
	script       []*status.Status
	reqs         []*coltracepb.ExportTraceServiceRequest
	compressions []string
}

func (c *grpcCollector) handle(_ any, st grpc.ServerStream) error {
	if m, _ := grpc.MethodFromServerStream(st); m != exportMethod {
		return status.Errorf(codes.Unimplemented, "method %s", m)
	}
	var in rawMessage
	if err := st.RecvMsg(&in); err != nil {
		return err
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(in.b, req); err != nil {
		return status.Errorf(codes.InvalidArgument, "decode: %v", err)
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, req)
	var s *status.Status
	if n := len(c.script); n > 0 {
		s = c.script[min(len(c.reqs)-1, n-1)]
	}
	c.mu.Unlock()
	if s != nil {
		return s.Err()
	}
	return st.SendMsg(&rawMessage{})
}

// The stats.Handler methods record the request's compression.
func (c *grpcCollector) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c *grpcCollector) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}
func (c *grpcCollector) HandleConn(context.Context, stats.ConnStats) {}
func (c *grpcCollector) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		c.mu.Lock()
		c.compressions = append(c.compressions, h.Compression)
		c.mu.Unlock()
	}
}

// startGRPCCollector serves c on a loopback port (TLS with creds if not
// nil) and returns its address.
func startGRPCCollector(t *testing.T, c *grpcCollector, creds credentials.TransportCredentials) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := []grpc.ServerOption{grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(c.handle), grpc.StatsHandler(c)}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	gs := grpc.NewServer(opts...)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(ln) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	return ln.Addr().String()
}

func retryInfoStatus(t *testing.T, code codes.Code, delay time.Duration) *status.Status {
	t.Helper()
	s, err := status.New(code, "busy").WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(delay)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExportGRPC checks compression and which status codes are retried.
func TestExportGRPC(t *testing.T) {
	unavailable := status.New(codes.Unavailable, "down")
	tests := []struct {
		name    string
		script  []*status.Status
		opts    []Option
		err     bool
		calls   int
		comp    string // the request's compression as the server saw it
		minTime time.Duration
		maxTime time.Duration
	}{
		{name: "plain", calls: 1, maxTime: time.Second},
		{name: "gzip", opts: []Option{WithCompression(CompressionGzip)}, calls: 1, comp: "gzip", maxTime: time.Second},
		{name: "gzip from env", opts: []Option{envMap(map[string]string{"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip"})}, calls: 1, comp: "gzip", maxTime: time.Second},
		{name: "Unavailable then OK is retried", script: []*status.Status{unavailable, nil}, calls: 2, maxTime: 2 * time.Second},
		{name: "Aborted, DataLoss retried", script: []*status.Status{status.New(codes.Aborted, ""), status.New(codes.DataLoss, ""), nil}, calls: 3, maxTime: 2 * time.Second},
		{name: "InvalidArgument not retried", script: []*status.Status{status.New(codes.InvalidArgument, "bad")}, err: true, calls: 1, maxTime: time.Second},
		{name: "ResourceExhausted without RetryInfo not retried", script: []*status.Status{status.New(codes.ResourceExhausted, "full")}, err: true, calls: 1, maxTime: time.Second},
		{name: "ResourceExhausted with RetryInfo retried after its delay",
			script: []*status.Status{retryInfoStatus(t, codes.ResourceExhausted, 700*time.Millisecond), nil}, calls: 2, minTime: 700 * time.Millisecond, maxTime: 3 * time.Second},
		{name: "RetryInfo past the timeout gives up at once",
			script: []*status.Status{retryInfoStatus(t, codes.Unavailable, time.Minute)}, err: true, calls: 1, maxTime: time.Second},
		{name: "retry off", script: []*status.Status{unavailable, nil}, opts: []Option{WithRetry(false)}, err: true, calls: 1, maxTime: time.Second},
	}
	spans := testSpans(t)
	want := &coltracepb.ExportTraceServiceRequest{}
	if err := proto.Unmarshal(appendTraces(nil, spans), want); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := &grpcCollector{script: tt.script}
			addr := startGRPCCollector(t, col, nil)
			e := newTestExporter(t, append([]Option{WithEnv(noEnvLookup), WithEndpoint("http://" + addr), WithProtocol(ProtocolGRPC)}, tt.opts...)...)
			t0 := time.Now()
			err := e.ExportSpans(context.Background(), spans)
			took := time.Since(t0)
			if (err != nil) != tt.err {
				t.Errorf("err = %v, want error %v", err, tt.err)
			}
			if took < tt.minTime || took > tt.maxTime {
				t.Errorf("export took %v, want [%v, %v]", took, tt.minTime, tt.maxTime)
			}
			col.mu.Lock()
			defer col.mu.Unlock()
			if len(col.reqs) != tt.calls {
				t.Fatalf("%d calls, want %d", len(col.reqs), tt.calls)
			}
			for i, r := range col.reqs {
				if !proto.Equal(r, want) {
					t.Errorf("request %d differs from the encoded spans", i)
				}
			}
			comp := tt.comp
			if len(col.compressions) != tt.calls {
				t.Errorf("%d request headers seen, want %d", len(col.compressions), tt.calls)
			}
			for _, c := range col.compressions {
				if c != comp && !(comp == "" && c == "identity") {
					t.Errorf("request compression %q, want %q", c, comp)
				}
			}
		})
	}
}

// TestExportTLS exports to TLS servers with a self-signed CA given by the
// certificate variables, with and without client certificates.
func TestExportTLS(t *testing.T) {
	cert := newTestCert(t)
	ca := map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile}
	mtls := map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": cert.certFile,
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert.certFile, "OTEL_EXPORTER_OTLP_CLIENT_KEY": cert.keyFile}
	tests := []struct {
		name       string
		protocol   string
		clientAuth bool // the server requires a client certificate
		env        map[string]string
		opts       []Option
		bare       bool // endpoint without scheme (INSECURE=false makes it TLS)
		err        bool
	}{
		{name: "http CA from env", protocol: ProtocolHTTPProtobuf, env: ca},
		{name: "http unknown CA", protocol: ProtocolHTTPProtobuf, env: map[string]string{}, err: true},
		{name: "http mTLS", protocol: ProtocolHTTPProtobuf, clientAuth: true, env: mtls},
		{name: "http mTLS without client certificate", protocol: ProtocolHTTPProtobuf, clientAuth: true, env: ca, err: true},
		{name: "http TLS option", protocol: ProtocolHTTPProtobuf, clientAuth: true, env: map[string]string{},
			opts: []Option{WithTLSConfig(&tls.Config{RootCAs: cert.pool, Certificates: []tls.Certificate{cert.pair}})}},
		{name: "grpc CA from env", protocol: ProtocolGRPC, env: ca},
		{name: "grpc unknown CA", protocol: ProtocolGRPC, env: map[string]string{}, err: true},
		{name: "grpc mTLS", protocol: ProtocolGRPC, clientAuth: true, env: mtls},
		{name: "grpc bare endpoint, INSECURE=false", protocol: ProtocolGRPC, bare: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile, "OTEL_EXPORTER_OTLP_INSECURE": "false"}},
	}
	spans := testSpans(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srvTLS := &tls.Config{Certificates: []tls.Certificate{cert.pair}}
			if tt.clientAuth {
				srvTLS.ClientAuth, srvTLS.ClientCAs = tls.RequireAndVerifyClientCert, cert.pool
			}
			var addr string
			var col *grpcCollector
			var hcol *httpCollector
			if tt.protocol == ProtocolGRPC {
				col = &grpcCollector{}
				addr = startGRPCCollector(t, col, credentials.NewTLS(srvTLS))
			} else {
				hcol = &httpCollector{}
				srv := httptest.NewUnstartedServer(hcol)
				srv.TLS = srvTLS
				srv.Config.ErrorLog = discardLog()
				srv.StartTLS()
				t.Cleanup(srv.Close)
				addr = srv.Listener.Addr().String()
			}
			endpoint := "https://" + addr
			if tt.bare {
				endpoint = addr
			}
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": tt.protocol}
			for k, v := range tt.env {
				env[k] = v
			}
			// A handshake failure may count as Unavailable for gRPC: a
			// short timeout keeps the failing cases quick.
			e := newTestExporter(t, append(tt.opts, envMap(env), WithExportTimeout(time.Second))...)
			err := e.ExportSpans(context.Background(), spans)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			n := 0
			if col != nil {
				col.mu.Lock()
				n = len(col.reqs)
				col.mu.Unlock()
			} else {
				n = hcol.requests()
			}
			if want := map[bool]int{false: 1, true: 0}[tt.err]; n != want {
				t.Errorf("server got %d requests, want %d", n, want)
			}
			e.Shutdown(context.Background())
		})
	}
}

// TestRetryAfter parses Retry-After values.
func TestRetryAfter(t *testing.T) {
	tests := []struct {
		in       string
		min, max time.Duration
	}{
		{"", 0, 0},
		{"0", 0, 0},
		{"3", 3 * time.Second, 3 * time.Second},
		{"-1", 0, 0},
		{"soon", 0, 0},
		{time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), 59 * time.Minute, time.Hour},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, 0},
	}
	for _, tt := range tests {
		if d := retryAfter(tt.in); d < tt.min || d > tt.max {
			t.Errorf("retryAfter(%q) = %v, want [%v, %v]", tt.in, d, tt.min, tt.max)
		}
	}
}

// TestBackoff checks the backoff's growth, jitter and cap.
func TestBackoff(t *testing.T) {
	var interval, delay time.Duration
	want := retryInitial
	for i := range 20 {
		delay, interval = backoff(interval)
		lo, hi := time.Duration(float64(want)*(1-retryJitter)), time.Duration(float64(want)*(1+retryJitter))
		if delay < lo || delay > hi {
			t.Fatalf("retry %d: delay %v not in [%v, %v]", i, delay, lo, hi)
		}
		want = min(time.Duration(float64(want)*retryMultiplier), retryMax)
		if interval != want {
			t.Fatalf("retry %d: next interval %v, want %v", i, interval, want)
		}
	}
	if interval != retryMax {
		t.Errorf("interval after 20 retries %v, want the cap %v", interval, retryMax)
	}
}

// discardLog silences the TLS server's handshake-error log lines.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// TestShutdownEndsRetries checks that Shutdown ends an export that is
// retrying, instead of letting it run to its timeout.
func TestShutdownEndsRetries(t *testing.T) {
	spans := testSpans(t)
	for _, protocol := range []string{ProtocolHTTPProtobuf, ProtocolGRPC} {
		t.Run(protocol, func(t *testing.T) {
			var endpoint string
			if protocol == ProtocolGRPC {
				endpoint = "http://" + startGRPCCollector(t, &grpcCollector{script: []*status.Status{status.New(codes.Unavailable, "down")}}, nil)
			} else {
				srv := httptest.NewServer(&httpCollector{script: []httpReply{{code: http.StatusServiceUnavailable}}})
				t.Cleanup(srv.Close)
				endpoint = srv.URL
			}
			e := newTestExporter(t, WithEnv(noEnvLookup), WithEndpoint(endpoint), WithProtocol(protocol), WithExportTimeout(time.Minute))
			errc := make(chan error, 1)
			t0 := time.Now()
			go func() { errc <- e.ExportSpans(context.Background(), spans) }()
			time.Sleep(150 * time.Millisecond) // a retry or two
			if err := e.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
			select {
			case err := <-errc:
				if !errors.Is(err, errShutdown) {
					t.Errorf("export ended with %v, want errShutdown", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("export still retrying 10s after Shutdown")
			}
			if took := time.Since(t0); took > 5*time.Second {
				t.Errorf("export took %v after a Shutdown at 150ms", took)
			}
		})
	}
}
