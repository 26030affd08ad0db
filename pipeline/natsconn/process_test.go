package natsconn_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/splitinfer/splitinfer/internal/natsauth"
	"github.com/splitinfer/splitinfer/internal/natstest"
	"github.com/splitinfer/splitinfer/pipeline/natsconn"
)

func freePort(t *testing.T) int { return natstest.FreePort(t) }

// secureServer runs a nats-server with a generated deployment's TLS and
// accounts (deploy/nats.conf's settings, on loopback).
func secureServer(t *testing.T) (*natsauth.Deployment, string) {
	t.Helper()
	d, err := natsauth.Generate(t.TempDir(), natsauth.Options{Edges: []string{"edge1", "edge2"}})
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := d.Path("nats.conf") // include paths are relative to the including file
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\ninclude %q\n", port, d.AuthConf)), 0o600); err != nil {
		t.Fatal(err)
	}
	natstest.StartFile(t, "nats", conf, port)
	return d, fmt.Sprintf("tls://127.0.0.1:%d", port)
}

func userConfig(d *natsauth.Deployment, url, name string) natsconn.Config { return d.Client(name, url) }

// TestConnectErrorsNameTheCause: every refused connection ends within 5 s
// with an error that says why.
func TestConnectErrorsNameTheCause(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	d, url := secureServer(t)
	other, err := natsauth.Generate(t.TempDir(), natsauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := userConfig(d, url, "edge1")
	noCreds := good
	noCreds.NKey, noCreds.PrivateInbox = "", false
	noCert := good
	noCert.TLSCert, noCert.TLSKey = "", ""
	otherCert := good
	oe, _ := other.User("edge1")
	otherCert.TLSCert, otherCert.TLSKey = other.Path(oe.Cert), other.Path(oe.Key)
	otherCA := good
	otherCA.TLSCA = other.Path(other.CA)
	plain := good
	plain.TLSCA, plain.TLSCert, plain.TLSKey = "", "", ""
	plain.URLs = []string{strings.Replace(url, "tls://", "nats://", 1)}
	wrongKey := good
	e2, _ := d.User("edge2")
	wrongKey.NKey = d.Path(e2.Seed)
	wrongKey.InboxPrefix = "_INBOX_" + mustUser(t, d, "edge1").Public
	for _, tc := range []struct {
		name string
		cfg  natsconn.Config
		is   error
		want []string
	}{
		{"no credentials", noCreds, natsconn.ErrAuthorization, []string{"without credentials"}},
		{"no client certificate", noCert, natsconn.ErrTLS, []string{"no client certificate"}},
		{"client certificate from another CA", otherCert, natsconn.ErrTLS, []string{"refused", other.Path(oe.Cert)}},
		{"server certificate not from the CA", otherCA, natsconn.ErrTLS, []string{"splitinfer nats-server", "not signed by a trusted CA", other.Path(other.CA)}},
		{"system roots only", plain, natsconn.ErrTLS, []string{"not signed by a trusted CA"}},
	} {
		start := time.Now()
		c, err := natsconn.Connect(context.Background(), tc.cfg)
		took := time.Since(start)
		if err == nil {
			c.Close()
			t.Errorf("%s: connected", tc.name)
			continue
		}
		if !errors.Is(err, tc.is) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.is)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
		if took > 5*time.Second {
			t.Errorf("%s: error after %v", tc.name, took)
		}
		t.Logf("%s (%v): %v", tc.name, took.Round(time.Millisecond), err)
	}

	c, err := natsconn.Connect(context.Background(), good)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if want := mustUser(t, d, "edge1").InboxPrefix(); c.InboxPrefix() != want || !strings.HasPrefix(c.NewRespInbox(), want+".") {
		t.Errorf("inbox prefix %q, want %q", c.InboxPrefix(), want)
	}
	if err := c.CheckPermissions(5 * time.Second); err != nil {
		t.Errorf("edge1 at start: %v", err)
	}
}

