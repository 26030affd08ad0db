package partition

import (
	"fmt"
	"math"
	"sort"
)

// Coding is one way of sending a cut's tensors (as computed, an
// activation codec of some width, the input as an image), with what a
// request costs and what it keeps of the model's accuracy.
type Coding struct {
	// Name says how ("as computed", "2 bits", "png").
	Name string `json:"coding"`
	// Compact and Bits are how an edge sends it (a compact request, the
	// codec's width; 0: the coding has none).
	Compact bool `json:"compact"`
	Bits    int  `json:"bits,omitempty"`
	// Bytes is the whole request; Elements the activations it carries.
	Bytes    int     `json:"bytes"`
	Elements int     `json:"elements,omitempty"`
	EncodeMS float64 `json:"encode_ms"`
	DecodeMS float64 `json:"decode_ms"`
	// Accuracy is measured on held-back images with this coding (for a
	// lossless one, the model's own: Model.Accuracy); negative: unknown.
	Accuracy float64 `json:"accuracy"`
}

// BitsPerElement is the request's bits over the activations it carries
// (0 when it carries none).
func (k Coding) BitsPerElement() float64 {
	if k.Elements == 0 {
		return 0
	}
	return 8 * float64(k.Bytes) / float64(k.Elements)
}

// Candidate is a cut sent with one coding, and its prediction on a link.
type Candidate struct {
	Estimate
	Coding         Coding  `json:"coding"`
	Accuracy       float64 `json:"accuracy"`
	BitsPerElement float64 `json:"bits_per_element"`
	// Within is set when the coding's accuracy is within the budget
	// (Model.Candidates' maxDrop of Model.Accuracy).
	Within bool `json:"within_budget"`
}

// Key names the candidate: its cut and coding.
func (c Candidate) Key() string { return c.Cut.Name + " / " + c.Coding.Name }

// AsComputed is the coding of requests that carry the tensors as
// computed (the cost model's Sizes): lossless unless the wire quantizes.
const AsComputed = "as computed"

// predictCoding predicts cut c sent with coding k on l: Predict with the
// coding's request size and coding times.
func (m *Model) predictCoding(c Cut, k Coding, l Link) (Estimate, error) {
	e, err := m.Predict(c, l)
	if err != nil || c.IsEdgeOnly() {
		return e, err
	}
	if k.Bytes < 0 || !(k.EncodeMS >= 0) || !(k.DecodeMS >= 0) {
		return Estimate{}, fmt.Errorf("%w: coding %q of %s: %d bytes, %v/%v ms", ErrProfile, k.Name, c.Name, k.Bytes, k.EncodeMS, k.DecodeMS)
	}
	sent := e.EncodeMS + e.TransferMS + e.DecodeMS
	e.Bytes, e.EncodeMS, e.DecodeMS = k.Bytes, k.EncodeMS, k.DecodeMS
	e.TransferMS = float64(e.Bytes+e.ReplyBytes) * l.msPerByte()
	delta := e.EncodeMS + e.TransferMS + e.DecodeMS - sent
	if e.ExitRate > 0 {
		delta *= 1 - e.ExitRate
	}
	e.TotalMS += delta
	e.Infeasible = m.MaxBytes > 0 && e.Bytes > m.MaxBytes
	return e, nil
}

// Candidates predicts every cut in cuts with every coding it can be sent
// with on l (Model.Codings; a cut without any goes as computed, edge-only
// with none) and returns them with the index of the choice: the fastest
// feasible candidate whose accuracy is within maxDrop of Model.Accuracy
// (ties to fewer bytes), the cut and the coding chosen together. With
// Model.Accuracy unknown (0) every candidate is within the budget.
func (m *Model) Candidates(cuts []Cut, l Link, maxDrop float64) ([]Candidate, int, error) {
	if err := l.Validate(); err != nil {
		return nil, -1, err
	}
	if !(maxDrop >= 0 && maxDrop <= 1) {
		return nil, -1, fmt.Errorf("%w: accuracy budget %v (want 0..1)", ErrProfile, maxDrop)
	}
	var out []Candidate
	for _, c := range cuts {
		codings := m.Codings[c.Name]
		if len(codings) == 0 || c.IsEdgeOnly() {
			e, err := m.Predict(c, l)
			if err != nil {
				return nil, -1, err
			}
			k := Coding{Name: AsComputed, Bytes: e.Bytes, EncodeMS: e.EncodeMS, DecodeMS: e.DecodeMS, Accuracy: m.Accuracy}
			for _, t := range c.Tensors {
				k.Elements += m.Sizes.Elements[t]
			}
			if m.Accuracy <= 0 {
				k.Accuracy = -1
			}
			if c.IsEdgeOnly() {
				k.Name = "none"
			}
			codings = []Coding{k}
		}
		for _, k := range codings {
			e, err := m.predictCoding(c, k, l)
			if err != nil {
				return nil, -1, err
			}
			out = append(out, Candidate{Estimate: e, Coding: k, Accuracy: k.Accuracy, BitsPerElement: k.BitsPerElement(),
				Within: m.Accuracy <= 0 || (k.Accuracy >= 0 && k.Accuracy >= m.Accuracy-maxDrop-1e-12)})
		}
	}
	return out, Choose(out), nil
}

// Choose returns the index of the fastest feasible candidate within the
// budget (ties to fewer bytes), -1 when there is none.
func Choose(cands []Candidate) int {
	best := -1
	for i, c := range cands {
		if !c.Within || c.Infeasible {
			continue
		}
		if b := best; b < 0 || c.TotalMS < cands[b].TotalMS || (c.TotalMS == cands[b].TotalMS && c.Bytes < cands[b].Bytes) {
			best = i
		}
	}
	return best
}

// ParetoFront returns the indices of the candidates that send something
// and that no other beats on both bytes and accuracy (fewer or as few
// bytes and at least as accurate, one of them strictly), by increasing
// bytes.
func ParetoFront(cands []Candidate) []int {
	var idx []int
	for i, c := range cands {
		if !c.Cut.IsEdgeOnly() && !c.Infeasible && c.Accuracy >= 0 {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		ca, cb := cands[idx[a]], cands[idx[b]]
		if ca.Bytes != cb.Bytes {
			return ca.Bytes < cb.Bytes
		}
		return ca.Accuracy > cb.Accuracy
	})
	var front []int
	best := math.Inf(-1)
	for _, i := range idx {
		if cands[i].Accuracy > best {
			front = append(front, i)
			best = cands[i].Accuracy
		}
	}
	return front
}
