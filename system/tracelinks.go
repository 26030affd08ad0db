package system

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/splitinfer/splitinfer/edgeworker"
)

// TraceLink points at one request's trace in Jaeger's web UI.
type TraceLink struct {
	Label     string  `json:"label"` // "slowest", "median", or the sweep's cut
	RequestID string  `json:"request_id"`
	TraceID   string  `json:"trace_id"`
	LatencyMS float64 `json:"latency_ms"`
	URL       string  `json:"url"`
}

// CheckJaegerUI validates the base URL of a Jaeger web UI (--jaeger-ui):
// absolute http or https, without a query.
func CheckJaegerUI(ui string) error {
	u, err := url.Parse(ui)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("system: Jaeger UI %q: want an absolute http(s) URL such as http://127.0.0.1:16686", ui)
	}
	return nil
}

// TraceURL is the page of trace id in the Jaeger web UI at ui (its base
// URL, e.g. http://127.0.0.1:16686).
func TraceURL(ui, traceID string) string {
	return strings.TrimRight(ui, "/") + "/trace/" + traceID
}

// TraceLinks links the traces of the slowest and the median request among
// results that were traced (a nil result, an error, is skipped; the median
// by the nearest rank, as Latency.P50). One link when they are the same
// request, none when no request was traced.
func TraceLinks(ui string, results []*edgeworker.Result) []TraceLink {
	var traced []*edgeworker.Result
	for _, r := range results {
		if r != nil && r.TraceID != "" {
			traced = append(traced, r)
		}
	}
	if len(traced) == 0 {
		return nil
	}
	sort.SliceStable(traced, func(i, j int) bool { return traced[i].Timings.Total < traced[j].Timings.Total })
	slowest, median := traced[len(traced)-1], traced[rank(len(traced), 50)]
	if slowest == median {
		return []TraceLink{Link(ui, "slowest and median", slowest)}
	}
	return []TraceLink{Link(ui, "slowest", slowest), Link(ui, "median", median)}
}

// Link is the TraceLink of result r (which has a TraceID).
func Link(ui, label string, r *edgeworker.Result) TraceLink {
	return TraceLink{Label: label, RequestID: r.ID, TraceID: r.TraceID, LatencyMS: ms(r.Timings.Total), URL: TraceURL(ui, r.TraceID)}
}

// WriteTraceLinks prints one line per link ("trace       slowest 1.234 ms
// URL"), or a note when none was traced (tracing off or unsampled).
func WriteTraceLinks(w io.Writer, links []TraceLink) {
	if len(links) == 0 {
		fmt.Fprintln(w, "trace       no request was traced (set --otlp-endpoint, and --trace-sample above 0)")
		return
	}
	for _, l := range links {
		fmt.Fprintf(w, "trace       %s %.3f ms  %s\n", l.Label, l.LatencyMS, l.URL)
	}
}
