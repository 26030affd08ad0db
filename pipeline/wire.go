package pipeline

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/splitinfer/splitinfer/internal/enum"
	"github.com/splitinfer/splitinfer/nn"
)

// Version is the wire format version this package writes and reads.
const Version = 1

// Codec is the entropy coding applied to each tensor's data.
type Codec string

// Codecs.
const (
	CodecNone Codec = "none"
	CodecZstd Codec = "zstd"
)

// ParseCodec accepts "none", "" (none) and "zstd".
func ParseCodec(s string) (Codec, error) {
	if v, ok := enum.Parse(s, CodecNone, CodecZstd); ok {
		return v, nil
	}
	return "", fmt.Errorf("%w: unknown codec %q", ErrBadRequest, s)
}

// ParseWire parses a wire dtype: "float32" or "" (the activations as
// computed: nn.Undefined), "uint8" or "int8" (float32 activations
// quantized for the wire, lossy).
func ParseWire(s string) (nn.DType, error) {
	switch s {
	case "float32", "":
		return nn.Undefined, nil
	case "uint8":
		return nn.Uint8, nil
	case "int8":
		return nn.Int8, nil
	}
	return nn.Undefined, fmt.Errorf("%w: wire dtype %q: want float32, uint8 or int8", ErrBadRequest, s)
}

// Tensor is a tensor on the wire. Data holds the elements little-endian in
// row-major order; its length is the product of Shape times the dtype size
// (before the message's codec is applied).
type Tensor struct {
	Name  string  `msgpack:"name"`
	DType string  `msgpack:"dtype"` // "float32", "int8" or "uint8"
	Shape []int64 `msgpack:"shape"`
	// Scale and ZeroPoint are the affine quantization of int8/uint8 data
	// (real = scale * (q - zero point)): one value per tensor, or one per
	// index of dimension Axis.
	Scale     []float32 `msgpack:"scale,omitempty"`
	ZeroPoint []int32   `msgpack:"zp,omitempty"`
	Axis      int       `msgpack:"axis,omitempty"`
	// Dequant marks a float32 model tensor quantized only for the wire:
	// the receiver turns it back into float32.
	Dequant bool   `msgpack:"dq,omitempty"`
	Data    []byte `msgpack:"data"`
}

// Request asks a cloud worker to run the tail of a model from a cut.
type Request struct {
	Version int    `msgpack:"v"`
	ID      string `msgpack:"id"`
	// Model is the content hash (nn.Hash) of the whole model.
	Model string `msgpack:"model"`
	// Cut names the tensors the tail starts from (see CutID).
	Cut   string `msgpack:"cut"`
	Codec Codec  `msgpack:"codec,omitempty"`
	// Deadline is in Unix nanoseconds; 0 means none.
	Deadline int64    `msgpack:"deadline,omitempty"`
	Tensors  []Tensor `msgpack:"tensors"`
	// Compact is set on a request DecodeCompactRequest made (it came as
	// a compact request; Version is CompactVersion).
	Compact bool `msgpack:"-"`
}

// Reply is a cloud worker's answer: the model outputs, or an error code
// and message.
type Reply struct {
	Version int      `msgpack:"v"`
	ID      string   `msgpack:"id"`
	Code    Code     `msgpack:"code,omitempty"`
	Message string   `msgpack:"msg,omitempty"`
	Codec   Codec    `msgpack:"codec,omitempty"`
	Outputs []Tensor `msgpack:"outputs,omitempty"`
	// Worker identifies the worker that computed the reply.
	Worker string `msgpack:"worker,omitempty"`
	// Times the worker measured, in nanoseconds.
	QueueNs   int64 `msgpack:"queue_ns,omitempty"`
	DecodeNs  int64 `msgpack:"decode_ns,omitempty"`
	ComputeNs int64 `msgpack:"compute_ns,omitempty"`
	// Cached is set when the reply was computed for an earlier request
	// with the same id (a retry).
	Cached bool `msgpack:"cached,omitempty"`
}

// Err returns the reply's error, or nil for a successful reply.
func (r *Reply) Err() *Error {
	if r.Code == CodeOK {
		return nil
	}
	return &Error{Code: r.Code, Message: r.Message}
}

// DeadlineTime converts the request deadline to a time (zero if none).
func (r *Request) DeadlineTime() time.Time {
	if r.Deadline == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.Deadline)
}

var (
	zencOnce sync.Once
	zenc     *zstd.Encoder
	zencErr  error
)

func encoder() (*zstd.Encoder, error) {
	zencOnce.Do(func() {
		zenc, zencErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	})
	return zenc, zencErr
}

var (
	zdecMu sync.Mutex
	zdecs  = map[int]*zstd.Decoder{}
)

