// Package natsconn connects splitinfer's workers to NATS servers beyond one
// machine: several server URLs (a cluster), credentials (a JWT .creds file,
// an nkey seed, or a user and password), TLS with a private CA and client
// certificates, natscli contexts, a private inbox prefix derived from the
// client's identity, and reconnect/disconnect/error handlers that log
// through log/slog and count in metrics. Errors name their cause (connection
// refused, TLS verification with the certificate's subject and the CA,
// authorization or permission violation with the subject) and never carry a
// secret: URLs are shown with their user info redacted.
package natsconn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// ErrConfig marks a configuration that cannot be used (bad or unreadable
// files, conflicting options).
var ErrConfig = errors.New("natsconn: bad configuration")

// Config says how to reach NATS. Zero fields take the defaults documented
// on each field; Validate reports the rest.
type Config struct {
	// URLs are the servers (several for a cluster; default
	// nats.DefaultURL). A URL may carry user info; it is never printed.
	URLs []string
	// Name is the connection's name in the server's monitoring.
	Name string
	// Creds is a JWT + nkey seed file (nats.UserCredentials).
	Creds string
	// NKey is an nkey seed file (a user's "SU..." seed).
	NKey string
	// User and Password authenticate by user and password. The password
	// comes from PasswordFile (or the caller's environment), never from a
	// command line.
	User, Password string
	// PasswordFile holds the password (trailing newline trimmed).
	PasswordFile string
	// TLSCA is a PEM file of the CAs that sign the server's certificate
	// (default the system's roots when the server requires TLS).
	TLSCA string
	// TLSCert and TLSKey are the client's certificate and key (mutual TLS).
	TLSCert, TLSKey string
	// InboxPrefix is the prefix of the connection's reply subjects. Empty:
	// with PrivateInbox, InboxPrefixFor(identity); without, nats.go's _INBOX.
	InboxPrefix string
	// PrivateInbox derives the inbox prefix from the client's identity
	// (user name, or the nkey's public key), so that the server's
	// permissions can allow this client's replies and no one else's.
	PrivateInbox bool
	// ConnectTimeout bounds one connection attempt, TLS handshake and
	// authentication included (default 5s).
	ConnectTimeout time.Duration
	// ConnectWait keeps retrying refused connections at start for this
	// long (servers starting after the workers; default 0: fail at once).
	// TLS and authorization errors are never retried.
	ConnectWait time.Duration
	// ReconnectWait is the pause between reconnect attempts to one server
	// once connected (default 250ms); reconnects never stop.
	ReconnectWait time.Duration
}

func (c Config) withDefaults() Config {
	if len(c.URLs) == 0 {
		c.URLs = []string{nats.DefaultURL}
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = 5 * time.Second
	}
	if c.ReconnectWait == 0 {
		c.ReconnectWait = 250 * time.Millisecond
	}
	return c
}

// SplitURLs splits a comma-separated list of server URLs.
func SplitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// Validate reports a configuration that Connect would reject: malformed
// URLs, conflicting credentials, and credential, key and certificate files
// that are missing, unreadable or malformed (the error names the file).
func (c Config) Validate() error {
	_, err := c.resolve()
	return err
}

// resolved is a validated configuration with its files read.
type resolved struct {
	Config
	nkeyPub  string // public key of NKey or Creds
	password string
}

