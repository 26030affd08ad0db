//go:build !amd64 || purego

package nn

// clampFast has no assembly kernel in this build: the caller loops in Go.
func clampFast(dst, src []float32, lo, hi float32) bool { return false }

// addReluFast has no assembly kernel in this build: the caller adds and
// clamps in Go.
func addReluFast(dst, a, b []float32) bool { return false }

// hardActFast has no assembly kernel in this build.
func hardActFast(dst, src []float32, alpha, beta float32, swish bool) bool { return false }

// binLineAsm is false: there are no assembly binary kernels in this build.
var binLineAsm = false

// binLineFast has no assembly kernel in this build.
func binLineFast(op binOp, y, a, b []float32, sa, sb int) bool { return false }

// sumFast has no assembly kernel in this build.
func sumFast(x []float32) (float32, bool) { return 0, false }

// sigmoidFast has no assembly kernel in this build.
func sigmoidFast(dst, src []float32) bool { return false }

// swishFast has no assembly kernel in this build.
func swishFast(dst, src []float32) bool { return false }
