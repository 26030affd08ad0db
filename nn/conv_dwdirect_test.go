package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestDWDirectLadder compares pathDWDirect and pathDWMulti (the
// small-plane kernel off, so that every 3x3 depthwise geometry takes them)
// and the 3x3 MaxPool on the same kernels (and on the separable one) with the reference convolution and pooling over a ladder of
// widths around the 16-lane blocks, both strides along each axis,
// symmetric, asymmetric and wide pads, dilations, depthwise multipliers, a
// clamp, and a NaN in the pooled input.
func TestDWDirectLadder(t *testing.T) {
	if !dwDirectHave {
		t.Skip("no direct depthwise kernel in this build")
	}
	savedSmall, savedDWC, savedSep := dwSmallOn, dwcOn, sepMaxOn
	dwSmallOn, dwcOn = false, false
	defer func() { dwSmallOn, dwcOn, sepMaxOn = savedSmall, savedDWC, savedSep }()
	r := newRand(18)
	pads := [][4]int{{1, 1, 1, 1}, {0, 0, 1, 1}, {2, 0, 0, 2}, {0, 0, 0, 0}, {3, 3, 3, 3}}
	strides := [][2]int{{1, 1}, {2, 2}, {1, 2}, {2, 1}}
	i := 0
	for _, w := range []int{1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 64, 65, 113} {
		for _, st := range strides {
			for _, p := range pads {
				i++
				h := []int{1, 4, 9}[i%3]
				d := 1 + i%2
				mg := []int{1, dwDirectMaxMg, dwDirectMaxMg + 1, 16}[(i/2)%4] // pathDWDirect, then pathDWMulti
				c := 2
				oh := outDim(h, 3, st[0], d, p[0], p[2])
				ow := outDim(w, 3, st[1], d, p[1], p[3])
				if h+p[0]+p[2] < 2*d+1 || w+p[1]+p[3] < 2*d+1 {
					continue
				}
				name := fmt.Sprintf("w%d_h%d_s%v_p%v_d%d_mg%d", w, h, st, p, d, mg)
				g := geom{KH: 3, KW: 3, SH: st[0], SW: st[1], DH: d, DW: d, H: h, W: w, OH: oh, OW: ow, PT: p[0], PL: p[1]}
				var plan dwDirectPlan
				if !dwDirectLayout(&g, &plan) {
					t.Fatalf("%s: dwDirectLayout rejected the geometry", name)
				}
				x := randT(r, 1, c, h, w)
				wt, bias := randT(r, c*mg, 1, 3, 3), randT(r, c*mg)
				attrs := checkDWConv(t, name, x, wt, bias, st, d, p, oh, ow)
				if st[1] == 2 && d == 1 { // the stride-2 kernel without the shared load too
					dwDirectPair = false
					checkDWConv(t, name+"_unpaired", x, wt, bias, st, d, p, oh, ow)
					dwDirectPair = true
				}
				// MaxPool over the same windows, a NaN in one of them.
				pa := map[string]Attr{
					"kernel_shape": ints(3, 3),
					"strides":      attrs["strides"],
					"dilations":    attrs["dilations"],
					"pads":         attrs["pads"],
				}
				x.F32[i%len(x.F32)] = float32(math.NaN())
				wantMax := poolRef(x, true, false, 3, 3, st[0], st[1], d, d, p[0], p[1], p[2], p[3], oh, ow)
				for _, sep := range []bool{false, true} { // the direct kernel, the separable one (pool_sep.go)
					sepMaxOn = sep
					got := opCase{op: "MaxPool", attrs: pa, inputs: []*Tensor{x}}.mustRun(t)[0]
					checkClose(t, fmt.Sprint(name, "_max_sep", sep), got, []int{1, c, oh, ow}, wantMax)
				}
			}
		}
	}
}

// BenchmarkDWDirect compares, on MobileNetV2's large depthwise layers, dw3
// over a padded copy ("old") with pathDWDirect ("new"), one thread.
func BenchmarkDWDirect(b *testing.B) {
	benchPathToggle(b, &dwDirectOn, []convBench{
		{"96x112x112s2", 1, 96, 112, 112, 96, 3, 2, 96},
		{"32x112x112s1", 1, 32, 112, 112, 32, 3, 1, 32},
		{"144x56x56s2", 1, 144, 56, 56, 144, 3, 2, 144},
		{"144x56x56s1", 1, 144, 56, 56, 144, 3, 1, 144},
	})
}

// BenchmarkDWDirectPair compares, on the stride-2 3x3 depthwise layers of
// MobileNetV2, EfficientNet-B0 and MobileNetV3, the direct kernel loading
// each tap's input ("old") with the one whose three taps share a load
// ("new"), one thread.
func BenchmarkDWDirectPair(b *testing.B) {
	benchPathToggle(b, &dwDirectPair, []convBench{
		{"96x112x112s2", 1, 96, 112, 112, 96, 3, 2, 96},
		{"144x56x56s2", 1, 144, 56, 56, 144, 3, 2, 144},
		{"72x56x56s2", 1, 72, 56, 56, 72, 3, 2, 72},
		{"192x28x28s2", 1, 192, 28, 28, 192, 3, 2, 192},
	})
}

// BenchmarkMaxPoolDirect compares, on SqueezeNet's and ResNet's 3x3
// stride-2 max pools, the tap kernel over a padded copy ("old") with the
// direct kernel ("new"), one thread, in cpu-µs (the separable kernel off).
func BenchmarkMaxPoolDirect(b *testing.B) {
	saved := sepMaxOn
	sepMaxOn = false
	defer func() { sepMaxOn = saved }()
	benchMaxPool(b, &dwMaxOn, []maxPoolBench{{"64x111x111", 64, 111, 0, 2}, {"128x55x55", 128, 55, 0, 2}, {"64x112x112p1", 64, 112, 1, 2}})
}

// BenchmarkMaxPoolSep compares the direct kernel ("old") with the
// separable one ("new", pool_sep.go) on the same pools and on Inception's
// 3x3 stride-1 ones, one thread, in cpu-µs.
func BenchmarkMaxPoolSep(b *testing.B) {
	benchMaxPool(b, &sepMaxOn, []maxPoolBench{
		{"64x111x111", 64, 111, 0, 2}, {"128x55x55", 128, 55, 0, 2}, {"64x112x112p1", 64, 112, 1, 2},
		{"192x28x28p1s1", 192, 28, 1, 1}, {"480x14x14p1s1", 480, 14, 1, 1}, {"832x7x7p1s1", 832, 7, 1, 1},
	})
}

// maxPoolBench is a 3x3 MaxPool of c planes of h x h, pads on every side.
type maxPoolBench struct {
	name            string
	c, h, pads, str int
}

// benchMaxPool times each pool with *on false ("old") and true ("new").
func benchMaxPool(b *testing.B, on *bool, cases []maxPoolBench) {
	for _, s := range cases {
		for _, v := range []bool{false, true} {
			name := s.name + "/old"
			if v {
				name = s.name + "/new"
			}
			b.Run(name, func(b *testing.B) {
				saved := *on
				*on = v
				defer func() { *on = saved }()
				x := randT(newRand(3), 1, s.c, s.h, s.h)
				p, st := int64(s.pads), int64(s.str)
				k, err := buildPool(&BuildContext{Node: &Node{Op: "MaxPool", Attrs: map[string]Attr{
					"kernel_shape": ints(3, 3), "strides": ints(st, st), "pads": ints(p, p, p, p)}}}, true)
				if err != nil {
					b.Fatal(err)
				}
				ot, err := k.OutputTypes([]Type{x.Type()})
				if err != nil {
					b.Fatal(err)
				}
				out := []*Tensor{New(Float32, ot[0].Shape...)}
				rc := &RunContext{Threads: 1}
				benchCPU(b, true, func() {
					if err := k.Run(rc, []*Tensor{x}, out); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkDWMulti compares, on first layers of one-channel images
// (seednet's 16 outputs at batch 16, tinyresnet's stem), pathDW3 over a
// padded copy ("old") with pathDWMulti ("new"), one thread.
func BenchmarkDWMulti(b *testing.B) {
	benchPathToggle(b, &dwMultiOn, []convBench{
		{"seednet_conv1_b16", 16, 1, 32, 32, 16, 3, 1, 1},
		{"1to32_112s2", 1, 1, 224, 224, 32, 3, 2, 1},
	})
}

// TestDWWinLadder compares the pathDWWin kernels (depthwise, any window up
// to 7x7; forced for every geometry) with the reference convolution over windows, widths around the 16-lane
// blocks, both strides along each axis, pads and dilations, with a bias
// and a clamp and without.
func TestDWWinLadder(t *testing.T) {
	if !dwDirectHave {
		t.Skip("no direct depthwise kernel in this build")
	}
	saved, savedDWC := dwWinAny, dwcOn
	dwWinAny, dwcOn = true, false
	defer func() { dwWinAny, dwcOn = saved, savedDWC }()
	r := newRand(19)
	wins := [][2]int{{5, 5}, {7, 7}, {1, 1}, {2, 4}, {5, 3}, {3, 3}, {7, 2}}
	strides := [][2]int{{1, 1}, {2, 2}, {2, 1}, {1, 2}}
	i := 0
	for _, w := range []int{1, 3, 14, 16, 17, 33, 70} {
		for _, win := range wins {
			for _, st := range strides {
				i++
				h := []int{1, 5, 12}[i%3]
				d := 1 + i%2
				pw := (win[1] - 1) * d / 2
				ph := (win[0] - 1) * d / 2
				pads := [4]int{ph, pw, ph + i%2, pw}
				if h+pads[0]+pads[2] < (win[0]-1)*d+1 || w+pads[1]+pads[3] < (win[1]-1)*d+1 {
					continue
				}
				oh := outDim(h, win[0], st[0], d, pads[0], pads[2])
				ow := outDim(w, win[1], st[1], d, pads[1], pads[3])
				g := geom{KH: win[0], KW: win[1], SH: st[0], SW: st[1], DH: d, DW: d, H: h, W: w, OH: oh, OW: ow, PT: pads[0], PL: pads[1]}
				var plan dwWinPlan
				name := fmt.Sprintf("w%d_h%d_k%v_s%v_d%d", w, h, win, st, d)
				if !dwWinLayout(&g, &plan) {
					t.Fatalf("%s: dwWinLayout rejected the geometry", name)
				}
				c := 3
				x := randT(r, 2, c, h, w)
				checkDWConv(t, name, x, randT(r, c, 1, win[0], win[1]), randT(r, c), st, d, pads, oh, ow)
			}
		}
	}
}

// BenchmarkDWWin compares, on MobileNetV3's 5x5 depthwise layers, the tap
// kernel over a padded copy ("old") with pathDWWin ("new"), one thread.
func BenchmarkDWWin(b *testing.B) {
	saved, savedDWC := dwWinAny, dwcOn
	dwWinAny, dwcOn = true, false
	defer func() { dwWinAny, dwcOn = saved, savedDWC }()
	benchPathToggle(b, &dwWinOn, []convBench{
		{"mbv3_dw5_14s2", 1, 288, 14, 14, 288, 5, 2, 288},
		{"mbv3_dw5_7", 1, 576, 7, 7, 576, 5, 1, 576},
		{"mbv3_dw5_14", 1, 240, 14, 14, 240, 5, 1, 240},
		{"dw5_56s2", 1, 64, 56, 56, 64, 5, 2, 64},
		{"dw7_56", 1, 64, 56, 56, 64, 7, 1, 64},
	})
}
