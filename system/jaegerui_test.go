package system_test

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/splitinfer/splitinfer/edgeworker"
	"github.com/splitinfer/splitinfer/internal/headless"
	"github.com/splitinfer/splitinfer/system"
	"github.com/splitinfer/splitinfer/trace"
	"github.com/splitinfer/splitinfer/trace/jaegertest"
)

var docsScreenshot = flag.Bool("docs-screenshot", false, "TestJaegerUI: also write the trace page's screenshot to docs/jaeger-trace.png")

// artifactDir is where a test keeps files for people to look at:
// $TEST_ARTIFACTS/<test>, else <repo>/.cache/artifacts/<test>.
func artifactDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("TEST_ARTIFACTS")
	if base == "" {
		root, err := jaegertest.RepoRoot()
		if err != nil {
			t.Fatal(err)
		}
		base = filepath.Join(root, ".cache", "artifacts")
	}
	dir := filepath.Join(base, t.Name())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestJaegerUI looks at a run of the split the way a user does: the real
// Jaeger with its web UI, in headless Chromium. The trace page of a
// request (the median one, as `run --jaeger-ui` links it) must show both
// services and the 9 spans, and, with the root span opened, its cut and
// byte attributes; the search page for splitinfer-edge must list the
// run's traces; System Architecture must draw splitinfer-edge calling
// splitinfer-cloud once per request. Screenshots are kept in artifactDir. Skipped when the
// UI's assets are not there (jaegertest.UIAssets).
func TestJaegerUI(t *testing.T) {
	j := jaegertest.Start(t)
	if j.UIAssets == "" {
		t.Skip("no Jaeger UI assets (JAEGER_UI_ASSETS or ../shared/jaeger-ui/build): the browser part is skipped")
	}
	browser := headless.StartForTest(t)
	dir := artifactDir(t)
	t.Logf("screenshots in %s", dir)

	const n = 20
	_, sys, sum, edgeTel, cloudTel := driveTraced(t, j, n)
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a loaded CI host
	defer cancel()
	flushTraced(t, sctx, sys, edgeTel, cloudTel)
	spanNames := splitSpans
	if _, err := j.WaitTraces(sctx, trace.ServiceEdge, func(ts []jaegertest.Trace) bool {
		if len(ts) < n {
			return false
		}
		for _, tr := range ts {
			if len(tr.Spans) < len(spanNames) {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}

	links := system.TraceLinks(j.QueryURL, sum.Results)
	if len(links) != 2 || links[1].Label != "median" {
		t.Fatalf("trace links %+v, want the slowest and the median", links)
	}
	link := links[1]
	var res *edgeworker.Result
	for _, r := range sum.Results {
		if r.TraceID == link.TraceID {
			res = r
		}
	}

	page, err := browser.NewPage(sctx, 1400, 1150)
	if err != nil {
		t.Fatal(err)
	}
	shoot := func(name string) {
		t.Helper()
		png, err := page.Screenshot(sctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if name == "trace.png" && *docsScreenshot {
			root, _ := jaegertest.RepoRoot()
			if err := os.WriteFile(filepath.Join(root, "docs", "jaeger-trace.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// has is a JavaScript test that the page's text holds every string.
	has := func(strs ...string) string {
		var conds []string
		for _, s := range strs {
			conds = append(conds, fmt.Sprintf("document.body.innerText.includes(%q)", s))
		}
		return strings.Join(conds, " && ")
	}

	// The trace page: both services and the 9 spans in the timeline.
	if err := page.Navigate(sctx, link.URL); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(sctx, has(append([]string{trace.ServiceEdge, trace.ServiceCloud, "Total Spans"}, spanNames...)...)); err != nil {
		shoot("trace-failed.png")
		text, _ := page.Text(sctx)
		t.Fatalf("%v\ntrace page text:\n%s", err, text)
	}
	var rows []string
	if err := page.Eval(sctx, `Array.from(document.querySelectorAll('.span-row .span-name')).map(e => e.innerText)`, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(spanNames) || !strings.Contains(rows[0], trace.ServiceEdge) || !strings.Contains(rows[0], trace.SpanEdgeRequest) {
		t.Fatalf("timeline rows %q, want %d with the root %s first", rows, len(spanNames), trace.SpanEdgeRequest)
	}
	for _, name := range spanNames {
		found := 0
		for _, r := range rows {
			if strings.HasSuffix(strings.TrimSpace(r), " "+name) || strings.HasSuffix(strings.TrimSpace(r), "\n"+name) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("span %q in %d timeline rows, want 1: %q", name, found, rows)
		}
	}

	// Open the root span, then its tags: the trade-off attributes.
	if err := page.Eval(sctx, `document.querySelector('.span-row .span-name').click()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(sctx, `document.querySelector('.AccordianKeyValues--header')`); err != nil {
		t.Fatal(err)
	}
	if err := page.Eval(sctx, `document.querySelector('.AccordianKeyValues--header').click()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(sctx, `document.querySelector('tr.KeyValueTable--row')`); err != nil {
		t.Fatal(err)
	}
	var tags map[string]string
	if err := page.Eval(sctx, `Object.fromEntries(Array.from(document.querySelectorAll('tr.KeyValueTable--row')).map(r =>
		[r.querySelector('.KeyValueTable--keyColumn').innerText, r.querySelector('.json-markup').innerText]))`, &tags); err != nil {
		t.Fatal(err)
	}
	shoot("trace.png")
	for key, want := range map[string]string{
		trace.AttrCutID: res.Cut, trace.AttrWireBytes: strconv.Itoa(res.WireBytes), trace.AttrInputBytes: strconv.Itoa(res.InputBytes),
		trace.AttrRequestID: res.ID, trace.AttrModelHash: sys.Edge.ModelHash(),
	} {
		if got, ok := tags[key]; !ok || got != want {
			t.Errorf("root span tag %s = %q (shown %v), want %q; tags %v", key, got, ok, want, tags)
		}
	}
	for _, key := range []string{trace.AttrBitsPerElement, trace.AttrCompressionRatio} {
		if _, ok := tags[key]; !ok {
			t.Errorf("root span tag %s not shown; tags %v", key, tags)
		}
	}

	// The search page lists the run's traces, the linked one among them.
	search := j.QueryURL + "/search?" + url.Values{"service": {trace.ServiceEdge}, "limit": {"50"}, "lookback": {"1h"}}.Encode()
	if err := page.Navigate(sctx, search); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(sctx, has(fmt.Sprintf("%d Traces", n), trace.ServiceEdge+": "+trace.SpanEdgeRequest, link.TraceID[:7])); err != nil {
		shoot("search-failed.png")
		text, _ := page.Text(sctx)
		t.Fatalf("%v\nsearch page text:\n%s", err, text)
	}
	var results int
	if err := page.Eval(sctx, `document.querySelectorAll('.ResultItem').length`, &results); err != nil {
		t.Fatal(err)
	}
	if results != n {
		t.Errorf("search page lists %d traces, want %d", results, n)
	}
	shoot("search.png")

	// System Architecture: the two services, the edge calling the cloud
	// once per request (the arrow's label; the self-loops count the spans
	// within each service, 3 and 4 a request).
	if err := page.Navigate(sctx, j.QueryURL+"/dependencies"); err != nil {
		t.Fatal(err)
	}
	laidOut := `(() => { const l = Array.from(document.querySelectorAll('.DAG--nodeLabel'));
		return l.length == 2 && l.every(e => e.innerText) && document.querySelectorAll('svg text').length >= 3; })()`
	wctx, wcancel := context.WithTimeout(sctx, 20*time.Second)
	defer wcancel()
	if err := page.WaitFor(wctx, laidOut); err != nil {
		var html string
		_ = page.Eval(sctx, "document.querySelector('.plexus') ? document.querySelector('.plexus').outerHTML : document.body.innerText", &html)
		t.Logf("System Architecture page:\n%.3000s", html)
		shoot("dependencies-failed.png")
		t.Fatal(err)
	}
	var edgeLabels []string
	nodes := map[string]float64{} // service: the top of its label
	if err := page.Eval(sctx, `Object.fromEntries(Array.from(document.querySelectorAll('.DAG--nodeLabel')).map(e => [e.innerText, e.getBoundingClientRect().top]))`, &nodes); err != nil {
		t.Fatal(err)
	}
	if err := page.Eval(sctx, `Array.from(document.querySelectorAll('svg text')).map(e => e.textContent)`, &edgeLabels); err != nil {
		t.Fatal(err)
	}
	shoot("dependencies.png")
	// The hierarchical layout draws a caller above what it calls.
	edgeTop, ok1 := nodes[trace.ServiceEdge]
	cloudTop, ok2 := nodes[trace.ServiceCloud]
	if len(nodes) != 2 || !ok1 || !ok2 || !(edgeTop < cloudTop) {
		t.Errorf("System Architecture nodes at %v, want %s above %s", nodes, trace.ServiceEdge, trace.ServiceCloud)
	}
	calls := map[string]bool{}
	for _, l := range edgeLabels {
		calls[strings.TrimSpace(l)] = true
	}
	if want := []string{strconv.Itoa(n), strconv.Itoa(3 * n), strconv.Itoa(4 * n)}; len(calls) != 3 || !calls[want[0]] || !calls[want[1]] || !calls[want[2]] {
		t.Errorf("System Architecture call counts %q, want %q", edgeLabels, want)
	}
}
