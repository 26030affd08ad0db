// Package natsauth generates what a secure splitinfer deployment of NATS
// needs: a private CA, a server certificate (also used between cluster
// servers and on the leaf-node listener), and for every user (one per cloud
// pool, one per edge, one per leaf-node edge site) an nkey seed and a client
// certificate; and the nats-server configuration that grants each role only
// the subjects it needs (Permissions). deploy/gen is its command.
package natsauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/splitinfer/splitinfer/pipeline/natsconn"
)

// Account is the NATS account the deployment's users live in.
const Account = "SPLITINFER"

// Role is what a user does.
type Role string

// Roles.
const (
	RoleCloud Role = "cloud" // a cloud worker pool: serves the subject
	RoleEdge  Role = "edge"  // an edge: sends requests, reads its own replies
	RoleLeaf  Role = "leaf"  // an edge site's leaf-node server
)

// Options describe a deployment. Zero fields take the documented defaults.
type Options struct {
	// Subject is the cloud workers' subject (default splitinfer.infer).
	Subject string
	// Service is the micro service name (default splitinfer).
	Service string
	// Pools, Edges and Leaves name the users of each role (defaults:
	// "cloud"; "edge1"; none). Names are subject tokens: [A-Za-z0-9_-].
	Pools, Edges, Leaves []string
	// Hosts are the names and IPs the server certificate is valid for
	// (default localhost, 127.0.0.1, nats, and the Kubernetes service
	// names nats.splitinfer.svc and nats.splitinfer.svc.cluster.local).
	Hosts []string
	// Mount is where the files are found at run time, in the paths the
	// generated configuration names (default the output directory).
	Mount string
	// ValidFor is the certificates' lifetime (default 1 year).
	ValidFor time.Duration
	// LeafListen is the hub's leaf-node listener when there are Leaves
	// (default 0.0.0.0:7422); HubLeafURL is where the leaf sites reach it
	// (default tls://nats:7422).
	LeafListen, HubLeafURL string
}

var nameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (o Options) withDefaults() Options {
	if o.Subject == "" {
		o.Subject = "splitinfer.infer"
	}
	if o.Service == "" {
		o.Service = "splitinfer"
	}
	if len(o.Pools) == 0 {
		o.Pools = []string{"cloud"}
	}
	if len(o.Edges) == 0 {
		o.Edges = []string{"edge1"}
	}
	if len(o.Hosts) == 0 {
		o.Hosts = []string{"localhost", "127.0.0.1", "nats", "nats.splitinfer.svc", "nats.splitinfer.svc.cluster.local"}
	}
	if o.ValidFor == 0 {
		o.ValidFor = 365 * 24 * time.Hour
	}
	if o.LeafListen == "" {
		o.LeafListen = "0.0.0.0:7422"
	}
	if o.HubLeafURL == "" {
		o.HubLeafURL = "tls://nats:7422"
	}
	return o
}

// User is one generated identity.
type User struct {
	Name   string
	Role   Role
	Public string // the nkey's public key (U...)
	// Files, relative to the output directory.
	Seed, Cert, Key string
}

// InboxPrefix is the reply prefix of an edge user: natsconn.InboxPrefixFor
// of its identity, its nkey's public key.
func (u User) InboxPrefix() string { return natsconn.InboxPrefixFor(u.Public) }

// Deployment is a generated deployment.
type Deployment struct {
	Dir   string
	Opts  Options
	Users []User
	// Files relative to Dir.
	CA, CAKey, ServerCert, ServerKey, AuthConf string
}

// User returns the named user.
func (d *Deployment) User(name string) (User, bool) {
	for _, u := range d.Users {
		if u.Name == name {
			return u, true
		}
	}
	return User{}, false
}

// Path is the absolute path of a generated file.
func (d *Deployment) Path(file string) string { return filepath.Join(d.Dir, file) }

