package system_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/system"
)

func result(id, traceID string, ms float64) *edgeworker.Result {
	r := &edgeworker.Result{ID: id, TraceID: traceID}
	r.Timings.Total = time.Duration(ms * float64(time.Millisecond))
	return r
}

func TestTraceLinks(t *testing.T) {
	const ui = "http://127.0.0.1:16686/"
	tid := func(c byte) string { return strings.Repeat(string(c), 32) }
	for _, c := range []struct {
		name    string
		results []*edgeworker.Result
		want    []system.TraceLink
	}{
		{"none", nil, nil},
		{"untraced and errors", []*edgeworker.Result{nil, result("a", "", 1)}, nil},
		{"one", []*edgeworker.Result{result("a", tid('a'), 2), result("b", "", 9)}, []system.TraceLink{
			{Label: "slowest and median", RequestID: "a", TraceID: tid('a'), LatencyMS: 2, URL: "http://127.0.0.1:16686/trace/" + tid('a')}}},
		{"five", []*edgeworker.Result{result("a", tid('a'), 3), nil, result("b", tid('b'), 7), result("c", tid('c'), 1),
			result("d", tid('d'), 5), result("e", tid('e'), 4), result("f", "", 100)}, []system.TraceLink{
			{Label: "slowest", RequestID: "b", TraceID: tid('b'), LatencyMS: 7, URL: "http://127.0.0.1:16686/trace/" + tid('b')},
			{Label: "median", RequestID: "e", TraceID: tid('e'), LatencyMS: 4, URL: "http://127.0.0.1:16686/trace/" + tid('e')}}},
		{"two: the lower median", []*edgeworker.Result{result("a", tid('a'), 3), result("b", tid('b'), 1)}, []system.TraceLink{
			{Label: "slowest", RequestID: "a", TraceID: tid('a'), LatencyMS: 3, URL: "http://127.0.0.1:16686/trace/" + tid('a')},
			{Label: "median", RequestID: "b", TraceID: tid('b'), LatencyMS: 1, URL: "http://127.0.0.1:16686/trace/" + tid('b')}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := system.TraceLinks(ui, c.results)
			if len(got) != len(c.want) {
				t.Fatalf("TraceLinks = %+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("link %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
			var buf bytes.Buffer
			system.WriteTraceLinks(&buf, got)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(got) == 0 {
				if len(lines) != 1 || !strings.Contains(lines[0], "no request was traced") {
					t.Errorf("printed %q", buf.String())
				}
				return
			}
			for i, l := range got {
				if i >= len(lines) || !strings.HasPrefix(lines[i], "trace       "+l.Label+" ") || !strings.HasSuffix(lines[i], " "+l.URL) {
					t.Errorf("printed %q for %+v", buf.String(), l)
				}
			}
		})
	}
}

func TestCheckJaegerUI(t *testing.T) {
	for ui, ok := range map[string]bool{
		"http://127.0.0.1:16686": true, "https://jaeger.example.com/jaeger/": true,
		"": false, "127.0.0.1:16686": false, "ftp://x": false, "http://": false, "http://h/?q=1": false, "http://h/#x": false,
	} {
		if err := system.CheckJaegerUI(ui); (err == nil) != ok {
			t.Errorf("CheckJaegerUI(%q) = %v", ui, err)
		}
	}
}
