//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

//go:noescape
func clampAVX512(dst, src *float32, n int, lo, hi float32)

var hasClamp512 = cpu.X86.HasAVX512F

// clampFast writes min(max(src[i], lo), hi) to dst[i] for i < len(dst) with
// the assembly kernel when the CPU has it (len(src) >= len(dst)), and
// reports whether it did.
func clampFast(dst, src []float32, lo, hi float32) bool {
	if !hasClamp512 || len(dst) == 0 || len(src) < len(dst) {
		return false
	}
	clampAVX512(&dst[0], &src[0], len(dst), lo, hi)
	return true
}

//go:noescape
func addReluAVX512(dst, a, b *float32, n int)

// addReluFast writes the Relu of a[i] + b[i] to dst[i] for i < len(dst)
// with the assembly kernel when the CPU has it (a and b at least as long),
// and reports whether it did.
func addReluFast(dst, a, b []float32) bool {
	if !hasClamp512 || len(dst) == 0 || len(a) < len(dst) || len(b) < len(dst) {
		return false
	}
	addReluAVX512(&dst[0], &a[0], &b[0], len(dst))
	return true
}

//go:noescape
func hardActAVX512(dst, src *float32, n int, alpha, beta float32, swish bool)

// hardActFast writes HardSigmoid (alpha, beta) of src to dst, or with swish
// src times it (HardSwish: alpha 1/6, beta 1/2), with the assembly kernel
// when the CPU has it (len(src) >= len(dst)), and reports whether it did.
func hardActFast(dst, src []float32, alpha, beta float32, swish bool) bool {
	if !hasClamp512 || len(dst) == 0 || len(src) < len(dst) {
		return false
	}
	hardActAVX512(&dst[0], &src[0], len(dst), alpha, beta, swish)
	return true
}

//go:noescape
func addAVX512(dst, a, b *float32, n int)

//go:noescape
func mulAVX512(dst, a, b *float32, n int)

//go:noescape
func addScalarAVX512(dst, src *float32, n int, v float32)

//go:noescape
func mulScalarAVX512(dst, src *float32, n int, v float32)

// binLineAsm lets binLineFast use the assembly kernels (tests turn it off
// to compare them with the Go loops).
var binLineAsm = hasClamp512

// binLineFast computes binLine's float32 Add and Mul, with strides 1 and 1
// or one operand a scalar (stride 0), with an assembly kernel when the CPU
// has it, and reports whether it did. Addition and multiplication commute
// in IEEE arithmetic, so a scalar a is b's scalar.
func binLineFast(op binOp, y, a, b []float32, sa, sb int) bool {
	n := len(y)
	if !binLineAsm || n == 0 || (op != opAdd && op != opMul) {
		return false
	}
	switch {
	case sa == 1 && sb == 1 && len(a) >= n && len(b) >= n:
		if op == opAdd {
			addAVX512(&y[0], &a[0], &b[0], n)
		} else {
			mulAVX512(&y[0], &a[0], &b[0], n)
		}
	case (sa == 1 && sb == 0 && len(a) >= n && len(b) > 0) || (sa == 0 && sb == 1 && len(b) >= n && len(a) > 0):
		src, v := a, b[0]
		if sa == 0 {
			src, v = b, a[0]
		}
		if op == opAdd {
			addScalarAVX512(&y[0], &src[0], n, v)
		} else {
			mulScalarAVX512(&y[0], &src[0], n, v)
		}
	default:
		return false
	}
	return true
}

//go:noescape
func sumAVX512(x *float32, n int) float32

// sumFast returns the sum of x by the assembly kernel when the CPU has it
// and x fills a vector, and reports whether it did.
func sumFast(x []float32) (float32, bool) {
	if !binLineAsm || len(x) < 16 {
		return 0, false
	}
	return sumAVX512(&x[0], len(x)), true
}

//go:noescape
func sigmoidAVX512(dst, src *float32, n int, swish bool)

// sigmoidFast writes the logistic of src to dst (len(src) >= len(dst)) with
// the assembly kernel when the CPU has it, and reports whether it did. It
// is within a few ulp of the exact value, as sigmoid32 is, not bit for bit
// the same: a Runner uses one of the two for every element.
func sigmoidFast(dst, src []float32) bool {
	if !binLineAsm || len(dst) == 0 || len(src) < len(dst) {
		return false
	}
	sigmoidAVX512(&dst[0], &src[0], len(dst), false)
	return true
}

// swishFast writes src[i]·sigmoid(src[i]) to dst[i] as sigmoidFast and a
// Mul would, in one pass, and reports whether it did.
func swishFast(dst, src []float32) bool {
	if !binLineAsm || len(dst) == 0 || len(src) < len(dst) {
		return false
	}
	sigmoidAVX512(&dst[0], &src[0], len(dst), true)
	return true
}
