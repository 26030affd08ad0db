package trace

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestLoggerTraceIDs(t *testing.T) {
	p, err := New(context.Background(), WithSpanExporter(discardExporter{}))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	var buf bytes.Buffer
	log, err := NewLogger(&buf, LogFormatJSON, slog.LevelInfo)
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := p.Tracer().Start(context.Background(), "req")
	log.With("worker", "w1").InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	log.DebugContext(ctx, "below the level")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var in, out map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &in); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(lines[1]), &out); err != nil {
		t.Fatal(err)
	}
	sc := span.SpanContext()
	if in[LogTraceID] != sc.TraceID().String() || in[LogSpanID] != sc.SpanID().String() || in["worker"] != "w1" {
		t.Errorf("record in the span: %v, want trace %s span %s", in, sc.TraceID(), sc.SpanID())
	}
	if _, ok := out[LogTraceID]; ok {
		t.Errorf("record outside a span has a trace_id: %v", out)
	}
	if _, err := NewLogger(&buf, "xml", slog.LevelInfo); err == nil {
		t.Error("format xml accepted")
	}
}
