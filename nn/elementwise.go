package nn

import "math"

// Element-wise float32 operators: activations (Relu, Clip, LeakyRelu,
// Sigmoid, HardSigmoid, HardSwish), Identity and inference-mode Dropout.

func init() {
	Register("Relu", func(bc *BuildContext) (Kernel, error) { return &unaryKernel{op: "Relu", kind: actRelu}, nil })
	Register("LeakyRelu", func(bc *BuildContext) (Kernel, error) {
		return &unaryKernel{op: "LeakyRelu", kind: actLeaky, a: attrFloatAny(bc.Node, "alpha", 0.01)}, nil
	})
	Register("Sigmoid", func(bc *BuildContext) (Kernel, error) { return &unaryKernel{op: "Sigmoid", kind: actSigmoid}, nil })
	Register("HardSigmoid", func(bc *BuildContext) (Kernel, error) {
		return &unaryKernel{op: "HardSigmoid", kind: actHardSigmoid,
			a: attrFloatAny(bc.Node, "alpha", 0.2), b: attrFloatAny(bc.Node, "beta", 0.5)}, nil
	})
	Register("HardSwish", func(bc *BuildContext) (Kernel, error) { return &unaryKernel{op: "HardSwish", kind: actHardSwish}, nil })
	Register("Clip", buildClip)
	Register("Identity", func(bc *BuildContext) (Kernel, error) { return aliasKernel{op: "Identity"}, nil })
	Register("Dropout", buildDropout)
}

// activation identifies an element-wise function; the same codes serve the
// fused activation of Conv and Gemm.
type activation uint8

const (
	actNone activation = iota
	actRelu
	actClip
	actLeaky
	actSigmoid
	actHardSigmoid
	actHardSwish
	actSwish // x·sigmoid(x) (SiLU): a Sigmoid and a Mul fused at run time
)

// actClamp returns the clamp [lo, hi] that activation kind with
// parameters a, b is, and whether it is one: none (±Inf), Relu, or Clip
// with min <= max. Kernels that clamp while storing take these.
func actClamp(kind activation, a, b float32) (lo, hi float32, ok bool) {
	switch kind {
	case actNone:
		return negInf32, posInf32, true
	case actRelu:
		return 0, posInf32, true
	case actClip:
		if a <= b {
			return a, b, true
		}
	}
	return negInf32, posInf32, false
}

// applyAct applies activation kind with parameters a, b (Clip: min, max;
// LeakyRelu: alpha; HardSigmoid: alpha, beta) to x in place.
func applyAct(kind activation, a, b float32, x []float32) {
	switch kind {
	case actRelu:
		// The max builtin compiles to a branch-free instruction: on data
		// with mixed signs it is several times faster than a compare and
		// branch. It propagates NaN, as ONNX wants.
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case actClip:
		for i, v := range x {
			x[i] = min(max(v, a), b)
		}
	case actLeaky:
		for i, v := range x {
			x[i] = max(v, 0) + a*min(v, 0)
		}
	case actSigmoid:
		if sigmoidFast(x, x) {
			return
		}
		for i, v := range x {
			x[i] = sigmoid32(v)
		}
	case actHardSigmoid:
		if hardActFast(x, x, a, b, false) {
			return
		}
		for i, v := range x {
			x[i] = hardSigmoid32(v, a, b)
		}
	case actSwish:
		if swishFast(x, x) {
			return
		}
		for i, v := range x {
			x[i] = v * sigmoid32(v)
		}
	case actHardSwish:
		if hardActFast(x, x, 1.0/6, 0.5, true) {
			return
		}
		for i, v := range x {
			x[i] = v * hardSigmoid32(v, 1.0/6, 0.5)
		}
	}
}

// applyActTo writes the activation of src to dst (same length) in one pass.
func applyActTo(kind activation, a, b float32, dst, src []float32) {
	src = src[:len(dst)]
	switch kind {
	case actRelu:
		if clampFast(dst, src, 0, float32(math.Inf(1))) {
			return
		}
		for i, v := range src {
			dst[i] = max(v, 0)
		}
	case actClip:
		if clampFast(dst, src, a, b) {
			return
		}
		for i, v := range src {
			dst[i] = min(max(v, a), b)
		}
	default:
		copy(dst, src)
		applyAct(kind, a, b, dst)
	}
}

// addActTo writes the activation of x[i] + r[i] to dst[i] (dst may be x)
// with the element functions of the separate Add and activation kernels,
// so the result is theirs bit for bit.
func addActTo(kind activation, a, b float32, dst, x, r []float32) {
	if kind == actRelu && addReluFast(dst, x, r) {
		return
	}
	binLine(opAdd, dst, x, r, 1, 1)
	if kind != actNone {
		applyActTo(kind, a, b, dst, dst)
	}
}

