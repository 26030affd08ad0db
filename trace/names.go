// Package trace sets up OpenTelemetry for splitinfer's workers (tracer and
// meter providers with OTLP export, Prometheus metrics), carries W3C trace
// context in NATS headers, and names the spans, attributes and metrics that
// the edge and cloud workers record, so both sides and the tests agree.
package trace

import "time"

// Service names, one per worker kind (resource attribute service.name).
const (
	ServiceEdge  = "splitinfer-edge"
	ServiceCloud = "splitinfer-cloud"
)

// ScopeName is the instrumentation scope of splitinfer's tracers and meters.
const ScopeName = "github.com/splitinfer/splitinfer"

// Span names. The edge's request span is the root of each trace; the NATS
// request span is a producer span whose context travels in the message
// headers, and the cloud's spans are its children. The two messaging spans
// are named "{operation} {subject}" as the semantic conventions say; the
// constants are their names on the default subject.
const (
	SpanEdgeRequest  = "splitinfer.request"       // edge, root: one per input
	SpanEdgeCompute  = "splitinfer.edge.compute"  // edge: the head sub-graph
	SpanEncode       = "splitinfer.encode"        // edge: quantize + msgpack + optional zstd
	SpanNATSRequest  = "send splitinfer.infer"    // edge: messaging producer span on the default subject (SendSpanName)
	SpanCloudProcess = "process splitinfer.infer" // cloud: messaging consumer span on the default subject (ProcessSpanName), parent of the rest
	SpanQueueWait    = "splitinfer.cloud.queue"   // cloud: time in the bounded queue
	SpanDecode       = "splitinfer.decode"        // cloud: bounded decode of the request
	SpanCloudCompute = "splitinfer.cloud.compute" // cloud: the tail sub-graph
	SpanReply        = "splitinfer.reply"         // cloud: encode and send the reply
	SpanFallback     = "splitinfer.edge.fallback" // edge: whole model locally when no cloud answers
	// A request served by the edge's inference endpoint (edgeworker.Predictor):
	// the root, above the edge's request span.
	SpanServe      = "splitinfer.serve"
	SpanPreprocess = "splitinfer.preprocess" // edge: image decode and preprocessing
)

// Attribute keys specific to splitinfer (OTel semantic conventions are used
// where one exists, e.g. messaging.system=nats, messaging.destination.name).
const (
	AttrCutID            = "splitinfer.cut.id"
	AttrModelHash        = "splitinfer.model.hash"
	AttrModelName        = "splitinfer.model.name"
	AttrWorkerID         = "splitinfer.worker.id"
	AttrRequestID        = "splitinfer.request.id"
	AttrInputBytes       = "splitinfer.input.bytes"
	AttrWireBytes        = "splitinfer.wire.bytes"
	AttrReplyBytes       = "splitinfer.reply.bytes"     // on the NATS request span
	AttrReplyDecodeMs    = "splitinfer.reply.decode_ms" // on the NATS request span: the edge's decode of the reply
	AttrBitsPerElement   = "splitinfer.wire.bits_per_element"
	AttrCompressionRatio = "splitinfer.wire.compression_ratio"
	AttrCodec            = "splitinfer.wire.codec"
	AttrBandwidthBps     = "splitinfer.link.bandwidth_bps"
	AttrRTTms            = "splitinfer.link.rtt_ms"
	AttrPredictedMs      = "splitinfer.latency.predicted_ms"
	AttrMeasuredMs       = "splitinfer.latency.measured_ms"
	AttrErrorCode        = "splitinfer.error.code"
	AttrAttempt          = "splitinfer.attempt"
	AttrQueueDepth       = "splitinfer.queue.depth"
	AttrNodes            = "splitinfer.nodes"
	AttrBatch            = "splitinfer.batch"
	AttrOutcome          = "splitinfer.outcome"          // metrics label: OutcomeOK, OutcomeError, OutcomeFallback
	AttrStage            = "splitinfer.stage"            // metrics label of MetricStage: Stage* values
	AttrDirection        = "splitinfer.direction"        // metrics label of MetricNATSMessages and MetricNATSBytes: in, out
	AttrServeRequestID   = "splitinfer.serve.request_id" // on SpanServe: the caller's (Open Inference Protocol) request id
	// On the edge's root span when the model has an exit head at the cut:
	// whether the edge answered by itself (sending nothing), and the
	// head's confidence.
	AttrExited         = "splitinfer.exit.exited"
	AttrExitConfidence = "splitinfer.exit.confidence"
)

// Values of AttrOutcome.
const (
	OutcomeOK       = "ok"
	OutcomeError    = "error"
	OutcomeFallback = "fallback" // answered by the edge's local fallback
	OutcomeExit     = "exit"     // answered by the edge's exit head (compress --exit)
)

// Values of AttrStage (MetricStage), one per span kind of work.
const (
	StageEdgeCompute  = "edge_compute"
	StageEncode       = "encode"
	StageNetwork      = "network" // NATS round trip minus the cloud's time
	StageQueue        = "queue"
	StageDecode       = "decode"
	StageCloudCompute = "cloud_compute"
	StageReply        = "reply"
	StagePreprocess   = "preprocess" // image decode and preprocessing (edge endpoint)
)

// Metric names (OTel instrument names; Prometheus renders dots as underscores).
const (
	MetricLatency    = "splitinfer.request.duration" // histogram, s, by cut and outcome
	MetricWireBytes  = "splitinfer.wire.bytes"       // histogram, By, by cut
	MetricRequests   = "splitinfer.requests"         // counter, by cut and outcome
	MetricErrors     = "splitinfer.errors"           // counter, by code
	MetricQueueDepth = "splitinfer.queue.depth"      // gauge (cloud)
	MetricStage      = "splitinfer.stage.duration"   // histogram, s, by stage

	MetricNATSConnected  = "splitinfer.nats.connected"  // gauge: 1 while the worker's NATS connection is up
	MetricNATSReconnects = "splitinfer.nats.reconnects" // counter
	MetricNATSMessages   = "splitinfer.nats.messages"   // counter, by direction
	MetricNATSBytes      = "splitinfer.nats.bytes"      // counter, By, by direction

	MetricOTelErrors    = "splitinfer.otel.errors"         // counter: OTel's errors in this process
	MetricRejectedSpans = "splitinfer.otel.spans.rejected" // counter: spans refused in OTLP partial_success replies
)

// EndTime is the time to end a span that started at start, so that its
// duration is end.Sub(start) by the monotonic clock. Span timestamps travel
// as wall-clock Unix nanoseconds, and a wall clock that steps (NTP, a VM's
// clock sync: steps of tens to hundreds of microseconds were seen here)
// would otherwise make a span disagree with the stage time splitinfer
// reports for the same two clock readings.
func EndTime(start, end time.Time) time.Time { return start.Add(end.Sub(start)) }

// Attributes of the request's size on the edge's root span, beside
// AttrWireBytes: its header (ids, hash, cut, deadline, framing) and
// payload (the activations as sent) bytes, which add up to it, and the
// wire version (2 for a compact request, 1 otherwise).
const (
	AttrHeaderBytes  = "splitinfer.wire.header_bytes"
	AttrPayloadBytes = "splitinfer.wire.payload_bytes"
	AttrWireVersion  = "splitinfer.wire.version"
)
