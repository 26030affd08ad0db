//go:build !amd64 || purego

package nn

// same3Have: no assembly kernel in this build.
var same3Have, same3AVX512 = false, false

func maxSame3Fast(p *same3Plan, x, y []float32) bool { return false }
