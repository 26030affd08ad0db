package actcode

import (
	"fmt"

	"github.com/splitinfer/splitinfer/compress/quantize"
)

// FitConfig says how to fit a codec.
type FitConfig struct {
	// Bits per element before entropy coding, 1..8.
	Bits int
	// DeadZone is the threshold of magnitude 1 in steps (default 0.5:
	// plain rounding; larger sends more zeros).
	DeadZone float32
	// Method and Percentile calibrate each channel's range (default
	// quantize.Percentile at 99.9: at a few bits, clipping rare peaks
	// costs less than the coarser step that keeping them needs).
	Method     quantize.Method
	Percentile float64
	// RangeSamples caps how many samples calibrate the ranges (default
	// 2000); all samples train the probability tables.
	RangeSamples int
}

func (f FitConfig) withDefaults() FitConfig {
	if f.DeadZone == 0 {
		f.DeadZone = 0.5
	}
	if f.Method == "" {
		f.Method = quantize.Percentile
	}
	if f.Percentile == 0 {
		f.Percentile = 99.9
	}
	if f.RangeSamples == 0 {
		f.RangeSamples = 2000
	}
	return f
}

// Fit calibrates a codec for tensors of c channels of h x w from samples
// (each c*h*w values, channel-major, one calibration input each): every
// channel's range with the quantize calibrator, then the probability of
// each decision in each context, counted over the quantized samples.
func Fit(samples [][]float32, c, h, w int, cfg FitConfig) (*Codec, error) {
	cfg = cfg.withDefaults()
	if cfg.Bits < 1 || cfg.Bits > 8 {
		return nil, fmt.Errorf("%w: %d bits (want 1..8)", ErrFit, cfg.Bits)
	}
	if c < 1 || h < 1 || w < 1 || c > maxCh || c*h*w > MaxElements {
		return nil, fmt.Errorf("%w: shape %dx%dx%d", ErrFit, c, h, w)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("%w: no samples", ErrFit)
	}
	n, hw := c*h*w, h*w
	for i, s := range samples {
		if len(s) != n {
			return nil, fmt.Errorf("%w: sample %d has %d values, want %d", ErrShape, i, len(s), n)
		}
	}
	cd := &Codec{C: c, H: h, W: w, Bits: cfg.Bits, DeadZone: cfg.DeadZone,
		Step: make([]float32, c), Signed: make([]bool, c)}
	nr := min(len(samples), cfg.RangeSamples)
	for ch := 0; ch < c; ch++ {
		batches := make([][]float32, nr)
		for i := range batches {
			batches[i] = samples[i][ch*hw : (ch+1)*hw]
		}
		lo, hi := quantize.Range(cfg.Method, cfg.Percentile, batches...)
		cd.Signed[ch] = lo < 0 && cfg.Bits >= 2
		clip := hi
		if cd.Signed[ch] {
			clip = max(hi, -lo)
		}
		cd.Step[ch] = 1
		if clip > 0 {
			cd.Step[ch] = float32(clip / float64(cd.maxLevel(ch)))
		}
	}
	counts := make([][2]float64, c*(zctx+mctx+sctx))
	levels := make([]int16, n)
	var scratch walkScratch
	var decisions []uint32
	for _, s := range samples {
		if err := cd.Quantize(s, levels); err != nil {
			return nil, err
		}
		var err error
		if decisions, err = cd.walk(levels, &scratch, decisions[:0], nil); err != nil {
			return nil, err
		}
		for _, d := range decisions {
			counts[d>>1][d&1]++
		}
	}
	table := func(cs [][2]float64) []int8 {
		t := make([]int8, len(cs))
		for i, n := range cs {
			t[i] = logit(n[0], n[1])
		}
		return t
	}
	cd.zero, cd.mag, cd.sign = table(counts[:cd.magOff()]), table(counts[cd.magOff():cd.signOff()]), table(counts[cd.signOff():])
	cd.setProbs()
	return cd, cd.validate()
}
