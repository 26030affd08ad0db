package nn

// int8 arithmetic shared by the quantized kernels (int8_*.go).
//
// The int8 operators registered by this package are:
//
//	QuantizeLinear      ONNX semantics: float32 -> int8/uint8
//	DequantizeLinear    ONNX semantics: int8/uint8/int32 -> float32
//	QLinearConvInt8     int8 conv, per-channel symmetric int8 weights, int32 bias, fused ReLU
//	QLinearGemmInt8     int8 fully connected / MatMul with constant weights
//	MaxPoolInt8         int8 max pooling (scale and zero point pass through)
//	QLinearAddInt8      int8 + int8 -> int8 with rescale, fused ReLU
//	QLinearMulInt8      int8 · int8 -> int8, broadcasting (a table, int8_mul.go)
//	LookupInt8          elementwise or per-channel int8 -> int8 by tables (int8_lookup.go)
//	RequantizeInt8      int8 (one scale) -> int8 (another scale)
//	QLinearGlobalAveragePoolInt8  int8 channel means with rescale
//	AveragePoolInt8     int8 window means with rescale (int8_avgpool.go)
//
// Rounding and saturation rules (the same in every kernel and in the plain
// reference implementations of the tests):
//
//   - QuantizeLinear: q = saturate(roundHalfToEven(x / scale) + zero_point),
//     x / scale computed in float32 as ONNX Runtime does; NaN maps to the
//     zero point; saturate clamps to [-128, 127] (int8) or [0, 255] (uint8).
//   - DequantizeLinear: y = float32(q - zero_point) * scale.
//   - Requantization of an int32 accumulator acc to int8 uses a fixed-point
//     multiplier M = m · 2^-s with an int32 mantissa m in [2^30, 2^31) and a
//     right shift s in [0, 62] (q8Multiplier): y = zp + roundShift(acc·m, s),
//     where acc·m is an exact int64 product and roundShift rounds half AWAY
//     FROM ZERO (ties go to the larger magnitude). The accumulator itself is
//     Σ x·w (int32, from blas.GemmS8) + bias − x_zp·Σw, formed in int64 and
//     saturated to the int32 range before the multiply. The result is
//     saturated to [-128, 127]; a fused ReLU raises the lower bound to the
//     output zero point (real 0), a fused Clip narrows it to the quantized
//     clip bounds (attributes y_min, y_max).
//   - QLinearAddInt8: y = zp_y + roundShift((a−zp_a)·ma + (b−zp_b)·mb, S) with
//     ma = round(2^S·sa/sy), mb = round(2^S·sb/sy) and a common S chosen so
//     that max(ma, mb) < 2^30; half away from zero, saturated as above.

import (
	"errors"
	"fmt"
	"math"
)

// ErrQuant reports invalid quantization parameters (non-positive or
// non-finite scales, zero points out of range, multipliers that do not fit).
var ErrQuant = errors.New("nn: invalid quantization parameters")

// q8Mult is a fixed-point multiplier: real ≈ M · 2^-S.
type q8Mult struct {
	M int32
	S uint8
}

// q8Multiplier converts a positive real multiplier into a Q31 mantissa and a
// right shift. Multipliers below 2^-32 (the product can never reach 0.5)
// become {0, 0}; multipliers of 2^31 or more are rejected.
func q8Multiplier(real float64) (q8Mult, error) {
	if !(real > 0) || math.IsInf(real, 0) {
		return q8Mult{}, fmt.Errorf("%w: multiplier %v", ErrQuant, real)
	}
	f, e := math.Frexp(real) // real = f·2^e, f in [0.5, 1)
	m := int64(math.Round(f * (1 << 31)))
	if m == 1<<31 {
		m = 1 << 30
		e++
	}
	s := 31 - e
	if s < 0 {
		return q8Mult{}, fmt.Errorf("%w: multiplier %v too large", ErrQuant, real)
	}
	if s > 62 {
		return q8Mult{}, nil
	}
	return q8Mult{M: int32(m), S: uint8(s)}, nil
}

// q8RoundShift returns x / 2^s rounded half away from zero (s in [0, 62]).
func q8RoundShift(x int64, s uint8) int64 {
	if s == 0 {
		return x
	}
	// Branch-free: for x < 0, −((−x + h) >> s) == (x + h − 1) >> s with
	// arithmetic shifts, and x>>63 is −1 exactly when x < 0.
	return (x + int64(1)<<(s-1) + x>>63) >> s
}

// q8SatI32 saturates v to the int32 range.
func q8SatI32(v int64) int64 {
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return v
}

// apply requantizes an accumulator: roundShift(sat32(acc)·M, S).
func (q q8Mult) apply(acc int64) int64 {
	return q8RoundShift(q8SatI32(acc)*int64(q.M), q.S)
}

