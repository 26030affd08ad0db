// Package sinf reads and writes splitinfer's own model file, ".sinf": a
// versioned binary container for a graph (nodes, attributes), its float32,
// int8, int32 and sparse constants with their quantization parameters, and
// the calibration data a quantized model was made with, protected by a
// SHA-256 checksum that is verified on load.
//
// Layout (all integers little-endian):
//
//	magic    8 bytes  "SINF\r\n\x1a\n"
//	version  uint16   (1)
//	flags    uint16   (0)
//	length   uint64   payload bytes
//	checksum 32 bytes SHA-256 of the payload
//	payload:
//	  graph   name, opset, meta, inputs, outputs, constants, nodes
//	  calib   optional calibration record
//	  hash    the graph's content hash (nn.Hash), checked after decoding
//
// A constant is stored dense (raw little-endian bytes) or, when that is
// smaller, sparse: a bitmap of the non-zero positions followed by the
// non-zero values (pruned weights). Loading densifies it.
//
// The graph's content hash (nn.Hash) identifies the function a file
// computes independently of its name and metadata; SubgraphHash gives the
// hash of any node set, so the head and the tail of a split are identified
// by the same rule on the edge and in the cloud.
package sinf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/splitinfer/splitinfer/nn"
)

// Version is the format version this package writes. It reads versions 1..Version.
const Version = 1

// Magic starts every .sinf file.
const Magic = "SINF\r\n\x1a\n"

const headerLen = 8 + 2 + 2 + 8 + 32

// MaxFileSize bounds the payload a reader accepts (4 GiB).
const MaxFileSize = 4 << 30

// Errors returned by the reader. Callers match them with errors.Is.
var (
	ErrFormat   = errors.New("sinf: malformed file")
	ErrVersion  = errors.New("sinf: unsupported version")
	ErrChecksum = errors.New("sinf: checksum mismatch (file corrupted or tampered with)")
	ErrTrunc    = errors.New("sinf: truncated file")
)

// Model is the content of a .sinf file.
type Model struct {
	Graph *nn.Graph
	// Calibration is the activation calibration of a quantized model (nil if none).
	Calibration *Calibration
}

// Calibration records how a model's activations were calibrated.
type Calibration struct {
	// Method is minmax, percentile or entropy.
	Method string
	// Percentile is the percentile used by the percentile method.
	Percentile float64
	// Samples is the number of calibration inputs.
	Samples int
	// Source describes where the inputs came from (e.g. "mnist-train[0:512]").
	Source string
	// Ranges holds the calibrated real range of each activation tensor.
	Ranges []Range
}

// Range is one tensor's calibrated range and the resulting int8 parameters.
type Range struct {
	Tensor    string
	Min, Max  float32
	Scale     float32
	ZeroPoint int32
}

// Hash returns the content hash of the model's graph (nn.Hash).
func (m *Model) Hash() string { return nn.Hash(m.Graph) }

// SubgraphHash returns the content hash of the nodes of g at the given
// indices (nn.HashNodes): the identity of one half of a split.
func SubgraphHash(g *nn.Graph, nodes []int) string { return nn.HashNodes(g, nodes) }

// Sparse encoding is used for a constant when it saves at least this fraction.
const sparseGain = 0.9

