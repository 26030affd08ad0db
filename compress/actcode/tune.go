package actcode

import (
	"fmt"

	"github.com/splitinfer/splitinfer/nn"
)

// TuneConfig says which codecs Tune tries.
type TuneConfig struct {
	// Bits lists the bit widths to try (default 1..8).
	Bits []int
	// DeadZones lists the dead zones to try at each width (default 0.5).
	DeadZones []float32
	// MaxAccuracyDrop is the accuracy, measured on the held-back images,
	// a codec may lose against the uncoded cut (default 0.002).
	MaxAccuracyDrop float64
	// Fit is the rest of the fitting configuration.
	Fit FitConfig
	// Threads for the head and tail runs (default 1).
	Threads int
}

// Candidate is one fitted codec and its score on the held-back images.
type Candidate struct {
	Bits     int     `json:"bits"`
	DeadZone float32 `json:"dead_zone"`
	Score
	Codec *Codec `json:"-"`
}

// Tuning is Tune's result.
type Tuning struct {
	Cut string
	// Uncoded is the cut's score with the activations sent unchanged.
	Uncoded    Score
	Candidates []Candidate
	// Chosen indexes the smallest candidate within the accuracy budget
	// (-1 when none is).
	Chosen int
}

// Tune fits a codec at the cut for each bit width and dead zone of cfg on
// fitImages, scores each on the held-back images and labels (never the
// test set), and chooses the one with the fewest bytes whose accuracy is
// within cfg.MaxAccuracyDrop of the uncoded cut's.
func (c *Cut) Tune(fitImages, heldImages *nn.Tensor, heldLabels []uint8, cfg TuneConfig) (*Tuning, error) {
	if len(cfg.Bits) == 0 {
		cfg.Bits = []int{1, 2, 3, 4, 5, 6, 7, 8}
	}
	if len(cfg.DeadZones) == 0 {
		cfg.DeadZones = []float32{0.5}
	}
	if cfg.MaxAccuracyDrop == 0 {
		cfg.MaxAccuracyDrop = 0.002
	}
	if cfg.MaxAccuracyDrop < 0 || cfg.MaxAccuracyDrop >= 1 {
		return nil, fmt.Errorf("%w: accuracy drop %v (want 0..1)", ErrFit, cfg.MaxAccuracyDrop)
	}
	threads := max(cfg.Threads, 1)
	samples, err := c.Samples(fitImages, threads)
	if err != nil {
		return nil, err
	}
	t := &Tuning{Cut: c.Name, Chosen: -1}
	if t.Uncoded, err = c.Evaluate(nil, heldImages, heldLabels, threads); err != nil {
		return nil, err
	}
	for _, b := range cfg.Bits {
		for _, dz := range cfg.DeadZones {
			fc := cfg.Fit
			fc.Bits, fc.DeadZone = b, dz
			cd, err := c.Fit(samples, fc)
			if err != nil {
				return nil, err
			}
			s, err := c.Evaluate(cd, heldImages, heldLabels, threads)
			if err != nil {
				return nil, err
			}
			t.Candidates = append(t.Candidates, Candidate{Bits: b, DeadZone: cd.DeadZone, Score: s, Codec: cd})
			if s.Accuracy >= t.Uncoded.Accuracy-cfg.MaxAccuracyDrop &&
				(t.Chosen < 0 || s.Bytes < t.Candidates[t.Chosen].Bytes) {
				t.Chosen = len(t.Candidates) - 1
			}
		}
	}
	return t, nil
}
