package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// TestNCHWcRowsMatchesRef checks the kernels against nchwcRowsRef for
// every block count, stride and pixel count, over several rows and chunks,
// with windows, dilations, channel counts of the last block, residuals and a
// NaN input (which the clamp passes through, as the element kernels do),
// and that they write nothing else.
func TestNCHWcRowsMatchesRef(t *testing.T) {
	if len(nchwcISAs()) == 0 {
		t.Skip("no assembly kernels")
	}
	savedAsm, savedWide := nchwcAsm, nchwcWide
	defer func() { nchwcAsm, nchwcWide = savedAsm, savedWide }()
	r := newRand(181)
	for _, wide := range nchwcISAs() {
		nchwcWide = wide
		testNCHWcRows(t, r, wide)
	}
}

func testNCHWcRows(t *testing.T, r *rand.Rand, wide bool) {
	for f := 1; f <= nchwcMaxBlocks(); f++ {
		for s := 1; s <= 2; s++ {
			for n := 1; n <= nchwcMaxPixels(f); n++ {
				for _, lay := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					testNCHWcCall(t, r, wide, f, s, n, 1, lay[0], lay[1])
				}
			}
		}
		// Grouped calls: 2-3 rows of 2-8 pixels (and shapes without a
		// grouped kernel, which take the reference).
		for g := 2; g <= 4; g++ {
			for n := 1; n <= 9 && g*n <= nchwcMaxPixels(f)+1; n++ {
				for _, lay := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
					testNCHWcCall(t, r, wide, f, 1, n, g, lay[0], lay[1])
				}
			}
		}
	}
}

// testNCHWcCall checks one kernel call of f blocks, stride s, n pixels in
// each of groups groups, input in NCHW16c (bx) or NCHW, output likewise
// (by).
func testNCHWcCall(t *testing.T, r *rand.Rand, wide bool, f, s, n, groups int, bx, by bool) {
	cg, kh, kw := 1+(n*7+f)%9, 1+(n+f)%7, 1+(n*3+s)%7
	d := 1 + n%2
	chunks, rows := 1+n%3, 1+(n+f)%3
	rowW := chunks*n*s + kw*d + 3
	inRows := rows*2 + kh*d + 2*groups
	c := nchwcCall{f: f, n: n, s: s, cb: 1, cg: cg, kh: kh, kw: kw, xcs: rowW*inRows + 5, px: 1, drow: d * rowW, dcol: d}
	xrs := 2 * rowW
	if bx {
		// 1-2 blocks of 16 channels, pixels 16 floats apart.
		c.cb, c.cg, c.xcs, c.px = 1+n%2, 16, 1, 16
		c.xbs = 16*rowW*inRows + 5
		c.drow, c.dcol, xrs = 16*d*rowW, 16*d, 32*rowW
	}
	c.wbs, c.ldt = c.cb*c.cg*kh*kw*16, 16*((n+15)&^15)
	c.x = randT(r, max(c.xcs*c.cg, c.cb*c.xbs)).F32
	c.x[rowW+1] = float32(math.NaN())
	c.w = randT(r, f*c.wbs).F32
	yrs := chunks*n + 3
	ldy := yrs*rows*groups + 1
	a := nchwcRows{c: c, chunks: chunks, rows: rows, xrs: xrs, ldy: ldy, yrs: yrs, mlast: 1 + (n*5+f+s)%16, lo: -0.5, hi: 0.75, blocked: by}
	if groups > 1 {
		// Each group a row (and a pixel) below the last in the input, its
		// outputs after all rows of the last.
		a.groups, a.xgs, a.ygs = groups, c.drow/d+c.px, yrs*rows
		c.ldt = 16 * nchwcTile(n, groups)
	}
	if by {
		a.mlast = 16
	}
	a.bias = randT(r, 16*f).F32
	var res []float32
	if n%2 == 1 {
		res = randT(r, 16*f*ldy).F32
	}
	var out [2][]float32
	for i, asm := range []bool{false, true} {
		nchwcAsm = asm
		out[i] = make([]float32, 16*f*ldy)
		for j := range out[i] {
			out[i][j] = 7
		}
		a.c.tile = make([]float32, f*c.ldt)
		a.c.ldt = c.ldt
		a.y, a.r = out[i], res
		nchwcRun(&a)
	}
	written := 0
	for i, w := range out[0] {
		g := out[1][i]
		if w != 7 {
			written++
		}
		if math.IsNaN(float64(w)) != math.IsNaN(float64(g)) || math.Abs(float64(g-w)) > 1e-4*math.Sqrt(float64(c.cb*c.cg*kh*kw)) {
			t.Fatalf("wide %v f%d s%d n%d groups %d in NCHW16c %v out %v (%d blocks of %d channels, %dx%d, %d chunks, %d rows, mlast %d): [%d] = %v, want %v", wide, f, s, n, groups, bx, by, c.cb, c.cg, kh, kw, chunks, rows, a.mlast, i, g, w)
		}
	}
	if want := rows * chunks * n * groups * ((f-1)*16 + a.mlast); written < want*9/10 {
		t.Fatalf("f%d s%d n%d: the reference wrote %d values, want %d", f, s, n, written, want)
	}
}

