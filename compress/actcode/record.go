package actcode

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/splitinfer/splitinfer/nn"
)

// TuningMetaPrefix starts the graph metadata key of a cut's tuning
// record (TuningMetaPrefix + the cut tensor's name): for each bit width
// tried, a codec and its score on the held-back images, so the
// partitioner can choose the cut and the width together under an
// accuracy budget, and the edge can send any of them (the cloud loads
// them all).
const TuningMetaPrefix = "splitinfer.actcode.tuning:"

// Record is a cut's tuning record: what Tune measured, one codec per bit
// width.
type Record struct {
	// HeldImages is how many held-back images the scores are over;
	// Uncoded is the accuracy with the activations sent unchanged (the
	// unsplit model's, for a model whose split changes nothing).
	HeldImages int     `json:"held_images"`
	Uncoded    float64 `json:"uncoded_accuracy"`
	// Widths are in increasing bit width.
	Widths []Width `json:"widths"`
}

// Width is one bit width's codec and its score on the held-back images.
type Width struct {
	Bits     int     `json:"bits"`
	DeadZone float32 `json:"dead_zone"`
	// Bytes is the mean payload (the coded activations alone, no header).
	Bytes          float64 `json:"bytes"`
	BitsPerElement float64 `json:"bits_per_element"`
	Accuracy       float64 `json:"accuracy"`
	// Codec is the codec's MarshalBinary (base64 in the JSON).
	Codec []byte `json:"codec"`
}

// NewRecord keeps, for each bit width Tune tried, the candidate it would
// choose among that width's dead zones: the smallest within maxDrop of
// the uncoded accuracy, else the most accurate.
func NewRecord(tu *Tuning, maxDrop float64) (*Record, error) {
	r := &Record{HeldImages: tu.Uncoded.Images, Uncoded: tu.Uncoded.Accuracy}
	best := map[int]Candidate{}
	better := func(a, b Candidate) bool { // a over b, same width
		okA, okB := a.Accuracy >= tu.Uncoded.Accuracy-maxDrop, b.Accuracy >= tu.Uncoded.Accuracy-maxDrop
		switch {
		case okA != okB:
			return okA
		case okA:
			return a.Bytes < b.Bytes
		}
		return a.Accuracy > b.Accuracy
	}
	for _, c := range tu.Candidates {
		if b, ok := best[c.Bits]; !ok || better(c, b) {
			best[c.Bits] = c
		}
	}
	for _, bits := range slices.Sorted(maps.Keys(best)) {
		c := best[bits]
		b, err := c.Codec.MarshalBinary()
		if err != nil {
			return nil, err
		}
		r.Widths = append(r.Widths, Width{Bits: bits, DeadZone: c.DeadZone, Bytes: c.Bytes,
			BitsPerElement: c.BitsPerElement, Accuracy: c.Accuracy, Codec: b})
	}
	return r, nil
}

// AttachRecord stores r in g's metadata as cut tensor name's tuning
// record (JSON, the codecs in base64: metadata is text).
func AttachRecord(g *nn.Graph, name string, r *Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if g.Meta == nil {
		g.Meta = map[string]string{}
	}
	g.Meta[TuningMetaPrefix+name] = string(b)
	return nil
}

// LookupRecord returns cut tensor name's tuning record in g (nil when g
// has none), its values checked and each codec decoded (Codecs).
func LookupRecord(g *nn.Graph, name string) (*Record, []*Codec, error) {
	s, ok := g.Meta[TuningMetaPrefix+name]
	if !ok {
		return nil, nil, nil
	}
	var r Record
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return nil, nil, fmt.Errorf("cut %q: %w: tuning record: %v", name, ErrFormat, err)
	}
	okAcc := func(a float64) bool { return a >= 0 && a <= 1 }
	if r.HeldImages < 0 || !okAcc(r.Uncoded) {
		return nil, nil, fmt.Errorf("cut %q: %w: tuning record of %d images, uncoded accuracy %v", name, ErrFormat, r.HeldImages, r.Uncoded)
	}
	codecs := make([]*Codec, len(r.Widths))
	for i, w := range r.Widths {
		if !okAcc(w.Accuracy) || !(w.Bytes >= 0) || math.IsInf(w.Bytes, 0) || (i > 0 && w.Bits <= r.Widths[i-1].Bits) {
			return nil, nil, fmt.Errorf("cut %q: %w: tuning record width %d: %d bits, %v bytes, accuracy %v", name, ErrFormat, i, w.Bits, w.Bytes, w.Accuracy)
		}
		c, err := Unmarshal(w.Codec)
		if err != nil {
			return nil, nil, fmt.Errorf("cut %q: tuning record, %d bits: %w", name, w.Bits, err)
		}
		if c.Bits != w.Bits {
			return nil, nil, fmt.Errorf("cut %q: %w: tuning record's %d-bit entry holds a %d-bit codec", name, ErrFormat, w.Bits, c.Bits)
		}
		codecs[i] = c
	}
	return &r, codecs, nil
}
