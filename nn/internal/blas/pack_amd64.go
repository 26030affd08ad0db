//go:build amd64 && !purego

package blas

import "golang.org/x/sys/cpu"

// packA8Asm lets packA8 run packA8AVX (a variable so that tests can run
// the Go loop too).
var packA8Asm = cpu.X86.HasAVX

//go:noescape
func packA8AVX(panel, a *float32, lda, k8 int)

// packA8Fast packs the first kb/8·8 columns of packA8's rows with
// packA8AVX and returns how many it packed.
func packA8Fast(panel, a []float32, base, lda, kb int) int {
	k8 := kb / 8
	if !packA8Asm || k8 == 0 {
		return 0
	}
	_ = a[base+7*lda+8*k8-1]
	_ = panel[64*k8-1]
	packA8AVX(&panel[0], &a[base], lda, k8)
	return 8 * k8
}