// nchwcLadder are geometries pathNCHWc takes: windows 1 to 7, strides 1 and
// 2, dilation, pads, odd planes, groups, Mg not a multiple of 16.
var nchwcLadder = []fpConvSpec{
	{n: 1, c: 16, h: 32, w: 32, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 2, c: 16, h: 14, w: 14, m: 32, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 1, c: 16, h: 32, w: 32, m: 32, kh: 3, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 1, c: 64, h: 8, w: 8, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 1, c: 32, h: 16, w: 16, m: 64, kh: 1, kw: 1, group: 1, sh: 2, sw: 2, dh: 1, dw: 1},
	{n: 1, c: 5, h: 13, w: 11, m: 20, kh: 5, kw: 5, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}},
	{n: 1, c: 4, h: 17, w: 15, m: 70, kh: 7, kw: 7, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{3, 3, 3, 3}, bias: true},
	{n: 2, c: 8, h: 12, w: 19, m: 33, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 2, dw: 2, pads: [4]int{2, 2, 2, 2}, bias: true},
	{n: 1, c: 12, h: 9, w: 10, m: 36, kh: 3, kw: 2, group: 2, sh: 2, sw: 1, dh: 1, dw: 2, pads: [4]int{0, 1, 2, 0}, bias: true},
	{n: 1, c: 6, h: 40, w: 45, m: 48, kh: 4, kw: 6, group: 1, sh: 1, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 3, 2, 2}},
	{n: 3, c: 24, h: 7, w: 7, m: 17, kh: 2, kw: 2, group: 1, sh: 1, sw: 1, dh: 1, dw: 1},
	{n: 1, c: 8, h: 5, w: 70, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 1, c: 32, h: 7, w: 7, m: 200, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // threads share the channels
	{n: 2, c: 8, h: 1, w: 40, m: 24, kh: 1, kw: 5, group: 1, sh: 1, sw: 2, dh: 1, dw: 1, pads: [4]int{0, 2, 0, 2}, bias: true},  // a 1-D convolution
	{n: 1, c: 3, h: 23, w: 21, m: 16, kh: 7, kw: 1, group: 1, sh: 2, sw: 1, dh: 1, dw: 1, pads: [4]int{3, 0, 3, 0}},             // 7x1, an RGB stem's 3 channels
	{n: 2, c: 256, h: 15, w: 17, m: 40, kh: 1, kw: 1, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, bias: true},                         // a deep 1x1 (nchwcPointwise)
	{n: 1, c: 32, h: 9, w: 11, m: 32, kh: 3, kw: 3, group: 2, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // groups of 16: NCHW16c in and out
	{n: 2, c: 16, h: 10, w: 13, m: 32, kh: 3, kw: 3, group: 1, sh: 2, sw: 1, dh: 2, dw: 2, pads: [4]int{2, 2, 2, 2}},            // NCHW16c padded by 2 (padRowsGo)
	{n: 2, c: 1, h: 12, w: 11, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // a grey stem (thinStem)
	{n: 1, c: 2, h: 9, w: 14, m: 32, kh: 5, kw: 5, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}},              // two channels, 5x5 s2
	{n: 3, c: 32, h: 2, w: 2, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},  // planes of a few columns: grouped calls
	{n: 2, c: 16, h: 5, w: 3, m: 32, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},  // grouped, and a row left over
	{n: 1, c: 32, h: 7, w: 4, m: 48, kh: 3, kw: 3, group: 1, sh: 2, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}},              // grouped rows 2 input rows apart
	{n: 1, c: 128, h: 2, w: 2, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // grouped, the threads sharing the channels
}

// TestConvNCHWcLadder runs pathNCHWc (the assembly and the Go reference)
// against convRef, plain and with the fused residual and activations, and
// against itself without skipping the padding's window rows, bit for bit.
func TestConvNCHWcLadder(t *testing.T) {
	savedForce, savedAsm, savedWide := nchwcForce, nchwcAsm, nchwcWide
	defer func() { nchwcForce, nchwcAsm, nchwcWide = savedForce, savedAsm, savedWide }()
	nchwcForce = true
	// Each kernel width the CPU has, then the Go reference (with the
	// AVX-512 blocking).
	kernels := append(nchwcISAs(), true)
	for _, s := range nchwcLadder {
		for _, threads := range []int{1, 3} {
			for i, wide := range kernels {
				asm := i < len(kernels)-1
				nchwcAsm, nchwcWide = asm, wide
				mp := max(s.pads[0], s.pads[1], s.pads[2], s.pads[3])
				for _, lay := range []nchwcLayout{{}, {bx: true}, {by: true}, {bx: true, by: true}, {bx: true, by: true, xb: mp, yb: 1}, {bx: true, xb: mp + 1}, {by: true, yb: 2}} {
					if lay.bx && (s.c/s.group)%16 != 0 || lay.by && (s.m/s.group)%16 != 0 {
						continue
					}
					t.Run(fmt.Sprintf("%v_t%d_asm%v_wide%v_%+v", s, threads, asm, wide, lay), func(t *testing.T) {
						testConvNCHWc(t, s, threads, lay)
					})
				}
			}
		}
	}
}

// nchwcLayout is the layout of a convolution's input (bx: NCHW16c, with a
// zero border of xb pixels) and output and residual (by, yb).
type nchwcLayout struct {
	bx, by bool
	xb, yb int
}

// testConvNCHWc runs s with its input and output in the layout lay; an
// output with a border must have it zero.
func testConvNCHWc(t *testing.T, s fpConvSpec, threads int, lay nchwcLayout) {
	rr := newRand(uint64(s.c*1000 + s.m))
	x := randT(rr, s.n, s.c, s.h, s.w)
	w := randT(rr, s.m, s.c/s.group, s.kh, s.kw)
	var b *Tensor
	if s.bias {
		b = randT(rr, s.m)
	}
	oh := outDim(s.h, s.kh, s.sh, s.dh, s.pads[0], s.pads[2])
	ow := outDim(s.w, s.kw, s.sw, s.dw, s.pads[1], s.pads[3])
	res := randT(rr, s.n, s.m, oh, ow)
	want := convRef(x, w, b, s.group, s.sh, s.sw, s.dh, s.dw, s.pads[0], s.pads[1], oh, ow)
	terms := float64(s.c / s.group * s.kh * s.kw)
	for _, tc := range []struct {
		act      activation
		residual bool
	}{{actNone, false}, {actRelu, false}, {actClip, true}, {actRelu, true}, {actHardSwish, true}, {actLeaky, false}} {
		k := &convKernel{win: winAttrs{op: "Conv", strides: []int{s.sh, s.sw}, dilations: []int{s.dh, s.dw}, pads: []int{s.pads[0], s.pads[1], s.pads[2], s.pads[3]}},
			grp: s.group, act: tc.act, actA: -0.25, actB: 0.5, residual: tc.residual, xBlocked: lay.bx, yBlocked: lay.by, xBorder: lay.xb, yBorder: lay.yb,
			thin: s.c/s.group < nchwcMinCg}
		if tc.act == actLeaky {
			k.actA = 0.1
		}
		k.pack(w)
		xin, rin := x, res
		ylen := s.n * s.m * (oh + 2*lay.yb) * (ow + 2*lay.yb)
		if lay.bx {
			xin = New(Float32, x.Shape...)
			xin.F32 = make([]float32, s.n*s.c*(s.h+2*lay.xb)*(s.w+2*lay.xb))
			toNCHW16c(xin.F32, x.F32, s.n, s.c, s.h, s.w, lay.xb)
		}
		if lay.by {
			rin = New(Float32, res.Shape...)
			rin.F32 = make([]float32, ylen)
			toNCHW16c(rin.F32, res.F32, s.n, s.m, oh, ow, lay.yb)
		}
		in := []*Tensor{xin, w, b}
		if tc.residual {
			in = append(in, rin)
		}
		types := make([]Type, len(in))
		for i, v := range in {
			if v != nil {
				types[i] = v.Type()
			}
		}
		g, err := k.geometry(types[:3])
		if b == nil {
			g, err = k.geometry(types[:2])
		}
		if err != nil {
			t.Fatal(err)
		}
		if !k.nchwcFits(&g, w.F32, s.c/s.group, s.m/s.group) {
			t.Fatalf("pathNCHWc does not take %v", s)
		}
		out := New(Float32, s.n, s.m, oh, ow)
		out.F32 = make([]float32, ylen)
		for i := range out.F32 {
			out.F32[i] = float32(math.NaN())
		}
		if err := k.Run(&RunContext{Threads: threads}, in, []*Tensor{out}); err != nil {
			t.Fatal(err)
		}
		// Calls that skip window rows in the padding (nchwcKhRange)
		// compute what the whole windows do, bit for bit.
		full := New(Float32, s.n, s.m, oh, ow)
		full.F32 = make([]float32, ylen)
		nchwcSkipPad = false
		err = k.Run(&RunContext{Threads: threads}, in, []*Tensor{full})
		nchwcSkipPad = true
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range full.F32 {
			if math.Float32bits(v) != math.Float32bits(out.F32[i]) {
				t.Fatalf("act %d residual %v: [%d] = %v skipping the padding's rows, %v without", tc.act, tc.residual, i, out.F32[i], v)
			}
		}
		if lay.by {
			blocked := out.F32
			out.F32 = make([]float32, s.n*s.m*oh*ow)
			fromNCHW16c(out.F32, blocked, s.n, s.m, oh, ow, lay.yb)
			again := make([]float32, len(blocked))
			toNCHW16c(again, out.F32, s.n, s.m, oh, ow, lay.yb)
			for i, v := range blocked {
				if math.Float32bits(v) != math.Float32bits(again[i]) {
					t.Fatalf("act %d residual %v: NCHW16c output [%d] = %v, want %v (the border zero)", tc.act, tc.residual, i, v, again[i])
				}
			}
		}
		wa := make([]float64, len(want))
		for i, v := range want {
			if tc.residual {
				v += float64(res.F32[i])
			}
			wa[i] = float64(actRef(tc.act, k.actA, k.actB, v))
		}
		checkCloseScaled(t, fmt.Sprintf("act %d residual %v", tc.act, tc.residual), out, []int{s.n, s.m, oh, ow}, wa, terms)
	}
}

// actRef applies activation kind to v (in float32, as the kernels do).
func actRef(kind activation, a, b float32, v float64) float64 {
	if kind == actNone {
		return v
	}
	x := []float32{float32(v)}
	applyAct(kind, a, b, x)
	return float64(x[0])
}

// TestConvNCHWcWarmRunAllocatesNothing checks that pathNCHWc's warm runs
// (weights packed by the first) allocate nothing, with a fused residual, at
// batch 1 and 3 and on 1 and 2 threads.
func TestConvNCHWcWarmRunAllocatesNothing(t *testing.T) {
	r := newRand(184)
	for _, n := range []int{1, 3} {
		x := randT(r, n, 16, 12, 12)
		w := randT(r, 32, 16, 3, 3)
		b := randT(r, 32)
		res := randT(r, n, 32, 12, 12)
		k := &convKernel{win: winAttrs{op: "Conv", pads: []int{1, 1, 1, 1}}, grp: 1, act: actRelu, residual: true}
		k.pack(w)
		g, err := k.geometry([]Type{x.Type(), w.Type(), b.Type()})
		if err != nil {
			t.Fatal(err)
		}
		if !k.nchwcFits(&g, w.F32, 16, 32) {
			t.Skip("pathNCHWc does not run here")
		}
		out := []*Tensor{New(Float32, n, 32, 12, 12)}
		in := []*Tensor{x, w, b, res}
		for _, threads := range []int{1, 2} {
			rc := &RunContext{Threads: threads}
			if err := k.Run(rc, in, out); err != nil {
				t.Fatal(err)
			}
			allocs := allocstest.Steady(20, func() {
				if err := k.Run(rc, in, out); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 && !raceEnabled {
				t.Errorf("batch %d threads %d: warm run allocates %v times", n, threads, allocs)
			}
		}
	}
}

// BenchmarkConvNCHWc compares pathNCHWc with the GEMM paths it replaces on
// the reference models' dense layers and on larger ones.
func BenchmarkConvNCHWc(b *testing.B) {
	for _, cb := range []convBench{
		{"tinyres_c16_32", 1, 16, 32, 32, 16, 3, 1, 1},
		{"tinyres_c16_32s2", 1, 16, 32, 32, 32, 3, 2, 1},
		{"tinyres_c32_16", 1, 32, 16, 16, 32, 3, 1, 1},
		{"tinyres_c32_16s2", 1, 32, 16, 16, 64, 3, 2, 1},
		{"tinyres_c64_8", 1, 64, 8, 8, 64, 3, 1, 1},
		{"tinyres_sc16_32", 1, 16, 32, 32, 32, 1, 2, 1},
		{"seednet_conv2_14", 1, 16, 14, 14, 32, 3, 1, 1},
		{"seednet_conv2", 1, 16, 16, 16, 32, 3, 1, 1},
		{"seednet_conv2_b16", 16, 16, 16, 16, 32, 3, 1, 1},
		{"tinyres_c16_32_b16", 16, 16, 32, 32, 16, 3, 1, 1},
		{"mbv2_stem", 1, 3, 224, 224, 32, 3, 2, 1},
		// ResNet-sized layers, which the path takes as well.
		{"resnet_c64_56", 1, 64, 56, 56, 64, 3, 1, 1},
		{"resnet_c256_14", 1, 256, 14, 14, 256, 3, 1, 1},
		{"resnet_c512_7", 1, 512, 7, 7, 512, 3, 1, 1},
		{"resnet_stem7", 1, 3, 224, 224, 64, 7, 2, 1},
		{"resnext_g4_56", 1, 128, 56, 56, 128, 3, 1, 4},
	} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/nchwc=%v", cb.name, on), func(b *testing.B) {
				saved := nchwcOn
				nchwcOn = on
				defer func() { nchwcOn = saved }()
				benchConvKernel(b, cb, false, actRelu, 1)
			})
		}
	}
}

