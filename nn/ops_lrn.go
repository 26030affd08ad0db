package nn

import "math"

// Normalizations of the classic CNNs beyond BatchNormalization: LRN
// (AlexNet, GoogLeNet, ZFNet), InstanceNormalization, LogSoftmax and
// GlobalMaxPool.

func init() {
	Register("LRN", buildLRN)
	Register("InstanceNormalization", func(bc *BuildContext) (Kernel, error) {
		return &instanceNormKernel{eps: float64(attrFloatAny(bc.Node, "epsilon", 1e-5))}, nil
	})
	Register("LogSoftmax", func(bc *BuildContext) (Kernel, error) {
		return &axisKernel{op: "LogSoftmax", axis: int(bc.Node.AttrInt("axis", -1)), run: logSoftmaxLine}, nil
	})
	Register("GlobalMaxPool", func(bc *BuildContext) (Kernel, error) { return globalMaxKernel{}, nil })
}

// lrnKernel is local response normalization across channels:
// y = x / (bias + alpha/size · Σ x²)^beta over channels
// c - floor((size-1)/2) .. c + ceil((size-1)/2).
type lrnKernel struct {
	size              int
	alpha, beta, bias float64
}

func buildLRN(bc *BuildContext) (Kernel, error) {
	size := int(bc.Node.AttrInt("size", 0))
	if size < 1 {
		return nil, shapeErrf("LRN size %d, want >= 1", size)
	}
	return &lrnKernel{size: size,
		alpha: float64(attrFloatAny(bc.Node, "alpha", 1e-4)),
		beta:  float64(attrFloatAny(bc.Node, "beta", 0.75)),
		bias:  float64(attrFloatAny(bc.Node, "bias", 1))}, nil
}

func (k *lrnKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("LRN", in, 1); err != nil {
		return nil, err
	}
	if err := needF32("LRN", in, 0); err != nil {
		return nil, err
	}
	if len(in[0].Shape) < 3 {
		return nil, shapeErrf("LRN input has shape %v, want N, C, spatial...", in[0].Shape)
	}
	return []Type{in[0]}, nil
}

// MACs counts size operations per element.
func (k *lrnKernel) MACs(in, out []Type) int64 { return elemCount(out) * int64(k.size) }

func (k *lrnKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	s := in[0].Shape
	n, c, inner := s[0], s[1], NumElements(s[2:])
	lo, hi := (k.size-1)/2, k.size/2 // channels before and after
	scale := k.alpha / float64(k.size)
	sq := rc.ScratchF32(inner)
	for b := 0; b < n; b++ {
		base := b * c * inner
		for ch := 0; ch < c; ch++ {
			for i := range sq[:inner] {
				sq[i] = 0
			}
			for j := max(0, ch-lo); j <= min(c-1, ch+hi); j++ {
				xs := x[base+j*inner : base+(j+1)*inner]
				for i, v := range xs {
					sq[i] += v * v
				}
			}
			xs, ys := x[base+ch*inner:base+(ch+1)*inner], y[base+ch*inner:base+(ch+1)*inner]
			for i, v := range xs {
				d := k.bias + scale*float64(sq[i])
				var p float64
				if k.beta == 0.75 {
					r := math.Sqrt(d)
					p = r * math.Sqrt(r)
				} else {
					p = math.Pow(d, k.beta)
				}
				ys[i] = float32(float64(v) / p)
			}
		}
	}
	return nil
}

// instanceNormKernel normalizes each (sample, channel) plane:
// y = scale·(x - mean)/sqrt(var + eps) + B.
type instanceNormKernel struct{ eps float64 }

func (k *instanceNormKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("InstanceNormalization", in, 3); err != nil {
		return nil, err
	}
	for i := 0; i < 3; i++ {
		if err := needF32("InstanceNormalization", in, i); err != nil {
			return nil, err
		}
	}
	x := in[0].Shape
	if len(x) < 3 {
		return nil, shapeErrf("InstanceNormalization input has shape %v", x)
	}
	for i := 1; i < 3; i++ {
		if len(in[i].Shape) != 1 || in[i].Shape[0] != x[1] {
			return nil, shapeErrf("InstanceNormalization input %d has shape %v, want [%d]", i, in[i].Shape, x[1])
		}
	}
	return []Type{in[0]}, nil
}

// MACs counts three passes per element.
func (k *instanceNormKernel) MACs(in, out []Type) int64 { return 3 * elemCount(out) }

func (k *instanceNormKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x, y := in[0].F32, out[0].F32
	s := in[0].Shape
	n, c, inner := s[0], s[1], NumElements(s[2:])
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			off := (b*c + ch) * inner
			xs, ys := x[off:off+inner], y[off:off+inner]
			mean, std := meanStd(xs, k.eps)
			a := float64(in[1].F32[ch]) / std
			bb := float64(in[2].F32[ch])
			for i, v := range xs {
				ys[i] = float32((float64(v)-mean)*a + bb)
			}
		}
	}
	return nil
}

// meanStd is the mean of xs and sqrt(variance + eps), in float64 (two
// passes: the mean, then the squared deviations from it).
func meanStd(xs []float32, eps float64) (mean, std float64) {
	var sum, sq float64
	for _, v := range xs {
		sum += float64(v)
	}
	mean = sum / float64(len(xs))
	for _, v := range xs {
		d := float64(v) - mean
		sq += d * d
	}
	return mean, math.Sqrt(sq/float64(len(xs)) + eps)
}

// logSoftmaxLine is LogSoftmax of one line of n values inner apart
// (opset 13 semantics along one axis; the importer maps older models' 2-D
// coercion onto it).
func logSoftmaxLine(x, y []float32, n, inner int) {
	m := math.Inf(-1)
	for j := 0; j < n; j++ {
		m = math.Max(m, float64(x[j*inner]))
	}
	var sum float64
	for j := 0; j < n; j++ {
		sum += math.Exp(float64(x[j*inner]) - m)
	}
	l := m + math.Log(sum)
	for j := 0; j < n; j++ {
		y[j*inner] = float32(float64(x[j*inner]) - l)
	}
}

// globalMaxKernel is GlobalMaxPool over every spatial dimension.
type globalMaxKernel struct{}

func (globalMaxKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("GlobalMaxPool", in, 1); err != nil {
		return nil, err
	}
	if err := needF32("GlobalMaxPool", in, 0); err != nil {
		return nil, err
	}
	s := in[0].Shape
	if len(s) < 3 {
		return nil, shapeErrf("GlobalMaxPool input has shape %v", s)
	}
	out := []int{s[0], s[1]}
	for range s[2:] {
		out = append(out, 1)
	}
	return []Type{{DType: Float32, Shape: out}}, nil
}

// MACs counts one comparison per input element.
func (globalMaxKernel) MACs(in, out []Type) int64 { return elemCount(in) }

func (globalMaxKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	inner := NumElements(s[2:])
	x := in[0].F32
	for i := range out[0].F32 {
		m := float32(math.Inf(-1))
		for _, v := range x[i*inner : (i+1)*inner] {
			if v > m || v != v {
				m = v
			}
		}
		out[0].F32[i] = m
	}
	return nil
}
