//go:build amd64 && !purego

package blas

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

//go:noescape
func sgemmKern16x16AVX512(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep)

//go:noescape
func sgemmKern8x32AVX512(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep)

//go:noescape
func sgemmKern6x16AVX2(k int, a, b *float32, ldb int, c *float32, ldc int, acc bool, ep *f32Ep)

//go:noescape
func gemmS8KernVNNI(kg int, a, b unsafe.Pointer, c *int32, ldc int, init *int32)

//go:noescape
func gemmS8KernAVX2(kg int, a, b unsafe.Pointer, c *int32, ldc int, init *int32)

//go:noescape
func gemmS8Narrow4VNNI1(kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32, init *int32)

//go:noescape
func gemmS8Narrow4VNNI2(kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32, init *int32)

//go:noescape
func gemmS8Narrow4VNNI3(kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32, init *int32)

//go:noescape
func gemmS8Narrow4VNNI4(kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32, init *int32)

//go:noescape
func gemmS8Narrow8VNNI1(kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32, init *int32)

//go:noescape
func gemmS8Narrow8VNNI2(kg int, a unsafe.Pointer, lda int, b unsafe.Pointer, t *int32, init *int32)

var (
	s8VNNI = s8Kernel{name: "vnni", mr: 16, nr: 16, vnni: true, micro: gemmS8KernVNNI,
		narrow4: [4]s8Narrow{gemmS8Narrow4VNNI1, gemmS8Narrow4VNNI2, gemmS8Narrow4VNNI3, gemmS8Narrow4VNNI4},
		narrow8: [2]s8Narrow{gemmS8Narrow8VNNI1, gemmS8Narrow8VNNI2}}
	s8AVX2 = s8Kernel{name: "avx2", mr: 6, nr: 16, micro: gemmS8KernAVX2}
)

var (
	// kernAVX512 (8x32: two B vectors, eight register broadcasts of A, 16
	// FMAs per k) measured 5-20% faster in thread CPU time than kern16x16
	// (one B vector, 16 FMAs with embedded broadcasts) on every benchmark
	// shape; the latter is kept as a tested alternative.
	kernAVX512 = f32Kernel{name: "avx512", mr: 8, nr: 32, micro: sgemmKern8x32AVX512, edge: sgemmEdge8x32}
	kern16x16  = f32Kernel{name: "avx512-16x16", mr: 16, nr: 16, micro: sgemmKern16x16AVX512}
	kernAVX2   = f32Kernel{name: "avx2", mr: 6, nr: 16, micro: sgemmKern6x16AVX2}
)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	hasVNNI   = hasAVX512 && cpu.X86.HasAVX512VNNI

	// f32Kern is the float32 micro-kernel in use, nil for plain Go.
	f32Kern = pickF32()
	// s8Kern is the int8 micro-kernel in use, nil for plain Go.
	s8Kern = pickS8()
)

func pickF32() *f32Kernel {
	switch {
	case hasAVX512:
		return &kernAVX512
	case hasAVX2:
		return &kernAVX2
	}
	return nil
}

// f32Kernels lists the kernels this CPU can run, for tests and benchmarks.
func f32Kernels() []*f32Kernel {
	var ks []*f32Kernel
	if hasAVX512 {
		ks = append(ks, &kernAVX512, &kern16x16)
	}
	if hasAVX2 {
		ks = append(ks, &kernAVX2)
	}
	return ks
}

// smallM is the row count below which A·Bᵀ runs as dot products instead of
// packing B (a matrix-vector product for batch 1).
const smallM = 4

func sgemmFast(ws *Workspace, m, n, k int, a []float32, lda int, b []float32, ldb int, transB bool, c []float32, ldc int, accumulate bool, ep *Epilogue) {
	kern := f32Kern
	if kern == nil {
		sgemmGoOp(m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate)
		ep.apply(m, n, c, ldc)
		return
	}
	if transB && m < smallM {
		sgemmNTSmall(m, n, k, a, lda, b, ldb, c, ldc, accumulate)
		ep.apply(m, n, c, ldc)
		return
	}
	sgemmDriver(ws, kern, nil, m, n, k, a, lda, b, ldb, transB, c, ldc, accumulate, ep)
}

func gemmS8Fast(ws *Workspace, m, n, k int, a []int8, lda int, b []int8, ldb int, c []int32, ldc int) {
	kern := s8Kern
	if m < smallM {
		switch {
		case hasVNNI:
			gemmS8Small(ws, m, n, k, a, lda, b, ldb, c, ldc)
			return
		case hasAVX2:
			gemmS8SmallAVX2(m, n, k, a, lda, b, ldb, c, ldc)
			return
		}
	}
	if kern == nil {
		gemmS8Go(m, n, k, a, lda, b, ldb, c, ldc)
		return
	}
	gemmS8Driver(ws, kern, nil, nil, m, n, k, a, lda, b, ldb, c, ldc)
}

func pickS8() *s8Kernel {
	switch {
	case hasVNNI:
		return &s8VNNI
	case hasAVX2:
		return &s8AVX2
	}
	return nil
}

// s8Kernels lists the int8 kernels this CPU can run.
func s8Kernels() []*s8Kernel {
	var ks []*s8Kernel
	if hasVNNI {
		ks = append(ks, &s8VNNI)
	}
	if hasAVX2 {
		ks = append(ks, &s8AVX2)
	}
	return ks
}
