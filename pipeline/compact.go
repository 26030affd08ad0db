package pipeline

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/nn"
)

// Compact requests (wire version 3) carry the activations of a cut the
// model has an activation codec for (compress/actcode, stored in the
// model's metadata) in a few hundred bytes: a msgpack array of fixed
// fields, with no field the cloud knows from the model and the cut.
//
//	[3, tag (18 bytes: id (8) | model (first 6 bytes of the content
//	 hash) | codec (fingerprint, 4)), cut (index in Cuts), budget (the
//	 time to the deadline as a budget code, 0: none), data (the coded
//	 activations)]
//
// The three identifiers share one binary field (msgpack spends 2 bytes
// a field on them otherwise). The deadline travels as the time left (as
// gRPC's grpc-timeout does), so it needs no synchronised clocks, in one
// byte: a code of a scale that grows by 10% a step (see budgetMs),
// rounded down, so the cloud never thinks it has more time than the edge
// gave; the cloud counts it from the message's arrival.

// CompactVersion is the wire version of compact requests.
const CompactVersion = 3

// CompactHashBytes is how many bytes of the model hash a compact request
// carries: 48 bits. The prefix only picks among the models one cloud
// serves (two of them collide with probability about 2^-48) and the
// codec fingerprint beside it must match too; it is not a security
// boundary (credentials and permissions are).
const CompactHashBytes = 6

// compactIDBytes is the length of a compact request id: 64 bits, as
// the cloud's retry dedup keys on it (shorter ids would collide within
// its window across many edges).
const compactIDBytes = 8

// compactTagBytes is the length of the tag: id, model prefix, codec.
const compactTagBytes = compactIDBytes + CompactHashBytes + 4

// compactRequest is the fixed struct compact requests decode into.
type compactRequest struct {
	_msgpack struct{} `msgpack:",as_array"`
	Version  int
	Tag      []byte
	Cut      int
	Budget   int
	Data     []byte
}

// newTag joins a compact request's identifiers into its tag.
func newTag(id, model []byte, codec uint32) []byte {
	tag := make([]byte, 0, compactTagBytes)
	tag = append(append(tag, id...), model...)
	return binary.BigEndian.AppendUint32(tag, codec)
}

// The tag's parts (its length checked).
func (r *compactRequest) id() []byte { return r.Tag[:compactIDBytes] }
func (r *compactRequest) model() []byte {
	return r.Tag[compactIDBytes : compactIDBytes+CompactHashBytes]
}
func (r *compactRequest) codec() uint32 {
	return binary.BigEndian.Uint32(r.Tag[compactIDBytes+CompactHashBytes:])
}

// budgetMs[k] is the time budget code k stands for, in milliseconds: 0
// none, then 1, 2, ... ms up to where 10% is more than 1 ms, then 10%
// more a step, to about 7 minutes at 127 (msgpack's largest one-byte
// integer). Longer budgets are sent as the largest.
var budgetMs = func() (t [128]int64) {
	for k := 1; k < len(t); k++ {
		t[k] = max(t[k-1]+1, t[k-1]*11/10)
	}
	return t
}()

// budgetCode is the code of the largest budget not above d (at least 1
// ms: a deadline that has passed still sends 1 ms, and the cloud answers
// it with a deadline error).
func budgetCode(d time.Duration) int {
	ms := max(int64(d/time.Millisecond), 1)
	k, _ := slices.BinarySearch(budgetMs[:], ms+1) // first code above ms
	return k - 1
}

// compactFields is the length of a compact request's array.
const compactFields = 5

// CompactCuts are the cuts of one model that carry a compact coding,
// with what the edge and the cloud need to code them: the cuts with an
// activation codec (compress/actcode), and the model input as an image
// (see newImageCoding) when the model declares its preprocessing. Safe for
// concurrent use.
type CompactCuts struct {
	hash   string
	prefix string // the hash's first CompactHashBytes bytes
	byName map[string]*compactCut
	byIdx  map[int]*compactCut
}

type compactCut struct {
	index int
	name  string
	// coding codes the cut's tensor by default; fp identifies it on the
	// wire.
	coding cutCoding
	fp     uint32
	// byBits holds the activation codecs of every width the model's
	// tuning record keeps and the default's (RequestEncoder.Bits picks
	// one; nil for a coding without widths, the image), byFP every
	// coding of the cut by fingerprint (the default's included).
	byBits map[int]fpCoding
	byFP   map[uint32]cutCoding
	// like is the cut tensor at batch 1 (dtype, shape, quantization).
	like *nn.Tensor
}

// fpCoding is a coding with its fingerprint.
type fpCoding struct {
	cutCoding
	fp uint32
}

