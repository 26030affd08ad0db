// Package headless drives a headless Chromium over the Chrome DevTools
// Protocol for tests that look at pages the way users do (the Jaeger web
// UI): open a page, wait for the single-page app to render, click, read
// the rendered DOM, take screenshots.
//
// It talks CDP over the pipe Chromium opens with --remote-debugging-pipe
// (JSON messages ended by a NUL byte on file descriptors 3 and 4), so it
// needs no port, no websocket and no module beyond the standard library.
package headless

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// ErrNotFound is returned by Binary when no Chromium is installed.
var ErrNotFound = errors.New("headless: chromium not found (install Debian's chromium package: scripts/test-deps.sh)")

// Binary locates Chromium: $CHROMIUM, else chromium, chromium-browser,
// google-chrome on $PATH.
func Binary() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := exec.LookPath(p); err != nil {
			return "", fmt.Errorf("%w: CHROMIUM=%s: %v", ErrNotFound, p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNotFound
}

// flags run Chromium headless and quiet on a machine without a display,
// GPU, user namespaces or network beyond loopback.
var flags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--no-default-browser-check",
	"--remote-debugging-pipe",
}

// Browser is a running headless Chromium.
type Browser struct {
	cmd     *exec.Cmd
	dataDir string
	in      *os.File // our end of Chromium's fd 3 (commands)
	out     *os.File // our end of Chromium's fd 4 (responses, events)
	stderr  *limitWriter

	mu      sync.Mutex // guards nextID, pending, readErr and writes to in
	nextID  int64
	pending map[int64]chan message
	readErr error
	done    chan struct{} // closed when the reader ends
	exited  chan struct{} // closed when the process has exited
	closed  sync.Once
}

type message struct {
	ID        int64           `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    any             `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Start runs Chromium (bin, e.g. from Binary) with a fresh profile
// directory, removed by Close.
func Start(bin string) (*Browser, error) {
	dataDir, err := os.MkdirTemp("", "headless-chromium-")
	if err != nil {
		return nil, err
	}
	// Chromium reads commands from fd 3 and writes to fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		os.RemoveAll(dataDir)
		return nil, err
	}
	b := &Browser{dataDir: dataDir, in: cmdW, out: outR, stderr: &limitWriter{n: 64 << 10},
		pending: map[int64]chan message{}, done: make(chan struct{}), exited: make(chan struct{})}
	b.cmd = exec.Command(bin, append(flags, "--user-data-dir="+dataDir, "about:blank")...)
	b.cmd.ExtraFiles = []*os.File{cmdR, outW}
	b.cmd.Stderr = b.stderr
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Close ends its helper processes too
	err = b.cmd.Start()
	cmdR.Close()
	outW.Close()
	if err != nil {
		cmdW.Close()
		outR.Close()
		os.RemoveAll(dataDir)
		return nil, fmt.Errorf("headless: starting %s: %w", bin, err)
	}
	go func() {
		b.cmd.Wait()
		close(b.exited)
	}()
	go b.read()
	return b, nil
}

