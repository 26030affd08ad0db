// Package earlyexit trains, stores and runs early-exit heads (BranchyNet,
// Edgent, SPINN): a small classifier at a cut of a model, distilled from
// the whole model, that lets the edge answer a request by itself when the
// head is confident enough and send nothing.
//
// A head travels with its model in the graph's metadata (key MetaPrefix +
// the cut tensor's name), so .sinf files keep it; metadata is not part of
// the model's content hash, so adding a head leaves the split's identity
// (and the cloud) unchanged.
package earlyexit

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// MetaPrefix starts the graph metadata key of the exit head at one cut.
const MetaPrefix = "splitinfer.exit:"

// Errors, matched with errors.Is.
var (
	ErrFormat = errors.New("earlyexit: malformed exit head")
	ErrShape  = errors.New("earlyexit: shape mismatch")
	ErrData   = errors.New("earlyexit: bad data")
)

// Head is an exit classifier at one cut.
type Head struct {
	// Cut is the cut tensor the head reads.
	Cut string
	// Threshold: the edge answers when the head's confidence (its largest
	// softmax probability) is at least Threshold.
	Threshold float32
	// Graph maps the cut's real values, float32 [batch, C, H, W] (or
	// [batch, N] for a flat cut), to logits [batch, classes].
	Graph *nn.Graph
	// Measured on the held-back images when the threshold was chosen.
	Choice Choice
}

// Choice is a threshold and what it does on held-back images.
type Choice struct {
	Threshold float32 `json:"threshold"`
	// Images is how many held-back images the choice was made on.
	Images int `json:"images"`
	// ExitRate is the share of them the head answers.
	ExitRate float64 `json:"exit_rate"`
	// Accuracy is the accuracy with early exit (the head's answer where it
	// exits, the split's elsewhere); WholeAccuracy the whole (unsplit)
	// model's; SplitAccuracy the split's without early exit (below
	// WholeAccuracy when the cut's codec loses some); HeadAccuracy the
	// head's alone on every image.
	Accuracy      float64 `json:"accuracy"`
	WholeAccuracy float64 `json:"whole_accuracy"`
	SplitAccuracy float64 `json:"split_accuracy"`
	HeadAccuracy  float64 `json:"head_accuracy"`
}

// Confidence is the largest softmax probability of logits z (0 for none).
func Confidence(z []float32) float32 {
	if len(z) == 0 {
		return 0
	}
	m := z[0]
	for _, v := range z[1:] {
		m = max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(float64(v - m))
	}
	return float32(1 / s)
}

// Held is what a threshold is chosen from: for each held-back image, the
// head's confidence and class, the class the split answers when the head
// does not exit (the cloud fed what the wire carries: decoded low-bit
// activations when the cut has a codec), and the whole (unsplit) model's
// class, the accuracy reference.
type Held struct {
	Conf        []float32
	Head, Split []int
	// Whole, when nil, is Split (the split changes no prediction).
	Whole  []int
	Labels []uint8
}

// ChooseThreshold picks the lowest confidence threshold (the most exits)
// whose accuracy with early exit on the held-back images (the head's class
// where it exits, the split's elsewhere) is at most maxDrop below the
// whole model's. A threshold above every confidence (no exit) is returned
// when none fits.
func ChooseThreshold(h Held, maxDrop float64) (Choice, error) {
	labels := h.Labels
	if h.Whole == nil {
		h.Whole = h.Split
	}
	n := len(labels)
	if n == 0 || len(h.Conf) != n || len(h.Head) != n || len(h.Split) != n || len(h.Whole) != n {
		return Choice{}, fmt.Errorf("%w: %d confidences, %d head, %d split and %d whole predictions for %d labels",
			ErrData, len(h.Conf), len(h.Head), len(h.Split), len(h.Whole), n)
	}
	if !(maxDrop >= 0 && maxDrop < 1) {
		return Choice{}, fmt.Errorf("%w: accuracy drop %v (want [0, 1))", ErrData, maxDrop)
	}
	conf := h.Conf
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return conf[order[a]] > conf[order[b]] })
	hit := func(p []int, i int) int {
		if p[i] == int(labels[i]) {
			return 1
		}
		return 0
	}
	whole, split, head := 0, 0, 0
	for i := range labels {
		whole += hit(h.Whole, i)
		split += hit(h.Split, i)
		head += hit(h.Head, i)
	}
	// need: the fewest correct answers within maxDrop (a small epsilon
	// keeps a drop of exactly maxDrop on the right side of rounding).
	need := float64(whole) - maxDrop*float64(n) - 1e-9
	best, correct, bestCorrect := 0, split, split
	for k := 1; k <= n; k++ {
		i := order[k-1]
		correct += hit(h.Head, i) - hit(h.Split, i)
		// A threshold exits all images of equal confidence together.
		if k < n && conf[order[k]] == conf[i] {
			continue
		}
		if float64(correct) >= need {
			best, bestCorrect = k, correct
		}
	}
	c := Choice{Images: n, ExitRate: float64(best) / float64(n), Accuracy: float64(bestCorrect) / float64(n),
		WholeAccuracy: float64(whole) / float64(n), SplitAccuracy: float64(split) / float64(n),
		HeadAccuracy: float64(head) / float64(n)}
	if best == 0 {
		c.Threshold = math.Nextafter32(1, 2) // above any probability: never exits
	} else {
		c.Threshold = conf[order[best-1]]
	}
	return c, nil
}

