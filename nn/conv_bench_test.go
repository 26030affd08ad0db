package nn

import (
	"fmt"
	"runtime"
	"testing"
)

// convBench is one convolution layer of a reference model.
type convBench struct {
	name                 string
	n, c, h, w, m, k, st int
	group                int
}

var convBenches = []convBench{
	{"seednet_conv2", 1, 16, 16, 16, 32, 3, 1, 1},
	{"seednet_conv2_b8", 8, 16, 16, 16, 32, 3, 1, 1},
	{"tinyres_c16_32", 1, 16, 32, 32, 16, 3, 1, 1},
	{"tinyres_c32_16", 1, 32, 16, 16, 32, 3, 1, 1},
	{"tinyres_c64_8", 1, 64, 8, 8, 64, 3, 1, 1},
	{"mbv2_stem", 1, 3, 224, 224, 32, 3, 2, 1},
	{"mbv2_dw112", 1, 32, 112, 112, 32, 3, 1, 32},
	{"mbv2_dw56s2", 1, 96, 112, 112, 96, 3, 2, 96},
	{"mbv2_pw56", 1, 24, 56, 56, 144, 1, 1, 1},
	{"mbv2_pw7", 1, 960, 7, 7, 160, 1, 1, 1},
	{"mbv3_dw5_14s2", 1, 288, 14, 14, 288, 5, 2, 288},
	{"mbv3_dw5_7", 1, 576, 7, 7, 576, 5, 1, 576},
	{"mbv3_dw5_14", 1, 240, 14, 14, 240, 5, 1, 240},
}

func benchConvKernel(b *testing.B, cb convBench, generic bool, act activation, threads int, opts ...func(*convKernel)) {
	r := newRand(90)
	x := randT(r, cb.n, cb.c, cb.h, cb.w)
	w := randT(r, cb.m, cb.c/cb.group, cb.k, cb.k)
	bias := randT(r, cb.m)
	p := cb.k / 2
	k := &convKernel{win: winAttrs{op: "Conv", strides: []int{cb.st, cb.st}, pads: []int{p, p, p, p}}, grp: cb.group, act: act, generic: generic}
	if !generic {
		k.pack(w) // constant weights, as Compile packs them
	}
	for _, o := range opts {
		o(k)
	}
	in := []*Tensor{x, w, bias}
	ot, err := k.OutputTypes([]Type{x.Type(), w.Type(), bias.Type()})
	if err != nil {
		b.Fatal(err)
	}
	out := []*Tensor{New(Float32, ot[0].Shape...)}
	if b := k.xBorder; b > 0 { // NCHW16c with a border (layout.go)
		x.F32 = randT(r, cb.n*cb.c*(cb.h+2*b)*(cb.w+2*b)).F32
	}
	if b, s := k.yBorder, ot[0].Shape; b > 0 {
		out[0].F32 = make([]float32, s[0]*s[1]*(s[2]+2*b)*(s[3]+2*b))
	}
	rc := &RunContext{Threads: threads}
	relu := &unaryKernel{op: "Relu", kind: actRelu}
	relued := []*Tensor{New(Float32, ot[0].Shape...)}
	b.SetBytes(0)
	benchCPU(b, threads == 1, func() {
		if err := k.Run(rc, in, out); err != nil {
			b.Fatal(err)
		}
		if act == actNone && generic {
			// The unfused baseline: a separate Relu pass.
			_ = relu.Run(rc, out, relued)
		}
	})
	// After benchCPU: its ResetTimer drops the metrics reported before.
	b.ReportMetric(float64(k.MACs([]Type{x.Type(), w.Type()}, nil)), "MACs/op")
}

// benchCPU runs f b.N times on a locked OS thread and, with cpu (the work
// runs on this thread), reports the thread CPU time per call as cpu-µs/op.
func benchCPU(b *testing.B, cpu bool, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	c0 := ThreadCPUSeconds()
	for i := 0; i < b.N; i++ {
		f()
	}
	if c1 := ThreadCPUSeconds(); cpu && c1 > 0 {
		b.ReportMetric((c1-c0)*1e6/float64(b.N), "cpu-µs/op")
	}
}

// BenchmarkConv compares, per layer, the specialised path (direct depthwise,
// 1x1 GEMM, im2col with a fused ReLU) against the generic im2col + GEMM
// followed by a separate Relu, on 1 and 2 threads.
func BenchmarkConv(b *testing.B) {
	for _, cb := range convBenches {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/generic+relu/t%d", cb.name, threads), func(b *testing.B) { benchConvKernel(b, cb, true, actNone, threads) })
			b.Run(fmt.Sprintf("%s/fast+fusedrelu/t%d", cb.name, threads), func(b *testing.B) { benchConvKernel(b, cb, false, actRelu, threads) })
		}
	}
}

