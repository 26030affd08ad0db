package nn

// SetRunFusion switches the run-time fusions of a residual Add into a
// Conv, of a squeeze-and-excitation Mul into a Conv, and of Concats
// written in place, for runners made afterwards (benchmarks compare them).
func SetRunFusion(residual, scale, concat bool) {
	runFusion.residual, runFusion.scale, runFusion.concat = residual, scale, concat
}
