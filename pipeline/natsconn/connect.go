package natsconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
)

// Errors Connect returns, wrapped with the details (errors.Is works).
var (
	ErrRefused       = errors.New("natsconn: connection refused")
	ErrTLS           = errors.New("natsconn: TLS verification failed")
	ErrAuthorization = errors.New("natsconn: authorization violation")
	ErrPermission    = errors.New("natsconn: permission violation")
)

// Option configures Connect.
type Option func(*options)

type options struct {
	log   *slog.Logger
	mp    metric.MeterProvider
	extra []nats.Option
}

// WithLogger sets where connection events are logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// WithMeterProvider sets where the connection event counter
// splitinfer.nats.connection.events (attribute event: disconnected,
// reconnected, error, closed) goes (default a no-op provider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(o *options) {
		if mp != nil {
			o.mp = mp
		}
	}
}

// WithNATSOptions appends nats.go options (a custom dialer, for example),
// applied after Connect's own.
func WithNATSOptions(opts ...nats.Option) Option {
	return func(o *options) { o.extra = append(o.extra, opts...) }
}

// Conn is a connection made by Connect.
type Conn struct {
	*nats.Conn
	cfg *resolved
	// Events counts disconnects, reconnects and asynchronous errors.
	disconnects, reconnects, asyncErrs atomic.Int64

	mu         sync.Mutex
	violations []string // permission violations seen, in order, once each

	closed    chan struct{} // closed by the closed handler
	closeOnce sync.Once
}

// Stats are a connection's event counters.
type Stats struct{ Disconnects, Reconnects, Errors int64 }

// Events returns the connection's event counters.
func (c *Conn) Events() Stats {
	return Stats{Disconnects: c.disconnects.Load(), Reconnects: c.reconnects.Load(), Errors: c.asyncErrs.Load()}
}

// InboxPrefix is the prefix of the connection's reply subjects.
func (c *Conn) InboxPrefix() string {
	if p, _ := c.cfg.inboxPrefix(); p != "" {
		return p
	}
	return nats.InboxPrefix[:len(nats.InboxPrefix)-1]
}

