package pipeline

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/nn"
)

// Compact requests (wire version 2) carry the activations of a cut the
// model has an activation codec for (compress/actcode, stored in the
// model's metadata) in a few hundred bytes: a msgpack array of fixed
// fields, with no field the cloud knows from the model and the cut.
//
//	[2, id (8 bytes), model (first 8 bytes of the content hash),
//	 cut (index in Cuts), codec (fingerprint), budget (ms to the deadline,
//	 0: none), data (the coded activations)]
//
// The deadline travels as the time left (as gRPC's grpc-timeout does), so
// it needs no synchronised clocks and fits in 3 bytes; the cloud counts it
// from the message's arrival.

// CompactVersion is the wire version of compact requests.
const CompactVersion = 2

// CompactHashBytes is how many bytes of the model hash a compact request
// carries: 64 bits, so two models a cloud serves collide with
// probability about 2^-64.
const CompactHashBytes = 8

// compactIDBytes is the length of a compact request id.
const compactIDBytes = 8

// compactRequest is the fixed struct compact requests decode into.
type compactRequest struct {
	_msgpack struct{} `msgpack:",as_array"`
	Version  int
	ID       []byte
	Model    []byte
	Cut      int
	Codec    uint32
	Budget   int64
	Data     []byte
}

// compactFields is the length of a compact request's array.
const compactFields = 7

// CompactCuts are the cuts of one model that carry an activation codec,
// with what the edge and the cloud need to code them. Safe for concurrent
// use.
type CompactCuts struct {
	hash   string
	prefix string // the hash's first CompactHashBytes bytes
	byName map[string]*compactCut
	byIdx  map[int]*compactCut
}

type compactCut struct {
	index int
	name  string
	codec *actcode.Codec
	fp    uint32
	// like is the cut tensor at batch 1 (dtype, shape, quantization).
	like       *nn.Tensor
	encs, decs sync.Pool
}

type cutCoder struct {
	enc  *actcode.Encoder
	dec  *actcode.Decoder
	vals []float32
}

// NewCompactCuts finds the activation codecs whole carries (see
// actcode.Attach) and indexes their cuts. It returns nil, nil for a model
// without any.
func NewCompactCuts(whole *nn.Program) (*CompactCuts, error) {
	g := whole.Graph()
	names := actcode.Cuts(g)
	if len(names) == 0 {
		return nil, nil
	}
	hash, err := hex.DecodeString(ModelHash(g))
	if err != nil || len(hash) < CompactHashBytes {
		return nil, fmt.Errorf("pipeline: model hash %q is not hex", ModelHash(g))
	}
	cc := &CompactCuts{hash: ModelHash(g), prefix: string(hash[:CompactHashBytes]),
		byName: map[string]*compactCut{}, byIdx: map[int]*compactCut{}}
	index := map[string]int{}
	for i, c := range Cuts(whole) {
		index[c.Tensor] = i
	}
	for _, name := range names {
		i, ok := index[name]
		if !ok {
			return nil, fmt.Errorf("%w: the activation codec's tensor %q is not a cut of the model", ErrBadRequest, name)
		}
		codec, err := actcode.Lookup(g, name)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		cut, err := actcode.NewCut(whole, name)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		if cut.C != codec.C || cut.H != codec.H || cut.W != codec.W {
			return nil, fmt.Errorf("%w: activation codec of %q is %dx%dx%d, the tensor %v", ErrBadRequest, name, codec.C, codec.H, codec.W, cut.Example.Shape)
		}
		c := &compactCut{index: i, name: name, codec: codec, fp: codec.Fingerprint(), like: cut.Example}
		c.encs.New = func() any { return &cutCoder{enc: codec.NewEncoder(), vals: make([]float32, codec.Elements())} }
		c.decs.New = func() any { return &cutCoder{dec: codec.NewDecoder(), vals: make([]float32, codec.Elements())} }
		cc.byName[name], cc.byIdx[i] = c, c
	}
	return cc, nil
}

// Has reports whether cut id (CutID) has an activation codec.
func (cc *CompactCuts) Has(cut string) bool {
	if cc == nil {
		return false
	}
	_, ok := cc.byName[cut]
	return ok
}

// Model is the full content hash of the model.
func (cc *CompactCuts) Model() string { return cc.hash }

// Matches reports whether a compact request's model prefix names this
// model.
func (cc *CompactCuts) Matches(prefix []byte) bool { return string(prefix) == cc.prefix }