// pick returns the coding for a request with bits (0: the default).
func (c *compactCut) pick(bits int) (cutCoding, uint32, error) {
	if bits == 0 || c.byBits == nil { // the default, or a coding without widths
		return c.coding, c.fp, nil
	}
	if k, ok := c.byBits[bits]; ok {
		return k.cutCoding, k.fp, nil
	}
	return nil, 0, fmt.Errorf("%w: cut %q has no %d-bit activation codec (the model's tuning record has %v)", ErrBadRequest, c.name, bits, slices.Sorted(maps.Keys(c.byBits)))
}

// cutCoding is how a compact cut's tensor (batch 1) becomes a payload and
// back.
type cutCoding interface {
	// encode codes t; errInexact when the coding cannot carry t exactly
	// and the tensor should go as computed instead.
	encode(t *nn.Tensor) ([]byte, error)
	// decode makes the cut's tensor from an untrusted payload.
	decode(data []byte, like *nn.Tensor) (*nn.Tensor, error)
	// what names the coding in errors.
	what() string
}

// errInexact reports a tensor a lossless coding cannot carry.
var errInexact = errors.New("pipeline: the tensor is not exactly what the coding carries")

// actCoding is an activation codec's coding, with per-goroutine coders.
type actCoding struct {
	codec      *actcode.Codec
	encs, decs sync.Pool
}

type cutCoder struct {
	enc *actcode.Encoder
	dec *actcode.Decoder
}

func newActCoding(codec *actcode.Codec) *actCoding {
	a := &actCoding{codec: codec}
	a.encs.New = func() any { return &cutCoder{enc: codec.NewEncoder()} }
	a.decs.New = func() any { return &cutCoder{dec: codec.NewDecoder()} }
	return a
}

func (a *actCoding) what() string { return "activation codec" }

func (a *actCoding) encode(t *nn.Tensor) ([]byte, error) {
	cd := a.encs.Get().(*cutCoder)
	defer a.encs.Put(cd)
	return cd.enc.EncodeTensor(t)
}

func (a *actCoding) decode(data []byte, like *nn.Tensor) (*nn.Tensor, error) {
	cd := a.decs.Get().(*cutCoder)
	defer a.decs.Put(cd)
	t := nn.New(like.DType, like.Shape...)
	t.Quant = like.Quant
	if err := cd.dec.DecodeTensor(data, t); err != nil {
		return nil, err
	}
	return t, nil
}

