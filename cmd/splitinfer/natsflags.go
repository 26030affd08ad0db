package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/splitinfer/splitinfer/pipeline"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
	"github.com/splitinfer/splitinfer/trace"
)

// natsFlags are the connection flags of the commands that connect to a NATS
// server (cloud, edge), straight into the connection's configuration. Each
// has an environment variable as natscli names them; a flag given wins over
// its variable, both win over --context.
type natsFlags struct {
	cfg               natsconn.Config
	urls, contextName string
}

func addNATSFlags(fs *flag.FlagSet) *natsFlags {
	f := &natsFlags{}
	c := &f.cfg
	fs.StringVar(&f.urls, "nats", os.Getenv("NATS_URL"), "NATS server URL(s), comma-separated for a cluster (env NATS_URL; default nats://127.0.0.1:4222)")
	fs.StringVar(&f.contextName, "context", os.Getenv("NATS_CONTEXT"), "natscli context name or file: URLs, credentials and TLS files from it (env NATS_CONTEXT)")
	fs.StringVar(&c.Creds, "creds", os.Getenv("NATS_CREDS"), "user JWT + nkey seed file (env NATS_CREDS)")
	fs.StringVar(&c.NKey, "nkey", os.Getenv("NATS_NKEY"), "user nkey seed file (env NATS_NKEY)")
	fs.StringVar(&c.User, "user", os.Getenv("NATS_USER"), "user name; the password comes from --password-file or env NATS_PASSWORD (env NATS_USER)")
	fs.StringVar(&c.PasswordFile, "password-file", os.Getenv("NATS_PASSWORD_FILE"), "file holding the user's password (env NATS_PASSWORD_FILE)")
	fs.StringVar(&c.TLSCA, "tls-ca", os.Getenv("NATS_CA"), "PEM file of the CA(s) that sign the server's certificate (env NATS_CA)")
	fs.StringVar(&c.TLSCert, "tls-cert", os.Getenv("NATS_CERT"), "client certificate for mutual TLS (env NATS_CERT)")
	fs.StringVar(&c.TLSKey, "tls-key", os.Getenv("NATS_KEY"), "client certificate's key (env NATS_KEY)")
	fs.StringVar(&c.InboxPrefix, "inbox-prefix", os.Getenv("NATS_INBOX_PREFIX"), "reply subject prefix (default _INBOX_<identity> for an edge with credentials; env NATS_INBOX_PREFIX)")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", 5*time.Second, "bound of one connection attempt (TLS and authentication included)")
	fs.DurationVar(&c.ConnectWait, "connect-wait", 0, "keep retrying a refused connection at start this long (0: fail at once)")
	return f
}

// connect connects as name (natsconn.Config.Resolve: privateInbox derives
// the inbox prefix from the client's identity when it has one), logging
// connection events through slog's default logger and counting them in mp.
func (f *natsFlags) connect(ctx context.Context, name string, privateInbox bool, mp metric.MeterProvider, extra ...natsconn.Option) (*natsconn.Conn, natsconn.Config, error) {
	cfg := f.cfg
	cfg.URLs, cfg.Name = natsconn.SplitURLs(f.urls), name
	if cfg.User != "" && cfg.PasswordFile == "" {
		cfg.Password = os.Getenv("NATS_PASSWORD")
	}
	cfg, err := cfg.Resolve(f.contextName, privateInbox)
	if err != nil {
		return nil, cfg, err
	}
	// The process's logger (telemetryFlags.prepare), with the connection's name.
	opts := append([]natsconn.Option{natsconn.WithLogger(slog.Default().With("conn", name)), natsconn.WithMeterProvider(mp)}, extra...)
	c, err := natsconn.Connect(ctx, cfg, opts...)
	if err != nil {
		return nil, cfg, fmt.Errorf("%w", err)
	}
	return c, cfg, nil
}

// workerFlags are the flags of a worker on a NATS server (cloud, edge): the
// connection, the workers' subject, the metrics address and telemetry.
type workerFlags struct {
	*natsFlags
	tel                  *telemetryFlags
	subject, metricsAddr string
}

func addWorkerFlags(fs *flag.FlagSet, subjectUsage string) *workerFlags {
	w := &workerFlags{natsFlags: addNATSFlags(fs)}
	fs.StringVar(&w.subject, "subject", pipeline.DefaultSubject, subjectUsage)
	fs.StringVar(&w.metricsAddr, "metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics")
	w.tel = addTelemetryFlags(fs)
	return w
}

// start sets up the worker's telemetry (service, model hash) and connects
// as name (connect); stop closes the connection, then the telemetry.
func (w *workerFlags) start(ctx context.Context, service, name, hash string, privateInbox bool, opts ...natsconn.Option) (tel *trace.Provider, conn *natsconn.Conn, cfg natsconn.Config, stop func(), err error) {
	if tel, err = w.tel.provider(ctx, service, "", hash, w.metricsAddr); err != nil {
		return nil, nil, cfg, nil, err
	}
	if conn, cfg, err = w.connect(ctx, name, privateInbox, tel.MeterProvider(), opts...); err != nil {
		shutdownTelemetry(tel)
		return nil, nil, cfg, nil, err
	}
	return tel, conn, cfg, func() { conn.Close(); shutdownTelemetry(tel) }, nil
}
