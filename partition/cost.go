package partition

import (
	"fmt"
	"math"
	"time"
)

// Link is the network between the edge and the cloud.
type Link struct {
	// Bandwidth in bytes per second (> 0; +Inf for no limit).
	Bandwidth float64
	// RTT is the round trip time of an empty request.
	RTT time.Duration
}

// Validate checks the link values.
func (l Link) Validate() error {
	if !(l.Bandwidth > 0) || l.RTT < 0 {
		return fmt.Errorf("partition: invalid link: bandwidth %v B/s, rtt %v", l.Bandwidth, l.RTT)
	}
	return nil
}

func (l Link) String() string {
	return fmt.Sprintf("%.3g Mbit/s, %v RTT", l.Bandwidth*8/1e6, l.RTT)
}

// msPerByte is the transfer time of one byte in milliseconds.
func (l Link) msPerByte() float64 { return 1e3 / l.Bandwidth }

// Model is the cost model of one graph: the latency profiles of both
// sides and the sizes of the tensors that may cross.
type Model struct {
	DAG   *DAG
	Edge  *Profile
	Cloud *Profile
	Sizes *Sizes
	// DecodeFactor is the cloud's decode time as a multiple of the edge's
	// encode time (0 means 1: the codec is symmetric).
	DecodeFactor float64
	// Queue is the expected wait in the cloud's queue, when known.
	Queue time.Duration
	// MaxBytes, when positive, is the largest request the transport takes
	// (NATS max_payload): a cut whose request is larger is infeasible.
	MaxBytes int
	// Exits holds, by cut name, the early-exit heads the model carries:
	// their measured exit rates weigh the network and cloud parts.
	Exits map[string]Exit
	// Codings holds, by cut name, the ways each cut can be sent besides
	// as computed (activation codecs of several widths, the input as an
	// image), for Candidates; Accuracy is the model's own on the
	// held-back images the codings' accuracies were measured on (0:
	// unknown).
	Codings  map[string][]Coding
	Accuracy float64
}

// Exit is an early-exit head at a cut: Rate is the share of requests it
// answers at the edge (measured on held-back images), HeadMS its edge time.
type Exit struct {
	Rate   float64 `json:"rate"`
	HeadMS float64 `json:"head_ms"`
}

// NewModel checks the parts of a cost model and returns it.
func NewModel(d *DAG, edge, cloud *Profile, sizes *Sizes) (*Model, error) {
	if d == nil || sizes == nil {
		return nil, fmt.Errorf("%w: missing DAG or sizes", ErrProfile)
	}
	if err := edge.Validate(d); err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	if err := cloud.Validate(d); err != nil {
		return nil, fmt.Errorf("cloud: %w", err)
	}
	if sizes.Overhead < 0 || sizes.Reply < 0 {
		return nil, fmt.Errorf("%w: negative overhead or reply size", ErrProfile)
	}
	for _, t := range d.tensors {
		b, ok := sizes.Bytes[t.name]
		if !ok && (len(t.consumers) > 0 || t.output) {
			return nil, fmt.Errorf("%w: no size for tensor %q", ErrProfile, t.name)
		}
		if b < 0 {
			return nil, fmt.Errorf("%w: negative size for tensor %q", ErrProfile, t.name)
		}
	}
	return &Model{DAG: d, Edge: edge, Cloud: cloud, Sizes: sizes}, nil
}

// Estimate is the predicted latency of a cut on a link, by part, in
// milliseconds.
type Estimate struct {
	Cut        Cut     `json:"cut"`
	EdgeMS     float64 `json:"edge_ms"`
	EncodeMS   float64 `json:"encode_ms"`
	Bytes      int     `json:"bytes"`
	ReplyBytes int     `json:"reply_bytes"`
	TransferMS float64 `json:"transfer_ms"` // request and reply
	RTTMS      float64 `json:"rtt_ms"`
	DecodeMS   float64 `json:"decode_ms"`
	QueueMS    float64 `json:"queue_ms"`
	CloudMS    float64 `json:"cloud_ms"`
	TotalMS    float64 `json:"predicted_ms"`
	// Infeasible marks a request bigger than the model's MaxBytes.
	Infeasible bool `json:"infeasible,omitempty"`
	// ExitRate is the share of requests the cut's early-exit head answers
	// at the edge; ExitMS its time. With a head, TotalMS is the expected
	// latency: the network and cloud parts weighed by 1 - ExitRate.
	ExitRate float64 `json:"exit_rate,omitempty"`
	ExitMS   float64 `json:"exit_ms,omitempty"`
}

