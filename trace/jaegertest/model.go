package jaegertest

import (
	"encoding/json"
	"fmt"
)

// Trace is one trace as Jaeger's query API (/api/traces) returns it.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
}

// Span is a span in Jaeger's JSON model. Times are in microseconds.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"`
	Duration      int64       `json:"duration"`
	Tags          []KeyValue  `json:"tags"`
	ProcessID     string      `json:"processID"`
}

// Reference links a span to its parent (RefType CHILD_OF) or others.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Process is the emitting service (its resource attributes are Tags).
type Process struct {
	ServiceName string     `json:"serviceName"`
	Tags        []KeyValue `json:"tags"`
}

// KeyValue is a tag. Value is a string, bool, or json.Number.
type KeyValue struct {
	Key   string `json:"key"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Tag returns the tag's value rendered as a string, and whether it exists.
func Tag(tags []KeyValue, key string) (string, bool) {
	for _, kv := range tags {
		if kv.Key == key {
			switch v := kv.Value.(type) {
			case string:
				return v, true
			case json.Number:
				return v.String(), true
			default:
				return fmt.Sprint(v), true
			}
		}
	}
	return "", false
}

// Tag returns the span's tag value as a string.
func (s Span) Tag(key string) (string, bool) { return Tag(s.Tags, key) }

// Parent returns the CHILD_OF parent span id, or "" for a root span.
func (s Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" {
			return r.SpanID
		}
	}
	return ""
}

// Service returns the service name of a span of t.
func (t Trace) Service(s Span) string { return t.Processes[s.ProcessID].ServiceName }

// Services returns the distinct service names in t.
func (t Trace) Services() map[string]bool {
	out := map[string]bool{}
	for _, s := range t.Spans {
		out[t.Service(s)] = true
	}
	return out
}

// Find returns t's spans named op.
func (t Trace) Find(op string) []Span {
	var out []Span
	for _, s := range t.Spans {
		if s.OperationName == op {
			out = append(out, s)
		}
	}
	return out
}

// Roots returns t's spans without a parent.
func (t Trace) Roots() []Span {
	var out []Span
	for _, s := range t.Spans {
		if s.Parent() == "" {
			out = append(out, s)
		}
	}
	return out
}

// End returns the span's end time in microseconds.
func (s Span) End() int64 { return s.StartTime + s.Duration }

// Overhangs returns t's spans that do not lie within their parent (they
// start before it or end after it), as a timeline would draw them outside
// it. A span whose parent is not in t is not checked.
func (t Trace) Overhangs() []Span {
	byID := make(map[string]Span, len(t.Spans))
	for _, s := range t.Spans {
		byID[s.SpanID] = s
	}
	var out []Span
	for _, s := range t.Spans {
		p, ok := byID[s.Parent()]
		if ok && (s.StartTime < p.StartTime || s.End() > p.End()) {
			out = append(out, s)
		}
	}
	return out
}