// NewCompactCuts finds the compact codings whole carries: the activation
// codecs (see actcode.Attach) and its input as an image (when it declares
// its preprocessing, see newImageCoding), and indexes their cuts. It
// returns nil, nil for a model without any.
func NewCompactCuts(whole *nn.Program) (*CompactCuts, error) {
	g := whole.Graph()
	img, err := newImageCoding(whole)
	if err != nil {
		return nil, err
	}
	names := actcode.Cuts(g)
	if len(names) == 0 && img == nil {
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
	add := func(c *compactCut) {
		c.byFP = map[uint32]cutCoding{c.fp: c.coding}
		for _, k := range c.byBits {
			c.byFP[k.fp] = k.cutCoding
		}
		cc.byName[c.name], cc.byIdx[c.index] = c, c
	}
	if img != nil {
		add(img)
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
		c := &compactCut{index: i, name: name, coding: newActCoding(codec), fp: codec.Fingerprint(), like: cut.Example}
		c.byBits = map[int]fpCoding{codec.Bits: {cutCoding: c.coding, fp: c.fp}}
		_, widths, err := actcode.LookupRecord(g, name)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		for _, w := range widths {
			if w.C != codec.C || w.H != codec.H || w.W != codec.W {
				return nil, fmt.Errorf("%w: %d-bit activation codec of %q is %dx%dx%d, the tensor %v", ErrBadRequest, w.Bits, name, w.C, w.H, w.W, cut.Example.Shape)
			}
			k := fpCoding{fp: w.Fingerprint(), cutCoding: newActCoding(w)}
			if k.fp == c.fp {
				k.cutCoding = c.coding // one set of coders for the default's width
			}
			c.byBits[w.Bits] = k
		}
		if img != nil && name == img.name {
			// Codecs at the input quantize the image: they join the PNG,
			// which stays the default (lossless).
			c.coding, c.fp = img.coding, img.fp
		}
		add(c)
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

// Names lists the cuts with a compact coding, in cut order, each with
// its coding ("input (image)", "pool2 (activation codec)").
func (cc *CompactCuts) Names() []string {
	if cc == nil {
		return nil
	}
	idx := make([]int, 0, len(cc.byIdx))
	for i := range cc.byIdx {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	out := make([]string, len(idx))
	for k, i := range idx {
		c := cc.byIdx[i]
		out[k] = fmt.Sprintf("%s (%s)", c.name, c.coding.what())
	}
	return out
}

// fingerprints lists the cut's codings' fingerprints, the default first.
func (c *compactCut) fingerprints() string {
	s := fmt.Sprintf("%08x", c.fp)
	for _, fp := range slices.Sorted(maps.Keys(c.byFP)) {
		if fp != c.fp {
			s += fmt.Sprintf(", %08x", fp)
		}
	}
	return s
}

// CompactCut describes a cut with a compact coding.
type CompactCut struct {
	// Tensor is the cut tensor; Image is set for the input sent as an
	// image (no widths).
	Tensor string
	Image  bool
	// Widths are the activation codec's bit widths the edge can pick
	// (RequestEncoder.Bits), Default the one it sends by default.
	Widths  []int
	Default int
}

// Cuts describes the cuts with a compact coding, in cut order.
func (cc *CompactCuts) Cuts() []CompactCut {
	if cc == nil {
		return nil
	}
	var out []CompactCut
	for _, i := range slices.Sorted(maps.Keys(cc.byIdx)) {
		c := cc.byIdx[i]
		d := CompactCut{Tensor: c.name, Widths: slices.Sorted(maps.Keys(c.byBits))}
		if a, ok := c.coding.(*actCoding); ok {
			d.Default = a.codec.Bits
		} else {
			d.Image = true
		}
		out = append(out, d)
	}
	return out
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
func (cc *CompactCuts) encodeCompact(c *compactCut, bits int, id string, t *nn.Tensor, deadline time.Time) (Encoded, error) {
	idb, err := hex.DecodeString(id)
	if err != nil || len(idb) != compactIDBytes {
		return Encoded{}, fmt.Errorf("%w: compact request id %q (want %d hex bytes, see NewCompactID)", ErrBadRequest, id, compactIDBytes)
	}
	if t == nil || t.DType != c.like.DType || t.Len() != c.like.Len() {
		return Encoded{}, fmt.Errorf("%w: cut %q: activations %v, the %s takes %v", ErrBadRequest, c.name, typeOf(t), c.coding.what(), c.like.Type())
	}
	coding, fp, err := c.pick(bits)
	if err != nil {
		return Encoded{}, err
	}
	data, err := coding.encode(t)
	if errors.Is(err, errInexact) {
		return Encoded{}, err
	}
	if err != nil {
		return Encoded{}, fmt.Errorf("%w: cut %q: %v", ErrBadRequest, c.name, err)
	}
	req := compactRequest{Version: CompactVersion, Tag: newTag(idb, []byte(cc.prefix), fp), Cut: c.index, Data: data}
	if !deadline.IsZero() {
		req.Budget = budgetCode(time.Until(deadline))
	}
	var buf bytes.Buffer
	me := msgpack.NewEncoder(&buf)
	me.UseCompactInts(true) // small integers in one byte
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
	case len(r.Tag) != compactTagBytes:
		return nil, fmt.Errorf("%w: compact request tag of %d bytes (want %d)", ErrBadRequest, len(r.Tag), compactTagBytes)
	case r.Budget < 0 || r.Budget >= len(budgetMs):
		return nil, fmt.Errorf("%w: deadline budget code %d (want 0..%d)", ErrBadRequest, r.Budget, len(budgetMs)-1)
	}
	prefix, fp := r.model(), r.codec()
	cc := model(prefix)
	if cc == nil {
		return nil, fmt.Errorf("%w: model %x... is not served here", ErrModelMismatch, prefix)
	}
	c, ok := cc.byIdx[r.Cut]
	if !ok {
		return nil, fmt.Errorf("%w: cut index %d has no compact coding in model %.16s", ErrBadRequest, r.Cut, cc.hash)
	}
	coding, ok := c.byFP[fp]
	if !ok {
		return nil, Errorf(CodeModelMismatch, "%s %08x for cut %q, this worker has %s: edge and cloud loaded different codec tables", c.coding.what(), fp, c.name, c.fingerprints())
	}
	t, err := coding.decode(r.Data, c.like)
	if errors.Is(err, ErrInternal) {
		return nil, fmt.Errorf("%w: cut %q: %v", ErrInternal, c.name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cut %q: %v", ErrBadRequest, c.name, err)
	}
	wt, err := FromNN(c.name, t)
	if err != nil {
		return nil, err
	}
	req := &Request{Version: CompactVersion, ID: hex.EncodeToString(r.id()), Model: cc.hash, Cut: c.name,
		Codec: CodecNone, Tensors: []Tensor{wt}, Compact: true}
	if r.Budget > 0 {
		req.Deadline = now.Add(time.Duration(budgetMs[r.Budget]) * time.Millisecond).UnixNano()
	}
	return req, nil
}
