package blas

import "fmt"

// Pre-packed A operands: weights packed once when a layer is compiled, so
// that every call (and every goroutine's block of C) skips packing them.

// PackedA is a float32 m×k matrix packed for the A operand of SgemmPacked
// and SgemmPackedNT (conv weights out×(in·kh·kw), fc weights out×in). It is
// read-only after PackA and safe for concurrent use.
type PackedA struct {
	m, k int
	kern *f32Kernel // nil: dense copy for the plain-Go path
	data []float32
}

// PackA packs the m×k matrix A (stride lda) for the micro-kernel of this CPU.
func PackA(m, k int, a []float32, lda int) *PackedA {
	checkOperand(m, k, len(a), lda, "a")
	p := &PackedA{m: m, k: k, kern: f32Kern}
	if m == 0 || k == 0 {
		return p
	}
	if p.kern != nil {
		p.data = packAllA(p.kern, m, k, a, lda)
		return p
	}
	p.data = make([]float32, m*k)
	for i := 0; i < m; i++ {
		copy(p.data[i*k:i*k+k], a[i*lda:i*lda+k])
	}
	return p
}

// checkOperand validates a rows×cols matrix name with stride ld in a slice
// of length l.
func checkOperand(rows, cols, l, ld int, name string) {
	switch {
	case rows < 0 || cols < 0:
		panic("blas: negative dimension")
	case rows > 1 && ld < cols:
		panic("blas: bad ld" + name)
	case rows > 0 && cols > 0 && l < (rows-1)*ld+cols:
		panic("blas: insufficient length of " + name)
	}
}

// scratch returns the packing memory of ws, or of f32Pool when ws is nil
// (hand it back with release).
func (ws *Workspace) scratch() *f32Scratch {
	if ws != nil {
		return &ws.s
	}
	return f32Pool.Get().(*f32Scratch)
}

// release returns s, from ws.scratch, to f32Pool when it came from there.
func (ws *Workspace) release(s *f32Scratch) {
	if ws == nil {
		f32Pool.Put(s)
	}
}

// Rows returns m.
func (p *PackedA) Rows() int { return p.m }

// Cols returns k.
func (p *PackedA) Cols() int { return p.k }

// SgemmPacked computes C = A·B (or C += A·B) with A packed by PackA: B is
// k×n (ldb), C is m×n (ldc). Split the work across goroutines by columns
// (B and C offset by the first column).
func SgemmPacked(pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmPackedOp(pa, n, b, ldb, false, c, ldc, accumulate, nil, nil)
}

// Workspace is packing memory for the float32 GEMM. The entry points taking
// one (those named ...WS) use it instead of the package's
// sync.Pool, which can miss (and allocate) when calls move between
// goroutines or OS threads; a caller keeping one Workspace per goroutine
// allocates nothing once they have grown. The zero value is ready to use; a
// Workspace must not be used by two calls at once.
type Workspace struct {
	s f32Scratch
	q s8Scratch
}

// SgemmPackedWS is SgemmPacked with the packing memory of ws.
func SgemmPackedWS(ws *Workspace, pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmPackedOp(pa, n, b, ldb, false, c, ldc, accumulate, nil, ws)
}

// SgemmPackedEpWS is SgemmPackedEp with the packing memory of ws.
func SgemmPackedEpWS(ws *Workspace, pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ep Epilogue) {
	ep.check(pa.m)
	sgemmPackedOp(pa, n, b, ldb, false, c, ldc, accumulate, &ep, ws)
}

// SgemmPackedEp is SgemmPacked followed by the epilogue ep (bias per row of
// C, i.e. per output channel of a convolution, and a clamp), applied while
// the tile is in registers.
func SgemmPackedEp(pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ep Epilogue) {
	ep.check(pa.m)
	sgemmPackedOp(pa, n, b, ldb, false, c, ldc, accumulate, &ep, nil)
}

// SgemmPackedNT computes C = A·Bᵀ (or C += A·Bᵀ) with A packed by PackA: B
// is n×k (ldb), C is m×n (ldc). With A the weights of a fully connected
// layer (out×in) and B its input (batch×in), C is the output transposed
// (out×batch); at batch 1 it is the output.
//
// At batch 1 (n < 4) prefer SgemmNT(1, out, in, x, …, W, …): it runs dot
// products, while a pre-packed A pads n up to the kernel's tile width.
func SgemmPackedNT(pa *PackedA, n int, b []float32, ldb int, c []float32, ldc int, accumulate bool) {
	sgemmPackedOp(pa, n, b, ldb, true, c, ldc, accumulate, nil, nil)
}

func sgemmPackedOp(pa *PackedA, n int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool, ep *Epilogue, ws *Workspace) {
	m, k := pa.m, pa.k
	if transB {
		checkDims(m, n, k, len(pa.data), k, n, len(b), ldb, k, len(c), ldc)
	} else {
		checkDims(m, n, k, len(pa.data), k, k, len(b), ldb, n, len(c), ldc)
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			zeroC(m, n, c, ldc)
		}
		ep.apply(m, n, c, ldc)
		return
	}
	if pa.kern == nil {
		sgemmGoOp(m, n, k, pa.data, k, b, ldb, transB, c, ldc, accumulate)
		ep.apply(m, n, c, ldc)
		return
	}
	sgemmDriver(ws, pa.kern, pa.data, m, n, k, nil, 0, b, ldb, transB, c, ldc, accumulate, ep)
}

