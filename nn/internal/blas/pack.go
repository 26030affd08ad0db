package blas

import "sync"

// The packed float32 driver (BLIS-style): B is packed into kc×nr column
// panels and A into mr×kc row panels, so that the micro-kernel streams both
// from contiguous memory; kc keeps a B panel in L1, mc×kc of A in L2.

// f32Micro computes an mr×nr tile C (=|+=) A·B: a is a packed panel (k
// groups of mr values), b holds k rows of nr values ldb floats apart (nr
// when packed), C has stride ldc. A non-nil ep is applied before storing.
type f32Micro func(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep)

// f32Edge is f32Micro for a full-height tile of only n < nr columns (b is a
// packed panel, zero past n): C is read and written in those n columns only.
type f32Edge func(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep, n int)

// f32Ep is the epilogue as the micro-kernels read it: bias points at the
// tile's first row bias (mr values), then C = min(max(C + bias[r], lo), hi).
type f32Ep struct {
	bias   *float32
	lo, hi float32
}

// zeroBias serves epilogues without a bias.
var zeroBias [16]float32

// f32Kernel is one register-tiled float32 micro-kernel and its tile shape.
type f32Kernel struct {
	name   string
	mr, nr int
	micro  f32Micro
	edge   f32Edge // nil: partial tiles go through a scratch tile
}

const (
	kcF32 = 256  // depth of a packed block
	mcF32 = 192  // rows of A per packed block (multiple of every mr)
	ncF32 = 3072 // columns of B per packed block (multiple of every nr)

	maxTile = 256 // largest mr×nr (16x16, 8x32)
)

// directBMaxM is the row count of A up to which a k×n B is read in place
// instead of packed (measured: in place wins clearly up to 64 rows).
const directBMaxM = 64

// f32Scratch is the per-call packing memory, recycled through f32Pool.
type f32Scratch struct {
	a, b []float32
	tile [maxTile]float32
	ep   f32Ep // on the heap already: passing it to the kernel allocates nothing

	// per-tap A panels and B offsets of SgemmTapsEpWS
	tapA   []*float32
	tapOff []int
}

var f32Pool = sync.Pool{New: func() any { return new(f32Scratch) }}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// sgemmPacked computes C (=|+=) A·op(B) with kern, op(B) = Bᵀ when transB
// (B is then n×k). Dimensions are validated by the caller and positive.
func sgemmPacked(kern *f32Kernel, m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool) {
	sgemmDriver(nil, kern, nil, m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate, nil)
}

// packAllA packs the whole m×k A for kern: block pc (of kcF32 depth) starts
// at pc·roundUp(m, mr) and holds every mr-row panel of that depth.
func packAllA(kern *f32Kernel, m, k int, a []float32, lda int) []float32 {
	mp := roundUp(m, kern.mr)
	dst := make([]float32, mp*k)
	for pc := 0; pc < k; pc += kcF32 {
		kb := min(kcF32, k-pc)
		packA(dst[pc*mp:], a, lda, 0, pc, m, kb, kern.mr)
	}
	return dst
}

// sgemmDriver is sgemmPacked with an optional A already packed by packAllA,
// an optional epilogue (validated by the caller) and the packing memory of
// ws, or from f32Pool when ws is nil.
func sgemmDriver(ws *Workspace, kern *f32Kernel, pre []float32, m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool, ep *Epilogue) {
	s := ws.scratch()
	sgemmDriverWS(s, kern, pre, m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate, ep)
	ws.release(s)
}

// sgemmDriverWS is sgemmDriver with the packing memory s.
func sgemmDriverWS(s *f32Scratch, kern *f32Kernel, pre []float32, m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool, ep *Epilogue) {
	if pre != nil && !transB && n <= gemvMaxN && sgemvPacked(kern.mr, pre, m, n, k, b, ldb, c, ldc, accumulate, ep) {
		return
	}
	sgemmDriverB(s, kern, pre, nil, m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate, ep)
}

