//go:build !amd64 || purego

package nn

// dwcHave: no channel-blocked depthwise kernel in this build (tests run
// the path on its Go reference kernels).
var dwcHave = false

func dwcTr16Asm(dst []float32, ldd int, src []float32, lds, nr, nc int, smask uint64) {
	panic("nn: no dwc kernel")
}

func dwcRowsAsm(a *dwcArgs, s, d int) { panic("nn: no dwc kernel") }
