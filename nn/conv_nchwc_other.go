//go:build !amd64 || purego

package nn

// nchwcHave: pathNCHWc is only taken with the assembly kernels (or forced).
const nchwcHave = false

var nchwcAsm = false

// nchwcWide: the Go reference takes the AVX-512 kernels' blocking.
var nchwcWide = true

// nchwcISAs lists the kernels' widths the CPU runs: none here.
func nchwcISAs() []bool { return nil }

func nchwcRun(a *nchwcRows) { nchwcRowsRef(a) }

func padRows(src, dst []float32, top, mid, bot, w, wp, pl, cg, ps int) {
	padRowsGo(src, dst, top, mid, bot, w, wp, pl, cg, ps)
}
