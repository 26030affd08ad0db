//go:build !amd64 || purego

package nn

// nchwcHave: pathNCHWc is only taken with the assembly kernels (or forced).
const nchwcHave = false

var nchwcAsm = false

func nchwcRun(a *nchwcRows) { nchwcRowsRef(a) }

func padRows(src, dst []float32, top, mid, bot, w, wp, pl int) {
	padRowsGo(src, dst, top, mid, bot, w, wp, pl)
}
