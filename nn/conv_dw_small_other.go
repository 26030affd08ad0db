//go:build !amd64 || purego

package nn

// dwSmallHave: no small-plane kernel in this build (dw3 runs per channel).
const dwSmallHave = false

func dwSmallFast(a *dwSmallArgs, wide bool) { panic("nn: no dwSmall kernel") }

func dwsAlign(buf []float32) []float32 { return buf }