func (c Config) resolve() (*resolved, error) {
	c = c.withDefaults()
	r := &resolved{Config: c, password: c.Password}
	for _, u := range c.URLs {
		if err := checkURL(u); err != nil {
			return nil, err
		}
	}
	n := 0
	for _, set := range []bool{c.Creds != "", c.NKey != "", c.User != ""} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return nil, fmt.Errorf("%w: give one of creds, nkey, or user and password", ErrConfig)
	case c.Password != "" && c.PasswordFile != "":
		return nil, fmt.Errorf("%w: give the password or a password file, not both", ErrConfig)
	case (c.Password != "" || c.PasswordFile != "") && c.User == "":
		return nil, fmt.Errorf("%w: a password without a user", ErrConfig)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return nil, fmt.Errorf("%w: a TLS client certificate needs both its certificate and its key", ErrConfig)
	case c.ConnectTimeout < 0 || c.ConnectWait < 0 || c.ReconnectWait < 0:
		return nil, fmt.Errorf("%w: negative duration", ErrConfig)
	}
	if c.InboxPrefix != "" {
		if err := nats.CustomInboxPrefix(c.InboxPrefix)(&nats.Options{}); err != nil {
			return nil, fmt.Errorf("%w: inbox prefix %q: %v", ErrConfig, c.InboxPrefix, err)
		}
	}
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("%w: password file: %v", ErrConfig, err)
		}
		r.password = strings.TrimRight(string(b), "\r\n")
		if r.password == "" {
			return nil, fmt.Errorf("%w: password file %s is empty", ErrConfig, c.PasswordFile)
		}
	}
	if c.Creds != "" {
		b, err := os.ReadFile(c.Creds)
		if err != nil {
			return nil, fmt.Errorf("%w: creds file: %v", ErrConfig, err)
		}
		if _, err := nkeys.ParseDecoratedJWT(b); err != nil || !strings.Contains(string(b), "BEGIN NATS USER JWT") {
			return nil, fmt.Errorf("%w: creds file %s holds no user JWT", ErrConfig, c.Creds)
		}
		kp, err := nkeys.ParseDecoratedNKey(b)
		if err != nil {
			return nil, fmt.Errorf("%w: creds file %s holds no user nkey seed", ErrConfig, c.Creds)
		}
		if r.nkeyPub, err = kp.PublicKey(); err != nil {
			return nil, fmt.Errorf("%w: creds file %s: %v", ErrConfig, c.Creds, err)
		}
		kp.Wipe()
	}
	if c.NKey != "" {
		kp, err := readSeed(c.NKey)
		if err != nil {
			return nil, err
		}
		r.nkeyPub, _ = kp.PublicKey()
		kp.Wipe()
	}
	if c.TLSCA != "" {
		if _, _, err := loadCAs(c.TLSCA); err != nil {
			return nil, err
		}
	}
	if c.TLSCert != "" {
		if _, err := loadKeyPair(c.TLSCert, c.TLSKey); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// readSeed reads a user's nkey seed file.
func readSeed(file string) (nkeys.KeyPair, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: nkey file: %v", ErrConfig, err)
	}
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: nkey file %s holds no nkey seed", ErrConfig, file)
	}
	if pub, err := kp.PublicKey(); err != nil || !nkeys.IsValidPublicUserKey(pub) {
		kp.Wipe()
		return nil, fmt.Errorf("%w: nkey file %s holds no user seed (SU...)", ErrConfig, file)
	}
	return kp, nil
}

func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		// url.Parse's error repeats the URL, password included.
		return fmt.Errorf("%w: malformed server URL %s", ErrConfig, RedactURL(raw))
	}
	switch u.Scheme {
	case "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%w: server URL %s: scheme %q (want nats, tls, ws or wss)", ErrConfig, RedactURL(raw), u.Scheme)
	}
	return nil
}

// Identity is the name the client is known by: the user, or the public key
// of its nkey or creds, or "" when it authenticates by neither.
func (c Config) Identity() (string, error) {
	r, err := c.resolve()
	if err != nil {
		return "", err
	}
	return r.identity(), nil
}

func (r *resolved) identity() string {
	if r.User != "" {
		return r.User
	}
	if r.nkeyPub != "" {
		return r.nkeyPub
	}
	for _, raw := range r.URLs {
		if u, err := url.Parse(raw); err == nil && u.User != nil && u.User.Username() != "" {
			return u.User.Username()
		}
	}
	return ""
}