// sgemmDriverB is sgemmDriverWS with an optional B already packed by
// packAllB (then b is not read).
func sgemmDriverB(s *f32Scratch, kern *f32Kernel, pre, preB []float32, m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool, ep *Epilogue) {
	mr, nr := kern.mr, kern.nr
	mp := roundUp(m, mr)
	kcMax := min(k, kcF32)
	s.a = growF32(s.a, min(roundUp(m, mr), mcF32)*kcMax)
	if preB == nil {
		s.b = growF32(s.b, min(roundUp(n, nr), ncF32)*kcMax)
	}
	tile := s.tile[:mr*nr]
	// A k×n B whose panels serve few A panels is read in place: packing
	// would copy it for little reuse.
	direct := !transB && m <= directBMaxM && preB == nil
	for jc := 0; jc < n; jc += ncF32 {
		nb := min(ncF32, n-jc)
		for pc := 0; pc < k; pc += kcF32 {
			kb := min(kcF32, k-pc)
			acc := accumulate || pc > 0
			var kep *f32Ep // the epilogue runs with the last depth block
			if ep != nil && pc+kb == k {
				kep = &s.ep
				kep.lo, kep.hi = ep.Lo, ep.Hi
			}
			sb := s.b
			switch {
			case preB != nil:
				sb = preB[jc*k+pc*roundUp(nb, nr):]
			case transB:
				packBT(s.b, b, ldb, jc, pc, nb, kb, nr)
			case direct:
				// Full panels are read in place; pack only the last,
				// partial one (at its usual offset).
				if last := nb / nr * nr; last < nb {
					packBN(s.b[last*kb:], b, ldb, jc+last, pc, nb-last, kb, nr)
				}
			default:
				packBN(s.b, b, ldb, jc, pc, nb, kb, nr)
			}
			for ic := 0; ic < m; ic += mcF32 {
				mb := min(mcF32, m-ic)
				pa := s.a
				if pre != nil {
					pa = pre[pc*mp+ic*kb:]
				} else {
					packA(pa, a, lda, ic, pc, mb, kb, mr)
				}
				tileAt := func(jr, ir int) {
					nrr := min(nr, nb-jr)
					bp, bs := &sb[jr*kb], nr
					if direct && nrr == nr {
						bp, bs = &b[pc*ldb+jc+jr], ldb
					}
					mrr := min(mr, mb-ir)
					ap := &pa[ir*kb]
					ci := (ic+ir)*ldc + jc + jr
					if mrr == mr && (nrr == nr || kern.edge != nil) {
						if kep != nil {
							kep.bias = &zeroBias[0]
							if ep.Bias != nil {
								kep.bias = &ep.Bias[ic+ir]
							}
						}
						if nrr == nr {
							kern.micro(kb, ap, bp, bs, &c[ci], ldc, acc, kep)
						} else {
							kern.edge(kb, ap, bp, bs, &c[ci], ldc, acc, kep, nrr)
						}
						return
					}
					kern.micro(kb, ap, bp, bs, &tile[0], nr, false, nil)
					for r := 0; r < mrr; r++ {
						cr := c[ci+r*ldc : ci+r*ldc+nrr]
						tr := tile[r*nr : r*nr+nrr]
						if acc {
							for j, v := range tr {
								cr[j] += v
							}
						} else {
							copy(cr, tr)
						}
						if kep != nil {
							ep.applyRow(cr, ic+ir+r)
						}
					}
				}
				if kb <= rowTilesMaxK {
					// Shallow products: a row panel of C at a time, so
					// that C is written as mr streams, not mb.
					for ir := 0; ir < mb; ir += mr {
						for jr := 0; jr < nb; jr += nr {
							tileAt(jr, ir)
						}
					}
					continue
				}
				for jr := 0; jr < nb; jr += nr {
					for ir := 0; ir < mb; ir += mr {
						tileAt(jr, ir)
					}
				}
			}
		}
	}
}

// rowTilesMaxK is the deepest block for which the driver runs the tiles of
// C row panel by row panel (a variable so that benchmarks can compare).
var rowTilesMaxK = 32

