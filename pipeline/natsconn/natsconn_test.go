package natsconn_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/pipeline/natsconn"
)

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://alice:s3cret@host:4222", "nats://alice:xxxxx@host:4222"},
		{"tls://tok3n@host:4222", "tls://xxxxx@host:4222"},
		{"nats://a:b c%zz@host:4222", "<redacted>@host:4222"},
	} {
		if got := natsconn.RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidateNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.creds")
	if err := os.WriteFile(bad, []byte("not a creds file"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.nk")
	for _, tc := range []struct {
		name string
		cfg  natsconn.Config
		want string
	}{
		{"creds", natsconn.Config{Creds: bad}, bad},
		{"nkey", natsconn.Config{NKey: missing}, missing},
		{"ca", natsconn.Config{TLSCA: missing}, missing},
		{"cert", natsconn.Config{TLSCert: missing, TLSKey: bad}, missing},
		{"password file", natsconn.Config{User: "u", PasswordFile: missing}, missing},
		{"two credentials", natsconn.Config{User: "u", NKey: bad}, "one of"},
		{"url", natsconn.Config{URLs: []string{"nats://u:s3cret@ho st:1"}}, "malformed server URL"},
		{"scheme", natsconn.Config{URLs: []string{"http://u:s3cret@host:1"}}, "scheme"},
		{"private inbox without identity", natsconn.Config{PrivateInbox: true}, "identity"},
	} {
		_, err := natsconn.Connect(context.Background(), tc.cfg)
		if err == nil || !errors.Is(err, natsconn.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want ErrConfig naming %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the password: %v", tc.name, err)
		}
	}
}

func TestInboxPrefixFor(t *testing.T) {
	if got := natsconn.InboxPrefixFor("edge-1.site a"); got != "_INBOX_edge-1_site_a" {
		t.Errorf("InboxPrefixFor = %q", got)
	}
	id, err := natsconn.Config{User: "edge7"}.Identity()
	if err != nil || id != "edge7" {
		t.Errorf("Identity = %q, %v", id, err)
	}
}

func TestWithContext(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if err := os.MkdirAll(filepath.Join(dir, "nats", "context"), 0o700); err != nil {
		t.Fatal(err)
	}
	ctxJSON := `{"url":"tls://a:4222,tls://b:4222","user":"edge1","password":"pw","ca":"/x/ca.pem","inbox_prefix":"_INBOX_edge1"}`
	if err := os.WriteFile(filepath.Join(dir, "nats", "context", "prod.json"), []byte(ctxJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := natsconn.Config{TLSCA: "/mine/ca.pem"}.WithContext("prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.URLs) != 2 || cfg.User != "edge1" || cfg.Password != "pw" || cfg.TLSCA != "/mine/ca.pem" || cfg.InboxPrefix != "_INBOX_edge1" {
		t.Errorf("config from context: %+v", cfg)
	}
	if _, err := (natsconn.Config{}).WithContext("nope"); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing context: %v", err)
	}
}

func TestConnectRefusedQuickly(t *testing.T) {
	port := freePort(t)
	var logs bytes.Buffer
	start := time.Now()
	_, err := natsconn.Connect(context.Background(), natsconn.Config{URLs: []string{fmt.Sprintf("nats://bob:s3cret@127.0.0.1:%d", port)}},
		natsconn.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if !errors.Is(err, natsconn.ErrRefused) {
		t.Fatalf("error %v, want ErrRefused", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("refused after %v", d)
	}
	if strings.Contains(err.Error()+logs.String(), "s3cret") {
		t.Errorf("password printed: %v\n%s", err, logs.String())
	}
	t.Logf("%v", err)
}
