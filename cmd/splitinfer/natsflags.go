package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/splitinfer/splitinfer/pipeline/natsconn"
)

// natsFlags are the connection flags of the commands that connect to a NATS
// server (cloud, edge). Each has an environment variable as natscli names
// them; a flag given wins over its variable, both win over --context.
type natsFlags struct {
	urls, context, creds, nkey, user, passwordFile *string
	ca, cert, key, inboxPrefix                     *string
	connectTimeout, connectWait                    *time.Duration
}

func addNATSFlags(fs *flag.FlagSet) *natsFlags {
	return &natsFlags{
		urls:           fs.String("nats", os.Getenv("NATS_URL"), "NATS server URL(s), comma-separated for a cluster (env NATS_URL; default nats://127.0.0.1:4222)"),
		context:        fs.String("context", os.Getenv("NATS_CONTEXT"), "natscli context name or file: URLs, credentials and TLS files from it (env NATS_CONTEXT)"),
		creds:          fs.String("creds", os.Getenv("NATS_CREDS"), "user JWT + nkey seed file (env NATS_CREDS)"),
		nkey:           fs.String("nkey", os.Getenv("NATS_NKEY"), "user nkey seed file (env NATS_NKEY)"),
		user:           fs.String("user", os.Getenv("NATS_USER"), "user name; the password comes from --password-file or env NATS_PASSWORD (env NATS_USER)"),
		passwordFile:   fs.String("password-file", os.Getenv("NATS_PASSWORD_FILE"), "file holding the user's password (env NATS_PASSWORD_FILE)"),
		ca:             fs.String("tls-ca", os.Getenv("NATS_CA"), "PEM file of the CA(s) that sign the server's certificate (env NATS_CA)"),
		cert:           fs.String("tls-cert", os.Getenv("NATS_CERT"), "client certificate for mutual TLS (env NATS_CERT)"),
		key:            fs.String("tls-key", os.Getenv("NATS_KEY"), "client certificate's key (env NATS_KEY)"),
		inboxPrefix:    fs.String("inbox-prefix", os.Getenv("NATS_INBOX_PREFIX"), "reply subject prefix (default _INBOX_<identity> for an edge with credentials; env NATS_INBOX_PREFIX)"),
		connectTimeout: fs.Duration("connect-timeout", 5*time.Second, "bound of one connection attempt (TLS and authentication included)"),
		connectWait:    fs.Duration("connect-wait", 0, "keep retrying a refused connection at start this long (0: fail at once)"),
	}
}

// config turns the flags into a connection configuration. privateInbox
// derives the inbox prefix from the client's identity when it has one.
func (f *natsFlags) config(name string, privateInbox bool) (natsconn.Config, error) {
	cfg := natsconn.Config{
		URLs: natsconn.SplitURLs(*f.urls), Name: name, Creds: *f.creds, NKey: *f.nkey, User: *f.user,
		PasswordFile: *f.passwordFile, TLSCA: *f.ca, TLSCert: *f.cert, TLSKey: *f.key, InboxPrefix: *f.inboxPrefix,
		ConnectTimeout: *f.connectTimeout, ConnectWait: *f.connectWait,
	}
	if cfg.User != "" && cfg.PasswordFile == "" {
		cfg.Password = os.Getenv("NATS_PASSWORD")
	}
	if *f.context != "" {
		var err error
		if cfg, err = cfg.WithContext(*f.context); err != nil {
			return cfg, err
		}
	}
	if privateInbox && cfg.InboxPrefix == "" {
		id, err := cfg.Identity()
		if err != nil {
			return cfg, err
		}
		cfg.PrivateInbox = id != ""
	}
	return cfg, cfg.Validate()
}

// connect connects as name, logging connection events through slog's
// default logger and counting them in mp.
func (f *natsFlags) connect(ctx context.Context, name string, privateInbox bool, mp metric.MeterProvider, extra ...natsconn.Option) (*natsconn.Conn, natsconn.Config, error) {
	cfg, err := f.config(name, privateInbox)
	if err != nil {
		return nil, cfg, err
	}
	// The process's logger (telemetryFlags.prepare), with the connection's name.
	log := slog.Default().With("conn", name)
	opts := append([]natsconn.Option{natsconn.WithLogger(log), natsconn.WithMeterProvider(mp)}, extra...)
	c, err := natsconn.Connect(ctx, cfg, opts...)
	if err != nil {
		return nil, cfg, fmt.Errorf("%w", err)
	}
	return c, cfg, nil
}