// String describes the packing, for logs.
func (p *PackedA) String() string {
	name := "go"
	if p.kern != nil {
		name = p.kern.name
	}
	return fmt.Sprintf("blas.PackedA(%dx%d, %s)", p.m, p.k, name)
}

// PackedS8 is an int8 m×k matrix (k-contiguous) packed for the A operand of
// GemmS8Packed (int8 conv weights out×(in·kh·kw)). It is read-only after
// PackS8 and safe for concurrent use.
type PackedS8 struct {
	m, k  int
	kern  *s8Kernel // nil: dense copy for the plain-Go path
	data  []byte
	init  []int32
	dense []int8
}

// PackS8 packs the m×k int8 matrix A (stride lda) for the int8 micro-kernel
// of this CPU.
func PackS8(m, k int, a []int8, lda int) *PackedS8 {
	switch {
	case m < 0 || k < 0:
		panic("blas: negative dimension")
	case m > 1 && lda < k:
		panic("blas: bad lda")
	case m > 0 && k > 0 && len(a) < (m-1)*lda+k:
		panic("blas: insufficient length of a")
	}
	return packS8With(s8Kern, m, k, a, lda)
}

// packS8With is PackS8 for the micro-kernel kern (nil: plain Go).
func packS8With(kern *s8Kernel, m, k int, a []int8, lda int) *PackedS8 {
	p := &PackedS8{m: m, k: k, kern: kern}
	if m == 0 || k == 0 {
		return p
	}
	if p.kern == nil || m < smallM {
		p.dense = make([]int8, m*k)
		for i := 0; i < m; i++ {
			copy(p.dense[i*k:i*k+k], a[i*lda:i*lda+k])
		}
		return p
	}
	{
		l := s8Geometry(p.kern, m, k)
		p.data = make([]byte, l.mp/p.kern.mr*l.panelA)
		p.init = make([]int32, l.mp)
		packAllS8(p.kern, l, p.data, p.init, m, k, a, lda)
	}
	return p
}

// Rows returns m.
func (p *PackedS8) Rows() int { return p.m }

// Cols returns k.
func (p *PackedS8) Cols() int { return p.k }

// GemmS8Packed computes C = A·Bᵀ in int32 with A packed by PackS8: B is n×k
// int8 (ldb), C is m×n (ldc). Bit-exact like GemmS8. Split the work across
// goroutines by rows of B (columns of C).
func GemmS8Packed(pa *PackedS8, n int, b []int8, ldb int, c []int32, ldc int) {
	GemmS8PackedWS(nil, pa, n, b, ldb, c, ldc)
}

// GemmS8PackedWS is GemmS8Packed with the scratch memory of ws (nil: a
// pool shared by goroutines, which allocates after a GC empties it).
func GemmS8PackedWS(ws *Workspace, pa *PackedS8, n int, b []int8, ldb int, c []int32, ldc int) {
	m, k := pa.m, pa.k
	checkDims(m, n, k, m*k, k, n, len(b), ldb, k, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			clear(c[i*ldc : i*ldc+n])
		}
		return
	}
	if pa.dense != nil {
		gemmS8Fast(ws, m, n, k, pa.dense, k, b, ldb, c, ldc)
		return
	}
	gemmS8Driver(ws, pa.kern, pa.data, pa.init, m, n, k, nil, 0, b, ldb, c, ldc)
}

// PackedB is a float32 k×n matrix packed for the B operand of
// SgemmPackedBWS: the weights of a fully connected layer, multiplied by a
// batch of activations as A (rows = images), as MLAS's packed-B GEMM does.
// It is read-only after PackB and safe for concurrent use.
type PackedB struct {
	k, n int
	kern *f32Kernel // nil: dense k×n copy for the plain-Go path
	data []float32
}

// PackB packs op(B) (k×n; B is n×k with stride ldb when transB, else k×n)
// for the micro-kernel of this CPU.
func PackB(k, n int, b []float32, ldb int, transB bool) *PackedB {
	if transB {
		checkOperand(n, k, len(b), ldb, "b")
	} else {
		checkOperand(k, n, len(b), ldb, "b")
	}
	p := &PackedB{k: k, n: n, kern: f32Kern}
	if k == 0 || n == 0 {
		return p
	}
	if p.kern != nil {
		p.data = packAllB(p.kern, n, k, b, ldb, transB)
		return p
	}
	p.data = make([]float32, k*n)
	for i := 0; i < k; i++ {
		for j := 0; j < n; j++ {
			if transB {
				p.data[i*n+j] = b[j*ldb+i]
			} else {
				p.data[i*n+j] = b[i*ldb+j]
			}
		}
	}
	return p
}

// Rows returns k.
func (p *PackedB) Rows() int { return p.k }

// Cols returns n.
func (p *PackedB) Cols() int { return p.n }

// SgemmPackedBWS computes C = A·B (or C += A·B) with B packed by PackB: A is
// m×k (lda), C is m×n (ldc), and ws the packing memory of A (nil: a
// sync.Pool's).
func SgemmPackedBWS(ws *Workspace, m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, accumulate bool) {
	n, k := pb.n, pb.k
	checkDims(m, n, k, len(a), lda, k, len(pb.data), n, n, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		if !accumulate {
			zeroC(m, n, c, ldc)
		}
		return
	}
	if pb.kern == nil {
		sgemmGoOp(m, n, k, a, lda, pb.data, n, false, c, ldc, accumulate)
		return
	}
	s := ws.scratch()
	defer ws.release(s)
	sgemmDriverB(s, pb.kern, nil, pb.data, m, n, k, a, lda, nil, 0, false, c, ldc, accumulate, nil)
}