// BenchmarkConvNCHWcLayout compares pathNCHWc from NCHW to NCHW (a padded
// copy of the input rows, a transposing store) with NCHW16c in and out
// (the layout pass's hand-off between such convolutions), and NCHW16c
// with zero borders (read in place, no copy) on the MNIST models' layers,
// batch 1 and 32.
func BenchmarkConvNCHWcLayout(b *testing.B) {
	for _, cb := range []convBench{
		{"tinyres_c16_32_b32", 32, 16, 32, 32, 16, 3, 1, 1},
		{"tinyres_c16_32s2_b32", 32, 16, 32, 32, 32, 3, 2, 1},
		{"tinyres_c32_16_b32", 32, 32, 16, 16, 32, 3, 1, 1},
		{"tinyres_c32_16s2_b32", 32, 32, 16, 16, 64, 3, 2, 1},
		{"tinyres_c64_8_b32", 32, 64, 8, 8, 64, 3, 1, 1},
		{"tinyres_sc32_16_b32", 32, 32, 16, 16, 64, 1, 2, 1},
		{"tinyres_c64_8", 1, 64, 8, 8, 64, 3, 1, 1},
	} {
		for _, lay := range []string{"nchw", "nchw16c", "bordered"} {
			b.Run(fmt.Sprintf("%s/%s", cb.name, lay), func(b *testing.B) {
				benchConvKernel(b, cb, false, actRelu, 1, func(k *convKernel) {
					k.xBlocked, k.yBlocked = lay != "nchw", lay != "nchw"
					if lay == "bordered" {
						k.xBorder, k.yBorder = 1, 1
					}
				})
			})
		}
	}
}