// packA packs rows ic..ic+mb, depth pc..pc+kb of A into mr-row panels:
// panel q starts at q*mr*kb and holds, for each p, mr consecutive values.
// Rows past mb are zero.
func packA(dst, a []float32, lda, ic, pc, mb, kb, mr int) {
	for ir := 0; ir < mb; ir += mr {
		panel := dst[ir*kb : ir*kb+mr*kb]
		rows := min(mr, mb-ir)
		base := (ic+ir)*lda + pc
		switch {
		case rows == 8 && mr == 8:
			packA8(panel, a, base, lda, kb)
		case rows == mr && mr%4 == 0:
			// Four rows per sweep: sequential writes, four read streams.
			for r := 0; r < mr; r += 4 {
				a0 := a[base+r*lda : base+r*lda+kb]
				a1 := a[base+(r+1)*lda : base+(r+1)*lda+kb]
				a2 := a[base+(r+2)*lda : base+(r+2)*lda+kb]
				a3 := a[base+(r+3)*lda : base+(r+3)*lda+kb]
				a1, a2, a3 = a1[:len(a0)], a2[:len(a0)], a3[:len(a0)]
				for p, v := range a0 {
					d := panel[p*mr+r : p*mr+r+4]
					d[0], d[1], d[2], d[3] = v, a1[p], a2[p], a3[p]
				}
			}
		default:
			for r := 0; r < rows; r++ {
				src := a[base+r*lda : base+r*lda+kb]
				for p, v := range src {
					panel[p*mr+r] = v
				}
			}
			for r := rows; r < mr; r++ {
				for p := 0; p < kb; p++ {
					panel[p*mr+r] = 0
				}
			}
		}
	}
}

// packA8 packs eight full rows (the AVX-512 kernel's panel): eight
// columns at a time by packA8AVX where there is AVX (seednet's fc1 at batch
// 32: 12% of its time in the Go loop), the rest here.
func packA8(panel, a []float32, base, lda, kb int) {
	done := packA8Fast(panel, a, base, lda, kb)
	panel, base, kb = panel[8*done:], base+done, kb-done
	if kb == 0 {
		return
	}
	a0 := a[base : base+kb]
	a1 := a[base+lda : base+lda+kb][:len(a0)]
	a2 := a[base+2*lda : base+2*lda+kb][:len(a0)]
	a3 := a[base+3*lda : base+3*lda+kb][:len(a0)]
	a4 := a[base+4*lda : base+4*lda+kb][:len(a0)]
	a5 := a[base+5*lda : base+5*lda+kb][:len(a0)]
	a6 := a[base+6*lda : base+6*lda+kb][:len(a0)]
	a7 := a[base+7*lda : base+7*lda+kb][:len(a0)]
	panel = panel[:8*len(a0)]
	for p, v := range a0 {
		d := panel[8*p : 8*p+8]
		d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7] = v, a1[p], a2[p], a3[p], a4[p], a5[p], a6[p], a7[p]
	}
}

// packAllB packs the whole k×n op(B) for kern (B is n×k when transB):
// block (jc, pc) of sgemmDriverB starts at jc·k + pc·roundUp(nb, nr) and
// holds its nr-column panels as packBN writes them.
func packAllB(kern *f32Kernel, n, k int, b []float32, ldb int, transB bool) []float32 {
	dst := make([]float32, roundUp(n, kern.nr)*k)
	for jc := 0; jc < n; jc += ncF32 {
		nb := min(ncF32, n-jc)
		for pc := 0; pc < k; pc += kcF32 {
			kb := min(kcF32, k-pc)
			d := dst[jc*k+pc*roundUp(nb, kern.nr):]
			if transB {
				packBT(d, b, ldb, jc, pc, nb, kb, kern.nr)
			} else {
				packBN(d, b, ldb, jc, pc, nb, kb, kern.nr)
			}
		}
	}
	return dst
}

// packBN packs columns jc..jc+nb, depth pc..pc+kb of a k×n B into nr-column
// panels: panel q starts at q*nr*kb and holds, for each p, nr values.
func packBN(dst, b []float32, ldb, jc, pc, nb, kb, nr int) {
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : jr*kb+nr*kb]
		cols := min(nr, nb-jr)
		for p := 0; p < kb; p++ {
			off := (pc+p)*ldb + jc + jr
			d := panel[p*nr : p*nr+nr]
			copy(d, b[off:off+cols])
			if cols < nr {
				clear(d[cols:])
			}
		}
	}
}

// packBT is packBN for an n×k B (op(B) = Bᵀ): its panels are packA's
// panels of B's rows.
func packBT(dst, b []float32, ldb, jc, pc, nb, kb, nr int) {
	packA(dst, b, ldb, jc, pc, nb, kb, nr)
}