// read dispatches the responses to their callers; events are dropped (the
// callers poll the page's state instead).
func (b *Browser) read() {
	defer close(b.done)
	r := bufio.NewReaderSize(b.out, 1<<20)
	var err error
	for {
		var line []byte
		line, err = r.ReadBytes(0)
		if err != nil {
			break
		}
		var m message
		if json.Unmarshal(line[:len(line)-1], &m) != nil || m.ID == 0 {
			continue
		}
		b.mu.Lock()
		ch := b.pending[m.ID]
		delete(b.pending, m.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
	b.mu.Lock()
	b.readErr = fmt.Errorf("headless: chromium closed the pipe: %w\n%s", err, b.stderr.String())
	for id, ch := range b.pending {
		close(ch)
		delete(b.pending, id)
	}
	b.mu.Unlock()
}

// call sends one CDP command (to the browser when session is "") and
// decodes its result into result (when not nil).
func (b *Browser) call(ctx context.Context, session, method string, params, result any) error {
	ch := make(chan message, 1)
	b.mu.Lock()
	if b.readErr != nil {
		err := b.readErr
		b.mu.Unlock()
		return err
	}
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	msg, err := json.Marshal(message{ID: id, Method: method, Params: params, SessionID: session})
	if err == nil {
		_, err = b.in.Write(append(msg, 0))
	}
	if err != nil {
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("headless: %s: %w", method, err)
	}
	b.mu.Unlock()
	select {
	case m, ok := <-ch:
		if !ok {
			b.mu.Lock()
			defer b.mu.Unlock()
			return b.readErr
		}
		if m.Error != nil {
			return fmt.Errorf("headless: %s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		delete(b.pending, id)
		b.mu.Unlock()
		return fmt.Errorf("headless: %s: %w", method, ctx.Err())
	}
}

// Close ends Chromium (Browser.close, then a kill of its process group
// after 10 s) and removes its profile directory. Safe to call twice.
func (b *Browser) Close() error {
	var err error
	b.closed.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = b.call(ctx, "", "Browser.close", nil, nil)
		cancel()
		select {
		case <-b.exited:
		case <-time.After(10 * time.Second):
			err = errors.New("headless: chromium did not exit on Browser.close; killed")
		}
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL) // helpers left behind, if any
		<-b.exited
		b.in.Close()
		b.out.Close()
		<-b.done
		os.RemoveAll(b.dataDir)
	})
	return err
}

// Page is a browser tab.
type Page struct {
	b       *Browser
	session string
}

// NewPage opens a blank tab of width x height CSS pixels.
func (b *Browser) NewPage(ctx context.Context, width, height int) (*Page, error) {
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		return nil, err
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att); err != nil {
		return nil, err
	}
	p := &Page{b: b, session: att.SessionID}
	if err := p.call(ctx, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Page) call(ctx context.Context, method string, params, result any) error {
	return p.b.call(ctx, p.session, method, params, result)
}

// Navigate loads url (it returns once the navigation is committed; use
// WaitFor for what the page renders afterwards).
func (p *Page) Navigate(ctx context.Context, url string) error {
	var r struct {
		ErrorText string `json:"errorText"`
	}
	if err := p.call(ctx, "Page.navigate", map[string]any{"url": url}, &r); err != nil {
		return err
	}
	if r.ErrorText != "" {
		return fmt.Errorf("headless: navigating to %s: %s", url, r.ErrorText)
	}
	return nil
}

// Eval evaluates the JavaScript expression expr in the page (awaiting it
// when it is a promise) and decodes its JSON value into out (when not nil).
func (p *Page) Eval(ctx context.Context, expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := p.call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &r); err != nil {
		return err
	}
	if e := r.ExceptionDetails; e != nil {
		return fmt.Errorf("headless: evaluating %.80q: %s %s", expr, e.Text, e.Exception.Description)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

// WaitFor polls the JavaScript expression cond every 100 ms until it is
// true, or ctx ends.
func (p *Page) WaitFor(ctx context.Context, cond string) error {
	for {
		var ok bool
		err := p.Eval(ctx, "!!("+cond+")", &ok)
		if err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = ctx.Err()
			}
			return fmt.Errorf("headless: waiting for %s: %w", cond, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Text returns the page's rendered text (document.body.innerText).
func (p *Page) Text(ctx context.Context) (string, error) {
	var s string
	err := p.Eval(ctx, "document.body ? document.body.innerText : ''", &s)
	return s, err
}

// HTML returns the page's current DOM, serialized.
func (p *Page) HTML(ctx context.Context) (string, error) {
	var s string
	err := p.Eval(ctx, "document.documentElement.outerHTML", &s)
	return s, err
}

// Screenshot returns a PNG of the page's viewport.
func (p *Page) Screenshot(ctx context.Context) ([]byte, error) {
	var r struct {
		Data string `json:"data"`
	}
	if err := p.call(ctx, "Page.captureScreenshot", map[string]any{"format": "png"}, &r); err != nil {
		return nil, err
	}
	return base64.StdEncoding.DecodeString(r.Data)
}

// limitWriter keeps the first n bytes written to it.
type limitWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.n - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