// biasAct adds bias to x and applies the activation in the same pass.
func biasAct(kind activation, a, b float32, x []float32, bias float32) {
	switch kind {
	case actNone:
		for i := range x {
			x[i] += bias
		}
	case actRelu:
		for i, v := range x {
			x[i] = max(v+bias, 0)
		}
	case actClip:
		for i, v := range x {
			x[i] = min(max(v+bias, a), b)
		}
	default:
		for i := range x {
			x[i] += bias
		}
		applyAct(kind, a, b, x)
	}
}

func sigmoid32(v float32) float32 {
	if v >= 0 {
		return float32(1 / (1 + math.Exp(-float64(v))))
	}
	e := math.Exp(float64(v))
	return float32(e / (1 + e))
}

func hardSigmoid32(v, alpha, beta float32) float32 {
	y := alpha*v + beta
	if y < 0 {
		return 0
	}
	if y > 1 {
		return 1
	}
	return y
}

// unaryKernel is a float32 element-wise activation.
type unaryKernel struct {
	op   string
	kind activation
	a, b float32
}

func (k *unaryKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	if err := needF32(k.op, in, 0); err != nil {
		return nil, err
	}
	return []Type{in[0]}, nil
}

func (k *unaryKernel) Run(rc *RunContext, in, out []*Tensor) error {
	applyActTo(k.kind, k.a, k.b, out[0].F32, in[0].F32)
	return nil
}

// MACs counts one operation per element.
func (k *unaryKernel) MACs(in, out []Type) int64 { return elemCount(out) }

// clipKernel is Clip: bounds come from attributes (opset < 11) or from the
// optional inputs 1 and 2, read at run time.
type clipKernel struct {
	min, max float32
}

// buildClip returns a unaryKernel when the bounds are attributes or
// constant scalars (ReLU6 as PyTorch exports it), which run-time fusion
// folds into a Conv or Gemm before it like any activation.
func buildClip(bc *BuildContext) (Kernel, error) {
	k := &clipKernel{
		min: attrFloatAny(bc.Node, "min", float32(math.Inf(-1))),
		max: attrFloatAny(bc.Node, "max", float32(math.Inf(1))),
	}
	bounds := []*float32{&k.min, &k.max}
	for i, b := range bounds {
		name := bc.Node.Input(i + 1)
		if name == "" {
			continue
		}
		c := bc.Const(name)
		if c == nil || c.DType != Float32 || len(c.F32) != 1 || NumElements(c.Shape) != 1 {
			return k, nil // bounds computed at run time
		}
		*b = c.F32[0]
	}
	return &unaryKernel{op: "Clip", kind: actClip, a: k.min, b: k.max}, nil
}

func (k *clipKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs("Clip", in, 1); err != nil {
		return nil, err
	}
	if err := needF32("Clip", in, 0); err != nil {
		return nil, err
	}
	for i := 1; i < 3; i++ {
		if present(in, i) {
			if err := needF32("Clip", in, i); err != nil {
				return nil, err
			}
			if n := NumElements(in[i].Shape); n != 1 {
				return nil, shapeErrf("Clip bound input %d has shape %v, want a scalar", i, in[i].Shape)
			}
		}
	}
	return []Type{in[0]}, nil
}

func (k *clipKernel) Run(rc *RunContext, in, out []*Tensor) error {
	lo, hi := k.min, k.max
	if presentT(in, 1) && len(in[1].F32) == 1 {
		lo = in[1].F32[0]
	}
	if presentT(in, 2) && len(in[2].F32) == 1 {
		hi = in[2].F32[0]
	}
	applyActTo(actClip, lo, hi, out[0].F32, in[0].F32)
	return nil
}

// MACs counts one operation per element.
func (k *clipKernel) MACs(in, out []Type) int64 { return elemCount(out) }

// aliasKernel is Identity and Dropout in inference: output 0 is input 0.
type aliasKernel struct{ op string }

func (k aliasKernel) OutputTypes(in []Type) ([]Type, error) {
	if err := needInputs(k.op, in, 1); err != nil {
		return nil, err
	}
	return []Type{in[0]}, nil
}

func (k aliasKernel) Run(rc *RunContext, in, out []*Tensor) error {
	copyTensorData(out[0], in[0])
	return nil
}

func (aliasKernel) AliasInput() int { return 0 }

func buildDropout(bc *BuildContext) (Kernel, error) {
	if len(bc.Node.Outputs) > 1 && bc.Node.Outputs[1] != "" {
		return nil, unsupportedErrf("Dropout mask output %q is not supported in inference", bc.Node.Outputs[1])
	}
	return aliasKernel{op: "Dropout"}, nil
}

func elemCount(ts []Type) int64 {
	if len(ts) == 0 {
		return 0
	}
	// Dynamic (negative) dimensions count as 1.
	n := int64(1)
	for _, d := range ts[0].Shape {
		if d > 0 {
			if n > (1<<62)/int64(d) {
				return 0
			}
			n *= int64(d)
		} else if d == 0 {
			return 0
		}
	}
	return n
}
