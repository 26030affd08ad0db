package blas

import (
	"encoding/binary"
	"sync"
	"unsafe"
)

// The packed int8 driver. Both operands are k-contiguous (C = A·Bᵀ), and
// the whole depth is packed at once (no k blocking: int32 sums need no
// intermediate stores).
//
// Two packings exist:
//   - vnni: groups of 4 k per 32-bit lane. A (broadcast operand) stays s8,
//     B is biased to u8 (b+128) for VPDPBUSD; the bias adds 128·Σ_p a[i,p]
//     to every sum of row i, which the per-row start value removes. All
//     arithmetic is modulo 2³², so the result is bit-exact.
//   - pairs: groups of 2 k per lane, both operands widened to int16 for
//     VPMADDWD (exact: |a·b + a'·b'| ≤ 2¹⁵).

// s8Micro computes an mr×nr int32 tile C = init[r] + Σ over kg groups.
type s8Micro func(kg int, a, b unsafe.Pointer, c *int32, ldc int, init *int32)

// s8Narrow computes the first nc (4 or 8) columns of a B panel against
// A panels (lda bytes apart): t[256/nc·j + r] = init[r] + Σ_g dot4(A[r], B[j]).
type s8Narrow func(kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32, init *int32)

// s8Kernel is one int8 micro-kernel and its packing.
type s8Kernel struct {
	name   string
	mr, nr int
	vnni   bool // 4 k per lane, u8×s8; else 2 k per lane in int16
	micro  s8Micro
	// Narrow kernels for panels of at most 4 and 8 columns, by A panels
	// (mr = 16 rows each); nil: none.
	narrow4 [4]s8Narrow
	narrow8 [2]s8Narrow
}

const s8BlockBytes = 256 << 10 // packed B bytes per block

type s8Scratch struct {
	a, b []byte
	init []int32
	tile [maxTile]int32
}

var s8Pool = sync.Pool{New: func() any { return new(s8Scratch) }}

// s8Get returns ws's int8 scratch, or one from the pool when ws is nil
// (s8Put puts it back).
func s8Get(ws *Workspace) *s8Scratch {
	if ws != nil {
		return &ws.q
	}
	return s8Pool.Get().(*s8Scratch)
}

func s8Put(ws *Workspace, s *s8Scratch) {
	if ws == nil {
		s8Pool.Put(s)
	}
}

func growBytes(s []byte, n int) []byte {
	if cap(s) < n {
		return make([]byte, n)
	}
	return s[:n]
}

// s8Layout is the packed geometry of an m×k A for kern.
type s8Layout struct {
	kstep, esize   int // k per lane, bytes per packed element
	kp, kg         int // padded depth, lane groups
	panelA, panelB int // bytes per A panel, per B panel
	mp             int // padded rows
}

func s8Geometry(kern *s8Kernel, m, k int) s8Layout {
	l := s8Layout{kstep: 2, esize: 2}
	if kern.vnni {
		l.kstep, l.esize = 4, 1
	}
	l.kp = roundUp(k, l.kstep)
	l.kg = l.kp / l.kstep
	l.panelA, l.panelB = kern.mr*l.kp*l.esize, kern.nr*l.kp*l.esize
	l.mp = roundUp(m, kern.mr)
	return l
}

// packAllS8 packs every mr-row panel of A into pa (l.mp/mr panels) and
// their start values into init (l.mp values).
func packAllS8(kern *s8Kernel, l s8Layout, pa []byte, init []int32, m, k int, a []int8, lda int) {
	mr := kern.mr
	for ir := 0; ir < m; ir += mr {
		rows := min(mr, m-ir)
		dst := pa[ir/mr*l.panelA : (ir/mr+1)*l.panelA]
		if kern.vnni {
			packAS8Quad(dst, init[ir:ir+mr], a, lda, ir, rows, k, mr)
		} else {
			packS8Pairs(dst, a, lda, ir, rows, k, mr)
			clear(init[ir : ir+mr])
		}
	}
}

// gemmS8Packed computes C = A·Bᵀ with kern. Dimensions are validated by the
// caller and positive.
func gemmS8Packed(kern *s8Kernel, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	gemmS8Driver(nil, kern, nil, nil, m, n, k, a, lda, b, ldb, c, ldc)
}

// gemmS8Driver is gemmS8Packed with an optional A already packed by
// packAllS8 (preA, preInit) and the scratch of ws (nil: blas's pool).
func gemmS8Driver(ws *Workspace, kern *s8Kernel, preA []byte, preInit []int32, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	mr, nr := kern.mr, kern.nr
	l := s8Geometry(kern, m, k)
	ncb := max(nr, s8BlockBytes/(l.kp*l.esize)/nr*nr)
	ncb = min(ncb, roundUp(n, nr))

	s := s8Get(ws)
	s.b = growBytes(s.b, ncb/nr*l.panelB)
	pa, init := preA, preInit
	if pa == nil {
		s.a = growBytes(s.a, l.mp/mr*l.panelA)
		if cap(s.init) < l.mp {
			s.init = make([]int32, l.mp)
		}
		pa, init = s.a, s.init[:l.mp]
		packAllS8(kern, l, pa, init, m, k, a, lda)
	}
	tile := s.tile[:mr*nr]
	for jc := 0; jc < n; jc += ncb {
		nb := min(ncb, n-jc)
		for jr := 0; jr < nb; jr += nr {
			cols := min(nr, nb-jr)
			dst := s.b[jr/nr*l.panelB : (jr/nr+1)*l.panelB]
			if kern.vnni {
				packBU8Quad(dst, b, ldb, jc+jr, cols, k, nr)
			} else {
				packS8Pairs(dst, b, ldb, jc+jr, cols, k, nr)
			}
		}
		for jr := 0; jr < nb; jr += nr {
			cols := min(nr, nb-jr)
			bp := unsafe.Pointer(&s.b[jr/nr*l.panelB])
			for ir := 0; ir < m; ir += mr {
				rows := min(mr, m-ir)
				ap := unsafe.Pointer(&pa[ir/mr*l.panelA])
				ci := ir*ldc + jc + jr
				if rows == mr && cols == nr {
					kern.micro(l.kg, ap, bp, &c[ci], ldc, &init[ir])
					continue
				}
				kern.micro(l.kg, ap, bp, &tile[0], nr, &init[ir])
				for r := 0; r < rows; r++ {
					copy(c[ci+r*ldc:ci+r*ldc+cols], tile[r*nr:r*nr+cols])
				}
			}
		}
	}
	s8Put(ws, s)
}

