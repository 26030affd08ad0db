package trace

// Conformance tests: every OTEL_* variable the README lists (and those the
// SDK reads for us) checked against a local OTLP receiver, over gRPC and
// HTTP, through New as the workers call it.

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
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/baggage"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	oteltrace "go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // the server must decode gzip
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/stats"
	"google.golang.org/protobuf/proto"
)

// receiver is a local OTLP trace receiver (gRPC or HTTP) that keeps what
// it received and can answer with partial_success or hang.
type receiver struct {
	coltracepb.UnimplementedTraceServiceServer

	mu       sync.Mutex
	reqs     []*coltracepb.ExportTraceServiceRequest
	headers  []map[string]string // lower-case keys
	paths    []string            // HTTP only
	encoding []string            // Content-Encoding / grpc-encoding
	rejected int64               // answer partial_success with this many rejected spans
	hang     bool                // answer only when the request is cancelled (or the test ends)
	stop     chan struct{}       // closed when the test ends
	grpcEnc  string              // compression of the last gRPC request
	attempts atomic.Int64        // requests begun, hung ones included
	cut      chan time.Time      // when a hung request was cancelled by the client

	addr string // host:port
}

func (r *receiver) record(req *coltracepb.ExportTraceServiceRequest, h map[string]string, path, enc string) *coltracepb.ExportTraceServiceResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	r.headers = append(r.headers, h)
	r.paths = append(r.paths, path)
	r.encoding = append(r.encoding, enc)
	resp := &coltracepb.ExportTraceServiceResponse{}
	if r.rejected > 0 {
		resp.PartialSuccess = &coltracepb.ExportTracePartialSuccess{RejectedSpans: r.rejected, ErrorMessage: "span too old"}
	}
	return resp
}

// Export is the gRPC method.
func (r *receiver) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	r.attempts.Add(1)
	if r.hang {
		select {
		case <-ctx.Done():
			r.cutAt()
		case <-r.stop:
		}
		return nil, ctx.Err()
	}
	md, _ := metadata.FromIncomingContext(ctx)
	h := map[string]string{}
	for k, v := range md {
		h[k] = strings.Join(v, ",")
	}
	r.mu.Lock()
	enc := r.grpcEnc
	r.mu.Unlock()
	return r.record(req, h, "", enc), nil
}

// The stats.Handler methods note the compression of gRPC requests.
func (r *receiver) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (r *receiver) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }
func (r *receiver) HandleConn(context.Context, stats.ConnStats)                       {}
func (r *receiver) HandleRPC(_ context.Context, s stats.RPCStats) {
	if h, ok := s.(*stats.InHeader); ok {
		r.mu.Lock()
		r.grpcEnc = h.Compression
		r.mu.Unlock()
	}
}

