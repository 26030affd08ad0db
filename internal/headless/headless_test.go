package headless

import (
	"bytes"
	"context"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A page that renders its content from a later fetch, as a single-page
// app does, and reveals details on a click.
const app = `<!doctype html><html><body style="background:#fff"><div id="root">loading</div><script>
setTimeout(() => fetch('/data').then(r => r.json()).then(d => {
  const root = document.getElementById('root');
  root.innerHTML = '<button id="more">' + d.title + '</button>';
  document.getElementById('more').onclick = () => { root.insertAdjacentHTML('beforeend', '<p>details: ' + d.details + '</p>'); };
}), 300);
</script></body></html>`

func TestPage(t *testing.T) {
	b := StartForTest(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Write([]byte(app))
		case "/data":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"title":"split request","details":"cut=/pool1"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := b.NewPage(ctx, 640, 400)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Navigate(ctx, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFor(ctx, `document.getElementById('more')`); err != nil {
		t.Fatal(err)
	}
	if text, err := p.Text(ctx); err != nil || strings.Contains(text, "details") || !strings.Contains(text, "split request") {
		t.Fatalf("before the click: %q, %v", text, err)
	}
	if err := p.Eval(ctx, `document.getElementById('more').click()`, nil); err != nil {
		t.Fatal(err)
	}
	if text, err := p.Text(ctx); err != nil || !strings.Contains(text, "details: cut=/pool1") {
		t.Fatalf("after the click: %q, %v", text, err)
	}
	if html, err := p.HTML(ctx); err != nil || !strings.Contains(html, `<button id="more">split request</button>`) {
		t.Fatalf("DOM %q, %v", html, err)
	}
	var n int
	if err := p.Eval(ctx, `Promise.resolve(6*7)`, &n); err != nil || n != 42 {
		t.Errorf("awaited promise: %d, %v", n, err)
	}
	if err := p.Eval(ctx, `nosuchfunction()`, nil); err == nil {
		t.Error("an exception: no error")
	}
	shot, err := p.Screenshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	if sz := img.Bounds().Size(); sz.X != 640 || sz.Y != 400 {
		t.Errorf("screenshot %v, want 640x400", sz)
	}
	if err := p.Navigate(ctx, "http://127.0.0.1:1/"); err == nil {
		t.Error("navigating to a closed port: no error")
	}
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if err := p.WaitFor(short, `false`); err == nil {
		t.Error("WaitFor(false) returned without an error")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := b.NewPage(ctx, 10, 10); err == nil {
		t.Error("NewPage after Close: no error")
	}
}
