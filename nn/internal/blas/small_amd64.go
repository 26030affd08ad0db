//go:build amd64 && !purego

package blas

// Small-m paths (fully connected layers at batch 1): dot products straight
// from the rows of B, no packing.

//go:noescape
func sdot4AVX2(k16 int, x, y *float32, ldy int, out *[32]float32)

//go:noescape
func dotS8x4AVX2(k16 int, x, y *int8, ldy int, out *[32]int32)

//go:noescape
func dotS8x4VNNI(k64 int, x *byte, y *int8, ldy int, out *[64]int32)

// sgemmNTSmall computes C (=|+=) A·Bᵀ as dot products, four rows of B per
// assembly call. Needs AVX2+FMA.
func sgemmNTSmall(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	k16 := k / 16
	var out [32]float32
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		ci := c[i*ldc : i*ldc+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			var s [4]float32
			if k16 > 0 {
				_ = b[(j+3)*ldb+16*k16-1] // the four rows are in range
				sdot4AVX2(k16, &ai[0], &b[j*ldb], ldb, &out)
				for r := range s {
					o := out[8*r : 8*r+8]
					s[r] = ((o[0] + o[1]) + (o[2] + o[3])) + ((o[4] + o[5]) + (o[6] + o[7]))
				}
			}
			for r := range s {
				bt := b[(j+r)*ldb+16*k16 : (j+r)*ldb+k]
				for p, bv := range bt {
					s[r] += ai[16*k16+p] * bv
				}
			}
			if accumulate {
				ci[j] += s[0]
				ci[j+1] += s[1]
				ci[j+2] += s[2]
				ci[j+3] += s[3]
			} else {
				ci[j], ci[j+1], ci[j+2], ci[j+3] = s[0], s[1], s[2], s[3]
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

// gemmS8Small computes C = A·Bᵀ as VNNI dot products, four rows of B per
// assembly call, A's row biased to u8 once. Needs AVX-512 VNNI.
func gemmS8Small(ws *Workspace, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	k64 := k / 64
	s := s8Get(ws)
	s.a = growBytes(s.a, max(1, 64*k64))
	xb := s.a
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		for p, v := range s8Bytes(ai[:64*k64]) {
			xb[p] = v ^ 0x80
		}
		s8DotRow(n, k, 64*k64, xb, ai, b, ldb, c[i*ldc:i*ldc+n])
	}
	s8Put(ws, s)
}

// gemmS8SmallAVX2 computes C = A·Bᵀ as AVX2 dot products (int8 widened to
// int16, exact), four rows of B per assembly call. Needs AVX2.
func gemmS8SmallAVX2(m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	k16 := k / 16
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		s8DotRow(n, k, 16*k16, nil, ai, b, ldb, c[i*ldc:i*ldc+n])
	}
}

// s8DotRow computes one row ci of C = A·Bᵀ from row ai of A, four rows of
// B per assembly call over the first kv elements: by VNNI from xb (ai biased
// to u8) when xb is given, else by AVX2. The rest of k, and the last n%4
// columns, are summed here.
func s8DotRow(n, k, kv int, xb []byte, ai, b []int8, ldb int, ci []int32) {
	var out [64]int32
	lanes := 8
	if xb != nil {
		lanes = 16
	}
	j := 0
	for ; j+4 <= n; j += 4 {
		var sum [4]int32
		if kv > 0 {
			_ = b[(j+3)*ldb+kv-1] // the four rows are in range
			if xb != nil {
				dotS8x4VNNI(kv/64, &xb[0], &b[j*ldb], ldb, &out)
			} else {
				dotS8x4AVX2(kv/16, &ai[0], &b[j*ldb], ldb, (*[32]int32)(out[:32]))
			}
			for r := range sum {
				for _, v := range out[lanes*r : lanes*r+lanes] {
					sum[r] += v
				}
			}
		}
		for r := range sum {
			bt := b[(j+r)*ldb+kv : (j+r)*ldb+k]
			for p, bv := range bt {
				sum[r] += int32(ai[kv+p]) * int32(bv)
			}
		}
		ci[j], ci[j+1], ci[j+2], ci[j+3] = sum[0], sum[1], sum[2], sum[3]
	}
	if j < n {
		gemmS8Go(1, n-j, k, ai, k, b[j*ldb:], ldb, ci[j:], n-j)
	}
}
