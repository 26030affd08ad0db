package blas

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// loop runs f b.N times and reports the rate of ops operations per call in
// unit per second of wall time, and (on Linux) per second of the thread's
// CPU time as "cpu-"+unit: the latter stays meaningful on a machine shared
// with other processes.
func loop(b *testing.B, ops float64, unit string, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPUSeconds()
	for b.Loop() {
		f()
	}
	cpu := threadCPUSeconds() - c0
	b.ReportMetric(ops*float64(b.N)/b.Elapsed().Seconds()/1e9, unit)
	if cpu > 0 {
		b.ReportMetric(ops*float64(b.N)/cpu/1e9, "cpu-"+unit)
	}
}

// Shapes of the engine's GEMMs: conv as im2col (M=out channels, N=output
// pixels, K=in channels×kernel area) and fully connected layers (NT, m=batch).
var (
	nnShapes = [][3]int{ // m, n, k
		{16, 1024, 9},   // seednet conv1
		{32, 256, 144},  // seednet conv2
		{32, 12544, 27}, // mobilenet_v2 stem 3x3 s2
		{16, 12544, 32}, // mobilenet_v2 pointwise 112x112
		{144, 3136, 24}, // mobilenet_v2 expand 56x56
		{64, 784, 192},  // mobilenet_v2 project 28x28
		{384, 196, 64},  // mobilenet_v2 expand 14x14
		{160, 49, 960},  // mobilenet_v2 project 7x7
		{1280, 49, 320}, // mobilenet_v2 last pointwise
		{64, 64, 576},   // tinyresnet l3 c2 (8x8)
		{64, 80, 576},   // tinyresnet l3 c2 per-tap (8x10 padded rows)
		{256, 256, 256}, // square
	}
	ntShapes = [][3]int{
		{1, 128, 2048},  // seednet fc1, batch 1
		{32, 128, 2048}, // seednet fc1, batch 32
		{1, 10, 128},    // seednet fc2
		{32, 10, 128},
		{1, 1000, 1280}, // mobilenet_v2 classifier
	}
)

func benchF32(b *testing.B, name string, shapes [][3]int, transB bool, impls map[string]func(m, n, k int, a []float32, lda int, bm []float32, ldb int, c []float32, ldc int, acc bool)) {
	order := []string{"ref", "go", "fast", "packedA", "avx512-16x16", "avx2"}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(3, 4))
		a, bm, c := randF32(r, m*k), randF32(r, k*n), make([]float32, m*n)
		ldb := n
		if transB {
			ldb = k
		}
		var pa *PackedA
		if !transB { // A pre-packed, as conv weights are
			impls["packedA"] = func(m, n, k int, a []float32, lda int, bm []float32, ldb int, c []float32, ldc int, acc bool) {
				SgemmPacked(pa, n, bm, ldb, c, ldc, acc)
			}
		}
		for _, impl := range order {
			pa = PackA(m, k, a, k)
			fn, ok := impls[impl]
			if !ok {
				continue
			}
			b.Run(fmt.Sprintf("%s/%dx%dx%d", impl, m, n, k), func(b *testing.B) {
				loop(b, 2*float64(m*n*k), "GFLOP/s", func() { fn(m, n, k, a, k, bm, ldb, c, n, false) })
			})
		}
	}
	_ = name
}

func BenchmarkSgemm(b *testing.B) {
	impls := map[string]func(m, n, k int, a []float32, lda int, bm []float32, ldb int, c []float32, ldc int, acc bool){
		"ref": sgemmRef, "go": sgemmGo, "fast": Sgemm,
	}
	for _, kern := range f32Kernels() {
		if kern != f32Kern {
			impls[kern.name] = func(m, n, k int, a []float32, lda int, bm []float32, ldb int, c []float32, ldc int, acc bool) {
				sgemmPacked(kern, m, n, k, a, lda, bm, ldb, false, c, ldc, acc)
			}
		}
	}
	benchF32(b, "Sgemm", nnShapes, false, impls)
}

func BenchmarkSgemmNT(b *testing.B) {
	impls := map[string]func(m, n, k int, a []float32, lda int, bm []float32, ldb int, c []float32, ldc int, acc bool){
		"ref": sgemmNTRef, "go": sgemmNTGo, "fast": SgemmNT,
	}
	benchF32(b, "SgemmNT", ntShapes, true, impls)
}

