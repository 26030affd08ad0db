package nn

import (
	"fmt"
	"math"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// nchwcPoolLadder are pathNCHWc convolutions a 2x2/2 MaxPool fuses into:
// odd planes (the pool's floor), strides, dilation, 16-64 outputs.
var nchwcPoolLadder = []fpConvSpec{
	{n: 8, c: 16, h: 16, w: 16, m: 32, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // seednet's conv2
	{n: 1, c: 32, h: 13, w: 11, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}},
	{n: 2, c: 3, h: 21, w: 19, m: 64, kh: 5, kw: 5, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}, bias: true},
	{n: 3, c: 16, h: 10, w: 12, m: 48, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 2, dw: 2, pads: [4]int{2, 2, 2, 2}, bias: true},
	{n: 1, c: 64, h: 4, w: 4, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 1, c: 16, h: 96, w: 90, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}}, // bands of 10 rows (poolBandOver)
}

// TestNCHWcPoolMatches checks pathNCHWc with a 2x2 stride-2 MaxPool fused
// against the convolution and the MaxPool run apart, over nchwcPoolLadder,
// the input in NCHW or NCHW16c with a border, the output in NCHW or
// NCHW16c with borders of 0 and 1, on 1 and 2 threads: bit for bit, every
// output and border value written (the output starts as NaN), and no
// allocations in warm runs.
func TestNCHWcPoolMatches(t *testing.T) {
	savedForce := nchwcForce
	defer func() { nchwcForce = savedForce }()
	nchwcForce = !nchwcHave
	r := newRand(220)
	for _, s := range nchwcPoolLadder {
		for _, xb := range []int{-1, 1, 2} { // -1: NCHW
			if xb >= 0 && (s.c%16 != 0 || xb < s.pads[0]) {
				continue
			}
			for _, yb := range []int{-1, 0, 1} {
				for _, threads := range []int{1, 2} {
					testNCHWcPool(t, r, s, xb, yb, threads)
				}
			}
		}
	}
}

func testNCHWcPool(t *testing.T, r interface{ Float64() float64 }, s fpConvSpec, xb, yb, threads int) {
	name := fmt.Sprintf("%v/xborder=%d/yborder=%d/t%d", s, xb, yb, threads)
	x, w, in, k := specConv(r, s, actRelu)
	k.pack(w)
	rc := &RunContext{Threads: threads}
	ot, err := k.OutputTypes([]Type{x.Type(), w.Type()})
	if err != nil {
		t.Fatal(err)
	}
	conv := New(Float32, ot[0].Shape...)
	if err := k.Run(rc, in, []*Tensor{conv}); err != nil {
		t.Fatal(err)
	}
	pk := &poolKernel{win: winAttrs{op: "MaxPool", kernel: []int{2, 2}, strides: []int{2, 2}}, max: true}
	pt, err := pk.OutputTypes([]Type{conv.Type()})
	if err != nil {
		t.Fatal(err)
	}
	want := New(Float32, pt[0].Shape...)
	if err := pk.Run(rc, []*Tensor{conv}, []*Tensor{want}); err != nil {
		t.Fatal(err)
	}
	kc := *k
	kc.pooled = true
	if xb >= 0 {
		blocked := make([]float32, s.n*s.c*(s.h+2*xb)*(s.w+2*xb))
		toNCHW16c(blocked, x.F32, s.n, s.c, s.h, s.w, xb)
		in = append([]*Tensor{{DType: Float32, Shape: x.Shape, F32: blocked}}, in[1:]...)
		kc.xBlocked, kc.xBorder = true, xb
	}
	kc.yBlocked, kc.yBorder = yb >= 0, max(yb, 0)
	sh, bo := pt[0].Shape, kc.yBorder
	out := New(Float32, sh...)
	out.F32 = make([]float32, sh[0]*sh[1]*(sh[2]+2*bo)*(sh[3]+2*bo))
	for i := range out.F32 {
		out.F32[i] = float32(math.NaN())
	}
	outs := []*Tensor{out}
	run := func() {
		if err := kc.Run(rc, in, outs); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if band := nchwcPoolBand(&kc, rc, in); band > nchwcPoolMaxBand {
		t.Fatalf("%s: band of %d floats, more than %d", name, band, nchwcPoolMaxBand)
	}
	got := unblockedOut(t, name, out, kc.yBlocked, bo)
	for i, v := range want.F32 {
		if math.Float32bits(got[i]) != math.Float32bits(v) {
			t.Fatalf("%s: [%d] = %v, want %v", name, i, got[i], v)
		}
	}
	if allocs := allocstest.Steady(5, run); allocs != 0 && !raceEnabled {
		t.Errorf("%s: warm run allocates %v times", name, allocs)
	}
}

// nchwcPoolBand is the band floats of k's pathNCHWc plan for inputs in.
func nchwcPoolBand(k *convKernel, rc *RunContext, in []*Tensor) int {
	g, err := k.geometry([]Type{in[0].Type(), in[1].Type()})
	if err != nil {
		return -1
	}
	j := convJob{k: k, g: g, M: in[1].Shape[0], Mg: in[1].Shape[0], Cg: in[1].Shape[1], K: in[1].Shape[1] * g.KH * g.KW}
	j.nchwcPlanRun(rc.Threads, int64(g.N*j.M*g.OH*g.OW*j.K))
	return j.nc.band
}