func BenchmarkGemm(b *testing.B) {
	for _, s := range []struct{ m, n, k int }{{1, 128, 2048}, {8, 128, 2048}, {1, 1000, 1280}, {64, 128, 2048}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%dx%d/t%d", s.m, s.n, s.k, threads), func(b *testing.B) {
				r := newRand(91)
				a, w, c := randT(r, s.m, s.k), randT(r, s.n, s.k), randT(r, s.n)
				k := &gemmKernel{alpha: 1, beta: 1, transB: true}
				out := []*Tensor{New(Float32, s.m, s.n)}
				rc := &RunContext{Threads: threads}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := k.Run(rc, []*Tensor{a, w, c}, out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkConvBlocking compares pixel-blocked GEMM convolutions (the
// default) with one GEMM per plane (convBlockFloats = 0).
func BenchmarkConvBlocking(b *testing.B) {
	for _, cb := range convBenches {
		if cb.group != 1 {
			continue
		}
		for _, block := range []int{1 << 15, 1 << 17, 1 << 19, 0} {
			b.Run(fmt.Sprintf("%s/block%d", cb.name, block), func(b *testing.B) {
				saved := convBlockFloats
				convBlockFloats = block
				defer func() { convBlockFloats = saved }()
				benchConvKernel(b, cb, false, actRelu, 1)
			})
		}
	}
}

// BenchmarkIm2col compares im2col (row segments copied whole) with the
// element-by-element reference.
func BenchmarkIm2col(b *testing.B) {
	for _, cb := range convBenches {
		if cb.k == 1 || cb.group != 1 {
			continue
		}
		p := cb.k / 2
		a := winAttrs{op: "Conv", strides: []int{cb.st, cb.st}, pads: []int{p, p, p, p}}
		g, err := a.resolve([]int{1, cb.c, cb.h, cb.w}, []int{cb.k, cb.k})
		if err != nil {
			b.Fatal(err)
		}
		x := randT(newRand(92), cb.c, cb.h, cb.w).F32
		P := g.OH * g.OW
		col := make([]float32, cb.c*cb.k*cb.k*P)
		for _, v := range []struct {
			name string
			f    func(*geom, []float32, int, int, int, []float32)
		}{{"fast", im2col}, {"ref", im2colRef}} {
			b.Run(cb.name+"/"+v.name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					v.f(&g, x, cb.c, 0, P, col)
				}
			})
		}
	}
}

// BenchmarkConvPhase compares, per layer, one GEMM per tap on the padded
// planes (stride 1), the phase-plane im2col and the plain one (phaseMinOW
// above the width).
func BenchmarkConvPhase(b *testing.B) {
	for _, cb := range convBenches {
		if cb.group != 1 || cb.k == 1 {
			continue
		}
		for _, v := range []struct {
			name  string
			minOW int
			taps  bool
			exact int
		}{{"exact", 0, true, 24}, {"taps", 0, true, 0}, {"phase", 0, false, 0}, {"rows", 1 << 20, false, 0}} {
			b.Run(cb.name+"/"+v.name, func(b *testing.B) {
				savedOW, savedTaps, savedExact := phaseMinOW, tapGEMM, exactMaxOW
				phaseMinOW, tapGEMM, exactMaxOW = v.minOW, v.taps, v.exact
				defer func() { phaseMinOW, tapGEMM, exactMaxOW = savedOW, savedTaps, savedExact }()
				benchConvKernel(b, cb, false, actRelu, 1)
			})
		}
	}
}

// BenchmarkConvExactPanels compares pathExact against pathTaps where the
// plane coordinates fill no more GEMM panels than the exact columns
// (exactPanelRule), on small stride-1 layers (14x14, 7x7) and a stride-2
// one (which the rule leaves to pathExact).
func BenchmarkConvExactPanels(b *testing.B) {
	for _, cb := range []convBench{
		{"c32_14", 1, 32, 14, 14, 32, 3, 1, 1},
		{"c64_7", 1, 64, 7, 7, 64, 3, 1, 1},
		{"c16_28s2", 1, 16, 28, 28, 32, 3, 2, 1},
	} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/rule=%v", cb.name, on), func(b *testing.B) {
				saved := exactPanelRule
				exactPanelRule = on
				defer func() { exactPanelRule = saved }()
				benchConvKernel(b, cb, false, actRelu, 1)
			})
		}
	}
}