// ServeHTTP is the OTLP/HTTP endpoint (any path, recorded).
func (r *receiver) ServeHTTP(w http.ResponseWriter, hr *http.Request) {
	r.attempts.Add(1)
	if r.hang {
		// Read the body first: the server notices a closed connection
		// (and cancels the context) only once the body is consumed.
		_, _ = io.Copy(io.Discard, hr.Body)
		select {
		case <-hr.Context().Done():
			r.cutAt()
		case <-r.stop:
		}
		return
	}
	var rd io.Reader = hr.Body
	if hr.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(hr.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rd = zr
	}
	b, err := io.ReadAll(rd)
	req := &coltracepb.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(b, req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h := map[string]string{}
	for k, v := range hr.Header {
		h[strings.ToLower(k)] = strings.Join(v, ",")
	}
	resp := r.record(req, h, hr.URL.Path, hr.Header.Get("Content-Encoding"))
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func (r *receiver) cutAt() {
	select {
	case r.cut <- time.Now():
	default:
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// spans returns the names of the spans received and the resource of the
// first request.
func (r *receiver) spans() (names []string, res map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res = map[string]string{}
	for _, req := range r.reqs {
		for _, rs := range req.ResourceSpans {
			if len(res) == 0 {
				for _, kv := range rs.Resource.Attributes {
					res[kv.Key] = kv.Value.GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					names = append(names, s.Name)
				}
			}
		}
	}
	return names, res
}

// startReceiver serves a receiver for protocol on loopback (TLS with
// srvTLS when not nil).
func startReceiver(t *testing.T, protocol string, srvTLS *tls.Config) *receiver {
	t.Helper()
	r := &receiver{stop: make(chan struct{}), cut: make(chan time.Time, 1)}
	defer t.Cleanup(func() { close(r.stop) }) // runs before the servers' cleanups
	if protocol == ProtocolHTTPProtobuf {
		srv := httptest.NewUnstartedServer(r)
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		if srvTLS != nil {
			srv.TLS = srvTLS
			srv.StartTLS()
		} else {
			srv.Start()
		}
		t.Cleanup(srv.Close)
		r.addr = srv.Listener.Addr().String()
		return r
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var opts []grpc.ServerOption
	if srvTLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(srvTLS)))
	}
	opts = append(opts, grpc.StatsHandler(r))
	gs := grpc.NewServer(opts...)
	coltracepb.RegisterTraceServiceServer(gs, r)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(ln) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	r.addr = ln.Addr().String()
	return r
}

// clearOTelEnv unsets every OTEL_* variable for the test (restored after).
func clearOTelEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OTEL_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	clearOTelEnv(t)
	for k, v := range env {
		t.Setenv(k, v)
	}
}

// exportOne makes a provider with opts, ends one span named name, flushes
// and shuts down; it returns New's error.
func exportOne(t *testing.T, name string, opts ...Option) error {
	t.Helper()
	ctx := context.Background()
	p, err := New(ctx, opts...)
	if err != nil {
		return err
	}
	_, s := p.Tracer().Start(ctx, name)
	s.End()
	_ = p.ForceFlush(ctx)
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := p.Shutdown(sctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	return nil
}

func TestConformanceEndpointAndProtocol(t *testing.T) {
	tests := []struct {
		name     string
		protocol string // the receiver's
		env      map[string]string
		flags    bool   // --otlp-endpoint http://ADDR --otlp-protocol http/protobuf
		path     string // HTTP path expected
	}{
		{name: "grpc by default", protocol: ProtocolGRPC,
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ADDR"}},
		{name: "http base endpoint gets /v1/traces", protocol: ProtocolHTTPProtobuf, path: "/base/v1/traces",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ADDR/base", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}},
		{name: "traces endpoint and protocol win, used as is", protocol: ProtocolHTTPProtobuf, path: "/custom",
			env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://ADDR/custom", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}},
		{name: "flags override the environment", protocol: ProtocolHTTPProtobuf, path: "/v1/traces",
			env:   map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			flags: true},
		{name: "OTEL_TRACES_EXPORTER=otlp", protocol: ProtocolGRPC,
			env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://ADDR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startReceiver(t, tt.protocol, nil)
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, "ADDR", r.addr)
			}
			setEnv(t, env)
			var opts []Option
			if tt.flags {
				opts = []Option{WithEndpoint("http://" + r.addr), WithProtocol(ProtocolHTTPProtobuf)}
			}
			if err := exportOne(t, "span-"+tt.name, opts...); err != nil {
				t.Fatal(err)
			}
			names, _ := r.spans()
			if len(names) != 1 || names[0] != "span-"+tt.name {
				t.Fatalf("receiver got spans %q", names)
			}
			if tt.path != "" && r.paths[0] != tt.path {
				t.Errorf("path %q, want %q", r.paths[0], tt.path)
			}
		})
	}
}

func TestConformanceOff(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"no endpoint", nil},
		{"OTEL_TRACES_EXPORTER=none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}},
		{"OTEL_SDK_DISABLED=true", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			p, err := New(context.Background(), WithPrometheus())
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			if p.Tracing() {
				t.Error("tracing on")
			}
			if disabled := tt.env["OTEL_SDK_DISABLED"] == "true"; disabled == (p.MetricsHandler() != nil) {
				t.Errorf("metrics handler %v with OTEL_SDK_DISABLED=%v", p.MetricsHandler() != nil, disabled)
			}
		})
	}
}

func TestConformanceBadValues(t *testing.T) {
	for _, env := range []map[string]string{
		{"OTEL_SDK_DISABLED": "maybe"},
		{"OTEL_TRACES_EXPORTER": "zipkin"},
		{"OTEL_EXPORTER_OTLP_PROTOCOL": "udp"},
		{"OTEL_RESOURCE_ATTRIBUTES": "novalue"},
		{"OTEL_PROPAGATORS": "carrier-pigeon"},
	} {
		setEnv(t, env)
		if _, err := New(context.Background()); !errors.Is(err, ErrConfig) {
			t.Errorf("%v: err = %v, want ErrConfig", env, err)
		}
	}
	resetPropagator(t)
}