// Generate writes a new deployment into dir (created 0700; private keys
// and seeds 0600): ca.pem and ca-key.pem (keep the key offline: it only
// issues certificates), server-cert.pem/server-key.pem, per user NAME.nk,
// NAME-cert.pem and NAME-key.pem, and auth.conf (TLS, the account, its
// users and permissions, leaf-node authorization) for nats.conf to include.
func Generate(dir string, opts Options) (*Deployment, error) {
	o := opts.withDefaults()
	seen := map[string]bool{}
	for _, group := range [][]string{o.Pools, o.Edges, o.Leaves} {
		for _, n := range group {
			if !nameRe.MatchString(n) || n == "ca" || n == "server" {
				return nil, fmt.Errorf("natsauth: user name %q (want [A-Za-z0-9_-], not ca or server)", n)
			}
			if seen[n] {
				return nil, fmt.Errorf("natsauth: user %q named twice", n)
			}
			seen[n] = true
		}
	}
	if strings.ContainsAny(o.Subject, " *>\t\r\n") || !nameRe.MatchString(o.Service) {
		return nil, errors.New("natsauth: invalid subject or service name")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	if o.Mount == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("natsauth: %w", err)
		}
		o.Mount = abs
	}
	d := &Deployment{Dir: dir, Opts: o, CA: "ca.pem", CAKey: "ca-key.pem", ServerCert: "server-cert.pem", ServerKey: "server-key.pem", AuthConf: "auth.conf"}
	ca, caKey, err := newCA(o.ValidFor)
	if err != nil {
		return nil, err
	}
	if err := writeCert(d.Path(d.CA), ca.Raw, d.Path(d.CAKey), caKey); err != nil {
		return nil, err
	}
	srv, srvKey, err := issue(ca, caKey, "splitinfer nats-server", o.Hosts, o.ValidFor, true)
	if err != nil {
		return nil, err
	}
	if err := writeCert(d.Path(d.ServerCert), srv, d.Path(d.ServerKey), srvKey); err != nil {
		return nil, err
	}
	add := func(names []string, role Role) error {
		for _, n := range names {
			kp, err := nkeys.CreateUser()
			if err != nil {
				return fmt.Errorf("natsauth: %w", err)
			}
			seed, _ := kp.Seed()
			pub, _ := kp.PublicKey()
			u := User{Name: n, Role: role, Public: pub, Seed: n + ".nk", Cert: n + "-cert.pem", Key: n + "-key.pem"}
			if err := os.WriteFile(d.Path(u.Seed), append(seed, '\n'), 0o600); err != nil {
				return fmt.Errorf("natsauth: %w", err)
			}
			var hosts []string
			if role == RoleLeaf { // the site's server: its clients' listener
				hosts = append([]string{n}, o.Hosts...)
			}
			cert, key, err := issue(ca, caKey, "splitinfer "+string(role)+" "+n, hosts, o.ValidFor, role == RoleLeaf)
			if err != nil {
				return err
			}
			if err := writeCert(d.Path(u.Cert), cert, d.Path(u.Key), key); err != nil {
				return err
			}
			d.Users = append(d.Users, u)
		}
		return nil
	}
	if err := add(o.Pools, RoleCloud); err != nil {
		return nil, err
	}
	if err := add(o.Edges, RoleEdge); err != nil {
		return nil, err
	}
	if err := add(o.Leaves, RoleLeaf); err != nil {
		return nil, err
	}
	if err := os.WriteFile(d.Path(d.AuthConf), []byte(d.AuthConfig()), 0o600); err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	for _, u := range d.Users {
		if u.Role != RoleLeaf {
			continue
		}
		conf, err := d.LeafConfig(u)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(d.Path(d.LeafAuthConf(u)), []byte(conf), 0o600); err != nil {
			return nil, fmt.Errorf("natsauth: %w", err)
		}
	}
	return d, nil
}

// Permissions is the permission set of a role (nats-server syntax), for
// the users of the deployment's account. Cloud pools subscribe to the
// subject and its profile and echo endpoints and to micro's $SRV.>
// discovery, and publish nothing but replies to requests they received
// (allow_responses). Edges publish requests to those three subjects and
// micro discovery requests for the service, and subscribe to their own
// private inbox only. A leaf site's link may carry what its edges may
// publish, and the replies to all the deployment's edges.
func (d *Deployment) Permissions(u User) string {
	s, svc := d.Opts.Subject, d.Opts.Service
	pub := fmt.Sprintf("%q, %q, %q, %q, %q", s, s+".profile", s+".echo", "$SRV.*."+svc, "$SRV.*."+svc+".>")
	switch u.Role {
	case RoleCloud:
		return fmt.Sprintf(`{
        publish: { deny: [">"] }
        subscribe: { allow: [%q, %q, %q, "$SRV.>"] }
        allow_responses: { max: 1, expires: "1m" }
      }`, s, s+".profile", s+".echo")
	case RoleEdge:
		return fmt.Sprintf(`{
        publish: { allow: [%s] }
        subscribe: { allow: [%q] }
      }`, pub, u.InboxPrefix()+".>")
	case RoleLeaf:
		var inboxes []string
		for _, e := range d.Users {
			if e.Role == RoleEdge {
				inboxes = append(inboxes, fmt.Sprintf("%q", e.InboxPrefix()+".>"))
			}
		}
		return fmt.Sprintf(`{
        publish: { allow: [%s] }
        subscribe: { allow: [%s] }
      }`, pub, strings.Join(inboxes, ", "))
	}
	return ""
}

