// Command gen generates the certificates, nkeys and nats-server
// configuration of a new secure splitinfer deployment (internal/natsauth):
//
//	go run ./deploy/gen -out deploy/secrets -pools cloud -edges edge1,edge2 -leaves site1
//
// It writes a private CA (ca.pem; ca-key.pem only issues certificates:
// keep it offline), the server's certificate, and per user (one per cloud
// pool, edge and leaf site) an nkey seed (NAME.nk) and a client
// certificate (NAME-cert.pem, NAME-key.pem); auth.conf, which
// deploy/nats.conf includes (TLS, the account, the users' permissions);
// and per leaf site leaf-SITE-auth.conf, which deploy/leaf.conf includes.
// Private files are written 0600. Nothing is printed but the file list and
// the kubectl commands that turn the files into Secrets.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/splitinfer/splitinfer/internal/natsauth"
)

func main() {
	out := flag.String("out", "deploy/secrets", "output directory (must not exist yet, or be empty)")
	pools := flag.String("pools", "cloud", "cloud worker pools, comma-separated (one user each)")
	edges := flag.String("edges", "edge1", "edges, comma-separated (one user each)")
	leaves := flag.String("leaves", "", "leaf-node edge sites, comma-separated (one user and leaf config each)")
	hosts := flag.String("hosts", "", "names and IPs the server certificate is valid for, comma-separated (default localhost,127.0.0.1,nats,nats.splitinfer.svc,nats.splitinfer.svc.cluster.local)")
	mount := flag.String("mount", "/etc/nats/secrets", "where nats-server finds these files at run time (the paths in auth.conf)")
	hub := flag.String("hub", "tls://nats:7422", "the hub's leaf-node URL, for the leaf sites")
	subject := flag.String("subject", "splitinfer.infer", "the cloud workers' subject")
	validFor := flag.Duration("valid-for", 365*24*time.Hour, "certificate lifetime")
	flag.Parse()
	if entries, err := os.ReadDir(*out); err == nil && len(entries) > 0 {
		fmt.Fprintf(os.Stderr, "gen: %s is not empty: refusing to overwrite a deployment's keys\n", *out)
		os.Exit(2)
	}
	d, err := natsauth.Generate(*out, natsauth.Options{
		Subject: *subject, Pools: split(*pools), Edges: split(*edges), Leaves: split(*leaves), Hosts: split(*hosts),
		Mount: *mount, HubLeafURL: *hub, ValidFor: *validFor,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	entries, _ := os.ReadDir(*out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	fmt.Printf("wrote %s: %s\n\nKubernetes secrets (namespace splitinfer):\n", *out, strings.Join(names, " "))
	fmt.Printf("  kubectl -n splitinfer create secret generic nats-server --from-file=%s --from-file=%s --from-file=%s --from-file=%s\n",
		d.Path(d.AuthConf), d.Path(d.CA), d.Path(d.ServerCert), d.Path(d.ServerKey))
	for _, u := range d.Users {
		if u.Role == natsauth.RoleLeaf {
			continue
		}
		fmt.Printf("  kubectl -n splitinfer create secret generic splitinfer-%s --from-file=%s --from-file=user.nk=%s --from-file=user-cert.pem=%s --from-file=user-key.pem=%s\n",
			u.Name, d.Path(d.CA), d.Path(u.Seed), d.Path(u.Cert), d.Path(u.Key))
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
