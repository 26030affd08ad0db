package quantize

import (
	"fmt"
	"math"
	"sort"
)

// Activation calibration: the real range [lo, hi] each activation tensor is
// quantized over, from its values on the calibration inputs.

// Method is an activation calibration method.
type Method string

// Calibration methods.
const (
	// MinMax uses the observed minimum and maximum.
	MinMax Method = "minmax"
	// Percentile clips the range to the given percentile of the values
	// (and the mirrored lower percentile for tensors with negative values).
	Percentile Method = "percentile"
	// Entropy picks the clipping threshold minimising the KL divergence
	// between the histogram of |x| and its int8 quantization (TensorRT's
	// method, 2048 bins; exact zeros are left out of the histogram).
	Entropy Method = "entropy"
)

// ParseMethod accepts minmax, percentile and entropy.
func ParseMethod(s string) (Method, error) {
	switch m := Method(s); m {
	case MinMax, Percentile, Entropy:
		return m, nil
	}
	return "", fmt.Errorf("%w: calibration method %q (want minmax, percentile or entropy)", ErrOption, s)
}

const histBins = 2048

// stats accumulates one tensor's values over the calibration batches.
type stats struct {
	min, max float64
	n        int64
	// hist is a histogram of values over [min, max] (percentile) or of
	// |x| over [0, max|x|] (entropy), filled in the second pass.
	hist  []float64
	width float64
}

func newStats() *stats { return &stats{min: math.Inf(1), max: math.Inf(-1)} }

func (s *stats) observe(v []float32) {
	for _, x := range v {
		f := float64(x)
		if f != f {
			continue
		}
		s.min = math.Min(s.min, f)
		s.max = math.Max(s.max, f)
	}
	s.n += int64(len(v))
}

// startHist prepares the second pass.
func (s *stats) startHist(m Method) {
	s.hist = make([]float64, histBins)
	lo, hi := s.min, s.max
	if m == Entropy {
		lo, hi = 0, math.Max(math.Abs(s.min), math.Abs(s.max))
	}
	s.width = (hi - lo) / histBins
}

func (s *stats) fill(m Method, v []float32) {
	if s.width <= 0 {
		return
	}
	lo := s.min
	for _, x := range v {
		f := float64(x)
		if f != f {
			continue
		}
		if m == Entropy {
			// Exact zeros (the ReLU spike) are represented exactly by
			// any range and would dominate the divergence: skip them.
			if f == 0 {
				continue
			}
			f, lo = math.Abs(f), 0
		}
		b := int((f - lo) / s.width)
		if b >= histBins {
			b = histBins - 1
		}
		if b < 0 {
			b = 0
		}
		s.hist[b]++
	}
}

// rangeFor returns the calibrated range, always containing 0.
func (s *stats) rangeFor(m Method, pct float64) (lo, hi float64) {
	if math.IsInf(s.min, 0) { // no values seen
		return 0, 0
	}
	lo, hi = s.min, s.max
	switch m {
	case Percentile:
		if s.width > 0 {
			lo = s.quantile(1 - pct/100)
			hi = s.quantile(pct / 100)
		}
	case Entropy:
		if s.width > 0 {
			th := entropyThreshold(s.hist, s.width, s.min >= 0)
			hi = math.Min(s.max, th)
			if s.min < 0 {
				lo = math.Max(s.min, -th)
			}
		}
	}
	return math.Min(lo, 0), math.Max(hi, 0)
}

// quantile returns the value below which fraction q of the histogram lies.
func (s *stats) quantile(q float64) float64 {
	var total float64
	for _, c := range s.hist {
		total += c
	}
	target := q * total
	var acc float64
	for i, c := range s.hist {
		if acc+c >= target {
			frac := 0.0
			if c > 0 {
				frac = (target - acc) / c
			}
			return s.min + (float64(i)+frac)*s.width
		}
		acc += c
	}
	return s.max
}