// Encode serialises m.
func Encode(m *Model) ([]byte, error) {
	if m == nil || m.Graph == nil {
		return nil, fmt.Errorf("%w: no graph", ErrFormat)
	}
	if err := m.Graph.Validate(); err != nil {
		return nil, err
	}
	w := &writer{}
	g := m.Graph
	w.str(g.Name)
	w.u64(uint64(int64(g.Opset)))
	keys := sortedKeys(g.Meta)
	w.u64(uint64(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.str(g.Meta[k])
	}
	w.values(g.Inputs)
	w.values(g.Outputs)
	names := sortedKeys(g.Consts)
	w.u64(uint64(len(names)))
	for _, n := range names {
		w.str(n)
		if err := w.tensor(g.Consts[n]); err != nil {
			return nil, fmt.Errorf("constant %q: %w", n, err)
		}
	}
	w.u64(uint64(len(g.Nodes)))
	for _, n := range g.Nodes {
		w.str(n.Name)
		w.str(n.Op)
		w.strs(n.Inputs)
		w.strs(n.Outputs)
		ak := sortedKeys(n.Attrs)
		w.u64(uint64(len(ak)))
		for _, k := range ak {
			w.str(k)
			if err := w.attr(n.Attrs[k]); err != nil {
				return nil, fmt.Errorf("node %s attribute %s: %w", n.Name, k, err)
			}
		}
	}
	if c := m.Calibration; c != nil {
		w.u8(1)
		w.str(c.Method)
		w.u64(math.Float64bits(c.Percentile))
		w.u64(uint64(int64(c.Samples)))
		w.str(c.Source)
		w.u64(uint64(len(c.Ranges)))
		for _, r := range c.Ranges {
			w.str(r.Tensor)
			w.f32(r.Min)
			w.f32(r.Max)
			w.f32(r.Scale)
			w.u64(uint64(int64(r.ZeroPoint)))
		}
	} else {
		w.u8(0)
	}
	w.str(nn.Hash(g))
	payload := w.b.Bytes()
	var hdr [headerLen]byte
	copy(hdr[:], Magic)
	binary.LittleEndian.PutUint16(hdr[8:], Version)
	binary.LittleEndian.PutUint16(hdr[10:], 0)
	binary.LittleEndian.PutUint64(hdr[12:], uint64(len(payload)))
	sum := sha256.Sum256(payload)
	copy(hdr[20:], sum[:])
	return append(hdr[:], payload...), nil
}

// Decode parses a .sinf file, verifying the checksum, the structure, the
// graph (nn.Graph.Validate) and the stored content hash.
func Decode(b []byte) (*Model, error) {
	if len(b) < headerLen {
		if len(b) >= len(Magic) && string(b[:len(Magic)]) != Magic {
			return nil, fmt.Errorf("%w: bad magic (not a .sinf file)", ErrFormat)
		}
		return nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrTrunc, len(b), headerLen)
	}
	if string(b[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: bad magic (not a .sinf file)", ErrFormat)
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v < 1 || v > Version {
		return nil, fmt.Errorf("%w: version %d (this build reads 1..%d)", ErrVersion, v, Version)
	}
	if f := binary.LittleEndian.Uint16(b[10:]); f != 0 {
		return nil, fmt.Errorf("%w: unknown flags %#x", ErrFormat, f)
	}
	n := binary.LittleEndian.Uint64(b[12:])
	payload := b[headerLen:]
	if n > MaxFileSize {
		return nil, fmt.Errorf("%w: payload of %d bytes exceeds the %d limit", ErrFormat, n, uint64(MaxFileSize))
	}
	if uint64(len(payload)) < n {
		return nil, fmt.Errorf("%w: header says %d payload bytes, file has %d", ErrTrunc, n, len(payload))
	}
	if uint64(len(payload)) > n {
		return nil, fmt.Errorf("%w: %d trailing bytes after the payload", ErrFormat, uint64(len(payload))-n)
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], b[20:52]) {
		return nil, ErrChecksum
	}
	r := &reader{b: payload}
	m, err := r.model()
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Write encodes m to w.
func Write(w io.Writer, m *Model) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Read decodes a model from r (at most MaxFileSize bytes).
func Read(r io.Reader) (*Model, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+headerLen+1))
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// Save writes m to path atomically (temporary file, then rename).
func Save(path string, m *Model) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads the .sinf file at path.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// IsSinf reports whether b starts with the .sinf magic.
func IsSinf(b []byte) bool { return len(b) >= len(Magic) && string(b[:len(Magic)]) == Magic }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
