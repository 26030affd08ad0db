package pipeline

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/splitinfer/splitinfer/nn"
)

// This file is the one request path: every edge (the edge worker, the
// partitioner's size measurement, the sweep) builds its requests with
// RequestEncoder and reads the replies with ReadReply, so that the bytes
// the partitioner predicts are the bytes sent.

// NewRequestID returns a fresh request id (a 22-character NUID).
func NewRequestID() string { return nuid.Next() }

// ErrBadReply reports a reply body that does not decode.
var ErrBadReply = errors.New("pipeline: bad reply")

// RequestEncoder builds the requests an edge sends for one model.
type RequestEncoder struct {
	// Model is the model's content hash (ModelHash).
	Model string
	Codec Codec
	// Wire, when nn.Uint8 or nn.Int8, quantizes float32 activations for
	// the wire (Quantize); nn.Undefined or nn.Float32 sends them as
	// computed.
	Wire nn.DType
	// Compact, when set, sends the activations of the cuts it has a
	// codec for as compact requests (see DecodeCompactRequest): their
	// ids must come from NewID.
	Compact *CompactCuts
	// Bits, when not 0, picks the activation codec of that width among
	// those the model's tuning record keeps (actcode.Record) instead of
	// the one compress chose; the input's image coding has no width.
	Bits int
}

// NewRequestEncoder returns the encoder an edge sends whole's requests
// with: tensors as computed with codec and wire (see RequestEncoder), and
// with compact the model's compact codings (NewCompactCuts) at the cuts
// that have one.
func NewRequestEncoder(whole *nn.Program, codec Codec, wire nn.DType, compact bool) (RequestEncoder, error) {
	e := RequestEncoder{Model: ModelHash(whole.Graph()), Codec: codec, Wire: wire}
	if compact {
		var err error
		if e.Compact, err = NewCompactCuts(whole); err != nil {
			return RequestEncoder{}, err
		}
	}
	return e, nil
}

// NewID returns a fresh request id of the form this encoder's requests
// at cut carry: NewCompactID for a compact cut, else NewRequestID.
func (e RequestEncoder) NewID(cut string) string {
	if e.Compact.Has(cut) {
		return NewCompactID()
	}
	return NewRequestID()
}

// String describes the requests for notes and logs.
func (e RequestEncoder) String() string {
	wire, codec := e.Wire, e.Codec
	if wire == nn.Undefined {
		wire = nn.Float32
	}
	if codec == "" {
		codec = CodecNone
	}
	s := fmt.Sprintf("the edge's requests (msgpack, real tensor names, wire %v, codec %s)", wire, codec)
	if names := e.Compact.Names(); len(names) > 0 {
		s += fmt.Sprintf(", compact at %s", strings.Join(names, ", "))
	}
	return s
}

// Encoded is a request message and what it carries.
type Encoded struct {
	Body []byte
	// Cut is the request's cut id (CutID of the names).
	Cut string
	// RawBytes and Elements are the activations' size as computed and
	// their element count.
	RawBytes, Elements int
	// PayloadBytes are the tensor data as sent, HeaderBytes the rest of
	// the message (ids, hash, cut, deadline, names, shapes, msgpack).
	PayloadBytes, HeaderBytes int
	// Compact is set for a compact request (wire version 3).
	Compact bool
}

// Encode turns the activations of one cut, ts[i] named names[i], into the
// request message with the given id and deadline (zero: none). The tensors
// go in the cut id's order (sorted by name).
func (e RequestEncoder) Encode(id string, names []string, ts []*nn.Tensor, deadline time.Time) (Encoded, error) {
	return e.encode(id, names, ts, deadline, false)
}

// Size is the length of the request Encode makes for these activations
// (with an id as long as NewRequestID's and a deadline): the bytes an edge
// sends for this cut. Tensors the wire cannot carry (such as int64 shape
// values) count as their raw bytes plus their name.
func (e RequestEncoder) Size(names []string, ts []*nn.Tensor) (int, error) {
	enc, err := e.encode(e.NewID(CutID(names)), names, ts, time.Now().Add(10*time.Second), true)
	return len(enc.Body) + enc.RawBytes, err
}