// InboxPrefixFor is the private inbox prefix of a client known as
// identity: "_INBOX_" followed by the identity with characters that are
// not allowed in a subject token replaced by "_". A server's permissions
// then allow the client "_INBOX_<identity>.>" for its replies.
func InboxPrefixFor(identity string) string {
	var b strings.Builder
	b.WriteString("_INBOX_")
	for _, r := range identity {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// inboxPrefix returns the prefix the connection uses ("" for nats.go's).
func (r *resolved) inboxPrefix() (string, error) {
	if r.InboxPrefix != "" || !r.PrivateInbox {
		return r.InboxPrefix, nil
	}
	id := r.identity()
	if id == "" {
		return "", fmt.Errorf("%w: a private inbox needs an identity (user, nkey or creds)", ErrConfig)
	}
	return InboxPrefixFor(id), nil
}

// RedactURL returns u with any password (and a token in place of a user)
// replaced by "xxxxx"; an unparsable URL is shown by its host part only.
func RedactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		// Keep what follows the last '@', which cannot hold user info.
		if i := strings.LastIndex(u, "@"); i >= 0 {
			return "<redacted>@" + u[i+1:]
		}
		return u
	}
	if p.User == nil {
		return u
	}
	if _, hasPass := p.User.Password(); hasPass {
		p.User = url.UserPassword(p.User.Username(), "xxxxx")
	} else {
		p.User = url.User("xxxxx") // a bare user part may be a token
	}
	return p.String()
}

// RedactedURLs is the server list for logs and errors, redacted.
func (c Config) RedactedURLs() string {
	c = c.withDefaults()
	out := make([]string, len(c.URLs))
	for i, u := range c.URLs {
		out[i] = RedactURL(u)
	}
	return strings.Join(out, ",")
}

// contextFile is the part of a natscli context (~/.config/nats/context/NAME.json)
// that splitinfer uses.
type contextFile struct {
	URL         string `json:"url"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Creds       string `json:"creds"`
	NKey        string `json:"nkey"`
	Cert        string `json:"cert"`
	Key         string `json:"key"`
	CA          string `json:"ca"`
	InboxPrefix string `json:"inbox_prefix"`
}

// ContextPath is the file of natscli context name: under $XDG_CONFIG_HOME
// (default ~/.config) in nats/context/NAME.json; a name with a path
// separator or a .json suffix is taken as the file itself.
func ContextPath(name string) (string, error) {
	if strings.ContainsRune(name, os.PathSeparator) || strings.HasSuffix(name, ".json") {
		return name, nil
	}
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: context %q: %v", ErrConfig, name, err)
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "nats", "context", name+".json"), nil
}

// Resolve completes c as a command line gives it: the natscli context
// contextName (when not "") fills what c leaves unset, a client with an
// identity and no inbox prefix gets a private inbox when privateInbox
// (an edge), and the result is validated.
func (c Config) Resolve(contextName string, privateInbox bool) (Config, error) {
	if contextName != "" {
		var err error
		if c, err = c.WithContext(contextName); err != nil {
			return c, err
		}
	}
	if privateInbox && c.InboxPrefix == "" {
		id, err := c.Identity()
		if err != nil {
			return c, err
		}
		c.PrivateInbox = id != ""
	}
	return c, c.Validate()
}

// WithContext fills c's empty fields from natscli context name (its
// server URLs, user, password, creds, nkey, TLS files and inbox prefix);
// fields already set win.
func (c Config) WithContext(name string) (Config, error) {
	path, err := ContextPath(name)
	if err != nil {
		return c, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("%w: context %q: %v", ErrConfig, name, err)
	}
	var f contextFile
	if err := json.Unmarshal(b, &f); err != nil {
		return c, fmt.Errorf("%w: context file %s: %v", ErrConfig, path, err)
	}
	setIf := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	if len(c.URLs) == 0 {
		c.URLs = SplitURLs(f.URL)
	}
	if c.Creds == "" && c.NKey == "" && c.User == "" {
		c.Creds, c.NKey, c.User = f.Creds, f.NKey, f.User
		if c.Password == "" && c.PasswordFile == "" {
			c.Password = f.Password
		}
	}
	setIf(&c.TLSCA, f.CA)
	setIf(&c.TLSCert, f.Cert)
	setIf(&c.TLSKey, f.Key)
	setIf(&c.InboxPrefix, f.InboxPrefix)
	return c, nil
}