// q8Clamp saturates v to [lo, hi] and returns it as int8 (branch-free).
func q8Clamp(v int64, lo, hi int32) int8 {
	return int8(min(max(v, int64(lo)), int64(hi)))
}

// q8Params is one tensor's per-tensor quantization as used by the kernels.
type q8Params struct {
	Scale float32
	Zero  int32
}

func (p q8Params) check(what string) error {
	s := float64(p.Scale)
	if !(s > 0) || math.IsInf(s, 0) {
		return fmt.Errorf("%w: %s scale %v", ErrQuant, what, p.Scale)
	}
	if p.Zero < -128 || p.Zero > 127 {
		return fmt.Errorf("%w: %s zero point %d outside int8", ErrQuant, what, p.Zero)
	}
	return nil
}

func (p q8Params) quant() *Quant {
	return &Quant{Scale: []float32{p.Scale}, ZeroPoint: []int32{p.Zero}}
}

// q8Attr reads the per-tensor parameters prefix_scale / prefix_zero_point.
func q8Attr(n *Node, prefix string) (q8Params, error) {
	a, ok := n.Attrs[prefix+"_scale"]
	if !ok || a.Kind != AttrFloat {
		return q8Params{}, fmt.Errorf("%w: attribute %s_scale missing", ErrQuant, prefix)
	}
	p := q8Params{Scale: a.Float, Zero: int32(n.AttrInt(prefix+"_zero_point", 0))}
	if z := n.AttrInt(prefix+"_zero_point", 0); z < -128 || z > 127 {
		return q8Params{}, fmt.Errorf("%w: %s zero point %d outside int8", ErrQuant, prefix, z)
	}
	return p, p.check(prefix)
}

// q8AttrFloats returns a float-list attribute, or nil.
// q8XY returns the input and output quantizations (x_* and y_*
// attributes) of an int8 op.
func q8XY(n *Node) (x, y q8Params, err error) {
	if x, err = q8Attr(n, "x"); err != nil {
		return x, y, err
	}
	y, err = q8Attr(n, "y")
	return x, y, err
}

func q8AttrFloats(n *Node, name string) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Kind == AttrFloats {
		return a.Floats
	}
	return nil
}

// q8Range is the output range [lo, 127], lo raised to the zero point by a fused ReLU.
// A fused Clip (ReLU6 and the like) arrives as the quantized bounds y_min
// and y_max (ints): clamping after requantization equals quantizing after
// the clip, because quantization is monotonic.
func q8Range(n *Node, y q8Params) (lo, hi int32) {
	lo, hi = -128, 127
	if n.AttrInt("relu", 0) != 0 && y.Zero > lo {
		lo = y.Zero
	}
	if v := n.AttrInt("y_min", -128); v > int64(lo) && v <= 127 {
		lo = int32(v)
	}
	if v := n.AttrInt("y_max", 127); v < int64(hi) && v >= -128 {
		hi = int32(v)
	}
	if hi < lo {
		hi = lo
	}
	return lo, hi
}

// Q8Attrs builds the attributes of a quantized node: prefix_scale and
// prefix_zero_point for each name/params pair. It is a helper for graph
// rewrites (compress/quantize, nn/onnx).
func Q8Attrs(attrs map[string]Attr, prefix string, scale float32, zero int32) map[string]Attr {
	if attrs == nil {
		attrs = map[string]Attr{}
	}
	attrs[prefix+"_scale"] = Attr{Kind: AttrFloat, Float: scale}
	attrs[prefix+"_zero_point"] = Attr{Kind: AttrInt, Int: int64(zero)}
	return attrs
}

// q8Lane holds one output channel's requantization constants in the form
// the SIMD kernels use (int8_simd_*.go): acc' = acc + Init (int32),
// y = clamp((acc'·Mul + HZ + sign(acc'·Mul)) >> Shift), with
// HZ = 2^(Shift-1) + y_zp·2^Shift. It equals q8Mult.apply plus the zero
// point exactly when acc' provably fits int32 and 1 <= Shift <= 52 (see
// q8NewLane). 32 bytes, the layout the assembly reads.
type q8Lane struct {
	Init    int32
	Mul     int32
	HZ      int64
	Shift   int64
	Shift32 int64 // Shift − 32 when Shift >= 32 (a second kernel variant)
}

// q8NewLane builds the lane constants of a channel with accumulator offset
// init, multiplier m and output zero point yz; ok is false when the SIMD
// form would not be exact (possible int32 saturation, shift 0 or above 52).
func q8NewLane(init int64, m q8Mult, yz int32, noSat bool) (l q8Lane, ok bool) {
	if !noSat || m.S < 1 || m.S > 52 || init < math.MinInt32 || init > math.MaxInt32 {
		return q8Lane{}, false
	}
	s := int64(m.S)
	return q8Lane{Init: int32(init), Mul: m.M, HZ: int64(1)<<(s-1) + int64(yz)<<s, Shift: s, Shift32: max(s-32, 0)}, true
}