// BenchmarkConvNCHWcSplit compares, on 2 threads, planes whose rows do not
// share out evenly cut into row blocks (4 and 3 rows of 7) with the threads
// sharing the output channels (nchwcSplitM).
func BenchmarkConvNCHWcSplit(b *testing.B) {
	for _, cb := range []convBench{
		{"c64_7", 1, 64, 7, 7, 64, 3, 1, 1},
		{"c512_7", 1, 512, 7, 7, 512, 3, 1, 1},
	} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/splitM=%v", cb.name, on), func(b *testing.B) {
				saved := nchwcSplitM
				nchwcSplitM = on
				defer func() { nchwcSplitM = saved }()
				benchConvKernel(b, cb, false, actRelu, 2)
			})
		}
	}
}

// TestPadRowsMatchesGo checks padRows against padRowsGo over row widths,
// pads and row counts (the assembly's masks, whole vectors and fallback),
// that it writes every float of the padded rows (dst starts as NaN) and
// nothing past the slack.
func TestPadRowsMatchesGo(t *testing.T) {
	r := newRand(185)
	for _, c := range []struct{ w, pl, pr, top, mid, bot, cg int }{
		{16, 1, 1, 1, 16, 1, 16}, {32, 1, 1, 1, 5, 0, 3}, {14, 1, 1, 0, 3, 2, 2}, {7, 3, 3, 3, 7, 3, 2},
		{1, 0, 2, 0, 1, 0, 1}, {5, 1, 12, 1, 2, 1, 2}, {15, 1, 0, 2, 2, 2, 1}, {16, 0, 0, 0, 4, 0, 2},
		{17, 16, 0, 1, 2, 0, 1}, {40, 17, 3, 0, 2, 1, 2}, {45, 3, 2, 1, 3, 2, 2}, {224, 3, 3, 3, 2, 3, 3},
		{10, 2, 30, 1, 2, 1, 2}, {48, 16, 16, 0, 2, 0, 1},
	} {
		wp := c.pl + c.w + c.pr
		rows := c.top + c.mid + c.bot
		ps := c.mid*c.w + 3
		src := randT(r, c.cg*ps).F32
		var out [2][]float32
		for i, run := range []func(src, dst []float32, top, mid, bot, w, wp, pl, cg, ps int){padRowsGo, padRows} {
			dst := make([]float32, c.cg*rows*wp+nchwcSlack+5)
			for j := range dst {
				dst[j] = float32(math.NaN())
			}
			run(src, dst[:c.cg*rows*wp+nchwcSlack], c.top, c.mid, c.bot, c.w, wp, c.pl, c.cg, ps)
			out[i] = dst
		}
		n := c.cg * rows * wp
		for j := 0; j < n; j++ {
			if out[0][j] != out[1][j] {
				t.Fatalf("%+v: [%d] = %v, want %v", c, j, out[1][j], out[0][j])
			}
		}
		for j := n + nchwcSlack; j < len(out[1]); j++ {
			if !math.IsNaN(float64(out[1][j])) {
				t.Fatalf("%+v: wrote [%d] past the slack", c, j)
			}
		}
	}
}
