package natsauth_test

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/splitinfer/splitinfer/internal/natsauth"
)

func TestGenerate(t *testing.T) {
	d, err := natsauth.Generate(t.TempDir(), natsauth.Options{Pools: []string{"gpu"}, Edges: []string{"cam-1", "cam-2"}, Leaves: []string{"plant"}})
	if err != nil {
		t.Fatal(err)
	}
	seedRe := regexp.MustCompile(`SU[A-Z2-7]{50,}`)
	auth, err := os.ReadFile(d.Path(d.AuthConf))
	if err != nil {
		t.Fatal(err)
	}
	if seedRe.Match(auth) || strings.Contains(string(auth), "PRIVATE KEY") {
		t.Errorf("auth.conf holds a secret:\n%s", auth)
	}
	for _, u := range d.Users {
		if !strings.Contains(string(auth), u.Public) {
			t.Errorf("auth.conf lacks user %s", u.Name)
		}
		for _, f := range []string{u.Seed, u.Key} {
			fi, err := os.Stat(d.Path(f))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v (want 0600)", f, err, fi.Mode().Perm())
			}
		}
		b, _ := os.ReadFile(d.Path(u.Cert))
		blk, _ := pem.Decode(b)
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		ca, _ := os.ReadFile(d.Path(d.CA))
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca)
		if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s's certificate: %v", u.Name, err)
		}
	}
	cam1, _ := d.User("cam-1")
	cam2, _ := d.User("cam-2")
	perm := d.Permissions(cam1)
	if !strings.Contains(perm, cam1.InboxPrefix()+".>") || strings.Contains(perm, cam2.InboxPrefix()) || strings.Contains(perm, `"_INBOX.>"`) {
		t.Errorf("edge permissions:\n%s", perm)
	}
	gpu, _ := d.User("gpu")
	if p := d.Permissions(gpu); !strings.Contains(p, `deny: [">"]`) || !strings.Contains(p, "allow_responses") || !strings.Contains(p, `"$SRV.>"`) {
		t.Errorf("cloud permissions:\n%s", p)
	}
	plant, _ := d.User("plant")
	leaf, err := os.ReadFile(d.Path(d.LeafAuthConf(plant)))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(d.Path(d.LeafAuthConf(plant))); fi.Mode().Perm() != 0o600 || !strings.Contains(string(leaf), "remotes") {
		t.Errorf("leaf config (mode %v):\n%s", fi.Mode().Perm(), leaf)
	}
	for _, bad := range []natsauth.Options{{Edges: []string{"a.b"}}, {Edges: []string{"x", "x"}}, {Pools: []string{"ca"}}, {Subject: "a.*"}} {
		if _, err := natsauth.Generate(t.TempDir(), bad); err == nil {
			t.Errorf("Generate(%+v) accepted", bad)
		}
	}
}