// decoder returns a shared zstd decoder whose memory is capped at max bytes.
// DecodeAll is safe for concurrent use.
func decoder(max int) (*zstd.Decoder, error) {
	zdecMu.Lock()
	defer zdecMu.Unlock()
	if d, ok := zdecs[max]; ok {
		return d, nil
	}
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(2),
		zstd.WithDecoderMaxMemory(uint64(max)),
		zstd.WithDecoderMaxWindow(uint64(max)),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, err
	}
	zdecs[max] = d
	return d, nil
}

func encodeTensors(ts []Tensor, codec Codec) ([]Tensor, error) {
	out := make([]Tensor, len(ts))
	copy(out, ts)
	for i := range out {
		if err := checkTensor(&out[i], len(out[i].Data), DefaultLimits.MaxRank); err != nil {
			return nil, err
		}
	}
	switch codec {
	case "", CodecNone:
		return out, nil
	case CodecZstd:
		enc, err := encoder()
		if err != nil {
			return nil, fmt.Errorf("pipeline: zstd: %w", err)
		}
		for i := range out {
			out[i].Data = enc.EncodeAll(out[i].Data, nil)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unknown codec %q", ErrBadRequest, codec)
}

// EncodeRequest validates r's tensors and encodes r, compressing tensor
// data with r.Codec. Version is set to the package's Version.
func EncodeRequest(r *Request) ([]byte, error) {
	b, _, err := encodeRequest(r)
	return b, err
}

// encodeRequest is EncodeRequest that also returns the tensors' data bytes
// as sent (the payload; the rest of the message is header).
func encodeRequest(r *Request) ([]byte, int, error) {
	ts, err := encodeTensors(r.Tensors, r.Codec)
	if err != nil {
		return nil, 0, err
	}
	c := *r
	c.Version = Version
	c.Tensors = ts
	payload := 0
	for i := range ts {
		payload += len(ts[i].Data)
	}
	b, err := msgpack.Marshal(&c)
	return b, payload, err
}

// EncodeReply validates r's outputs and encodes r, compressing output data
// with r.Codec.
func EncodeReply(r *Reply) ([]byte, error) {
	ts, err := encodeTensors(r.Outputs, r.Codec)
	if err != nil {
		return nil, err
	}
	c := *r
	c.Version = Version
	c.Outputs = ts
	return msgpack.Marshal(&c)
}

// DecodeRequest decodes and validates an untrusted request within lim
// (zero fields take DefaultLimits). Errors are *Error with code 413 for a
// message or payload above the caps and 400 for anything malformed.
func DecodeRequest(b []byte, lim Limits) (*Request, error) {
	lim = lim.withDefaults()
	var r Request
	if err := decodeMsg(b, lim, &r); err != nil {
		return nil, err
	}
	if r.Version != Version {
		return nil, fmt.Errorf("%w: wire version %d, want %d", ErrBadRequest, r.Version, Version)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("%w: request without id", ErrBadRequest)
	}
	if len(r.Tensors) == 0 {
		return nil, fmt.Errorf("%w: request without tensors", ErrBadRequest)
	}
	codec, err := ParseCodec(string(r.Codec))
	if err != nil {
		return nil, err
	}
	r.Codec = codec
	if err := decodeTensors(r.Tensors, codec, lim); err != nil {
		return nil, err
	}
	return &r, nil
}

// DecodeReply decodes and validates an untrusted reply within lim.
func DecodeReply(b []byte, lim Limits) (*Reply, error) {
	lim = lim.withDefaults()
	var r Reply
	if err := decodeMsg(b, lim, &r); err != nil {
		return nil, err
	}
	if r.Version != Version {
		return nil, fmt.Errorf("%w: wire version %d, want %d", ErrBadRequest, r.Version, Version)
	}
	codec, err := ParseCodec(string(r.Codec))
	if err != nil {
		return nil, err
	}
	r.Codec = codec
	if r.Code != CodeOK {
		if r.Code < 100 || r.Code > 599 {
			return nil, fmt.Errorf("%w: reply code %d", ErrBadRequest, r.Code)
		}
		return &r, nil
	}
	if err := decodeTensors(r.Outputs, codec, lim); err != nil {
		return nil, err
	}
	return &r, nil
}

func decodeMsg(b []byte, lim Limits, v any) error {
	if len(b) > lim.MaxMessageBytes {
		return fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(b), lim.MaxMessageBytes)
	}
	if len(b) == 0 {
		return fmt.Errorf("%w: empty message", ErrBadRequest)
	}
	// Requests and replies are maps at the top level.
	if c := b[0]; !(c >= 0x80 && c <= 0x8f) && c != 0xde && c != 0xdf {
		return fmt.Errorf("%w: message is not a msgpack map (first byte %#x)", ErrBadRequest, c)
	}
	if err := Precheck(b, lim.MaxDepth, lim.MaxContainerLen); err != nil {
		return err
	}
	if err := msgpack.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: msgpack: %v", ErrBadRequest, err)
	}
	return nil
}