// cost is what choices compare: the total, or +Inf for an infeasible cut.
func (e Estimate) cost() float64 {
	if e.Infeasible {
		return math.Inf(1)
	}
	return e.TotalMS
}

func (m *Model) decodeFactor() float64 {
	if m.DecodeFactor == 0 {
		return 1
	}
	return m.DecodeFactor
}

// Predict returns the predicted latency of cut c on link l: edge compute of
// the head + encode + (request + reply bytes)/bandwidth + round trip +
// decode + queue + cloud compute of the tail. An edge-only cut has no
// network part.
func (m *Model) Predict(c Cut, l Link) (Estimate, error) {
	if err := l.Validate(); err != nil {
		return Estimate{}, err
	}
	onEdge := make([]bool, m.DAG.Len())
	for _, v := range c.Edge {
		if v < 0 || v >= len(onEdge) {
			return Estimate{}, fmt.Errorf("%w: node index %d", ErrCut, v)
		}
		onEdge[v] = true
	}
	e := Estimate{Cut: c}
	for v, n := range m.DAG.g.Nodes {
		if onEdge[v] {
			e.EdgeMS += m.Edge.NodeMS(n.Name)
		} else {
			e.CloudMS += m.Cloud.NodeMS(n.Name)
		}
	}
	if !c.IsEdgeOnly() {
		e.Bytes = m.Sizes.Overhead
		for _, t := range c.Tensors {
			e.Bytes += m.Sizes.Bytes[t]
			e.EncodeMS += m.Sizes.EncodeMS[t]
		}
		if b, ok := m.Sizes.Cuts[c.Name]; ok {
			e.Bytes = b
		}
		e.DecodeMS = e.EncodeMS * m.decodeFactor()
		e.ReplyBytes = m.Sizes.Reply
		e.TransferMS = float64(e.Bytes+e.ReplyBytes) * l.msPerByte()
		e.RTTMS = float64(l.RTT) / 1e6
		e.QueueMS = float64(m.Queue) / 1e6
	}
	e.TotalMS = e.EdgeMS + e.EncodeMS + e.TransferMS + e.RTTMS + e.DecodeMS + e.QueueMS + e.CloudMS
	if x, ok := m.Exits[c.Name]; ok && !c.IsEdgeOnly() {
		if !(x.Rate >= 0 && x.Rate <= 1) || !(x.HeadMS >= 0) {
			return Estimate{}, fmt.Errorf("%w: exit head at %s: rate %v, %v ms", ErrProfile, c.Name, x.Rate, x.HeadMS)
		}
		sent := e.EncodeMS + e.TransferMS + e.RTTMS + e.DecodeMS + e.QueueMS + e.CloudMS
		e.ExitRate, e.ExitMS = x.Rate, x.HeadMS
		e.TotalMS = e.EdgeMS + x.HeadMS + (1-x.Rate)*sent
	}
	e.Infeasible = m.MaxBytes > 0 && e.Bytes > m.MaxBytes // the transport would refuse it
	return e, nil
}