// Connect validates cfg and connects to the first server of cfg.URLs that
// accepts (in random order, as nats.go does). Once connected it reconnects
// forever; the disconnects, reconnects and asynchronous errors are logged
// and counted. A refused connection is retried for cfg.ConnectWait; other
// failures end at once with an error naming the cause (ErrRefused, ErrTLS,
// ErrAuthorization wrapped with the server, certificate and CA), within
// cfg.ConnectTimeout per server. Errors and logs never show a secret.
func Connect(ctx context.Context, cfg Config, opts ...Option) (*Conn, error) {
	r, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	o := options{log: slog.Default(), mp: metricnoop.NewMeterProvider()}
	for _, opt := range opts {
		opt(&o)
	}
	events, err := o.mp.Meter("github.com/splitinfer/splitinfer").Int64Counter("splitinfer.nats.connection.events",
		metric.WithDescription("NATS connection events (disconnected, reconnected, error, closed)"), metric.WithUnit("{event}"))
	if err != nil {
		return nil, fmt.Errorf("natsconn: %w", err)
	}
	c := &Conn{cfg: r, closed: make(chan struct{})}
	count := func(ev string) {
		events.Add(context.Background(), 1, metric.WithAttributes(attribute.String("event", ev)))
	}
	log := o.log.With("nats_name", r.Name)
	nopts, err := r.natsOptions()
	if err != nil {
		return nil, err
	}
	nopts = append(nopts,
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err == nil {
				return // Close or Drain: not a failure
			}
			c.disconnects.Add(1)
			count("disconnected")
			log.Warn("nats disconnected", "server", RedactURL(nc.ConnectedUrlRedacted()), "err", errText(err))
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.reconnects.Add(1)
			count("reconnected")
			log.Info("nats reconnected", "server", nc.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
			c.asyncErrs.Add(1)
			count("error")
			if errors.Is(err, nats.ErrPermissionViolation) {
				c.recordViolation(permissionDetail(err))
			}
			args := []any{"err", explainAsync(err)}
			if sub != nil {
				args = append(args, "subject", sub.Subject)
			}
			log.Error("nats error", args...)
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			c.closeOnce.Do(func() { close(c.closed) })
			count("closed")
			log.Debug("nats connection closed", "last_err", errText(nc.LastError()))
		}),
	)
	nopts = append(nopts, o.extra...)
	servers := strings.Join(r.URLs, ",")
	deadline := time.Now().Add(r.ConnectWait)
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		nc, err := nats.Connect(servers, nopts...)
		if err == nil {
			c.Conn = nc
			log.Info("nats connected", "server", nc.ConnectedUrlRedacted(), "inbox_prefix", c.InboxPrefix())
			return c, nil
		}
		err = r.explain(err)
		if !errors.Is(err, ErrRefused) || time.Now().Add(wait).After(deadline) {
			return nil, err
		}
		log.Info("nats not reachable yet, retrying", "servers", r.RedactedURLs(), "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// DrainClose drains the connection and closes it: messages its
// subscriptions have already received are handed to their handlers (a
// stopping worker answers them, with a 503 if it no longer computes)
// instead of being dropped with the connection, which would leave their
// senders waiting for a timeout; pending publishes are flushed. It waits
// at most timeout, then closes. Safe to call more than once.
func (c *Conn) DrainClose(timeout time.Duration) error {
	err := c.Drain()
	if err == nil {
		select {
		case <-c.closed:
		case <-time.After(timeout):
			err = fmt.Errorf("natsconn: drain not done after %v", timeout)
		}
	}
	c.Close()
	if errors.Is(err, nats.ErrConnectionClosed) {
		err = nil
	}
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// natsOptions turns the configuration into nats.go options.
func (r *resolved) natsOptions() ([]nats.Option, error) {
	opts := []nats.Option{nats.Timeout(r.ConnectTimeout), nats.ReconnectWait(r.ReconnectWait),
		nats.ReconnectJitter(100*time.Millisecond, time.Second)}
	if r.Name != "" {
		opts = append(opts, nats.Name(r.Name))
	}
	switch {
	case r.Creds != "":
		opts = append(opts, nats.UserCredentials(r.Creds))
	case r.NKey != "":
		kp, err := readSeed(r.NKey)
		if err != nil {
			return nil, err
		}
		pub, _ := kp.PublicKey()
		kp.Wipe()
		file := r.NKey
		opts = append(opts, nats.Nkey(pub, func(nonce []byte) ([]byte, error) {
			kp, err := readSeed(file) // re-read: the seed is not kept in memory
			if err != nil {
				return nil, err
			}
			defer kp.Wipe()
			return kp.Sign(nonce)
		}))
	case r.User != "":
		opts = append(opts, nats.UserInfo(r.User, r.password))
	}
	if r.TLSCA != "" || r.TLSCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if r.TLSCA != "" {
			pool, _, err := loadCAs(r.TLSCA)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = pool
		}
		if r.TLSCert != "" {
			kp, err := loadKeyPair(r.TLSCert, r.TLSKey)
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{kp}
		}
		opts = append(opts, nats.Secure(tc))
	}
	prefix, err := r.inboxPrefix()
	if err != nil {
		return nil, err
	}
	if prefix != "" {
		opts = append(opts, nats.CustomInboxPrefix(prefix))
	}
	return opts, nil
}

// loadCAs reads a PEM file of CA certificates; it returns the pool and the
// CAs' subjects.
func loadCAs(file string) (*x509.CertPool, []string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: TLS CA file: %v", ErrConfig, err)
	}
	pool := x509.NewCertPool()
	var subjects []string
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: TLS CA file %s: %v", ErrConfig, file, err)
		}
		pool.AddCert(cert)
		subjects = append(subjects, cert.Subject.String())
	}
	if len(subjects) == 0 {
		return nil, nil, fmt.Errorf("%w: TLS CA file %s holds no PEM certificate", ErrConfig, file)
	}
	return pool, subjects, nil
}