// AuthConfig is the nats-server configuration the deployment adds to
// deploy/nats.conf: mutual TLS on the client listener (and HTTPS
// monitoring), one account with a user (nkey) per pool, edge and leaf site
// and the role's permissions, and, with leaf sites, the leaf-node listener
// with mutual TLS.
func (d *Deployment) AuthConfig() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by deploy/gen (internal/natsauth): TLS and the %s account.\n", Account)
	b.WriteString("# It holds public keys only; the seeds and private keys stay in the secret.\n")
	fmt.Fprintf(&b, "tls: %s\n\n", d.tlsBlock(d.ServerCert, d.ServerKey, true))
	b.WriteString(d.accounts(RoleCloud, RoleEdge, RoleLeaf))
	if d.hasRole(RoleLeaf) {
		b.WriteString("\n# Leaf-node edge sites connect here (mutual TLS, then their leaf user's nkey).\n")
		fmt.Fprintf(&b, "leafnodes: {\n  listen: %q\n  tls: %s\n}\n", d.Opts.LeafListen, d.tlsBlock(d.ServerCert, d.ServerKey, true))
	}
	return b.String()
}

// LeafAuthConf is the file name of a leaf site's generated configuration.
func (d *Deployment) LeafAuthConf(site User) string { return "leaf-" + site.Name + "-auth.conf" }

// LeafConfig is the configuration deploy/leaf.conf includes at edge site
// site: mutual TLS on the site's listener with the site's certificate, the
// edges' users and permissions (as on the hub), and the leaf-node remote to
// the hub (mutual TLS, the site's nkey seed: this file is a secret).
func (d *Deployment) LeafConfig(site User) (string, error) {
	seed, err := os.ReadFile(d.Path(site.Seed))
	if err != nil {
		return "", fmt.Errorf("natsauth: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Generated by deploy/gen (internal/natsauth): leaf site %s. Holds the site's nkey seed: keep it secret.\n", site.Name)
	fmt.Fprintf(&b, "tls: %s\n\n", d.tlsBlock(site.Cert, site.Key, true))
	b.WriteString(d.accounts(RoleEdge))
	fmt.Fprintf(&b, `
leafnodes: {
  remotes: [
    {
      url: %q
      account: %q
      nkey: %q
      tls: %s
    }
  ]
}
`, d.Opts.HubLeafURL, Account, strings.TrimSpace(string(seed)), d.tlsBlock(site.Cert, site.Key, false))
	return b.String(), nil
}

func (d *Deployment) hasRole(r Role) bool {
	for _, u := range d.Users {
		if u.Role == r {
			return true
		}
	}
	return false
}

// accounts is the accounts block with the users of the given roles.
func (d *Deployment) accounts(roles ...Role) string {
	var b strings.Builder
	fmt.Fprintf(&b, "accounts: {\n  %s: {\n    users: [\n", Account)
	for _, r := range roles {
		for _, u := range d.Users {
			if u.Role == r {
				fmt.Fprintf(&b, "      # %s %s\n      { nkey: %q, permissions: %s }\n", u.Role, u.Name, u.Public, d.Permissions(u))
			}
		}
	}
	b.WriteString("    ]\n  }\n}\n")
	return b.String()
}

// tlsBlock is a tls block with a certificate and the CA; verify requires
// and checks the peers' certificates.
func (d *Deployment) tlsBlock(cert, key string, verify bool) string {
	m := func(f string) string { return filepath.ToSlash(filepath.Join(d.Opts.Mount, f)) }
	v := ""
	if verify {
		v = ", verify: true"
	}
	return fmt.Sprintf("{ cert_file: %q, key_file: %q, ca_file: %q%s, timeout: 2 }", m(cert), m(key), m(d.CA), v)
}

// ClusterTLS is the tls block for a cluster's routes (mutual TLS with the
// server certificate).
func (d *Deployment) ClusterTLS() string { return d.tlsBlock(d.ServerCert, d.ServerKey, true) }

func newCA(validFor time.Duration) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, serial, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "splitinfer CA " + serial.Text(36)[:8], Organization: []string{"splitinfer"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(validFor),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("natsauth: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("natsauth: %w", err)
	}
	return cert, key, nil
}

// issue makes a certificate signed by ca: for a server (with hosts, used
// for both ends of routes and leaf connections) or a client.
func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, hosts []string, validFor time.Duration, server bool) ([]byte, *ecdsa.PrivateKey, error) {
	key, serial, err := newKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"splitinfer"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		for _, h := range hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("natsauth: %w", err)
	}
	return der, key, nil
}

func writeCert(certFile string, der []byte, keyFile string, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return fmt.Errorf("natsauth: %w", err)
	}
	return nil
}

// newKey makes a P-256 key and a random certificate serial number.
func newKey() (*ecdsa.PrivateKey, *big.Int, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("natsauth: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("natsauth: %w", err)
	}
	return key, serial, nil
}

// Client is the connection configuration of user name at urls: its nkey,
// its client certificate and the CA; edges take their private inbox.
func (d *Deployment) Client(name string, urls ...string) natsconn.Config {
	u, _ := d.User(name)
	return natsconn.Config{URLs: urls, NKey: d.Path(u.Seed), TLSCA: d.Path(d.CA), TLSCert: d.Path(u.Cert), TLSKey: d.Path(u.Key),
		PrivateInbox: u.Role == RoleEdge}
}
