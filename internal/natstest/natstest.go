// Package natstest runs real nats-server processes (built from the main
// module's nats-server version by scripts/nats-server-build.sh into
// .cache/bin) on free loopback ports for the tests of deployment behaviour:
// TLS, accounts and permissions, clusters, leaf nodes, kills and restarts.
package natstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RepoRoot walks up from the working directory to the module root.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "scripts", "nats-server-build.sh")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("natstest: repository root not found")
		}
		dir = parent
	}
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Binary returns the nats-server binary: $NATS_SERVER_BIN, or the cached
// build, which it makes (scripts/nats-server-build.sh) when missing.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("NATS_SERVER_BIN"); p != "" {
			binPath = p
			return
		}
		root, err := RepoRoot()
		if err != nil {
			binErr = err
			return
		}
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "nats-server-build.sh")).Output()
		if err != nil {
			binErr = fmt.Errorf("natstest: scripts/nats-server-build.sh: %v", err)
			return
		}
		binPath = strings.TrimSpace(string(out))
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a nats-server process.
type Server struct {
	Name string
	Port int    // client port
	Conf string // the config file
	t    testing.TB
	bin  string

	mu   sync.Mutex // guards cmd and done
	cmd  *exec.Cmd
	out  Buffer
	done chan struct{}
}

// Start runs nats-server with config text conf (written to a file in a
// temporary directory) and waits until its client port (port) accepts
// connections. The process is killed at cleanup, and its log printed when
// the test failed.
func Start(t testing.TB, name, conf string, port int) *Server {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, name+".conf")
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return StartFile(t, name, file, port)
}

// StartFile is Start for a config file.
func StartFile(t testing.TB, name, file string, port int) *Server {
	t.Helper()
	s := &Server{Name: name, Port: port, Conf: file, t: t, bin: Binary(t)}
	s.start()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("%s log:\n%s", name, tail(s.out.String(), 4000))
		}
	})
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

func (s *Server) start() {
	s.t.Helper()
	s.mu.Lock()
	cmd := exec.Command(s.bin, "-c", s.Conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = &s.out, &s.out
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.t.Fatalf("starting %s: %v", s.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			s.t.Fatalf("%s exited at start:\n%s", s.Name, s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: port %d not ready: %v", s.Name, s.Port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Buffer is a bytes.Buffer safe for concurrent writes and reads: the
// output of processes and of workers run in the test process.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Kill ends the server with SIGKILL (no lame duck, no goodbye) and waits.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Restart starts the server again with the same configuration and port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Kill()
	s.start()
}

// Log returns the server's output so far.
func (s *Server) Log() string { return s.out.String() }
