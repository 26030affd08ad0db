package trace

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	oteltrace "go.opentelemetry.io/otel/trace"
)

// Log record keys of the span a record was logged in.
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)

// LogHandler wraps a slog.Handler so that each record logged with a
// context holding a valid span (slog.InfoContext(ctx, ...)) carries the
// span's trace_id and span_id (W3C hex, as Jaeger shows them).
type LogHandler struct{ slog.Handler }

// NewLogHandler wraps h (see LogHandler).
func NewLogHandler(h slog.Handler) *LogHandler { return &LogHandler{h} }

// Handle adds the span's IDs and passes the record on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := oteltrace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the new handler.
func (h *LogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &LogHandler{h.Handler.WithAttrs(as)}
}

// WithGroup keeps the wrapper around the new handler.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	return &LogHandler{h.Handler.WithGroup(name)}
}

// Log formats accepted by NewLogger.
const (
	LogFormatText = "text"
	LogFormatJSON = "json"
)

// NewLogger returns a logger writing records at level and above to w, as
// logfmt-style text (LogFormatText) or one JSON object a line
// (LogFormatJSON), with the trace_id and span_id of the request a record
// was logged in (LogHandler). An unknown format is an error wrapping
// ErrConfig.
func NewLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case LogFormatText, "":
		h = slog.NewTextHandler(w, opts)
	case LogFormatJSON:
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("%w: log format %q (want %s or %s)", ErrConfig, format, LogFormatText, LogFormatJSON)
	}
	return slog.New(NewLogHandler(h)), nil
}