// NewCompactID returns a fresh compact request id: 8 random bytes as 16
// hex digits (the form replies echo).
func NewCompactID() string {
	var b [compactIDBytes]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// encodeCompact codes t, the activations at cut c, into a compact request.
func (cc *CompactCuts) encodeCompact(c *compactCut, id string, t *nn.Tensor, deadline time.Time) (Encoded, error) {
	idb, err := hex.DecodeString(id)
	if err != nil || len(idb) != compactIDBytes {
		return Encoded{}, fmt.Errorf("%w: compact request id %q (want %d hex bytes, see NewCompactID)", ErrBadRequest, id, compactIDBytes)
	}
	if t == nil || t.DType != c.like.DType || t.Len() != c.codec.Elements() {
		return Encoded{}, fmt.Errorf("%w: cut %q: activations %v, the codec takes %v", ErrBadRequest, c.name, typeOf(t), c.like.Type())
	}
	cd := c.encs.Get().(*cutCoder)
	defer c.encs.Put(cd)
	if err := actcode.RealValues(t, cd.vals); err != nil {
		return Encoded{}, fmt.Errorf("%w: cut %q: %v", ErrBadRequest, c.name, err)
	}
	data, err := cd.enc.Encode(cd.vals)
	if err != nil {
		return Encoded{}, fmt.Errorf("%w: cut %q: %v", ErrBadRequest, c.name, err)
	}
	req := compactRequest{Version: CompactVersion, ID: idb, Model: []byte(cc.prefix), Cut: c.index, Codec: c.fp, Data: data}
	if !deadline.IsZero() {
		req.Budget = max(int64(math.Ceil(float64(time.Until(deadline))/float64(time.Millisecond))), 1)
	}
	var buf bytes.Buffer
	me := msgpack.NewEncoder(&buf)
	me.UseCompactInts(true) // the budget in 3 bytes, not 9
	err = me.Encode(&req)
	body := buf.Bytes()
	if err != nil {
		return Encoded{}, fmt.Errorf("pipeline: encoding compact request: %w", err)
	}
	return Encoded{Body: body, Cut: c.name, RawBytes: len(t.Bytes()), Elements: t.Len(),
		PayloadBytes: len(data), HeaderBytes: len(body) - len(data), Compact: true}, nil
}

func typeOf(t *nn.Tensor) string {
	if t == nil {
		return "nil"
	}
	return t.Type().String()
}

// IsCompact reports whether message b is a compact request (a msgpack
// array; other requests are maps).
func IsCompact(b []byte) bool { return len(b) > 0 && b[0] == 0x90|compactFields }

// DecodeCompactRequest decodes an untrusted compact request within lim
// (size cap and pre-check first, then the fixed struct) and turns it into
// the Request the cloud runs: full model hash, cut tensor name, the
// activations decoded into the cut tensor's dtype, and the deadline
// counted from now. model returns the served model's compact cuts for the
// request's hash prefix (nil when none is served: a 409). A cut without a
// codec is a 400, a codec with another fingerprint a 409 that says the
// edge and the cloud loaded different tables.
func DecodeCompactRequest(b []byte, lim Limits, now time.Time, model func(prefix []byte) *CompactCuts) (*Request, error) {
	lim = lim.withDefaults()
	if len(b) > lim.MaxMessageBytes {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(b), lim.MaxMessageBytes)
	}
	if !IsCompact(b) {
		return nil, fmt.Errorf("%w: not a compact request", ErrBadRequest)
	}
	if err := Precheck(b, 2, compactFields); err != nil {
		return nil, err
	}
	var r compactRequest
	if err := msgpack.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: msgpack: %v", ErrBadRequest, err)
	}
	switch {
	case r.Version != CompactVersion:
		return nil, fmt.Errorf("%w: compact wire version %d, want %d", ErrBadRequest, r.Version, CompactVersion)
	case len(r.ID) != compactIDBytes:
		return nil, fmt.Errorf("%w: compact request id of %d bytes (want %d)", ErrBadRequest, len(r.ID), compactIDBytes)
	case len(r.Model) != CompactHashBytes:
		return nil, fmt.Errorf("%w: model hash prefix of %d bytes (want %d)", ErrBadRequest, len(r.Model), CompactHashBytes)
	case r.Budget < 0:
		return nil, fmt.Errorf("%w: negative deadline budget %d ms", ErrBadRequest, r.Budget)
	}
	cc := model(r.Model)
	if cc == nil {
		return nil, fmt.Errorf("%w: model %x... is not served here", ErrModelMismatch, r.Model)
	}
	c, ok := cc.byIdx[r.Cut]
	if !ok {
		return nil, fmt.Errorf("%w: cut index %d has no activation codec in model %.16s", ErrBadRequest, r.Cut, cc.hash)
	}
	if r.Codec != c.fp {
		return nil, Errorf(CodeModelMismatch, "activation codec %08x for cut %q, this worker has %08x: edge and cloud loaded different codec tables", r.Codec, c.name, c.fp)
	}
	cd := c.decs.Get().(*cutCoder)
	defer c.decs.Put(cd)
	if err := cd.dec.Decode(r.Data, cd.vals); err != nil {
		return nil, fmt.Errorf("%w: cut %q: %v", ErrBadRequest, c.name, err)
	}
	t := nn.New(c.like.DType, c.like.Shape...)
	t.Quant = c.like.Quant
	if err := actcode.SetRealValues(t, cd.vals); err != nil {
		return nil, fmt.Errorf("%w: cut %q: %v", ErrInternal, c.name, err)
	}
	wt, err := FromNN(c.name, t)
	if err != nil {
		return nil, err
	}
	req := &Request{Version: CompactVersion, ID: hex.EncodeToString(r.ID), Model: cc.hash, Cut: c.name,
		Codec: CodecNone, Tensors: []Tensor{wt}, Compact: true}
	if r.Budget > 0 {
		req.Deadline = now.Add(time.Duration(min(r.Budget, math.MaxInt64/int64(time.Millisecond))) * time.Millisecond).UnixNano()
	}
	return req, nil
}
