package partition

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/splitinfer/splitinfer/nn"
)

// Profile is the measured latency of every node of a model on one device.
// It is JSON-serialisable so a worker can publish it and a user can keep it
// in a file.
type Profile struct {
	Model   string `json:"model,omitempty"`
	Device  string `json:"device,omitempty"`
	Threads int    `json:"threads,omitempty"`
	// Clock is what was measured: "wall" or "thread-cpu" (WithCPUTime).
	Clock string `json:"clock,omitempty"`
	// Runs is how many measured runs each node time is the median of.
	Runs int `json:"runs,omitempty"`
	// Scale multiplies every node time (0 means 1): a device Scale times
	// slower than the one measured, e.g. an emulated slower edge.
	Scale float64 `json:"scale,omitempty"`
	// NodesMS maps node name to its median latency in milliseconds, per
	// sample (averaged over the samples of a run).
	NodesMS map[string]float64 `json:"nodes_ms"`
}

// NodeMS is the latency of node name in milliseconds, scaled (0 if unknown).
func (p *Profile) NodeMS(name string) float64 {
	if p == nil {
		return 0
	}
	return p.NodesMS[name] * p.scale()
}

func (p *Profile) scale() float64 {
	if p.Scale == 0 {
		return 1
	}
	return p.Scale
}

// TotalMS is the sum of all node latencies, scaled.
func (p *Profile) TotalMS() float64 {
	if p == nil {
		return 0
	}
	s := 0.0
	for _, v := range p.NodesMS {
		s += v
	}
	return s * p.scale()
}

// Scaled returns a copy of p whose times are f times larger (on top of
// p's own scale).
func (p *Profile) Scaled(f float64) *Profile {
	c := *p
	c.Scale = p.scale() * f
	c.NodesMS = make(map[string]float64, len(p.NodesMS))
	for k, v := range p.NodesMS {
		c.NodesMS[k] = v
	}
	return &c
}

// Validate checks the profile against a DAG: no negative or non-finite
// time, a positive scale, and only nodes the graph has. Nodes missing from
// the profile count as free.
func (p *Profile) Validate(d *DAG) error {
	if p == nil {
		return fmt.Errorf("%w: nil profile", ErrProfile)
	}
	if p.Scale < 0 || math.IsNaN(p.Scale) || math.IsInf(p.Scale, 0) {
		return fmt.Errorf("%w: scale %v", ErrProfile, p.Scale)
	}
	for name, v := range p.NodesMS {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: node %q time %v", ErrProfile, name, v)
		}
		if d != nil {
			if _, ok := d.index[name]; !ok {
				return fmt.Errorf("%w: node %q is not in graph %q", ErrProfile, name, d.g.Name)
			}
		}
	}
	return nil
}

// ReadProfile decodes a JSON profile and checks its values.
func ReadProfile(r io.Reader) (*Profile, error) {
	var p Profile
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProfile, err)
	}
	if p.NodesMS == nil {
		return nil, fmt.Errorf("%w: no nodes_ms", ErrProfile)
	}
	if err := p.Validate(nil); err != nil {
		return nil, err
	}
	return &p, nil
}

// LoadProfile reads a JSON profile from a file.
func LoadProfile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("partition: %w", err)
	}
	defer f.Close()
	p, err := ReadProfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// WriteJSON writes p as indented JSON.
func (p *Profile) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
}

// Median is the median of v (the mean of the middle two for an even
// length; 0 for none).
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// EncodeFunc encodes tensors, named names (the graph's tensor names, in the
// same order), as one request would carry them and returns the encoded
// length in bytes: the pipeline's encoder, passed in so that this package
// stays independent of the wire format. With the real names the sizes are
// the real wire bytes.
type EncodeFunc func(names []string, tensors []*nn.Tensor) (int, error)

// Sizes holds the measured encoded size of the tensors that may cross a cut.
type Sizes struct {
	// Overhead is the size of a request carrying no tensor.
	Overhead int `json:"overhead"`
	// Bytes is each tensor's share of a request (its encoded size alone
	// minus Overhead), the mean over the samples.
	Bytes map[string]int `json:"bytes"`
	// EncodeMS is the median time to encode each tensor alone.
	EncodeMS map[string]float64 `json:"encode_ms,omitempty"`
	// Reply is the size of the cloud's reply carrying the model outputs
	// (it crosses the link back for every cut but edge-only).
	Reply int `json:"reply,omitempty"`
	// Cuts holds the measured size of whole requests by cut name; when
	// present it replaces the per-tensor sum for that cut.
	Cuts map[string]int `json:"cuts,omitempty"`
	// Elements is each tensor's element count (one sample), for bits per
	// element.
	Elements map[string]int `json:"elements,omitempty"`
}