// PredictAll predicts every cut in cuts.
func (m *Model) PredictAll(cuts []Cut, l Link) ([]Estimate, error) {
	out := make([]Estimate, len(cuts))
	for i, c := range cuts {
		e, err := m.Predict(c, l)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

// tensorMS is the additive cost of sending tensor ti on link l.
func (m *Model) tensorMS(ti int, l Link) float64 {
	name := m.DAG.tensors[ti].name
	ms := float64(m.Sizes.Bytes[name])*l.msPerByte() + m.Sizes.EncodeMS[name]*(1+m.decodeFactor())
	if m.MaxBytes > 0 && m.Sizes.Overhead+m.Sizes.Bytes[name] > m.MaxBytes {
		ms += tooBigMS // no cut may send it
	}
	return ms
}

// tooBigMS is the cost the min cut gives a tensor too big to send: more
// than any feasible cut costs on a sane link (1000 s), finite and small
// enough that the flow stays exact in float64.
const tooBigMS = 1e6

// Best returns the cut with the lowest predicted latency on l, found
// exactly with a minimum s-t cut (see package doc), and its estimate.
// Ties go to the cut with fewer edge nodes. With MaxBytes, tensors too big
// to send are excluded exactly; in the rare case where the optimum sends
// several tensors that only together exceed MaxBytes, Best falls back to
// the best feasible prefix cut.
func (m *Model) Best(l Link) (Estimate, error) {
	if err := l.Validate(); err != nil {
		return Estimate{}, err
	}
	onEdge := m.minCut(l)
	c := m.DAG.cutOf(onEdge)
	best, err := m.Predict(c, l)
	if err != nil {
		return Estimate{}, err
	}
	if !c.IsEdgeOnly() {
		all := make([]bool, len(onEdge))
		for i := range all {
			all[i] = true
		}
		eo, err := m.Predict(m.DAG.cutOf(all), l)
		if err != nil {
			return Estimate{}, err
		}
		if eo.cost() < best.cost() || best.Infeasible {
			best = eo
		}
	}
	// The min cut does not see exit heads: their cuts compete as they are.
	for name := range m.Exits {
		c, err := m.DAG.CutByName(name)
		if err != nil {
			return Estimate{}, err
		}
		if e, err := m.Predict(c, l); err != nil {
			return Estimate{}, err
		} else if e.cost() < best.cost() {
			best = e
		}
	}
	if best.Infeasible {
		// Several tensors, each small enough, together exceed MaxBytes:
		// the min cut does not see that sum. Fall back to the best
		// feasible prefix cut (edge-only always is).
		for _, c := range m.DAG.Prefixes(false) {
			e, err := m.Predict(c, l)
			if err != nil {
				return Estimate{}, err
			}
			if e.cost() < best.cost() {
				best = e
			}
		}
	}
	return best, nil
}

// Exhaustive returns the best cut by predicting every cut of the graph (every
// set of nodes closed under predecessors). It fails with ErrTooBig when the
// graph has more than limit cuts. Ties go to the first cut found with the
// lowest cost. Meant for small graphs and for checking Best.
func (m *Model) Exhaustive(l Link, limit int) (Estimate, error) {
	if err := l.Validate(); err != nil {
		return Estimate{}, err
	}
	best := Estimate{TotalMS: math.Inf(1), Infeasible: true}
	var ferr error
	err := m.DAG.EnumerateCuts(limit, func(c Cut) bool {
		e, err := m.Predict(c, l)
		if err != nil {
			ferr = err
			return false
		}
		if e.cost() < best.cost() || (best.Infeasible && !e.Infeasible) {
			best = e
		}
		return true
	})
	if err != nil {
		return Estimate{}, err
	}
	if ferr != nil {
		return Estimate{}, ferr
	}
	return best, nil
}

// EnumerateCuts calls f with every cut of the graph (every set of nodes
// closed under predecessors), until f returns false. It fails with ErrTooBig
// before calling f when there are more than limit cuts.
func (d *DAG) EnumerateCuts(limit int, f func(Cut) bool) error {
	n := d.Len()
	onEdge := make([]bool, n)
	count := 0
	var walk func(v int, emit bool) bool
	// walk decides nodes v..n-1 in order; a node may join the edge only when
	// all its predecessors did (nodes are topologically sorted).
	walk = func(v int, emit bool) bool {
		if v == n {
			count++
			if count > limit {
				return false
			}
			if emit {
				return f(d.cutOf(onEdge))
			}
			return true
		}
		if !walk(v+1, emit) {
			return false
		}
		for _, p := range d.preds[v] {
			if !onEdge[p] {
				return true
			}
		}
		onEdge[v] = true
		ok := walk(v+1, emit)
		onEdge[v] = false
		return ok
	}
	if !walk(0, false) && count > limit {
		return fmt.Errorf("%w: more than %d", ErrTooBig, limit)
	}
	count = 0
	walk(0, true)
	return nil
}
