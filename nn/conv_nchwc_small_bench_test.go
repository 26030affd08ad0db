package nn

import (
	"fmt"
	"testing"
)

// nchwcLayerBench is one convolution as the layout pass runs it: input in
// NCHW16c with a zero border of 1, output in NCHW16c with a border (yb) or
// NCHW, a fused residual (res), Relu.
type nchwcLayerBench struct {
	name    string
	cb      convBench
	yb, res bool
}

// BenchmarkConvNCHWcSmall times pathNCHWc as the layout pass runs it on
// dense 3x3 convolutions of small planes, with and without grouped calls
// (nchwcGroupsOn): the MNIST models' layers (their batch stages of 8
// images at batch 32), VGG's deep layers on 2x2 to 8x8, planes of 3x3 and
// ResNet's and Inception's larger planes. peak-µs/op is the time at one
// FMA a cycle (nchwcPeakFMA): the ratio to cpu-µs/op is the share of the
// peak.
func BenchmarkConvNCHWcSmall(b *testing.B) {
	for _, lb := range []nchwcLayerBench{
		{"seednet_conv2", convBench{"", 8, 16, 16, 16, 32, 3, 1, 1}, false, false},
		{"tinyres_l1c1", convBench{"", 8, 16, 32, 32, 16, 3, 1, 1}, true, false},
		{"tinyres_l2c2", convBench{"", 8, 32, 16, 16, 32, 3, 1, 1}, true, true},
		{"tinyres_l3c2", convBench{"", 8, 64, 8, 8, 64, 3, 1, 1}, false, true},
		{"c64_8_blocked", convBench{"", 8, 64, 8, 8, 64, 3, 1, 1}, true, true},
		{"c128_3", convBench{"", 32, 128, 3, 3, 128, 3, 1, 1}, true, false},
		{"vgg_c512_8", convBench{"", 2, 512, 8, 8, 512, 3, 1, 1}, true, false},
		{"vgg_c512_4", convBench{"", 8, 512, 4, 4, 512, 3, 1, 1}, true, false},
		{"vgg_c512_2", convBench{"", 32, 512, 2, 2, 512, 3, 1, 1}, true, false},
		{"c128_2", convBench{"", 32, 128, 2, 2, 512, 3, 1, 1}, true, false},
		{"resnet_c64_56", convBench{"", 1, 64, 56, 56, 64, 3, 1, 1}, true, true},
		{"resnet_c128_28", convBench{"", 2, 128, 28, 28, 128, 3, 1, 1}, true, true},
		{"incep_c64_56", convBench{"", 1, 64, 56, 56, 192, 3, 1, 1}, true, false},
	} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/groups=%v", lb.name, on), func(b *testing.B) {
				saved := nchwcGroupsOn
				nchwcGroupsOn = on
				defer func() { nchwcGroupsOn = saved }()
				benchNCHWcLayer(b, lb)
			})
		}
	}
}

func benchNCHWcLayer(b *testing.B, lb nchwcLayerBench) {
	cb := lb.cb
	r := newRand(90)
	w := randT(r, cb.m, cb.c/cb.group, cb.k, cb.k)
	bias := randT(r, cb.m)
	p := cb.k / 2
	k := &convKernel{win: winAttrs{op: "Conv", strides: []int{cb.st, cb.st}, pads: []int{p, p, p, p}}, grp: cb.group, act: actRelu, residual: lb.res}
	k.pack(w)
	k.xBlocked, k.xBorder = true, 1
	if lb.yb {
		k.yBlocked, k.yBorder = true, 1
	}
	x := randT(r, cb.n, cb.c, cb.h, cb.w)
	in := []*Tensor{x, w, bias}
	types := []Type{x.Type(), w.Type(), bias.Type()}
	oh := (cb.h+2*p-cb.k)/cb.st + 1
	ow := (cb.w+2*p-cb.k)/cb.st + 1
	if lb.res {
		rt := randT(r, cb.n, cb.m, oh, ow)
		in = append(in, rt)
		types = append(types, rt.Type())
	}
	ot, err := k.OutputTypes(types)
	if err != nil {
		b.Fatal(err)
	}
	out := []*Tensor{New(Float32, ot[0].Shape...)}
	x.F32 = randT(r, cb.n*cb.c*(cb.h+2)*(cb.w+2)).F32
	if lb.yb {
		out[0].F32 = make([]float32, cb.n*cb.m*(oh+2)*(ow+2))
		if lb.res {
			in[convResidual].F32 = randT(r, len(out[0].F32)).F32
		}
	}
	rc := &RunContext{Threads: 1}
	benchCPU(b, true, func() {
		if err := k.Run(rc, in, out); err != nil {
			b.Fatal(err)
		}
	})
	// After benchCPU: its ResetTimer drops the metrics reported before.
	b.ReportMetric(float64(k.MACs([]Type{x.Type(), w.Type()}, nil))/(16*nchwcPeakFMA), "peak-µs/op")
}

// nchwcPeakFMA is the zmm FMAs per µs of one core of the development
// machine (a chain-free loop of VFMADD231PS: 3.6 G/s on its Zen 4), the
// floor of peak-µs/op.
const nchwcPeakFMA = 3600
