package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/internal/natsauth"
	"github.com/splitinfer/splitinfer/internal/natstest"
)

// secureNATS runs nats-server with the shipped deploy/nats.conf (its
// listeners moved to loopback ports) and a generated deployment's
// secrets/auth.conf; it returns the deployment and the client URL.
func secureNATS(t *testing.T, opts natsauth.Options) (*natsauth.Deployment, string, *natstest.Server) {
	t.Helper()
	dir := t.TempDir()
	if opts.Mount == "" {
		opts.Mount = filepath.Join(dir, "secrets")
	}
	if len(opts.Leaves) > 0 && opts.LeafListen == "" {
		opts.LeafListen = fmt.Sprintf("127.0.0.1:%d", natstest.FreePort(t))
		opts.HubLeafURL = "tls://" + opts.LeafListen
	}
	d, err := natsauth.Generate(filepath.Join(dir, "secrets"), opts)
	if err != nil {
		t.Fatal(err)
	}
	port := natstest.FreePort(t)
	conf := shippedConf(t, "nats.conf", map[string]string{
		"listen: 0.0.0.0:4222": fmt.Sprintf("listen: 127.0.0.1:%d", port),
		"https: 0.0.0.0:8222":  fmt.Sprintf("https: 127.0.0.1:%d", natstest.FreePort(t)),
	})
	file := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return d, fmt.Sprintf("tls://127.0.0.1:%d", port), natstest.StartFile(t, "nats", file, port)
}

// shippedConf reads deploy/NAME and makes the replacements (each must
// apply: the test follows the shipped file).
func shippedConf(t *testing.T, name string, repl map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for from, to := range repl {
		if !strings.Contains(s, from) {
			t.Fatalf("deploy/%s lacks %q", name, from)
		}
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

// userFlags are the connection flags of a deployment's user.
func userFlags(d *natsauth.Deployment, url, name string) []string {
	u, _ := d.User(name)
	return []string{"--nats", url, "--nkey", d.Path(u.Seed), "--tls-ca", d.Path(d.CA), "--tls-cert", d.Path(u.Cert), "--tls-key", d.Path(u.Key)}
}

// TestSecureConnectErrors: the edge and the cloud, started against a
// TLS+accounts server without credentials, with a certificate of another
// CA, or with a wrong password in the URL, exit non-zero within 5 s and say
// why, without printing the password.
func TestSecureConnectErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nats-server")
	}
	d, url, _ := secureNATS(t, natsauth.Options{})
	other, err := natsauth.Generate(t.TempDir(), natsauth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := d.User("edge1")
	oe, _ := other.User("edge1")
	noCreds := []string{"--nats", url, "--tls-ca", d.Path(d.CA), "--tls-cert", d.Path(e.Cert), "--tls-key", d.Path(e.Key)}
	otherCA := []string{"--nats", url, "--nkey", d.Path(e.Seed), "--tls-ca", d.Path(d.CA), "--tls-cert", other.Path(oe.Cert), "--tls-key", other.Path(oe.Key)}
	password := []string{"--nats", strings.Replace(url, "tls://", "tls://edge:hunter2@", 1), "--tls-ca", d.Path(d.CA), "--tls-cert", d.Path(e.Cert), "--tls-key", d.Path(e.Key)}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"edge without credentials", append([]string{"edge", "--n", "1"}, noCreds...), "authorization violation"},
		{"cloud without credentials", append([]string{"cloud"}, noCreds...), "authorization violation"},
		{"edge with another CA's certificate", append([]string{"edge", "--n", "1"}, otherCA...), "TLS verification failed"},
		{"edge with a wrong password", append([]string{"edge", "--n", "1"}, password...), "authorization violation"},
		{"edge with a missing nkey file", append([]string{"edge", "--n", "1", "--nkey", "/nonexistent/edge.nk"}, noCreds...), "/nonexistent/edge.nk"},
	} {
		var out, errb bytes.Buffer
		start := time.Now()
		code := runMain(context.Background(), tc.args, &out, &errb)
		took := time.Since(start)
		msg := errb.String()
		if code == 0 || !strings.Contains(msg, tc.want) || took > 5*time.Second {
			t.Errorf("%s: exit %d after %v, stderr:\n%s\nwant an error naming %q within 5 s", tc.name, code, took, msg, tc.want)
		}
		if strings.Contains(msg, "hunter2") {
			t.Errorf("%s: the password is printed:\n%s", tc.name, msg)
		}
		t.Logf("%s: exit %d after %v: %s", tc.name, code, took.Round(time.Millisecond), strings.TrimSpace(msg))
	}
}