func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.Stat(f); err != nil {
			return tls.Certificate{}, fmt.Errorf("%w: TLS client certificate: %v", ErrConfig, err)
		}
	}
	kp, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("%w: TLS client certificate %s / key %s: %v", ErrConfig, certFile, keyFile, err)
	}
	return kp, nil
}

// explain turns a nats.Connect error into one that names its cause.
func (r *resolved) explain(err error) error {
	servers := r.RedactedURLs()
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w by %s", ErrRefused, servers)
	case errors.As(err, &unknownCA):
		ca := "the system's roots"
		if r.TLSCA != "" {
			_, subj, _ := loadCAs(r.TLSCA)
			ca = fmt.Sprintf("%s (%s)", r.TLSCA, strings.Join(subj, "; "))
		}
		subject, issuer := "?", "?"
		if unknownCA.Cert != nil {
			subject, issuer = unknownCA.Cert.Subject.String(), unknownCA.Cert.Issuer.String()
		}
		return fmt.Errorf("%w at %s: the server's certificate %q (issuer %q) is not signed by a trusted CA: %s",
			ErrTLS, servers, subject, issuer, ca)
	case errors.As(err, &hostErr):
		subject := "?"
		if hostErr.Certificate != nil {
			subject = hostErr.Certificate.Subject.String()
		}
		return fmt.Errorf("%w at %s: the server's certificate %q is not valid for host %q (%v)", ErrTLS, servers, subject, hostErr.Host, hostErr)
	case errors.As(err, &invalid):
		return fmt.Errorf("%w at %s: %v", ErrTLS, servers, invalid)
	case strings.Contains(err.Error(), "remote error: tls:"), strings.Contains(err.Error(), "closed by remote after TLS handshake"):
		// The server refused our side of mutual TLS (with TLS 1.3 the
		// client sees the alert, or only the closed connection).
		what := "no client certificate was given (--tls-cert/--tls-key)"
		if r.TLSCert != "" {
			what = fmt.Sprintf("client certificate %s (%s) was refused", r.TLSCert, certSubject(r.TLSCert))
		}
		return fmt.Errorf("%w at %s: the server refused the TLS handshake: %s: %v", ErrTLS, servers, what, remoteAlert(err))
	case errors.Is(err, nats.ErrSecureConnRequired):
		return fmt.Errorf("%w at %s: the server requires TLS (give --tls-ca or a tls:// URL)", ErrTLS, servers)
	case errors.Is(err, nats.ErrSecureConnWanted):
		return fmt.Errorf("%w at %s: TLS was configured but the server does not offer it", ErrTLS, servers)
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked):
		return fmt.Errorf("%w at %s: the server refused %s: %v", ErrAuthorization, servers, r.credentialsDesc(), err)
	case errors.Is(err, nats.ErrNoServers) && r.allRefused():
		return fmt.Errorf("%w by %s", ErrRefused, servers)
	case errors.Is(err, nats.ErrNoServers):
		return fmt.Errorf("natsconn: no server of %s reachable: %v", servers, err)
	}
	return fmt.Errorf("natsconn: connecting to %s: %v", servers, scrub(err.Error(), r.URLs))
}

// allRefused reports whether every server refuses TCP connections (nats.go
// reports only "no servers available" then).
func (r *resolved) allRefused() bool {
	for _, raw := range r.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return false
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "4222")
		}
		c, err := net.DialTimeout("tcp", host, r.ConnectTimeout)
		if err == nil {
			c.Close()
			return false
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return false
		}
	}
	return true
}

// scrub removes any of urls' secrets that an error text repeats.
func scrub(s string, urls []string) string {
	for _, u := range urls {
		if strings.Contains(s, u) {
			s = strings.ReplaceAll(s, u, RedactURL(u))
		}
	}
	return s
}