func mustUser(t *testing.T, d *natsauth.Deployment, name string) natsauth.User {
	u, ok := d.User(name)
	if !ok {
		t.Fatalf("no user %s", name)
	}
	return u
}

// TestPermissionsNameTheSubject: an edge's credentials can neither
// subscribe to the request subject (alone or in the cloud's queue group)
// nor publish to another edge's inbox, and CheckPermissions says which
// subject was refused.
func TestPermissionsNameTheSubject(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	d, url := secureServer(t)
	edge1 := mustUser(t, d, "edge1")
	for _, tc := range []struct {
		name, user string
		do         func(nc *nats.Conn) error
		subject    string
	}{
		{"edge subscribes to requests", "edge2", func(nc *nats.Conn) error {
			_, err := nc.SubscribeSync("splitinfer.infer")
			return err
		}, `subscribe "splitinfer.infer"`},
		{"edge joins the queue group", "edge2", func(nc *nats.Conn) error {
			_, err := nc.QueueSubscribeSync("splitinfer.infer", "splitinfer")
			return err
		}, `subscribe "splitinfer.infer" (queue "splitinfer")`},
		{"edge reads another edge's replies", "edge2", func(nc *nats.Conn) error {
			_, err := nc.SubscribeSync(edge1.InboxPrefix() + ".>")
			return err
		}, edge1.InboxPrefix()},
		{"edge publishes to another edge's inbox", "edge2", func(nc *nats.Conn) error {
			return nc.Publish(edge1.InboxPrefix()+".x.y", []byte("forged"))
		}, `publish "` + edge1.InboxPrefix()},
		{"cloud publishes a request", "cloud", func(nc *nats.Conn) error {
			return nc.Publish("splitinfer.infer", []byte("x"))
		}, `publish "splitinfer.infer"`},
	} {
		c, err := natsconn.Connect(context.Background(), userConfig(d, url, tc.user))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := tc.do(c.Conn); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		err = c.CheckPermissions(5 * time.Second)
		if !errors.Is(err, natsconn.ErrPermission) || !strings.Contains(err.Error(), tc.subject) {
			t.Errorf("%s: CheckPermissions %v, want a permission violation naming %s", tc.name, err, tc.subject)
		} else {
			t.Logf("%s: %v", tc.name, err)
		}
		c.Close()
	}
}

// TestReconnectEvents: a server killed and restarted on its port: the
// connection comes back by itself, and the disconnect and reconnect are
// logged (URL redacted) and counted in Events and the metric.
func TestReconnectEvents(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	port := freePort(t)
	srv := natstest.Start(t, "nats", fmt.Sprintf("listen: 127.0.0.1:%d\n", port), port)
	reader := sdkmetric.NewManualReader()
	var logs natstest.Buffer
	c, err := natsconn.Connect(context.Background(), natsconn.Config{URLs: []string{fmt.Sprintf("nats://bob:s3cret@127.0.0.1:%d", port)}, ReconnectWait: 50 * time.Millisecond},
		natsconn.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))), natsconn.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	srv.Restart()
	for deadline := time.Now().Add(10 * time.Second); c.Events().Reconnects == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: %+v\n%s", c.Events(), logs.String())
		}
	}
	if err := c.FlushTimeout(5 * time.Second); err != nil {
		t.Fatalf("after the reconnect: %v", err)
	}
	ev := c.Events()
	if ev.Disconnects < 1 || ev.Reconnects < 1 {
		t.Errorf("events %+v", ev)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	counted := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "splitinfer.nats.connection.events" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				v, _ := dp.Attributes.Value("event")
				counted[v.AsString()] += dp.Value
			}
		}
	}
	if counted["disconnected"] < 1 || counted["reconnected"] < 1 {
		t.Errorf("metric splitinfer.nats.connection.events: %v", counted)
	}
	out := logs.String()
	if !strings.Contains(out, "nats disconnected") || !strings.Contains(out, "nats reconnected") || strings.Contains(out, "s3cret") {
		t.Errorf("logs:\n%s", out)
	}
	t.Logf("events %+v, metric %v", ev, counted)
}