// packAS8Quad packs rows i0..i0+rows of A (k-contiguous) as groups of 4 k:
// dst[g*mr*4 + r*4 + q] = A[i0+r, 4g+q], zero-padded, and sets init[r] to
// −128·Σ_p A[i0+r, p], the bias correction of packBU8Quad.
func packAS8Quad(dst []byte, init []int32, a []int8, lda, i0, rows, k, mr int) {
	clear(dst)
	gs := mr * 4
	for r := 0; r < rows; r++ {
		src := s8Bytes(a[(i0+r)*lda : (i0+r)*lda+k])
		var sum int32
		p, off := 0, r*4
		for ; p+4 <= k; p, off = p+4, off+gs {
			v := binary.LittleEndian.Uint32(src[p : p+4])
			binary.LittleEndian.PutUint32(dst[off:off+4], v)
			sum += int32(int8(v)) + int32(int8(v>>8)) + int32(int8(v>>16)) + int32(int8(v>>24))
		}
		for q := 0; p < k; p, q = p+1, q+1 {
			dst[off+q] = src[p]
			sum += int32(int8(src[p]))
		}
		init[r] = -128 * sum
	}
	for r := rows; r < mr; r++ {
		init[r] = 0
	}
}

// packBU8Quad packs columns j0..j0+cols of Bᵀ (rows of the n×k B) as groups
// of 4 k biased to u8: dst[g*nr*4 + j*4 + q] = B[j0+j, 4g+q] + 128.
func packBU8Quad(dst []byte, b []int8, ldb, j0, cols, k, nr int) {
	gs := nr * 4
	const bias8 = 0x8080808080808080
	for j := 0; j < cols; j++ {
		src := s8Bytes(b[(j0+j)*ldb : (j0+j)*ldb+k])
		p, off := 0, j*4
		for ; p+16 <= k; p, off = p+16, off+4*gs {
			lo := binary.LittleEndian.Uint64(src[p:p+8]) ^ bias8
			hi := binary.LittleEndian.Uint64(src[p+8:p+16]) ^ bias8
			d := dst[off : off+3*gs+4]
			binary.LittleEndian.PutUint32(d[0:4], uint32(lo))
			binary.LittleEndian.PutUint32(d[gs:gs+4], uint32(lo>>32))
			binary.LittleEndian.PutUint32(d[2*gs:2*gs+4], uint32(hi))
			binary.LittleEndian.PutUint32(d[3*gs:3*gs+4], uint32(hi>>32))
		}
		for ; p+4 <= k; p, off = p+4, off+gs {
			v := binary.LittleEndian.Uint32(src[p : p+4])
			binary.LittleEndian.PutUint32(dst[off:off+4], v^0x80808080)
		}
		if p < k { // partial last group: pad with s8 zeros
			var t [4]byte
			for q := range t {
				t[q] = 0x80
				if p+q < k {
					t[q] = src[p+q] ^ 0x80
				}
			}
			copy(dst[off:off+4], t[:])
		}
	}
	if cols < nr { // missing columns: s8 zeros
		for off := 0; off < len(dst); off += gs {
			d := dst[off+cols*4 : off+gs]
			for i := range d {
				d[i] = 0x80
			}
		}
	}
}

// s8Bytes views an int8 slice as bytes.
func s8Bytes(x []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// packS8Pairs packs rows r0..r0+rows of a k-contiguous int8 matrix as
// groups of 2 k widened to int16: element (g, r, q) = X[r0+r, 2g+q], zero
// padded to w rows and an even depth. dst holds the int16s in machine order.
func packS8Pairs(dst []byte, x []int8, ld, r0, rows, k, w int) {
	clear(dst)
	d16 := unsafe.Slice((*int16)(unsafe.Pointer(unsafe.SliceData(dst))), len(dst)/2)
	gs := w * 2
	for r := 0; r < rows; r++ {
		src := x[(r0+r)*ld : (r0+r)*ld+k]
		p := 0
		for g := 0; p+2 <= k; g, p = g+1, p+2 {
			d := d16[g*gs+r*2 : g*gs+r*2+2]
			d[0], d[1] = int16(src[p]), int16(src[p+1])
		}
		if p < k {
			d16[(p/2)*gs+r*2] = int16(src[p])
		}
	}
}