// s8Shapes are int8 conv (A = weights m×k, B = im2col patches n×k) and fc
// (A = activations batch×k, B = weights out×k) products.
var s8Shapes = [][3]int{
	{16, 1024, 9},   // seednet conv1
	{32, 256, 144},  // seednet conv2
	{1, 128, 2048},  // seednet fc1, batch 1
	{32, 128, 2048}, // seednet fc1, batch 32
	{144, 3136, 24}, // mobilenet_v2-like expand 56x56
	{1280, 49, 320}, // mobilenet_v2-like last pointwise
	{256, 256, 256}, // square
}

func BenchmarkGemmS8(b *testing.B) {
	var pa *PackedS8
	impls := []s8Impl{{"ref", gemmS8Ref}, {"go", gemmS8Go}, {"fast", GemmS8}, {"packedA", func(m, n, k int, a []int8, lda int, bm []int8, ldb int, c []int32, ldc int) {
		GemmS8Packed(pa, n, bm, ldb, c, ldc)
	}}}
	for _, kern := range s8Kernels() {
		if kern != s8Kern {
			impls = append(impls, s8Impl{kern.name, func(m, n, k int, a []int8, lda int, bm []int8, ldb int, c []int32, ldc int) {
				gemmS8Packed(kern, m, n, k, a, lda, bm, ldb, c, ldc)
			}})
		}
	}
	for _, s := range s8Shapes {
		m, n, k := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(7, 8))
		a, bm, c := randS8(r, m*k, 0), randS8(r, n*k, 0), make([]int32, m*n)
		pa = PackS8(m, k, a, k)
		for _, impl := range impls {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", impl.name, m, n, k), func(b *testing.B) {
				loop(b, 2*float64(m*n*k), "GOPS", func() { impl.fn(m, n, k, a, k, bm, k, c, n) })
			})
		}
	}
}

// BenchmarkEpilogue compares a bias+ReLU6 pass after SgemmPacked with the
// fused SgemmPackedEp, on conv shapes with pre-packed weights.
func BenchmarkEpilogue(b *testing.B) {
	for _, s := range nnShapes {
		m, n, k := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(5, 6))
		a, bm, c, bias := randF32(r, m*k), randF32(r, k*n), make([]float32, m*n), randF32(r, m)
		pa := PackA(m, k, a, k)
		ep := Epilogue{Bias: bias, Lo: 0, Hi: 6}
		b.Run(fmt.Sprintf("separate/%dx%dx%d", m, n, k), func(b *testing.B) {
			loop(b, 2*float64(m*n*k), "GFLOP/s", func() {
				SgemmPacked(pa, n, bm, n, c, n, false)
				ep.apply(m, n, c, n)
			})
		})
		b.Run(fmt.Sprintf("fused/%dx%dx%d", m, n, k), func(b *testing.B) {
			loop(b, 2*float64(m*n*k), "GFLOP/s", func() { SgemmPackedEp(pa, n, bm, n, c, n, false, ep) })
		})
	}
}

// BenchmarkRowTiles compares, on shallow products (MobileNetV2's pointwise
// convolutions with 16 to 32 input channels), the driver's tile order: B
// micro-panel outer ("cols", C written as mb row streams) or C row panel
// outer ("rows", rowTilesMaxK).
func BenchmarkRowTiles(b *testing.B) {
	for _, s := range [][3]int{{96, 12544, 16}, {144, 3136, 24}, {192, 784, 32}, {64, 3136, 48}} {
		m, n, k := s[0], s[1], s[2]
		r := rand.New(rand.NewPCG(3, 4))
		pa, bm, c := PackA(m, k, randF32(r, m*k), k), randF32(r, k*n), make([]float32, m*n)
		for _, order := range []string{"cols", "rows"} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", order, m, n, k), func(b *testing.B) {
				saved := rowTilesMaxK
				rowTilesMaxK = 0
				if order == "rows" {
					rowTilesMaxK = k
				}
				defer func() { rowTilesMaxK = saved }()
				loop(b, 2*float64(m*n*k), "GFLOP/s", func() { SgemmPacked(pa, n, bm, n, c, n, false) })
			})
		}
	}
}