func TestConformanceHeadersCompression(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		for _, comp := range []string{"none", "gzip"} {
			t.Run(protocol+"/"+comp, func(t *testing.T) {
				r := startReceiver(t, protocol, nil)
				setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + r.addr, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
					"OTEL_EXPORTER_OTLP_HEADERS": "api-key=1,team=x%20y", "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "team=traces",
					"OTEL_EXPORTER_OTLP_COMPRESSION": comp})
				if err := exportOne(t, "h"); err != nil {
					t.Fatal(err)
				}
				if r.count() != 1 {
					t.Fatalf("%d requests", r.count())
				}
				// The signal-specific variable wins over the general one.
				if h := r.headers[0]; h["team"] != "traces" {
					t.Errorf("headers %v: want team=traces from OTEL_EXPORTER_OTLP_TRACES_HEADERS", h)
				}
				want := map[string]string{"none": "", "gzip": "gzip"}[comp]
				if enc := r.encoding[0]; enc != want && !(want == "" && enc == "identity") {
					t.Errorf("encoding %q, want %q", enc, want)
				}
			})
		}
	}
	// Percent-decoding of OTEL_EXPORTER_OTLP_HEADERS values.
	r := startReceiver(t, ProtocolHTTPProtobuf, nil)
	setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + r.addr, "OTEL_EXPORTER_OTLP_PROTOCOL": ProtocolHTTPProtobuf,
		"OTEL_EXPORTER_OTLP_HEADERS": "api-key=1,team=x%20y"})
	if err := exportOne(t, "h"); err != nil {
		t.Fatal(err)
	}
	if h := r.headers[0]; h["api-key"] != "1" || h["team"] != "x y" {
		t.Errorf("headers %v, want api-key=1 team=\"x y\"", h)
	}
}

// TestConformanceTimeout: OTEL_EXPORTER_OTLP_TIMEOUT bounds a request to
// a receiver that never answers (otel-go's HTTP exporter retries it with
// backoff within OTEL_BSP_EXPORT_TIMEOUT); the failure reaches the caller.
func TestConformanceTimeout(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			r := startReceiver(t, protocol, nil)
			r.hang = true
			setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + r.addr, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
				"OTEL_EXPORTER_OTLP_TIMEOUT": "300", "OTEL_BSP_EXPORT_TIMEOUT": "3000"})
			ctx := context.Background()
			p, err := New(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(ctx)
			_, s := p.Tracer().Start(ctx, "slow")
			s.End()
			start := time.Now()
			if err := p.ForceFlush(ctx); err == nil {
				t.Error("ForceFlush to a receiver that never answers returned nil")
			}
			select {
			case cut := <-r.cut:
				// 300ms, against the 3s the BSP allows and the default 10s.
				if d := cut.Sub(start); d > 2*time.Second {
					t.Errorf("the exporter gave up on the request after %v with a 300ms timeout", d)
				}
			case <-time.After(5 * time.Second):
				t.Error("the hung request was never cancelled by the exporter")
			}
		})
	}
}

// testCert is a self-signed CA that is also the server's and the client's
// certificate (IP SAN 127.0.0.1, DNS localhost), written as PEM files.
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

