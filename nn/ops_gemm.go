package nn

import (
	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

// Gemm and MatMul on float32.
//
// Gemm: Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A (M×K), B' =
// transB ? Bᵀ : B (K×N), C unidirectionally broadcast to M×N. Above a size
// threshold the rows or the columns of Y, whichever are more, are shared among
// RunContext.Threads goroutines. Like Conv, Gemm takes the non-ONNX
// "activation" attribute ("Relu" or "Clip" with "activation_min" and
// "activation_max"), applied after the bias; FuseActivations sets it.
//
// MatMul: numpy matmul semantics, 1-D operands promoted, batch dimensions
// broadcast.

func init() {
	Register("Gemm", buildGemm)
	Register("MatMul", func(bc *BuildContext) (Kernel, error) { return matMulKernel{}, nil })
}

type gemmKernel struct {
	alpha, beta    float32
	transA, transB bool
	act            activation
	actA, actB     float32
	// packed holds constant weights B packed once for the GEMM (nil when
	// B is computed); wptr and wlen identify the tensor it was packed from.
	packed *blas.PackedB
	wptr   *float32
	wlen   int
}

// gemmPackedMinM is the fewest rows of A (images) for which Gemm runs on the
// pre-packed weights: below it blas runs dot products straight from B.
const gemmPackedMinM = 4

func buildGemm(bc *BuildContext) (Kernel, error) {
	n := bc.Node
	k := &gemmKernel{
		alpha:  attrFloatAny(n, "alpha", 1),
		beta:   attrFloatAny(n, "beta", 1),
		transA: n.AttrInt("transA", 0) != 0,
		transB: n.AttrInt("transB", 0) != 0,
	}
	var err error
	if k.act, k.actA, k.actB, err = readFusedActivation(n); err != nil {
		return nil, err
	}
	if w := bc.InputConst(1); w != nil && w.DType == Float32 && len(w.Shape) == 2 && len(w.F32) > 0 && len(w.F32) == NumElements(w.Shape) {
		// Packing B at every call was most of a fully connected layer's
		// time at batch 16-32 (seednet fc1: 1 MB of weights per call).
		kk, nn := w.Shape[0], w.Shape[1]
		if k.transB {
			kk, nn = nn, kk
		}
		k.packed = blas.PackB(kk, nn, w.F32, w.Shape[1], k.transB)
		k.wptr, k.wlen = &w.F32[0], len(w.F32)
	}
	return k, nil
}

// dims returns M, N, K for the given inputs, validating shapes.
func (k *gemmKernel) dims(in []Type) (m, n, kk int, err error) {
	if err = needInputs("Gemm", in, 2); err != nil {
		return
	}
	for i := 0; i < 3; i++ {
		if present(in, i) {
			if err = needF32("Gemm", in, i); err != nil {
				return
			}
		}
	}
	a, b := in[0].Shape, in[1].Shape
	if len(a) != 2 || len(b) != 2 {
		err = shapeErrf("Gemm operands %v and %v must be 2-D", a, b)
		return
	}
	if err = checkShape("Gemm", 1, b); err != nil {
		return
	}
	m, kk = a[0], a[1]
	if k.transA {
		m, kk = a[1], a[0]
	}
	kb, n := b[0], b[1]
	if k.transB {
		kb, n = b[1], b[0]
	}
	if kk >= 0 && kk != kb {
		err = shapeErrf("Gemm inner dimensions differ: A %v (transA=%v), B %v (transB=%v)", a, k.transA, b, k.transB)
		return
	}
	if m < 0 || kk < 0 {
		if m >= 0 || k.transA {
			err = shapeErrf("Gemm operand A has dynamic shape %v", a)
			return
		}
	}
	if present(in, 2) {
		c := in[2].Shape
		if len(c) > 2 {
			err = shapeErrf("Gemm C has shape %v, want rank <= 2", c)
			return
		}
		ok := true
		if len(c) == 2 {
			ok = (c[0] == 1 || c[0] == m) && (c[1] == 1 || c[1] == n)
		} else if len(c) == 1 {
			ok = c[0] == 1 || c[0] == n
		}
		if !ok {
			err = shapeErrf("Gemm C has shape %v, cannot broadcast to [%d %d]", c, m, n)
		}
	}
	return
}

func (k *gemmKernel) OutputTypes(in []Type) ([]Type, error) {
	m, n, _, err := k.dims(in)
	if err != nil {
		return nil, err
	}
	return []Type{{DType: Float32, Shape: []int{m, n}}}, nil
}

// MACs is M·N·K (a dynamic M counts as 1).
func (k *gemmKernel) MACs(in, out []Type) int64 {
	m, n, kk, err := k.dims(in)
	if err != nil {
		return 0
	}
	return int64(max(m, 1)) * int64(n) * int64(kk)
}

type gemmJob struct {
	k          *gemmKernel
	m, n, kk   int
	a, b, y, c []float32
	lda, ldb   int
	cr, cc     int // C rows, cols (after promotion to 2-D), 0 when absent
	byCols     bool
	packed     *blas.PackedB     // B pre-packed (then units are row slabs)
	slab       int               // rows or columns per unit
	ws         []*blas.Workspace // GEMM packing memory per worker
}

// gemmSlab is the number of rows or columns of Y in one unit of parallel
// work. A variable so that benchmarks can compare slab sizes.
var gemmSlab = 64

func (k *gemmKernel) Run(rc *RunContext, in, out []*Tensor) error {
	var types [3]Type
	for i := 0; i < len(in) && i < 3; i++ {
		if in[i] != nil {
			types[i] = in[i].Type()
		}
	}
	m, n, kk, err := k.dims(types[:min(len(in), 3)])
	if err != nil {
		return err
	}
	j := &rc.kernelJobs().gemm
	*j = gemmJob{k: k, m: m, n: n, kk: kk, a: in[0].F32, b: in[1].F32, y: out[0].F32, lda: kk, ldb: n}
	if k.transB {
		j.ldb = kk
	}
	if k.transA {
		// Materialise Aᵀ (M×K) in scratch.
		t := rc.ScratchF32(m * kk)
		src := in[0].F32
		for p := 0; p < kk; p++ {
			row := src[p*m : (p+1)*m]
			for i, v := range row {
				t[i*kk+p] = v
			}
		}
		j.a = t
	}
	if presentT(in, 2) && k.beta != 0 {
		c := in[2]
		j.c = c.F32
		switch len(c.Shape) {
		case 0:
			j.cr, j.cc = 1, 1
		case 1:
			j.cr, j.cc = 1, c.Shape[0]
		default:
			j.cr, j.cc = c.Shape[0], c.Shape[1]
		}
	}
	work := int64(m) * int64(n) * int64(kk)
	// Split the larger side: each goroutine packs only its part of the
	// split operand, and with few rows (a fully connected layer on a small
	// batch) packing the weights is most of the work.
	// A unit is a slab of gemmSlab rows or columns: the packed kernels
	// want wide operands, and narrow slices measured slower than none.
	j.slab = gemmSlab
	// Row slabs only: with more threads than slabs the columns are split
	// instead, on B as given.
	if k.packed != nil && m >= gemmPackedMinM && len(j.b) == k.wlen && &j.b[0] == k.wptr &&
		(rc.Threads <= 1 || (m+j.slab-1)/j.slab >= rc.Threads) {
		j.packed = k.packed
	}
	side := m
	if n >= m && j.packed == nil {
		j.byCols = true
		side = n
	}
	units := (side + j.slab - 1) / j.slab
	blocks := blocksFor(rc.Threads, units, work)
	j.ws = rc.gemmWorkspaces(blocks)
	rc.parallelFor(blocks, units, j)
	*j = gemmJob{}
	return nil
}

// runRange computes the row (or column, byCols) slabs [lo, hi) of Y.
func (j *gemmJob) runRange(lo, hi, worker int) {
	lo, hi = lo*j.slab, hi*j.slab
	r0, r1, c0, c1 := lo, min(hi, j.m), 0, j.n
	if j.byCols {
		r0, r1, c0, c1 = 0, j.m, lo, min(hi, j.n)
	}
	if r1 <= r0 || c1 <= c0 {
		return
	}
	a := j.a[r0*j.lda:]
	y := j.y[r0*j.n+c0:]
	if j.packed != nil {
		blas.SgemmPackedBWS(j.ws[worker], r1-r0, a, j.lda, j.packed, y, j.n, false)
	} else if j.k.transB {
		blas.SgemmNTWS(j.ws[worker], r1-r0, c1-c0, j.kk, a, j.lda, j.b[c0*j.ldb:], j.ldb, y, j.n, false)
	} else {
		blas.SgemmWS(j.ws[worker], r1-r0, c1-c0, j.kk, a, j.lda, j.b[c0:], j.ldb, y, j.n, false)
	}
	alpha, beta := j.k.alpha, j.k.beta
	for r := r0; r < r1; r++ {
		row := j.y[r*j.n+c0 : r*j.n+c1]
		if alpha != 1 {
			for i := range row {
				row[i] *= alpha
			}
		}
		if j.c != nil {
			cr := 0
			if j.cr > 1 {
				cr = r
			}
			crow := j.c[cr*j.cc : (cr+1)*j.cc]
			if j.cc == 1 {
				v := beta * crow[0]
				for i := range row {
					row[i] += v
				}
			} else {
				crow = crow[c0:c1]
				if beta == 1 && alpha == 1 && (j.k.act == actRelu || j.k.act == actClip) {
					// The usual fully connected layer: bias and
					// activation by the vector kernels (a Go loop was
					// 3% of seednet's fc1 at batch 32).
					addActTo(j.k.act, j.k.actA, j.k.actB, row, row, crow[:len(row)])
					continue
				}
				if beta == 1 {
					for i := range row {
						row[i] += crow[i]
					}
				} else {
					for i := range row {
						row[i] += beta * crow[i]
					}
				}
			}
		}
		applyAct(j.k.act, j.k.actA, j.k.actB, row)
	}
}

// matMulKernel is numpy-style MatMul on float32.
type matMulKernel struct{}

// matmulDims resolves the broadcast batch shape and M, N, K.
func matmulDims(in []Type) (batch []int, m, n, k int, err error) {
	if err = needInputs("MatMul", in, 2); err != nil {
		return
	}
	if err = needF32("MatMul", in, 0); err != nil {
		return
	}
	if err = needF32("MatMul", in, 1); err != nil {
		return
	}
	a, b := in[0].Shape, in[1].Shape
	if len(a) == 0 || len(b) == 0 {
		err = shapeErrf("MatMul operands %v and %v must have rank >= 1", a, b)
		return
	}
	if len(a) > maxBroadcastRank || len(b) > maxBroadcastRank {
		err = shapeErrf("MatMul operand rank above %d", maxBroadcastRank)
		return
	}
	for _, s := range [][]int{a, b} {
		if err = checkShape("MatMul", 0, s); err != nil {
			return
		}
	}
	if len(a) == 1 {
		m, k = 1, a[0]
	} else {
		m, k = a[len(a)-2], a[len(a)-1]
	}
	kb := b[0]
	if len(b) == 1 {
		n = 1
	} else {
		kb, n = b[len(b)-2], b[len(b)-1]
	}
	if k != kb {
		err = shapeErrf("MatMul inner dimensions differ: %v · %v", a, b)
		return
	}
	ab, bb := []int{}, []int{}
	if len(a) > 2 {
		ab = a[:len(a)-2]
	}
	if len(b) > 2 {
		bb = b[:len(b)-2]
	}
	batch, err = broadcastShape("MatMul", ab, bb)
	return
}

func (matMulKernel) OutputTypes(in []Type) ([]Type, error) {
	batch, m, n, _, err := matmulDims(in)
	if err != nil {
		return nil, err
	}
	s := append([]int(nil), batch...)
	if len(in[0].Shape) > 1 {
		s = append(s, m)
	}
	if len(in[1].Shape) > 1 {
		s = append(s, n)
	}
	return []Type{{DType: Float32, Shape: s}}, nil
}

// MACs is batch·M·N·K.
func (matMulKernel) MACs(in, out []Type) int64 {
	batch, m, n, k, err := matmulDims(in)
	if err != nil {
		return 0
	}
	return int64(NumElements(batch)) * int64(m) * int64(n) * int64(k)
}

func (matMulKernel) Run(rc *RunContext, in, out []*Tensor) error {
	a, b, y := in[0], in[1], out[0]
	as, bs := a.Shape, b.Shape
	var m, k, n int
	if len(as) == 1 {
		m, k = 1, as[0]
	} else {
		m, k = as[len(as)-2], as[len(as)-1]
	}
	if len(bs) == 1 {
		n = 1
	} else {
		n = bs[len(bs)-1]
	}
	// Batch strides of a and b over the output batch dims (0 where broadcast).
	ab, bb := 0, 0
	if len(as) > 2 {
		ab = len(as) - 2
	}
	if len(bs) > 2 {
		bb = len(bs) - 2
	}
	rank := max(ab, bb)
	var dims, sa, sb [maxBroadcastRank]int
	accA, accB := m*k, k*n
	for i := rank - 1; i >= 0; i-- {
		da, db := 1, 1
		if j := ab - rank + i; j >= 0 {
			da = as[j]
		}
		if j := bb - rank + i; j >= 0 {
			db = bs[j]
		}
		dims[i] = max(da, db)
		if da != 1 {
			sa[i] = accA
			accA *= da
		}
		if db != 1 {
			sb[i] = accB
			accB *= db
		}
	}
	total := 1
	for i := 0; i < rank; i++ {
		total *= dims[i]
	}
	if total*m*n != len(y.F32) {
		return shapeErrf("MatMul output has %d values, want %d", len(y.F32), total*m*n)
	}
	ws := rc.gemmWorkspaces(1)[0]
	var idx [maxBroadcastRank]int
	for t := 0; t < total; t++ {
		oa, ob := 0, 0
		for i := 0; i < rank; i++ {
			oa += idx[i] * sa[i]
			ob += idx[i] * sb[i]
		}
		blas.SgemmWS(ws, m, n, k, a.F32[oa:], k, b.F32[ob:], n, y.F32[t*m*n:], n, false)
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < dims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return nil
}
