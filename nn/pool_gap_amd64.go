//go:build amd64 && !purego

package nn

//go:noescape
func gapNCHWcAVX512(y, x *float32, off *int32, n int, d *float32)

// gapNCHWcFast runs the AVX-512 kernel where sum32 runs sumAVX512 (the
// same partial sums; below 16 pixels sum32 runs its Go loop, and so does
// gapNCHWc), and reports whether it did.
func gapNCHWcFast(y, x []float32, off []int32) bool {
	if !binLineAsm || len(off) < 16 {
		return false
	}
	_ = y[15]
	_ = x[off[len(off)-1]/4+15] // the last pixel; off ascends
	var d [256]float32
	gapNCHWcAVX512(&y[0], &x[0], &off[0], len(off), &d[0])
	return true
}