// TestConformanceTLS covers OTEL_EXPORTER_OTLP_CERTIFICATE, the client
// certificate variables and OTEL_EXPORTER_OTLP_INSECURE: an endpoint
// without a scheme is TLS unless INSECURE=true (the specification; it
// used to be the reverse here).
func TestConformanceTLS(t *testing.T) {
	cert := newTestCert(t)
	ca := map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile}
	mtls := map[string]string{"OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": cert.certFile,
		"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": cert.certFile, "OTEL_EXPORTER_OTLP_CLIENT_KEY": cert.keyFile}
	tests := []struct {
		name       string
		protocol   string
		tls        bool // the receiver serves TLS
		clientAuth bool // and requires a client certificate
		env        map[string]string
		endpoint   string // ADDR replaced; given as the --otlp-endpoint flag when flag is set
		flag       bool
		ok         bool
	}{
		{name: "http CA", protocol: ProtocolHTTPProtobuf, tls: true, env: ca, endpoint: "https://ADDR", ok: true},
		{name: "http unknown CA", protocol: ProtocolHTTPProtobuf, tls: true, endpoint: "https://ADDR"},
		{name: "http mTLS", protocol: ProtocolHTTPProtobuf, tls: true, clientAuth: true, env: mtls, endpoint: "https://ADDR", ok: true},
		{name: "http mTLS without client certificate", protocol: ProtocolHTTPProtobuf, tls: true, clientAuth: true, env: ca, endpoint: "https://ADDR"},
		{name: "grpc CA", protocol: ProtocolGRPC, tls: true, env: ca, endpoint: "https://ADDR", ok: true},
		{name: "grpc unknown CA", protocol: ProtocolGRPC, tls: true, endpoint: "https://ADDR"},
		{name: "grpc mTLS", protocol: ProtocolGRPC, tls: true, clientAuth: true, env: mtls, endpoint: "https://ADDR", ok: true},
		{name: "grpc no scheme is TLS by default", protocol: ProtocolGRPC, tls: true, env: ca, endpoint: "ADDR", flag: true, ok: true},
		{name: "grpc no scheme to plaintext fails by default", protocol: ProtocolGRPC, endpoint: "ADDR", flag: true},
		{name: "grpc no scheme, INSECURE=true is plaintext", protocol: ProtocolGRPC, endpoint: "ADDR", flag: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "true"}, ok: true},
		{name: "grpc no scheme, TRACES_INSECURE=true is plaintext", protocol: ProtocolGRPC, endpoint: "ADDR", flag: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true"}, ok: true},
		{name: "grpc localhost without scheme in the environment is TLS", protocol: ProtocolGRPC, tls: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile}, endpoint: "localhost:PORT", ok: true},
		{name: "grpc localhost without scheme, INSECURE=true", protocol: ProtocolGRPC,
			env: map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "true"}, endpoint: "localhost:PORT", ok: true},
		{name: "grpc http scheme is plaintext whatever INSECURE says", protocol: ProtocolGRPC,
			env: map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "false"}, endpoint: "http://ADDR", ok: true},
		{name: "grpc https scheme is TLS whatever INSECURE says", protocol: ProtocolGRPC, tls: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile}, endpoint: "https://ADDR", ok: true},
		{name: "http https scheme is TLS whatever INSECURE says", protocol: ProtocolHTTPProtobuf, tls: true,
			env: map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "true", "OTEL_EXPORTER_OTLP_CERTIFICATE": cert.certFile}, endpoint: "https://ADDR", ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srvTLS *tls.Config
			if tt.tls {
				srvTLS = &tls.Config{Certificates: []tls.Certificate{cert.pair}}
				if tt.clientAuth {
					srvTLS.ClientAuth, srvTLS.ClientCAs = tls.RequireAndVerifyClientCert, cert.pool
				}
			}
			r := startReceiver(t, tt.protocol, srvTLS)
			_, port, _ := net.SplitHostPort(r.addr)
			endpoint := strings.NewReplacer("ADDR", r.addr, "PORT", port).Replace(tt.endpoint)
			env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": tt.protocol, "OTEL_EXPORTER_OTLP_TIMEOUT": "2000"}
			for k, v := range tt.env {
				env[k] = v
			}
			var opts []Option
			if tt.flag {
				opts = append(opts, WithEndpoint(endpoint))
			} else {
				env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
			}
			setEnv(t, env)
			captureLogs(t)
			if err := exportOne(t, "tls", opts...); err != nil {
				t.Fatal(err)
			}
			if got := r.count() == 1; got != tt.ok {
				t.Errorf("received %d requests, want success %v", r.count(), tt.ok)
			}
		})
	}
}

func TestConformanceBadCertificate(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		r := startReceiver(t, protocol, nil)
		setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://" + r.addr, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
			"OTEL_EXPORTER_OTLP_CERTIFICATE": filepath.Join(t.TempDir(), "missing.pem"), "OTEL_EXPORTER_OTLP_TIMEOUT": "1000"})
		logs := captureLogs(t)
		if err := exportOne(t, "x"); err != nil {
			t.Fatal(err)
		}
		// The exporter reports the unreadable file to OTel's error handler
		// (it does not fail New) and then cannot verify the server.
		if !strings.Contains(logs.String(), "missing.pem") {
			t.Errorf("%s: unreadable certificate not logged: %q", protocol, logs.String())
		}
		if r.count() != 0 {
			t.Errorf("%s: export went through without the CA", protocol)
		}
	}
}

