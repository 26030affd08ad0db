package jaegertest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A trimmed /api/traces answer in Jaeger's JSON model.
const sample = `{"data":[{"traceID":"t1","spans":[
 {"traceID":"t1","spanID":"a","operationName":"root","references":[],"startTime":10,"duration":100,
  "tags":[{"key":"n","type":"int64","value":12345678901},{"key":"s","type":"string","value":"x"},{"key":"b","type":"bool","value":true},{"key":"f","type":"float64","value":0.5}],"processID":"p1"},
 {"traceID":"t1","spanID":"b","operationName":"child","references":[{"refType":"CHILD_OF","traceID":"t1","spanID":"a"}],"startTime":20,"duration":10,"tags":[],"processID":"p2"}],
 "processes":{"p1":{"serviceName":"edge","tags":[{"key":"host.name","type":"string","value":"h"}]},"p2":{"serviceName":"cloud","tags":[]}}}]}`

func TestModel(t *testing.T) {
	var resp struct{ Data []Trace }
	dec := json.NewDecoder(bytes.NewReader([]byte(sample)))
	dec.UseNumber()
	if err := dec.Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if len(resp.Data) != 1 {
		t.Fatalf("%d traces", len(resp.Data))
	}
	tr := resp.Data[0]
	roots := tr.Roots()
	if len(roots) != 1 || roots[0].SpanID != "a" {
		t.Fatalf("roots %+v", roots)
	}
	child := tr.Find("child")
	if len(child) != 1 || child[0].Parent() != "a" || tr.Service(child[0]) != "cloud" {
		t.Fatalf("child %+v", child)
	}
	if o := tr.Overhangs(); len(o) != 0 {
		t.Errorf("child [20, 30] of [10, 110] overhangs: %v", o)
	}
	for _, c := range []struct{ start, dur int64 }{{9, 10}, {100, 11}, {5, 200}} {
		moved := tr
		moved.Spans = append([]Span(nil), tr.Spans...)
		moved.Spans[1].StartTime, moved.Spans[1].Duration = c.start, c.dur
		if o := moved.Overhangs(); len(o) != 1 || o[0].SpanID != "b" {
			t.Errorf("child [%d, %d] of [10, 110]: overhangs %v", c.start, c.start+c.dur, o)
		}
	}
	moved := tr
	moved.Spans = []Span{tr.Spans[1]} // parent absent: not checked
	moved.Spans[0].StartTime = 0
	if o := moved.Overhangs(); len(o) != 0 {
		t.Errorf("child without its parent: overhangs %v", o)
	}
	if svcs := tr.Services(); len(svcs) != 2 || !svcs["edge"] || !svcs["cloud"] {
		t.Errorf("services %v", svcs)
	}
	for key, want := range map[string]string{"n": "12345678901", "s": "x", "b": "true", "f": "0.5"} {
		if got, ok := roots[0].Tag(key); !ok || got != want {
			t.Errorf("tag %s = %q, %v; want %q", key, got, ok, want)
		}
	}
	if _, ok := roots[0].Tag("missing"); ok {
		t.Error("missing tag found")
	}
	if got, _ := Tag(tr.Processes["p1"].Tags, "host.name"); got != "h" {
		t.Errorf("process tag host.name = %q", got)
	}
}

func TestBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "jaeger")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JAEGER_BIN", exe)
	if got, err := Binary(); err != nil || got != exe {
		t.Errorf("JAEGER_BIN: Binary() = %q, %v", got, err)
	}
	t.Setenv("JAEGER_BIN", filepath.Join(dir, "absent"))
	if _, err := Binary(); err == nil {
		t.Error("JAEGER_BIN pointing nowhere: no error")
	}
	t.Setenv("JAEGER_BIN", "")
	t.Setenv("JAEGER_CACHE_DIR", dir)
	if got, err := Binary(); err != nil || got != exe {
		t.Errorf("JAEGER_CACHE_DIR: Binary() = %q, %v", got, err)
	}
}

func TestUIAssets(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("JAEGER_UI_ASSETS", dir)
	if _, err := UIAssets(); err == nil {
		t.Error("JAEGER_UI_ASSETS without index.html: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := UIAssets(); err != nil || got != dir {
		t.Errorf("JAEGER_UI_ASSETS: UIAssets() = %q, %v; want %q", got, err, dir)
	}
	t.Setenv("JAEGER_UI_ASSETS", "")
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	shared := filepath.Join(filepath.Dir(root), "shared", "jaeger-ui", "build")
	want := ""
	if isFile(filepath.Join(shared, "index.html")) {
		want = shared
	}
	if got, err := UIAssets(); err != nil || got != want {
		t.Errorf("UIAssets() = %q, %v; want %q", got, err, want)
	}
}

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "false": false, "0": false, "true": true, "1": true} {
		t.Setenv("CI", v)
		if InCI() != want {
			t.Errorf("CI=%q: InCI() = %v", v, !want)
		}
	}
}

// TestStart runs the real binary and checks the query API answers.
func TestStart(t *testing.T) {
	j := Start(t)
	svcs, err := j.Services(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(svcs) != 0 {
		t.Errorf("fresh Jaeger has services %v", svcs)
	}
	traces, err := j.Traces(t.Context(), "nobody")
	if err != nil || len(traces) != 0 {
		t.Errorf("traces of an unknown service: %v, %v", traces, err)
	}
	// The web UI (a single-page app: every page path serves index.html)
	// when its assets are available, else Jaeger's placeholder page.
	for _, page := range []string{"/", "/search", "/trace/0123456789abcdef0123456789abcdef"} {
		body, err := j.Page(t.Context(), page)
		if err != nil {
			t.Fatal(err)
		}
		if ui := strings.Contains(body, "<title>Jaeger UI</title>") && strings.Contains(body, `id="jaeger-ui-root"`); ui != (j.UIAssets != "") {
			t.Errorf("GET %s: the web UI's page %v, with assets %q: %.300s", page, ui, j.UIAssets, body)
		}
	}
	t.Logf("web UI assets: %q", j.UIAssets)
	if runtime.GOOS == "linux" {
		ls, err := j.Listeners()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for _, u := range []string{j.OTLPGRPC, j.OTLPHTTP, j.QueryURL} {
			want["tcp "+strings.TrimPrefix(u, "http://")] = true
		}
		for _, l := range ls {
			if !strings.HasPrefix(l, "tcp 127.0.0.1:") {
				t.Errorf("jaeger listens on %s, not loopback only", l)
			}
			delete(want, l)
		}
		if len(want) > 0 || len(ls) != 5 {
			t.Errorf("listeners %v: missing %v, want 5 (OTLP gRPC/HTTP, query HTTP/gRPC, health)", ls, want)
		}
		t.Logf("listeners: %v", ls)
	}
	if err := j.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := j.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
