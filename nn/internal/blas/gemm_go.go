package blas

// Plain-Go fast paths: the fallback with -tags purego and on architectures
// without assembly kernels, and the small-shape paths everywhere. They slice
// each row once, unroll over four rows or four dot products, and skip zeros
// of A where the loop order allows it.

// sgemmGo computes C (=|+=) A·B, four rows of C per sweep over B.
func sgemmGo(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	if !accumulate {
		zeroC(m, n, c, ldc)
	}
	i := 0
	for ; i+4 <= m; i += 4 {
		c0 := c[i*ldc : i*ldc+n]
		c1 := c[(i+1)*ldc : (i+1)*ldc+n]
		c2 := c[(i+2)*ldc : (i+2)*ldc+n]
		c3 := c[(i+3)*ldc : (i+3)*ldc+n]
		a0 := a[i*lda : i*lda+k]
		a1 := a[(i+1)*lda : (i+1)*lda+k]
		a2 := a[(i+2)*lda : (i+2)*lda+k]
		a3 := a[(i+3)*lda : (i+3)*lda+k]
		for p := 0; p < k; p++ {
			v0, v1, v2, v3 := a0[p], a1[p], a2[p], a3[p]
			if v0 == 0 && v1 == 0 && v2 == 0 && v3 == 0 {
				continue
			}
			bp := b[p*ldb : p*ldb+n]
			c0, c1, c2, c3 := c0[:len(bp)], c1[:len(bp)], c2[:len(bp)], c3[:len(bp)]
			for j, bv := range bp {
				c0[j] += v0 * bv
				c1[j] += v1 * bv
				c2[j] += v2 * bv
				c3[j] += v3 * bv
			}
		}
	}
	for ; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		ai := a[i*lda : i*lda+k]
		p := 0
		for ; p+4 <= k; p += 4 {
			v0, v1, v2, v3 := ai[p], ai[p+1], ai[p+2], ai[p+3]
			if v0 == 0 && v1 == 0 && v2 == 0 && v3 == 0 {
				continue
			}
			b0 := b[p*ldb : p*ldb+n]
			b1 := b[(p+1)*ldb : (p+1)*ldb+n]
			b2 := b[(p+2)*ldb : (p+2)*ldb+n]
			b3 := b[(p+3)*ldb : (p+3)*ldb+n]
			ci := ci[:len(b0)]
			b1, b2, b3 = b1[:len(b0)], b2[:len(b0)], b3[:len(b0)]
			for j, bv := range b0 {
				ci[j] += v0*bv + v1*b1[j] + v2*b2[j] + v3*b3[j]
			}
		}
		for ; p < k; p++ {
			av := ai[p]
			if av == 0 {
				continue
			}
			bp := b[p*ldb : p*ldb+n]
			ci := ci[:len(bp)]
			for j, bv := range bp {
				ci[j] += av * bv
			}
		}
	}
}

// sgemmNTGo computes C (=|+=) A·Bᵀ as dot products, four rows of B at a time.
func sgemmNTGo(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			s0, s1, s2, s3 := dot4[float32, float32](ai, b[j*ldb:], ldb)
			if accumulate {
				ci[j] += s0
				ci[j+1] += s1
				ci[j+2] += s2
				ci[j+3] += s3
			} else {
				ci[j], ci[j+1], ci[j+2], ci[j+3] = s0, s1, s2, s3
			}
		}
		for ; j < n; j++ {
			s := sdotGo(ai, b[j*ldb:j*ldb+k])
			if accumulate {
				ci[j] += s
			} else {
				ci[j] = s
			}
		}
	}
}

// dot4 is the dot products of a with four rows of b (ldb apart), each
// summed in S in a's order: float32 for sgemmNTGo, int32 (exact) for
// gemmS8Go.
func dot4[T int8 | float32, S int32 | float32](a, b []T, ldb int) (s0, s1, s2, s3 S) {
	k := len(a)
	b0, b1, b2, b3 := b[:k], b[ldb:ldb+k], b[2*ldb:2*ldb+k], b[3*ldb:3*ldb+k]
	for p, av := range a {
		x := S(av)
		s0 += x * S(b0[p])
		s1 += x * S(b1[p])
		s2 += x * S(b2[p])
		s3 += x * S(b3[p])
	}
	return s0, s1, s2, s3
}

// sdotGo is a dot product with four independent partial sums.
func sdotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	p := 0
	for ; p+4 <= len(x); p += 4 {
		s0 += x[p] * y[p]
		s1 += x[p+1] * y[p+1]
		s2 += x[p+2] * y[p+2]
		s3 += x[p+3] * y[p+3]
	}
	for ; p < len(x); p++ {
		s0 += x[p] * y[p]
	}
	return (s0 + s1) + (s2 + s3)
}

// gemmS8Go computes C = A·Bᵀ in int32, four rows of B per sweep over a row
// of A. Integer sums are exact (modulo 2³²) in any order.
func gemmS8Go(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			ci[j], ci[j+1], ci[j+2], ci[j+3] = dot4[int8, int32](ai, b[j*ldb:], ldb)
		}
		for ; j < n; j++ {
			bj := b[j*ldb : j*ldb+k]
			bj = bj[:len(ai)]
			var s int32
			for p, av := range ai {
				s += int32(av) * int32(bj[p])
			}
			ci[j] = s
		}
	}
}

// sgemmGoOp dispatches to sgemmGo or sgemmNTGo.
func sgemmGoOp(m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool) {
	if transB {
		sgemmNTGo(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		return
	}
	sgemmGo(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
}