func TestConformanceResource(t *testing.T) {
	tests := []struct {
		name, want string
		env        map[string]string
	}{
		{"default per-worker name", ServiceCloud, nil},
		{"OTEL_SERVICE_NAME wins", "my-cloud", map[string]string{"OTEL_SERVICE_NAME": "my-cloud"}},
		{"service.name in OTEL_RESOURCE_ATTRIBUTES wins", "attr-cloud", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "service.name=attr-cloud"}},
		{"OTEL_SERVICE_NAME beats OTEL_RESOURCE_ATTRIBUTES", "my-cloud",
			map[string]string{"OTEL_SERVICE_NAME": "my-cloud", "OTEL_RESOURCE_ATTRIBUTES": "service.name=attr-cloud"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startReceiver(t, ProtocolGRPC, nil)
			env := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + r.addr}
			for k, v := range tt.env {
				env[k] = v
			}
			if env["OTEL_RESOURCE_ATTRIBUTES"] == "" {
				env["OTEL_RESOURCE_ATTRIBUTES"] = "deployment.environment.name=test%20env,splitinfer.worker.id=env-id"
			}
			setEnv(t, env)
			if err := exportOne(t, "r", WithServiceName(ServiceCloud), WithWorkerID("cloud-1"), WithModelHash("abc")); err != nil {
				t.Fatal(err)
			}
			_, res := r.spans()
			if res["service.name"] != tt.want {
				t.Errorf("service.name %q, want %q", res["service.name"], tt.want)
			}
			if v := res["service.version"]; v == "" || v != BuildVersion() {
				t.Errorf("service.version %q, want the build info's %q", v, BuildVersion())
			}
			if res[AttrModelHash] != "abc" || res["service.instance.id"] != "cloud-1" || res["telemetry.sdk.language"] != "go" || res["host.name"] == "" {
				t.Errorf("resource %v", res)
			}
			if strings.Contains(env["OTEL_RESOURCE_ATTRIBUTES"], "deployment") &&
				(res["deployment.environment.name"] != "test env" || res[AttrWorkerID] != "env-id") {
				t.Errorf("OTEL_RESOURCE_ATTRIBUTES not applied over the defaults: %v", res)
			}
		})
	}
}

func TestConformanceSampler(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		opts    []Option
		sampled bool
	}{
		{"default parentbased_always_on", nil, nil, true},
		{"always_off", map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, nil, false},
		{"traceidratio 0", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"}, nil, false},
		{"traceidratio 1", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1"}, nil, true},
		{"--trace-sample overrides", map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, []Option{WithSamplerRatio(1)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setEnv(t, tt.env)
			p, err := New(context.Background(), append(tt.opts, WithSpanExporter(discardExporter{}))...)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			_, s := p.Tracer().Start(context.Background(), "s")
			if s.SpanContext().IsSampled() != tt.sampled {
				t.Errorf("sampled %v, want %v", s.SpanContext().IsSampled(), tt.sampled)
			}
			s.End()
		})
	}
}

func resetPropagator(t *testing.T) {
	t.Helper()
	clearOTelEnv(t)
	if err := setPropagatorFromEnv(); err != nil {
		t.Fatal(err)
	}
}

func TestConformancePropagators(t *testing.T) {
	tests := []struct {
		env        string
		has, hasNo []string
	}{
		{"", []string{"traceparent", "baggage"}, []string{"b3"}},
		{"tracecontext", []string{"traceparent"}, []string{"baggage", "b3"}},
		{"b3", []string{"b3"}, []string{"traceparent"}},
		{"tracecontext,b3multi", []string{"traceparent", "x-b3-traceid"}, []string{"b3"}},
		{"none", nil, []string{"traceparent", "b3", "baggage"}},
	}
	defer resetPropagator(t)
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			setEnv(t, map[string]string{"OTEL_PROPAGATORS": tt.env})
			p, err := New(context.Background(), WithSpanExporter(discardExporter{}))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(context.Background())
			ctx, s := p.Tracer().Start(context.Background(), "s")
			defer s.End()
			ctx = withBaggage(t, ctx)
			h := nats.Header{}
			Inject(ctx, h)
			for _, k := range tt.has {
				if HeaderCarrier(h).Get(k) == "" {
					t.Errorf("header %s missing: %v", k, h)
				}
			}
			for _, k := range tt.hasNo {
				if HeaderCarrier(h).Get(k) != "" {
					t.Errorf("header %s present: %v", k, h)
				}
			}
			if len(tt.has) > 0 {
				if got := oteltrace.SpanContextFromContext(Extract(context.Background(), h)); got.TraceID() != s.SpanContext().TraceID() {
					t.Errorf("extracted trace %v, want %v", got.TraceID(), s.SpanContext().TraceID())
				}
			}
		})
	}
}