// Attach stores h in g's metadata as the exit head of cut h.Cut.
func Attach(g *nn.Graph, h *Head) error {
	b, err := h.MarshalBinary()
	if err != nil {
		return err
	}
	if g.Meta == nil {
		g.Meta = map[string]string{}
	}
	g.Meta[MetaPrefix+h.Cut] = b
	return nil
}

// Lookup returns the exit head g carries for cut tensor name, or nil when
// it carries none.
func Lookup(g *nn.Graph, name string) (*Head, error) {
	s, ok := g.Meta[MetaPrefix+name]
	if !ok {
		return nil, nil
	}
	h, err := Unmarshal(s)
	if err != nil {
		return nil, fmt.Errorf("exit head at %q: %w", name, err)
	}
	h.Cut = name
	return h, nil
}

// Cuts lists the cut tensors g carries exit heads for, sorted.
func Cuts(g *nn.Graph) []string {
	var out []string
	for k := range g.Meta {
		if name, ok := strings.CutPrefix(k, MetaPrefix); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// The metadata value: base64 (metadata is text in ONNX) of version 2,
// threshold, the choice's figures, then the head graph as a .sinf file
// (checksummed, bounded on decode). Version 1 had no SplitAccuracy.
const formatVersion = 2

func fixedLen(version byte) int {
	if version == 1 {
		return 1 + 4 + 8 + 4*8
	}
	return 1 + 4 + 8 + 5*8
}

// MarshalBinary encodes h as its metadata value (text).
func (h *Head) MarshalBinary() (string, error) {
	if h == nil || h.Graph == nil {
		return "", fmt.Errorf("%w: no graph", ErrFormat)
	}
	g, err := sinf.Encode(&sinf.Model{Graph: h.Graph})
	if err != nil {
		return "", fmt.Errorf("earlyexit: %w", err)
	}
	b := make([]byte, 0, fixedLen(formatVersion)+len(g))
	b = append(b, formatVersion)
	b = binary.LittleEndian.AppendUint32(b, math.Float32bits(h.Threshold))
	b = binary.LittleEndian.AppendUint64(b, uint64(h.Choice.Images))
	for _, f := range []float64{h.Choice.ExitRate, h.Choice.Accuracy, h.Choice.WholeAccuracy, h.Choice.HeadAccuracy, h.Choice.SplitAccuracy} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	b = append(b, g...)
	return base64.StdEncoding.EncodeToString(b), nil
}

// Unmarshal decodes a metadata value written by MarshalBinary (Cut is
// left empty: it is the key's).
func Unmarshal(s string) (*Head, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(b) == 0 || (b[0] != 1 && b[0] != formatVersion) || len(b) < fixedLen(b[0]) {
		return nil, fmt.Errorf("%w: %d bytes, version %d", ErrFormat, len(b), firstByte(b))
	}
	h := &Head{Threshold: math.Float32frombits(binary.LittleEndian.Uint32(b[1:]))}
	images := binary.LittleEndian.Uint64(b[5:])
	if images > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d images", ErrFormat, images)
	}
	h.Choice.Images = int(images)
	off := 13
	fields := []*float64{&h.Choice.ExitRate, &h.Choice.Accuracy, &h.Choice.WholeAccuracy, &h.Choice.HeadAccuracy, &h.Choice.SplitAccuracy}
	if b[0] == 1 {
		fields = fields[:4]
	}
	for _, f := range fields {
		*f = math.Float64frombits(binary.LittleEndian.Uint64(b[off:]))
		off += 8
	}
	if b[0] == 1 {
		h.Choice.SplitAccuracy = h.Choice.WholeAccuracy // version 1 chose against the whole model
	}
	h.Choice.Threshold = h.Threshold
	if math.IsNaN(float64(h.Threshold)) {
		return nil, fmt.Errorf("%w: threshold NaN", ErrFormat)
	}
	m, err := sinf.Decode(b[off:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if len(m.Graph.Inputs) != 1 || len(m.Graph.Outputs) != 1 {
		return nil, fmt.Errorf("%w: head graph has %d inputs and %d outputs, want 1 and 1", ErrFormat, len(m.Graph.Inputs), len(m.Graph.Outputs))
	}
	h.Graph = m.Graph
	return h, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}
