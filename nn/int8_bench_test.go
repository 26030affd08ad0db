package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkSeedConv compares the int8 conv (QLinearConvInt8) with the
// float32 Conv (fused ReLU, same thread budget) on the seed network's two
// conv layers, in one run: go test -run X -bench SeedConv ./nn/
func BenchmarkSeedConv(b *testing.B) {
	layers := []struct {
		name               string
		cin, hw, cout, bat int
	}{
		{"conv1_1x32x32_16", 1, 32, 16, 1},
		{"conv2_16x16x16_32", 16, 16, 32, 1},
		{"conv1_1x32x32_16_b32", 1, 32, 16, 32},
		{"conv2_16x16x16_32_b32", 16, 16, 32, 32},
	}
	for _, threads := range []int{1, 2} {
		for _, l := range layers {
			c := q8ConvCase{n: l.bat, cin: l.cin, h: l.hw, w: l.hw, cout: l.cout, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1,
				pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true}
			r := rand.New(rand.NewPCG(1, 1))
			f := q8NewConvFixture(r, c)
			xq := &Tensor{DType: Int8, Shape: []int{c.n, c.cin, c.h, c.w}, I8: f.x}
			// float32 twin: same shapes, dequantized values
			xf := New(Float32, c.n, c.cin, c.h, c.w)
			for i, v := range f.x {
				xf.F32[i] = float32(int32(v)-f.xq.Zero) * f.xq.Scale
			}
			wf := New(Float32, c.cout, c.cin, 3, 3)
			for i, v := range f.w {
				wf.F32[i] = float32(v) * f.wScale(i/(c.cin*9))
			}
			bf := New(Float32, c.cout)
			fg := &Graph{
				Inputs:  []ValueInfo{{Name: "x"}},
				Outputs: []ValueInfo{{Name: "y"}},
				Consts:  map[string]*Tensor{"w": wf, "b": bf},
				Nodes: []*Node{{Name: "conv", Op: "Conv", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: map[string]Attr{
					"pads":       {Kind: AttrInts, Ints: []int64{1, 1, 1, 1}},
					"activation": {Kind: AttrString, Str: "Relu"},
				}}},
			}
			for _, v := range []struct {
				kind string
				g    *Graph
				x    *Tensor
			}{{"fp32", fg, xf}, {"int8", q8ConvGraph(c, f), xq}} {
				b.Run(fmt.Sprintf("%s/t%d/%s", l.name, threads, v.kind), func(b *testing.B) {
					p, err := Compile(v.g)
					if err != nil {
						b.Fatal(err)
					}
					run := p.NewRunner(threads)
					if _, err := run.Run(v.x); err != nil {
						b.Fatal(err)
					}
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						if _, err := run.Run(v.x); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(c.n*c.cout*c.h*c.w*c.cin*9)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
				})
			}
		}
	}
}

// BenchmarkQ8ConvGeom times QLinearConvInt8 on geometries of CNN families
// beyond the reference models (stems from RGB, 5x5, narrow outputs,
// grouped, 1x1, small planes), batch 1 unless named, one thread:
// go test -run X -bench Q8ConvGeom ./nn/
func BenchmarkQ8ConvGeom(b *testing.B) {
	for _, c := range []q8ConvCase{
		{n: 1, cin: 3, h: 224, w: 224, cout: 64, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3, group: 1, relu: true},
		{n: 1, cin: 3, h: 224, w: 224, cout: 24, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 1, cin: 32, h: 28, w: 28, cout: 96, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, group: 1, relu: true},
		{n: 1, cin: 64, h: 56, w: 56, cout: 192, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 1, cin: 128, h: 56, w: 56, cout: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 1, cin: 32, h: 112, w: 112, cout: 32, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 2, relu: true},
		{n: 1, cin: 256, h: 28, w: 28, cout: 128, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1, relu: true},
		{n: 1, cin: 24, h: 56, w: 56, cout: 58, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1, relu: true},
		{n: 1, cin: 512, h: 7, w: 7, cout: 512, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 1, cin: 512, h: 2, w: 2, cout: 512, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 512, h: 2, w: 2, cout: 512, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 64, h: 16, w: 16, cout: 128, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 128, h: 8, w: 8, cout: 256, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 512, h: 4, w: 4, cout: 512, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 256, h: 8, w: 8, cout: 256, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 256, h: 3, w: 3, cout: 256, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 256, h: 14, w: 14, cout: 256, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 32, cin: 256, h: 7, w: 7, cout: 256, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{n: 1, cin: 832, h: 7, w: 7, cout: 256, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1, relu: true},
	} {
		b.Run(c.String(), func(b *testing.B) {
			f := q8NewConvFixture(rand.New(rand.NewPCG(1, 1)), c)
			p, err := Compile(q8ConvGraph(c, f))
			if err != nil {
				b.Fatal(err)
			}
			x := &Tensor{DType: Int8, Shape: []int{c.n, c.cin, c.h, c.w}, I8: f.x}
			run := p.NewRunner(1)
			out, err := run.Run(x)
			if err != nil {
				b.Fatal(err)
			}
			s := out[0].Shape
			macs := float64(s[0]*s[1]*s[2]*s[3]) * float64(c.cin/c.group*c.kh*c.kw)
			b.ReportAllocs()
			benchCPU(b, true, func() { _, _ = run.Run(x) })
			b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
