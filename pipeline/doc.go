// Package pipeline is the contract between splitinfer's edge and cloud
// workers: the versioned msgpack request and reply messages, the tensors
// they carry (float32, int8 or uint8, with scale and zero point, data as raw
// bytes, optionally zstd-compressed), the error codes, the NATS subject, the
// model content hash and the cut ids that name a split of a model.
//
// Decoding is bounded: a message is checked against a size cap and walked
// by Precheck, which validates every declared length and the nesting depth
// without recursion, before msgpack decodes it into fixed structs; tensor
// shapes must agree with their data and decompression is capped at the size
// the shape implies.
package pipeline

// DefaultSubject is the NATS subject of the cloud workers' endpoint.
const DefaultSubject = "splitinfer.infer"

// ServiceName is the nats.go micro service name of the cloud workers.
const ServiceName = "splitinfer"

// ProfileSubject is where the cloud workers serving subject answer with the
// per-node latency profile (JSON) of a model they serve, measured at start;
// the request carries the model hash (empty: their first model).
func ProfileSubject(subject string) string { return subject + ".profile" }

// EchoSubject is where the cloud workers serving subject answer any message
// with one byte: the edge's round-trip and bandwidth probes.
func EchoSubject(subject string) string { return subject + ".echo" }
