package nn

import "math"

// BatchNormalization (inference form) and Softmax on float32.

func init() {
	Register("BatchNormalization", buildBatchNorm)
	Register("Softmax", buildSoftmax)
}

// batchNormKernel computes y = scale·(x - mean)/sqrt(var + epsilon) + B per
// channel (dimension 1). Graph passes fold it into a preceding Conv or Gemm
// where they can; this kernel covers the rest (DenseNet's pre-activation
// order puts it after a Concat, before the convolution), with the
// activation that alone reads it fused at run time (withActivation), the
// planes shared among the threads.
type batchNormKernel struct {
	eps        float32
	act        activation
	actA, actB float32
}

func buildBatchNorm(bc *BuildContext) (Kernel, error) {
	if bc.Node.AttrInt("training_mode", 0) != 0 {
		return nil, unsupportedErrf("BatchNormalization training_mode=1")
	}
	for _, o := range bc.Node.Outputs[min(1, len(bc.Node.Outputs)):] {
		if o != "" {
			return nil, unsupportedErrf("BatchNormalization running-statistics output %q (training only)", o)
		}
	}
	return &batchNormKernel{eps: attrFloatAny(bc.Node, "epsilon", 1e-5)}, nil
}

func (k *batchNormKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("BatchNormalization", in, 5); err != nil {
		return nil, err
	}
	for i := 0; i < 5; i++ {
		if err := needF32("BatchNormalization", in, i); err != nil {
			return nil, err
		}
	}
	x := in[0].Shape
	if len(x) < 2 {
		return nil, shapeErrf("BatchNormalization input has shape %v, want N, C, ...", x)
	}
	for i := 1; i < 5; i++ {
		if len(in[i].Shape) != 1 || (x[1] >= 0 && in[i].Shape[0] != x[1]) {
			return nil, shapeErrf("BatchNormalization input %d has shape %v, want [%d]", i, in[i].Shape, x[1])
		}
	}
	return []Type{in[0]}, nil
}

// MACs counts one multiply-add per element.
func (k *batchNormKernel) MACs(in, out []Type) int64 { return elemCount(out) }

func (k *batchNormKernel) Run(rc *RunContext, in, out []*Tensor) error {
	x := in[0]
	j := &rc.kernelJobs().bn
	*j = bnJob{k: k, x: x.F32, y: out[0].F32, scale: in[1].F32, bias: in[2].F32, mean: in[3].F32, vr: in[4].F32,
		c: x.Shape[1], inner: NumElements(x.Shape[2:])}
	units := x.Shape[0] * j.c
	rc.parallelFor(blocksFor(rc.Threads, units, int64(len(j.y))), units, j)
	*j = bnJob{}
	return nil
}

// bnJob is one BatchNormalization run over planes (image, channel).
type bnJob struct {
	k                     *batchNormKernel
	x, y                  []float32
	scale, bias, mean, vr []float32
	c, inner              int
}

func (j *bnJob) runRange(lo, hi, _ int) {
	k := j.k
	bottom, top, clamps := actClamp(k.act, k.actA, k.actB)
	for u := lo; u < hi; u++ {
		ch := u % j.c
		a := float32(float64(j.scale[ch]) / math.Sqrt(float64(j.vr[ch])+float64(k.eps)))
		b := j.bias[ch] - j.mean[ch]*a
		xs, ys := j.x[u*j.inner:(u+1)*j.inner], j.y[u*j.inner:(u+1)*j.inner]
		if clamps {
			if !affineClampFast(ys, xs, a, b, bottom, top) {
				for i, v := range xs {
					ys[i] = min(max(v*a+b, bottom), top)
				}
			}
			continue
		}
		for i, v := range xs {
			ys[i] = v*a + b
		}
		applyAct(k.act, k.actA, k.actB, ys)
	}
}

// softmaxKernel is Softmax. From opset 13 it normalises along axis (default
// -1); before, the input is coerced to 2-D at axis (default 1) and each row
// of the flattened trailing part is normalised.
type softmaxKernel struct {
	axis   int
	legacy bool
}

func buildSoftmax(bc *BuildContext) (Kernel, error) {
	legacy := bc.Graph.Opset > 0 && bc.Graph.Opset < 13
	def := int64(-1)
	if legacy {
		def = 1
	}
	return &softmaxKernel{axis: int(bc.Node.AttrInt("axis", def)), legacy: legacy}, nil
}

func (k *softmaxKernel) OutputTypes(in []Type) ([]Type, error) {
	return alongAxisTypes("Softmax", k.axis, in)
}

// alongAxisTypes are the output types of a float32 op along an axis of its
// one input that keeps the input's type (Softmax, LogSoftmax).
func alongAxisTypes(op string, axis int, in []Type) ([]Type, error) {
	if err := needInputs(op, in, 1); err != nil {
		return nil, err
	}
	if err := needF32(op, in, 0); err != nil {
		return nil, err
	}
	if _, err := normAxis(op, axis, len(in[0].Shape), false); err != nil {
		return nil, err
	}
	return []Type{in[0]}, nil
}

// MACs counts a few operations per element as one.
func (k *softmaxKernel) MACs(in, out []Type) int64 { return elemCount(out) }

func (k *softmaxKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	ax, err := normAxis("Softmax", k.axis, len(s), false)
	if err != nil {
		return err
	}
	var outer, n, inner int
	if k.legacy {
		outer, n, inner = NumElements(s[:ax]), NumElements(s[ax:]), 1
	} else {
		outer, n, inner = NumElements(s[:ax]), s[ax], NumElements(s[ax+1:])
	}
	x, y := in[0].F32, out[0].F32
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			m := float32(math.Inf(-1))
			for j := 0; j < n; j++ {
				if v := x[base+j*inner]; v > m {
					m = v
				}
			}
			var sum float64
			for j := 0; j < n; j++ {
				e := math.Exp(float64(x[base+j*inner] - m))
				y[base+j*inner] = float32(e)
				sum += e
			}
			inv := float32(1 / sum)
			for j := 0; j < n; j++ {
				y[base+j*inner] *= inv
			}
		}
	}
	return nil
}
