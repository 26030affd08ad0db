//go:build amd64 && !purego

package blas

//go:noescape
func sgemmKern8x32TapsAVX512(k, ntaps int, a **float32, boff *int, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep, mask uint32)

// sgemmTapsFast runs sgemmTaps with the 8x32 AVX-512 multi-tap kernel
// when the CPU has it and the shape suits it (m a multiple of 8, one depth
// block), and reports whether it did. Dimensions and bounds are validated
// by the caller.
func sgemmTapsFast(s *f32Scratch, taps []*PackedA, off []int, n int, b []float32, ldb int, c []float32, ldc int, ep *Epilogue) bool {
	m, k := taps[0].m, taps[0].k
	if !hasAVX512 || m%8 != 0 || k > kcF32 || len(taps) == 0 {
		return false
	}
	for _, t := range taps {
		if t.kern != &kernAVX512 {
			return false
		}
	}
	nt := len(taps)
	if cap(s.tapA) < nt {
		s.tapA = make([]*float32, nt)
		s.tapOff = make([]int, nt)
	}
	tapA, tapOff := s.tapA[:nt], s.tapOff[:nt]
	for t, o := range off {
		tapOff[t] = 4 * o
	}
	var kep *f32Ep
	if ep != nil {
		kep = &s.ep
		kep.lo, kep.hi = ep.Lo, ep.Hi
	}
	for ir := 0; ir < m; ir += 8 {
		for t, pa := range taps {
			tapA[t] = &pa.data[ir*k]
		}
		if kep != nil {
			kep.bias = &zeroBias[0]
			if ep.Bias != nil {
				kep.bias = &ep.Bias[ir]
			}
		}
		for jr := 0; jr < n; jr += 32 {
			mask := ^uint32(0)
			if nrr := n - jr; nrr < 32 {
				mask = uint32(1)<<nrr - 1
			}
			sgemmKern8x32TapsAVX512(k, nt, &tapA[0], &tapOff[0], &b[jr], ldb, &c[ir*ldc+jr], ldc, false, kep, mask)
		}
	}
	return true
}
