package trace

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProbe: 200 gives the body; any other status an error naming the
// path and the body; --live asks /healthz.
func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.Write([]byte("ok\n"))
			return
		}
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if msg, err := Probe(context.Background(), addr, true); err != nil || msg != "ok" {
		t.Errorf("live: %q, %v", msg, err)
	}
	if _, err := Probe(context.Background(), srv.URL+"/", false); err == nil || !strings.Contains(err.Error(), "/readyz: 503") || !strings.Contains(err.Error(), "starting") {
		t.Errorf("ready: %v", err)
	}
}
