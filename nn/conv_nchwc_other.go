//go:build !amd64 || purego

package nn

// nchwcHave: pathNCHWc is only taken with the assembly kernels (or forced).
const nchwcHave = false

var nchwcAsm = false

func nchwcRun(a *nchwcRows) { nchwcRowsRef(a) }

func copyRowsStrided(dst, src []float32, rows, w, ss, ds int) {
	copyRowsGo(dst, src, rows, w, ss, ds)
}