func remoteAlert(err error) string {
	s := err.Error()
	if i := strings.Index(s, "remote error: "); i >= 0 {
		return s[i:]
	}
	return s
}

func certSubject(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "unreadable"
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return "no PEM"
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return "unparsable"
	}
	return fmt.Sprintf("subject %q, issuer %q", c.Subject.String(), c.Issuer.String())
}

func (r *resolved) credentialsDesc() string {
	switch {
	case r.Creds != "":
		return fmt.Sprintf("the credentials in %s (user %s)", r.Creds, r.nkeyPub)
	case r.NKey != "":
		return fmt.Sprintf("the nkey in %s (user %s)", r.NKey, r.nkeyPub)
	case r.User != "":
		return fmt.Sprintf("user %q and its password", r.User)
	case r.identity() != "":
		return fmt.Sprintf("the user and password in the server URL (user %q)", r.identity())
	}
	return "a client without credentials (give --creds, --nkey or --user)"
}

// explainAsync names an asynchronous error's cause.
func explainAsync(err error) string {
	if errors.Is(err, nats.ErrPermissionViolation) {
		return fmt.Sprintf("%v: %s", ErrPermission, permissionDetail(err))
	}
	return err.Error()
}

// permissionDetail is nats.go's permission text without its prefixes:
// `Permissions Violation for Subscription to "x" using queue "q"`.
func permissionDetail(err error) string {
	s := err.Error()
	if i := strings.Index(strings.ToLower(s), "permissions violation for"); i >= 0 {
		return s[i:]
	}
	return s
}

// CheckPermissions makes sure the server accepted the subscriptions made so
// far (and the publishes flushed so far): it flushes and returns an
// ErrPermission error naming every subject the server refused. Call it
// once a worker has subscribed, before saying it serves.
func (c *Conn) CheckPermissions(timeout time.Duration) error {
	if err := c.FlushTimeout(timeout); err != nil {
		return fmt.Errorf("natsconn: flushing: %w", err)
	}
	// The server answers a refused SUB or PUB with -ERR before the PONG
	// the flush waits for, and nats.go records the last one before it
	// handles the PONG; the error handler, which collects them all, runs
	// on its own goroutine: give it a moment.
	if last := PermissionError(c.Conn); last != nil {
		for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if c.hasViolation(permissionDetail(c.LastError())) {
				break
			}
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.violations) == 0 {
			return last
		}
		return fmt.Errorf("%w: %s", ErrPermission, joinViolations(c.violations))
	}
	return nil
}

// joinViolations lists the refused operations briefly (subscribe "x"
// (queue "q"), publish "y"), the first 16 and how many more.
func joinViolations(vs []string) string {
	const show = 16
	short := make([]string, 0, min(len(vs), show))
	for _, v := range vs[:min(len(vs), show)] {
		v = strings.Replace(v, "Permissions Violation for Subscription to ", "subscribe ", 1)
		v = strings.Replace(v, "Permissions Violation for Publish to ", "publish ", 1)
		if i := strings.Index(v, " using queue "); i >= 0 {
			v = v[:i] + " (queue " + v[i+len(" using queue "):] + ")"
		}
		short = append(short, v)
	}
	out := "refused " + strings.Join(short, ", ")
	if len(vs) > show {
		out += fmt.Sprintf(" and %d more", len(vs)-show)
	}
	return out
}

func (c *Conn) recordViolation(v string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, have := range c.violations {
		if have == v {
			return
		}
	}
	if len(c.violations) < 64 {
		c.violations = append(c.violations, v)
	}
}

func (c *Conn) hasViolation(v string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, have := range c.violations {
		if have == v {
			return true
		}
	}
	return false
}

// PermissionError returns nc's last error as an ErrPermission error naming
// the subject when it is a permission violation, nil otherwise.
func PermissionError(nc *nats.Conn) error {
	if err := nc.LastError(); err != nil && errors.Is(err, nats.ErrPermissionViolation) {
		return fmt.Errorf("%w: %s", ErrPermission, permissionDetail(err))
	}
	return nil
}