// entropyThreshold implements the KL-divergence threshold search over a
// histogram of |x|: for each candidate bin count i, the reference
// distribution P is the first i bins with the tail folded into the last,
// Q is P merged into nq levels and expanded back over P's non-empty bins;
// the threshold is the upper edge of the i minimising KL(P||Q).
func entropyThreshold(hist []float64, width float64, nonNegative bool) float64 {
	nq := 128
	if nonNegative {
		nq = 256
	}
	n := len(hist)
	best, bestKL := n, math.Inf(1)
	p := make([]float64, n)
	q := make([]float64, n)
	for i := nq; i <= n; i++ {
		copy(p, hist[:i])
		var tail float64
		for _, c := range hist[i:] {
			tail += c
		}
		p[i-1] += tail
		// Merge hist[:i] into nq levels and expand.
		for j := 0; j < nq; j++ {
			a := j * i / nq
			b := (j + 1) * i / nq
			if b <= a {
				b = a + 1
			}
			var sum float64
			nz := 0
			for k := a; k < b && k < i; k++ {
				sum += hist[k]
				if hist[k] != 0 {
					nz++
				}
			}
			for k := a; k < b && k < i; k++ {
				q[k] = 0
				if hist[k] != 0 {
					q[k] = sum / float64(nz)
				}
			}
		}
		kl := klDivergence(p[:i], q[:i])
		if kl < bestKL {
			bestKL, best = kl, i
		}
	}
	return (float64(best) + 0.5) * width
}

func klDivergence(p, q []float64) float64 {
	var sp, sq float64
	for i := range p {
		sp += p[i]
		sq += q[i]
	}
	if sp == 0 || sq == 0 {
		return math.Inf(1)
	}
	const eps = 1e-10
	var kl float64
	for i := range p {
		if p[i] == 0 {
			continue
		}
		pi := p[i] / sp
		qi := q[i] / sq
		if qi == 0 {
			qi = eps
		}
		kl += pi * math.Log(pi/qi)
	}
	return kl
}

// affineParams maps the real range [lo, hi] (containing 0) onto int8
// [-128, 127]: scale = (hi−lo)/255, zero = round(−128 − lo/scale) clamped,
// as ONNX Runtime's quantizer does.
func affineParams(lo, hi float64) (float32, int32) {
	lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	if hi-lo < 1e-12 {
		return 1, 0
	}
	scale := float32((hi - lo) / 255)
	z := math.RoundToEven(-128 - lo/float64(scale))
	z = math.Max(-128, math.Min(127, z))
	return scale, int32(z)
}

// symmetricWeights quantizes w (shape) per index of axis (one scale per
// channel) to [-127, 127]: scale = max|w|/127 (1 for an all-zero channel),
// q = round half to even of w/scale, saturated.
func symmetricWeights(w []float32, shape []int, axis int) ([]int8, []float32) {
	outer := 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	ch := shape[axis]
	inner := 1
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	maxAbs := make([]float64, ch)
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			for _, v := range w[(o*ch+c)*inner : (o*ch+c+1)*inner] {
				maxAbs[c] = math.Max(maxAbs[c], math.Abs(float64(v)))
			}
		}
	}
	scales := make([]float32, ch)
	for c, m := range maxAbs {
		scales[c] = float32(m / 127)
		if scales[c] == 0 {
			scales[c] = 1
		}
	}
	q := make([]int8, len(w))
	for o := 0; o < outer; o++ {
		for c := 0; c < ch; c++ {
			base := (o*ch + c) * inner
			for i, v := range w[base : base+inner] {
				r := math.RoundToEven(float64(v / scales[c]))
				q[base+i] = int8(math.Max(-127, math.Min(127, r)))
			}
		}
	}
	return q, scales
}

func sortedNames(m map[string]*stats) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Range returns the calibrated real range [lo, hi] (always containing 0)
// of the values in batches by method m (pct is the Percentile method's
// percentile): the calibrator Quantize applies to each activation tensor,
// for callers that calibrate other groups of values, such as one channel
// of the activations crossing a cut.
func Range(m Method, pct float64, batches ...[]float32) (lo, hi float64) {
	s := newStats()
	for _, b := range batches {
		s.observe(b)
	}
	if m != MinMax {
		s.startHist(m)
		for _, b := range batches {
			s.fill(m, b)
		}
	}
	return s.rangeFor(m, pct)
}
