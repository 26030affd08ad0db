package blas

import "unsafe"

// Quad-packed B operands for GemmS8Quad: the caller (an im2col, say) writes
// B directly in the layout the VNNI micro-kernel reads, skipping the
// packing pass of GemmS8Packed.
//
// Layout of an n×k B (the rows of B are the columns of C): panels of
// S8QuadCols columns; a panel holds ceil(k/4) groups of S8QuadCols×4 bytes;
// byte 4·j+q of group g of panel P is uint8(B[16P+j, 4g+q]) XOR 0x80 (B
// biased by 128 to u8). Bytes of padded depth (4g+q >= k) and of padded
// columns (16P+j >= n) are read but do not matter: the packed A is zero
// there, and padded columns of C are not stored.

// S8QuadCols is the panel width of the quad-packed layout.
const S8QuadCols = 16

// S8QuadLen returns the byte length of the quad-packed layout of an n×k B.
func S8QuadLen(n, k int) int {
	return (n + S8QuadCols - 1) / S8QuadCols * ((k + 3) / 4) * S8QuadCols * 4
}

// S8Quad reports whether GemmS8Quad can run with pa on this CPU (a VNNI
// kernel packed pa). When it is false, use GemmS8Packed.
func S8Quad(pa *PackedS8) bool {
	return pa != nil && pa.kern != nil && pa.kern.vnni && pa.kern.nr == S8QuadCols && pa.data != nil
}

// GemmS8Quad computes C = A·Bᵀ in int32 with A packed by PackS8 and the
// n×pa.Cols() B quad-packed in bq (S8QuadLen bytes). C is pa.Rows()×n
// (ldc), ws its scratch (nil: blas's pool). It panics, like the other
// entry points, on bad dimensions or when S8Quad(pa) is false.
func GemmS8Quad(ws *Workspace, pa *PackedS8, n int, bq []byte, c []int32, ldc int) {
	if !S8Quad(pa) {
		panic("blas: GemmS8Quad without a VNNI-packed A")
	}
	gemmS8Panels(ws, pa, n, bq, S8QuadLen(n, pa.k), c, ldc)
}

// S8VNNI reports whether the int8 GEMM uses the AVX-512 VNNI kernel.
func S8VNNI() bool { return s8Kern != nil && s8Kern.vnni }

// gemmS8Panels runs pa's micro-kernel over the B panels in b (need bytes).
func gemmS8Panels(ws *Workspace, pa *PackedS8, n int, b []byte, need int, c []int32, ldc int) {
	m, k := pa.m, pa.k
	switch {
	case n < 0:
		panic("blas: negative dimension")
	case len(b) < need:
		panic("blas: insufficient length of b")
	case m > 1 && ldc < n:
		panic("blas: bad ldc")
	case m > 0 && n > 0 && len(c) < (m-1)*ldc+n:
		panic("blas: insufficient length of c")
	}
	if m == 0 || n == 0 {
		return
	}
	kern := pa.kern
	mr, nr := kern.mr, kern.nr
	l := s8Geometry(kern, m, k)
	sc := s8Get(ws)
	tile := sc.tile[:]
	for jr := 0; jr < n; jr += nr {
		cols := min(nr, n-jr)
		bp := unsafe.Pointer(&b[jr/nr*l.panelB])
		if narrow := kern.narrowFor(cols); narrow != nil {
			// A panel of a few columns (a plane's last pixels, a 2x2
			// plane): the A rows are the vectors, len(narrow) panels of
			// them a call.
			step, ld := len(narrow)*mr, len(tile)/roundUp(cols, 4)
			for ir := 0; ir < m; ir += step {
				na := min(len(narrow), (m-ir+mr-1)/mr)
				narrow[na-1](l.kg, unsafe.Pointer(&pa.data[ir/mr*l.panelA]), l.panelA, bp, &tile[0], &pa.init[ir])
				for r := 0; r < min(step, m-ir); r++ {
					row := c[(ir+r)*ldc+jr : (ir+r)*ldc+jr+cols]
					for j := range row {
						row[j] = tile[ld*j+r]
					}
				}
			}
			continue
		}
		for ir := 0; ir < m; ir += mr {
			rows := min(mr, m-ir)
			ap := unsafe.Pointer(&pa.data[ir/mr*l.panelA])
			ci := ir*ldc + jr
			if rows == mr && cols == nr {
				kern.micro(l.kg, ap, bp, &c[ci], ldc, &pa.init[ir])
				continue
			}
			kern.micro(l.kg, ap, bp, &tile[0], nr, &pa.init[ir])
			for r := 0; r < rows; r++ {
				copy(c[ci+r*ldc:ci+r*ldc+cols], tile[r*nr:r*nr+cols])
			}
		}
	}
	s8Put(ws, sc)
}

// narrowFor returns the narrow kernels for a panel of cols columns, by A
// panels, or nil.
func (k *s8Kernel) narrowFor(cols int) []s8Narrow {
	switch {
	case cols <= 4 && k.narrow4[0] != nil:
		return k.narrow4[:]
	case cols <= 8 && k.narrow8[0] != nil:
		return k.narrow8[:]
	}
	return nil
}