// TestConformanceBSP: OTEL_BSP_MAX_EXPORT_BATCH_SIZE and
// OTEL_BSP_SCHEDULE_DELAY reach the SDK's batch span processor.
func TestConformanceBSP(t *testing.T) {
	r := startReceiver(t, ProtocolGRPC, nil)
	setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + r.addr,
		"OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2", "OTEL_BSP_SCHEDULE_DELAY": "50"})
	ctx := context.Background()
	p, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(ctx)
	for range 5 {
		_, s := p.Tracer().Start(ctx, "b")
		s.End()
	}
	// Without a flush: the 50ms schedule delay (default 5s) exports them.
	deadline := time.Now().Add(4 * time.Second)
	for {
		if names, _ := r.spans(); len(names) == 5 {
			break
		}
		if time.Now().After(deadline) {
			names, _ := r.spans()
			t.Fatalf("%d of 5 spans exported within 4s with OTEL_BSP_SCHEDULE_DELAY=50", len(names))
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, req := range r.reqs {
		if n := len(req.ResourceSpans[0].ScopeSpans[0].Spans); n > 2 {
			t.Errorf("request %d carries %d spans with OTEL_BSP_MAX_EXPORT_BATCH_SIZE=2", i, n)
		}
	}
}

// TestConformancePartialSuccess: a partial_success reply is logged and
// counted (ExportErrors and the splitinfer.otel.spans.rejected metric).
func TestConformancePartialSuccess(t *testing.T) {
	for _, protocol := range []string{ProtocolGRPC, ProtocolHTTPProtobuf} {
		t.Run(protocol, func(t *testing.T) {
			r := startReceiver(t, protocol, nil)
			r.rejected = 3
			setEnv(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://" + r.addr, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
			logs := captureLogs(t)
			_, before := ExportErrors()
			reader := sdkmetric.NewManualReader()
			ctx := context.Background()
			p, err := New(ctx, WithMetricReader(reader))
			if err != nil {
				t.Fatal(err)
			}
			defer p.Shutdown(ctx)
			_, s := p.Tracer().Start(ctx, "partly")
			s.End()
			if err := p.ForceFlush(ctx); err != nil {
				t.Fatal(err)
			}
			if _, after := ExportErrors(); after-before != 3 {
				t.Errorf("rejected spans counted %d, want 3", after-before)
			}
			if l := logs.String(); !strings.Contains(l, "OTLP partial success") || !strings.Contains(l, "rejected_spans=3") || !strings.Contains(l, "span too old") {
				t.Errorf("log %q", l)
			}
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(ctx, &rm); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if m.Name != MetricRejectedSpans {
						continue
					}
					sum := m.Data.(metricdata.Sum[int64])
					found = len(sum.DataPoints) == 1 && sum.DataPoints[0].Value >= 3
				}
			}
			if !found {
				t.Errorf("metric %s missing or below 3: %+v", MetricRejectedSpans, rm.ScopeMetrics)
			}
		})
	}
}

// captureLogs points slog's default logger at a buffer for the test.
func captureLogs(t *testing.T) *syncBuffer {
	t.Helper()
	b := &syncBuffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(b, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return b
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func withBaggage(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	m, err := baggage.NewMember("tenant", "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := baggage.New(m)
	if err != nil {
		t.Fatal(err)
	}
	return baggage.ContextWithBaggage(ctx, b)
}