func decodeTensors(ts []Tensor, codec Codec, lim Limits) error {
	if len(ts) > lim.MaxTensors {
		return fmt.Errorf("%w: %d tensors (limit %d)", ErrBadRequest, len(ts), lim.MaxTensors)
	}
	total := 0
	for i := range ts {
		t := &ts[i]
		n, err := expectedBytes(t, lim.MaxRank)
		if err != nil {
			return err
		}
		if n > lim.MaxDecodedBytes-total {
			return fmt.Errorf("%w: tensors hold more than %d bytes", ErrTooLarge, lim.MaxDecodedBytes)
		}
		total += n
		if codec == CodecZstd && n > 0 {
			d, err := decoder(lim.MaxDecodedBytes)
			if err != nil {
				return fmt.Errorf("%w: zstd: %v", ErrInternal, err)
			}
			out, err := d.DecodeAll(t.Data, make([]byte, 0, n))
			if err != nil {
				return fmt.Errorf("%w: tensor %q: zstd: %v", ErrBadRequest, t.Name, err)
			}
			t.Data = out
		} else if codec == CodecZstd && len(t.Data) == 0 {
			t.Data = nil
		}
		if err := checkTensor(t, n, lim.MaxRank); err != nil {
			return err
		}
	}
	return nil
}

var errDType = errors.New("dtype")

// wireDType parses a tensor's dtype name; only the wire dtypes are accepted.
func wireDType(s string) (nn.DType, error) {
	d, err := nn.ParseDType(s)
	if err != nil || !IsWireDType(d) {
		return nn.Undefined, errDType
	}
	return d, nil
}

// IsWireDType reports whether tensors of dtype d may travel in a message:
// float32, int8 or uint8.
func IsWireDType(d nn.DType) bool { return d == nn.Float32 || d == nn.Int8 || d == nn.Uint8 }

// expectedBytes is the data size t's dtype and shape imply.
func expectedBytes(t *Tensor, maxRank int) (int, error) {
	dt, err := wireDType(t.DType)
	if err != nil {
		return 0, fmt.Errorf("%w: tensor %q: dtype %q (want float32, int8 or uint8)", ErrBadRequest, t.Name, t.DType)
	}
	if len(t.Shape) > maxRank {
		return 0, fmt.Errorf("%w: tensor %q has rank %d (limit %d)", ErrBadRequest, t.Name, len(t.Shape), maxRank)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 || d > math.MaxInt32 {
			return 0, fmt.Errorf("%w: tensor %q has dimension %d", ErrBadRequest, t.Name, d)
		}
		if d != 0 && n > (1<<40)/d {
			return 0, fmt.Errorf("%w: tensor %q shape %v is too large", ErrTooLarge, t.Name, t.Shape)
		}
		n *= d
	}
	n *= int64(dt.Size())
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("%w: tensor %q shape %v is too large", ErrTooLarge, t.Name, t.Shape)
	}
	return int(n), nil
}

// checkTensor validates dtype, shape against data length n, and the
// quantization parameters.
func checkTensor(t *Tensor, n int, maxRank int) error {
	want, err := expectedBytes(t, maxRank)
	if err != nil {
		return err
	}
	if want != n || len(t.Data) != want {
		return fmt.Errorf("%w: tensor %q: %d data bytes for %s%v (want %d)", ErrBadRequest, t.Name, len(t.Data), t.DType, t.Shape, want)
	}
	dt, _ := wireDType(t.DType)
	if dt == nn.Float32 {
		if len(t.Scale) != 0 || len(t.ZeroPoint) != 0 || t.Dequant {
			return fmt.Errorf("%w: float32 tensor %q has quantization parameters", ErrBadRequest, t.Name)
		}
		return nil
	}
	if len(t.Scale) == 0 && len(t.ZeroPoint) == 0 {
		if t.Dequant {
			return fmt.Errorf("%w: tensor %q to dequantize has no scale", ErrBadRequest, t.Name)
		}
		return nil
	}
	if len(t.Scale) != len(t.ZeroPoint) {
		return fmt.Errorf("%w: tensor %q has %d scales and %d zero points", ErrBadRequest, t.Name, len(t.Scale), len(t.ZeroPoint))
	}
	if len(t.Scale) > 1 {
		if t.Axis < 0 || t.Axis >= len(t.Shape) || int64(len(t.Scale)) != t.Shape[t.Axis] {
			return fmt.Errorf("%w: tensor %q has %d scales for axis %d of %v", ErrBadRequest, t.Name, len(t.Scale), t.Axis, t.Shape)
		}
	}
	lo, hi := int32(-128), int32(127)
	if dt == nn.Uint8 {
		lo, hi = 0, 255
	}
	for i, s := range t.Scale {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("%w: tensor %q scale %v", ErrBadRequest, t.Name, s)
		}
		if z := t.ZeroPoint[i]; z < lo || z > hi {
			return fmt.Errorf("%w: tensor %q zero point %d out of range for %s", ErrBadRequest, t.Name, z, t.DType)
		}
	}
	return nil
}
