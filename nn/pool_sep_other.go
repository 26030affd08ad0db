//go:build !amd64 || purego

package nn

// sepMaxHave: no assembly kernels in this build; the separable MaxPool's
// Go kernels serve its tests only.
var sepMaxHave, sepMaxAVX512 = false, false

func maxRowsFast(dst []float32, ld int, x []float32, xps, planes int, offs []int, kh, n int) bool {
	return false
}

func hmaxFast(y []float32, ow int, rows []float32, ld, nrows, k, d, s int) bool { return false }
