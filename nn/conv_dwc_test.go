package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestDWCKernels compares the assembly transpose and compute kernels of
// pathDWC with their Go references over row and column counts, store masks,
// windows, strides and dilations.
func TestDWCKernels(t *testing.T) {
	if !dwcHave {
		t.Skip("no channel-blocked depthwise kernel in this build")
	}
	r := newRand(181)
	run := func(f func()) {
		dwcForceGo = true
		f()
		dwcForceGo = false
	}
	for _, nr := range []int{1, 2, 7, 15, 16} {
		for _, nc := range []int{1, 3, 8, 16} {
			for _, smask := range []uint64{0xffff, 1<<nr - 1, 0x5a5a} {
				src := randT(r, 16*40).F32
				want, got := randT(r, 16*50).F32, make([]float32, 16*50)
				copy(got, want)
				run(func() { dwcTr16(want, 23, src, 37, nr, nc, smask) })
				dwcTr16(got, 23, src, 37, nr, nc, smask)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("tr16 nr %d nc %d mask %#x: [%d] = %v, want %v", nr, nc, smask, i, got[i], want[i])
					}
				}
			}
		}
	}
	for _, k := range []int{1, 3, 5, 7} {
		for _, s := range []int{1, 2} {
			for _, d := range []int{1, 2} {
				for _, ow := range []int{1, 5, 7, 8, 9, 14, 17} {
					oh := 1 + ow%4
					g := geom{KH: k, KW: k, SH: s, SW: s, DH: d, DW: d, OH: oh, OW: ow, H: 1, W: 1}
					g.rank = 2
					p := dwcPlan{hp: (oh-1)*s + (k-1)*d + 1, wp: (ow-1)*s + (k-1)*d + 1}
					tile := randT(r, p.tileFloats()).F32
					w, bias := randT(r, 16*k*k).F32, randT(r, 16).F32
					want, got := make([]float32, 16*oh*ow), make([]float32, 16*oh*ow)
					run(func() { dwcRows(&g, &p, oh, tile, w, bias, want, -0.5, 0.75) })
					dwcRows(&g, &p, oh, tile, w, bias, got, -0.5, 0.75)
					for i := range want {
						if math.Abs(float64(got[i]-want[i])) > 1e-5 {
							t.Fatalf("rows k%d s%d d%d ow%d: [%d] = %v, want %v", k, s, d, ow, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestDWCLadder runs every depthwise geometry of a ladder on pathDWC (the
// assembly kernels where the CPU has them, else the Go references) and
// compares with the reference convolution: windows 1 to 7, both strides
// along each axis, dilations, symmetric, asymmetric and wide pads, channel
// counts around the 16-lane blocks, two images, a fused clamp, SiLU and a
// residual, one and two threads.
func TestDWCLadder(t *testing.T) {
	saved, savedTile := dwcAny, dwcMaxTile
	dwcAny = true
	defer func() { dwcAny, dwcMaxTile = saved, savedTile }()
	r := newRand(182)
	pads := [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 1, 2, 0}, {3, 3, 3, 3}}
	strides := [][2]int{{1, 1}, {2, 2}, {1, 2}, {2, 1}}
	i := 0
	for _, k := range []int{1, 2, 3, 5, 7} {
		for _, hw := range [][2]int{{7, 7}, {14, 14}, {1, 9}, {12, 5}, {20, 33}} {
			for _, st := range strides {
				i++
				p := pads[i%len(pads)]
				d := 1 + i%3/2
				c := []int{1, 15, 16, 17, 40}[i%5]
				h, w := hw[0], hw[1]
				oh := outDim(h, k, st[0], d, p[0], p[2])
				ow := outDim(w, k, st[1], d, p[1], p[3])
				if h+p[0]+p[2] < (k-1)*d+1 || w+p[1]+p[3] < (k-1)*d+1 {
					continue
				}
				name := fmt.Sprintf("k%d_%dx%d_s%v_p%v_d%d_c%d", k, h, w, st, p, d, c)
				x := randT(r, 2, c, h, w)
				wt := randT(r, c, 1, k, k)
				b := randT(r, c)
				checkDWConv(t, name, x, wt, b, st, d, p, oh, ow)
				// Chunks of two output rows (tiles of their window rows).
				wp := (ow-1)*st[1] + (k-1)*d + 1
				dwcMaxTile = 16 * wp * (st[0] + (k-1)*d + 1)
				g := geom{KH: k, KW: k, SH: st[0], SW: st[1], DH: d, DW: d, H: h, W: w, OH: oh, OW: ow, PT: p[0], PL: p[1], rank: 2}
				var plan dwcPlan
				if !dwcLayout(&g, c, &plan) || plan.ohb != min(2, oh) {
					t.Fatalf("%s: dwcLayout with tiles of %d floats: %+v", name, dwcMaxTile, plan)
				}
				checkDWConv(t, name+"_chunks", x, wt, b, st, d, p, oh, ow)
				// SiLU and a residual, applied after the kernel (not in its
				// clamp), in chunks and whole.
				shape := []int{2, c, oh, ow}
				want := convRef(x, wt, b, c, st[0], st[1], d, d, p[0], p[1], oh, ow)
				res := randT(r, shape...)
				for i, v := range want {
					v += float64(res.F32[i])
					want[i] = v / (1 + math.Exp(-v))
				}
				checkDWSwishRes(t, name+"_swish_res_chunks", x, wt, b, res, st, d, p, want)
				dwcMaxTile = savedTile
				checkDWSwishRes(t, name+"_swish_res", x, wt, b, res, st, d, p, want)
			}
		}
	}
}

// checkDWSwishRes runs the depthwise Conv with a residual and SiLU (applied
// after the kernel) on two threads and compares it with want.
func checkDWSwishRes(t *testing.T, name string, x, wt, b, res *Tensor, st [2]int, d int, p [4]int, want []float64) {
	t.Helper()
	kr := &convKernel{win: winAttrs{op: "Conv", strides: []int{st[0], st[1]}, pads: []int{p[0], p[1], p[2], p[3]},
		dilations: []int{d, d}}, grp: x.Shape[1], act: actSwish, residual: true}
	kr.pack(wt)
	y := New(Float32, res.Shape...)
	if err := kr.Run(&RunContext{Threads: 2}, []*Tensor{x, wt, b, res}, []*Tensor{y}); err != nil {
		t.Fatal(err)
	}
	checkClose(t, name, y, res.Shape, want)
}

// checkDWConv runs the depthwise Conv of x (N, C, H, W) with weights wt
// (C·multiplier, 1, KH, KW) and bias b, strides st, dilation d and pads,
// against the reference: with constant weights and bias on one thread, then
// without a bias, with a fused clamp, on two threads. It returns the
// attributes (the clamp's included).
func checkDWConv(t *testing.T, name string, x, wt, b *Tensor, st [2]int, d int, pads [4]int, oh, ow int) map[string]Attr {
	t.Helper()
	c := x.Shape[1]
	shape := []int{x.Shape[0], wt.Shape[0], oh, ow}
	attrs := map[string]Attr{
		"group":     intA(int64(c)),
		"strides":   ints(int64(st[0]), int64(st[1])),
		"dilations": ints(int64(d), int64(d)),
		"pads":      ints(int64(pads[0]), int64(pads[1]), int64(pads[2]), int64(pads[3])),
	}
	want := convRef(x, wt, b, c, st[0], st[1], d, d, pads[0], pads[1], oh, ow)
	got := opCase{op: "Conv", attrs: attrs, inputs: []*Tensor{x, wt, b}, threads: 1, consts: map[int]bool{1: true, 2: true}}.mustRun(t)[0]
	checkClose(t, name, got, shape, want)
	attrs["activation"] = strA("Clip")
	attrs["activation_min"] = fltA(-0.5)
	attrs["activation_max"] = fltA(0.75)
	got = opCase{op: "Conv", attrs: attrs, inputs: []*Tensor{x, wt}, threads: 2}.mustRun(t)[0]
	want = convRef(x, wt, nil, c, st[0], st[1], d, d, pads[0], pads[1], oh, ow)
	for i, v := range want {
		want[i] = math.Min(math.Max(v, -0.5), 0.75)
	}
	checkClose(t, name+"_clip", got, shape, want)
	return attrs
}
