package blas

// SgemmTapsEpWS computes C = Σ_t A_t·B_t followed by the epilogue ep, with
// the packing memory of ws: every A_t is m×k, packed by PackA (a
// convolution's weights for one kernel tap), and B_t is the k×n matrix of
// stride ldb starting at b[off[t]] (the input planes shifted by the tap's
// offset). C is m×n (ldc) and is overwritten. With the AVX-512 kernel, m a
// multiple of 8 and k at most 256, the sum over taps stays in registers and
// C is written once; otherwise it runs one accumulating GEMM per tap.
// Dimensions are checked like SgemmPacked's: mismatches panic. A nil ws
// takes packing memory from the package's pool.
func SgemmTapsEpWS(ws *Workspace, taps []*PackedA, off []int, n int, b []float32, ldb int, c []float32, ldc int, ep Epilogue) {
	if len(taps) == 0 || len(off) != len(taps) {
		panic("blas: taps and offsets differ in number or are empty")
	}
	m, k := taps[0].m, taps[0].k
	ep.check(m)
	for t, pa := range taps {
		if pa.m != m || pa.k != k {
			panic("blas: taps of different shapes")
		}
		if off[t] < 0 || off[t] > len(b) {
			panic("blas: tap offset out of range")
		}
		checkDims(m, n, k, len(pa.data), k, k, len(b)-off[t], ldb, n, len(c), ldc)
	}
	if m == 0 || n == 0 {
		return
	}
	if k > 0 {
		s := ws.scratch()
		defer ws.release(s)
		if sgemmTapsFast(s, taps, off, n, b, ldb, c, ldc, &ep) {
			return
		}
	}
	for t, pa := range taps {
		if t < len(taps)-1 {
			SgemmPackedWS(ws, pa, n, b[off[t]:], ldb, c, ldc, t > 0)
		} else {
			SgemmPackedEpWS(ws, pa, n, b[off[t]:], ldb, c, ldc, t > 0, ep)
		}
	}
}