// encode builds the request; with lenient, tensors the wire cannot carry
// are left out and their raw size plus name length is returned in
// RawBytes (instead of the carried tensors' raw size).
func (e RequestEncoder) encode(id string, names []string, ts []*nn.Tensor, deadline time.Time, lenient bool) (Encoded, error) {
	if len(names) != len(ts) {
		return Encoded{}, fmt.Errorf("%w: %d names for %d tensors", ErrBadRequest, len(names), len(ts))
	}
	if len(names) == 1 && e.Compact != nil {
		if c, ok := e.Compact.byName[names[0]]; ok {
			out, err := e.Compact.encodeCompact(c, e.Bits, id, ts[0], deadline)
			if lenient {
				out.RawBytes = 0 // every tensor was carried
			}
			if !errors.Is(err, errInexact) { // else it goes as computed
				return out, err
			}
		}
	}
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	if !sort.StringsAreSorted(names) {
		sort.SliceStable(order, func(a, b int) bool { return names[order[a]] < names[order[b]] })
	}
	var out Encoded
	req := &Request{ID: id, Model: e.Model, Codec: e.Codec, Tensors: make([]Tensor, 0, len(ts))}
	if !deadline.IsZero() {
		req.Deadline = deadline.UnixNano()
	}
	sorted := make([]string, 0, len(ts))
	extra := 0
	for _, i := range order {
		t, name := ts[i], names[i]
		sorted = append(sorted, name)
		var w Tensor
		var err error
		switch {
		case t != nil && t.DType == nn.Float32 && e.Wire != nn.Undefined && e.Wire != nn.Float32:
			w, err = Quantize(name, t, e.Wire)
		case lenient && t != nil && !IsWireDType(t.DType):
			extra += len(name) + t.Len()*t.DType.Size()
			continue
		default:
			w, err = FromNN(name, t)
		}
		if err != nil {
			return Encoded{}, fmt.Errorf("pipeline: encoding %q: %w", name, err)
		}
		out.RawBytes += len(t.Bytes())
		out.Elements += t.Len()
		req.Tensors = append(req.Tensors, w)
	}
	req.Cut = strings.Join(sorted, ",")
	body, payload, err := encodeRequest(req)
	if err != nil {
		return Encoded{}, fmt.Errorf("pipeline: encoding request: %w", err)
	}
	out.Body, out.Cut = body, req.Cut
	out.PayloadBytes, out.HeaderBytes = payload, len(body)-payload
	if lenient {
		out.RawBytes = extra
	}
	return out, nil
}

// ReadReply reads a cloud worker's reply message to request id: a coded
// error (from the headers, or in the body) comes back as an *Error, a body
// that does not decode as ErrBadReply, a reply for another request as a
// 500.
func ReadReply(msg *nats.Msg, id string, lim Limits) (*Reply, error) {
	if he := ErrorFromHeaders(msg.Header); he != nil {
		return nil, he
	}
	reply, err := DecodeReply(msg.Data, lim)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadReply, err)
	}
	if e := reply.Err(); e != nil {
		return nil, e
	}
	if reply.ID != id {
		return nil, Errorf(CodeInternal, "reply for request %q, sent %q", reply.ID, id)
	}
	return reply, nil
}

// Retryable reports whether another attempt of a request that failed with
// err (from ReadReply) may succeed: a full queue, a worker's internal
// error or a reply that did not decode.
func Retryable(err error) bool {
	if errors.Is(err, ErrBadReply) {
		return true
	}
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Code == CodeQueueFull || pe.Code == CodeInternal
	}
	return false
}

// OutputTensors returns the reply's outputs named names, in that order, as
// nn tensors (copies).
func (r *Reply) OutputTensors(names []string) ([]*nn.Tensor, error) {
	out := make([]*nn.Tensor, 0, len(names))
	for _, name := range names {
		var wt *Tensor
		for i := range r.Outputs {
			if r.Outputs[i].Name == name {
				wt = &r.Outputs[i]
				break
			}
		}
		if wt == nil {
			return nil, Errorf(CodeInternal, "reply lacks output %q", name)
		}
		t, err := wt.ToNN()
		if err != nil {
			return nil, fmt.Errorf("pipeline: reply output %q: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
}