// TestDrainClose: messages a subscription has received when the
// connection is closed are handled, not dropped.
func TestDrainClose(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	port := freePort(t)
	natstest.Start(t, "nats", fmt.Sprintf("listen: 127.0.0.1:%d\n", port), port)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	c, err := natsconn.Connect(context.Background(), natsconn.Config{URLs: []string{url}}, natsconn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	var handled atomic.Int64
	if _, err := c.Subscribe("work", func(*nats.Msg) { time.Sleep(5 * time.Millisecond); handled.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	pub, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	for i := 0; i < 50; i++ {
		if err := pub.Publish("work", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	// The server has delivered them (the flush's PONG follows them); most
	// wait in the client when the drain starts.
	if err := c.FlushTimeout(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.DrainClose(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 50 {
		t.Errorf("%d of 50 received messages handled before the close", n)
	}
	if err := c.DrainClose(time.Second); err != nil {
		t.Errorf("second DrainClose: %v", err)
	}
}

// TestCredsJWT: a .creds file (user JWT + nkey seed) against a server in
// operator mode: the user connects with its private inbox (from the
// JWT's key) and its JWT's permissions apply; a user the account did not
// sign is refused with an authorization violation naming the file.
func TestCredsJWT(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	dir := t.TempDir()
	op, _ := nkeys.CreateOperator()
	opPub, _ := op.PublicKey()
	opJWT, err := jwt.NewOperatorClaims(opPub).Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	acc, _ := nkeys.CreateAccount()
	accPub, _ := acc.PublicKey()
	accJWT, err := jwt.NewAccountClaims(accPub).Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	creds := func(name string, signer nkeys.KeyPair) (string, string) {
		u, _ := nkeys.CreateUser()
		pub, _ := u.PublicKey()
		seed, _ := u.Seed()
		uc := jwt.NewUserClaims(pub)
		uc.IssuerAccount = accPub
		uc.Pub.Allow.Add("splitinfer.infer")
		uc.Sub.Allow.Add(natsconn.InboxPrefixFor(pub) + ".>")
		ujwt, err := uc.Encode(signer)
		if err != nil {
			t.Fatal(err)
		}
		b, err := jwt.FormatUserConfig(ujwt, seed)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".creds")
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return file, pub
	}
	good, pub := creds("edge", acc)
	rogue, _ := nkeys.CreateAccount()
	bad, _ := creds("rogue", rogue)
	if err := os.WriteFile(filepath.Join(dir, "op.jwt"), []byte(opJWT), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	natstest.Start(t, "nats", fmt.Sprintf("listen: 127.0.0.1:%d\noperator: %q\nresolver: MEMORY\nresolver_preload: { %s: %q }\n",
		port, filepath.Join(dir, "op.jwt"), accPub, accJWT), port)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)

	c, err := natsconn.Connect(context.Background(), natsconn.Config{URLs: []string{url}, Creds: good, PrivateInbox: true}, natsconn.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.InboxPrefix() != natsconn.InboxPrefixFor(pub) {
		t.Errorf("inbox prefix %q, want %q", c.InboxPrefix(), natsconn.InboxPrefixFor(pub))
	}
	if _, err := c.SubscribeSync(c.NewRespInbox()); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckPermissions(5 * time.Second); err != nil {
		t.Errorf("own inbox: %v", err)
	}
	if _, err := c.SubscribeSync("splitinfer.infer"); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckPermissions(5 * time.Second); !errors.Is(err, natsconn.ErrPermission) {
		t.Errorf("the JWT's permissions: %v", err)
	}
	_, err = natsconn.Connect(context.Background(), natsconn.Config{URLs: []string{url}, Creds: bad})
	if !errors.Is(err, natsconn.ErrAuthorization) || !strings.Contains(err.Error(), bad) {
		t.Errorf("a user of another account: %v", err)
	}
}
