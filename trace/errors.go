package trace

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// Process-wide figures of OTel's own errors. OTel has one error handler
// per process, so these count for every Provider in it.
var (
	exportErrors  atomic.Int64 // errors OTel reported (failed exports and the like)
	rejectedSpans atomic.Int64 // spans a collector refused in an OTLP partial_success reply
)

// ExportErrors returns how many errors OTel reported in this process
// (failed exports, partial_success replies included) and how many spans
// collectors rejected in OTLP partial_success replies.
func ExportErrors() (errs, rejected int64) { return exportErrors.Load(), rejectedSpans.Load() }

// partialSuccessRE matches the error otel-go's OTLP exporters report for
// a partial_success reply (their error type is internal to them).
var partialSuccessRE = regexp.MustCompile(`OTLP partial success: (.*) \((\d+) spans rejected\)`)

// errorHandler logs OTel's errors through log/slog's default logger and
// counts them.
type errorHandler struct{}

func (errorHandler) Handle(err error) {
	if err == nil {
		return
	}
	exportErrors.Add(1)
	if m := partialSuccessRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		rejectedSpans.Add(n)
		slog.Warn("otel: OTLP partial success", "rejected_spans", n, "message", m[1])
		return
	}
	slog.Error("otel", "err", err)
}

// handlePartialSuccess hands a partial_success error (alone) to the
// error handler and returns nil for it; other errors are returned.
func handlePartialSuccess(err error) error {
	if err != nil && partialSuccessRE.MatchString(err.Error()) {
		errorHandler{}.Handle(err)
		return nil
	}
	return err
}

var installOnce sync.Once

// installErrorHandler makes errorHandler OTel's error handler, and
// log/slog's default logger OTel's internal logger (the exporters report
// unreadable certificate files and bad variables there), once per process.
func installErrorHandler() {
	installOnce.Do(func() {
		otel.SetErrorHandler(errorHandler{})
		otel.SetLogger(logr.FromSlogHandler(defaultSlogHandler{}))
	})
}

// defaultSlogHandler forwards to slog.Default()'s handler as it is when a
// record is logged, so a logger set up after New still receives OTel's
// records.
type defaultSlogHandler struct{}

func (defaultSlogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return slog.Default().Handler().Enabled(ctx, l)
}
func (defaultSlogHandler) Handle(ctx context.Context, r slog.Record) error {
	return slog.Default().Handler().Handle(ctx, r)
}
func (defaultSlogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return slog.Default().Handler().WithAttrs(as)
}
func (defaultSlogHandler) WithGroup(name string) slog.Handler {
	return slog.Default().Handler().WithGroup(name)
}

// registerExportErrorMetrics adds the process-wide OTel error counters to
// mp.
func registerExportErrorMetrics(mp metric.MeterProvider) error {
	meter := mp.Meter(ScopeName)
	errs, err1 := meter.Int64ObservableCounter(MetricOTelErrors, metric.WithUnit("{error}"),
		metric.WithDescription("Errors OTel reported in this process (failed exports, OTLP partial_success replies)."))
	rej, err2 := meter.Int64ObservableCounter(MetricRejectedSpans, metric.WithUnit("{span}"),
		metric.WithDescription("Spans a collector rejected in OTLP partial_success replies, in this process."))
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	_, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(errs, exportErrors.Load())
		o.ObserveInt64(rej, rejectedSpans.Load())
		return nil
	}, errs, rej)
	return err
}
