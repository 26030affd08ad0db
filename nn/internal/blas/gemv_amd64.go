//go:build amd64 && !purego

package blas

//go:noescape
func sgemv8AVX512(kb int, a *float32, b *float32, ldb int, out *[8]float32)

//go:noescape
func sgemvPanelAVX2(kb int, a *float32, astride int, b *float32, ldb int, mask *[8]int32, out *[8]float32)

// gemvMaxN is the most columns of B for which a pre-packed A is multiplied
// one column at a time (matrix-vector products over its panels): the
// micro-kernels compute a whole tile of nr columns however few there are,
// 32x the work for one column (a 1x1 convolution on a 1x1 plane: the
// squeeze-and-excitation layers, a classifier written as a convolution).
const gemvMaxN = 4

// gemvMasks[mr] selects the first mr rows of a panel.
var gemvMasks = func() (m [9][8]int32) {
	for mr := range m {
		for r := 0; r < mr; r++ {
			m[mr][r] = -1
		}
	}
	return m
}()

// sgemvPacked computes C (=|+=) A·B for n <= gemvMaxN columns with A
// packed by packAllA for a kernel of mr <= 8 rows, and applies ep, and
// reports whether it did (false: the CPU or the panel height does not fit).
func sgemvPacked(mr int, pre []float32, m, n, k int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ep *Epilogue) bool {
	if !hasAVX2 || mr > 8 || n > gemvMaxN {
		return false
	}
	mp := roundUp(m, mr)
	_ = b[(k-1)*ldb+n-1]
	_ = pre[(k-1)*mp+mp-1]
	mask := &gemvMasks[mr]
	var out [8]float32
	for j := 0; j < n; j++ {
		for pc := 0; pc < k; pc += kcF32 {
			kb := min(kcF32, k-pc)
			acc := accumulate || pc > 0
			last := pc+kb == k
			for ir := 0; ir < m; ir += mr {
				if mr == 8 && hasAVX512 {
					sgemv8AVX512(kb, &pre[pc*mp+ir*kb], &b[pc*ldb+j], 4*ldb, &out)
				} else {
					sgemvPanelAVX2(kb, &pre[pc*mp+ir*kb], 4*mr, &b[pc*ldb+j], 4*ldb, mask, &out)
				}
				for r := 0; r < min(mr, m-ir); r++ {
					ci := (ir+r)*ldc + j
					v := out[r]
					if acc {
						v += c[ci]
					}
					c[ci] = v
					if last && ep != nil {
						ep.applyRow(c[ci:ci+1], ir+r)
					}
				}
			}
		}
	}
	return true
}
