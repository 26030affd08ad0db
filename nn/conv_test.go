package nn

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/splitinfer/splitinfer/internal/allocstest"
)

// convRef is a plain 2-D convolution over explicit geometry, in float64.
func convRef(x, w, b *Tensor, group, sh, sw, dh, dw, pt, pl, oh, ow int) []float64 {
	n, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	m, cg, kh, kw := w.Shape[0], w.Shape[1], w.Shape[2], w.Shape[3]
	mg := m / group
	out := make([]float64, n*m*oh*ow)
	for in := 0; in < n; in++ {
		for om := 0; om < m; om++ {
			g := om / mg
			for y := 0; y < oh; y++ {
				for z := 0; z < ow; z++ {
					s := 0.0
					if b != nil {
						s = float64(b.F32[om])
					}
					for ic := 0; ic < cg; ic++ {
						cc := g*cg + ic
						for ky := 0; ky < kh; ky++ {
							for kx := 0; kx < kw; kx++ {
								iy := y*sh - pt + ky*dh
								ix := z*sw - pl + kx*dw
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								s += float64(x.F32[((in*c+cc)*h+iy)*wd+ix]) * float64(w.F32[((om*cg+ic)*kh+ky)*kw+kx])
							}
						}
					}
					out[((in*m+om)*oh+y)*ow+z] = s
				}
			}
		}
	}
	return out
}

type fpConvSpec struct {
	n, c, h, w, m, kh, kw, group int
	sh, sw, dh, dw               int
	pads                         [4]int // top, left, bottom, right
	bias                         bool
}

func (s fpConvSpec) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_m%d_k%dx%d_g%d_s%d%d_d%d%d_p%v_b%v", s.n, s.c, s.h, s.w, s.m, s.kh, s.kw, s.group, s.sh, s.sw, s.dh, s.dw, s.pads, s.bias)
}

var fpConvLadder = []fpConvSpec{
	{n: 1, c: 1, h: 5, w: 5, m: 1, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1},
	{n: 1, c: 1, h: 32, w: 32, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 2, c: 3, h: 7, w: 9, m: 5, kh: 3, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	{n: 1, c: 4, h: 11, w: 6, m: 6, kh: 3, kw: 2, group: 2, sh: 1, sw: 2, dh: 2, dw: 1, pads: [4]int{2, 0, 1, 1}, bias: true},
	{n: 3, c: 8, h: 9, w: 9, m: 8, kh: 3, kw: 3, group: 8, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},   // depthwise
	{n: 1, c: 6, h: 13, w: 10, m: 6, kh: 3, kw: 3, group: 6, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}},             // depthwise s2
	{n: 1, c: 4, h: 8, w: 8, m: 8, kh: 5, kw: 5, group: 4, sh: 1, sw: 1, dh: 2, dw: 2, pads: [4]int{4, 4, 4, 4}, bias: true},   // depthwise x2, dilated
	{n: 1, c: 3, h: 10, w: 11, m: 3, kh: 3, kw: 3, group: 3, sh: 1, sw: 1, dh: 2, dw: 2, pads: [4]int{2, 2, 2, 2}, bias: true}, // depthwise 3x3 dilated
	{n: 2, c: 4, h: 9, w: 12, m: 8, kh: 3, kw: 3, group: 4, sh: 2, sw: 1, dh: 1, dw: 1, pads: [4]int{0, 1, 1, 0}},              // depthwise x2, mixed strides, asymmetric pads
	{n: 1, c: 2, h: 2, w: 2, m: 2, kh: 3, kw: 3, group: 2, sh: 1, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},   // depthwise, image smaller than the window
	{n: 2, c: 16, h: 7, w: 5, m: 24, kh: 1, kw: 1, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, bias: true},                           // pointwise
	{n: 1, c: 6, h: 4, w: 4, m: 4, kh: 1, kw: 1, group: 2, sh: 1, sw: 1, dh: 1, dw: 1},                                         // grouped pointwise
	{n: 1, c: 5, h: 10, w: 10, m: 7, kh: 1, kw: 1, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, bias: true},                           // 1x1 stride 2
	{n: 1, c: 3, h: 17, w: 15, m: 4, kh: 7, kw: 7, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{3, 3, 3, 3}, bias: true},
	{n: 1, c: 2, h: 3, w: 3, m: 2, kh: 3, kw: 3, group: 1, sh: 3, sw: 3, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}},
	{n: 1, c: 4, h: 20, w: 70, m: 4, kh: 3, kw: 3, group: 4, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{0, 0, 1, 1}, bias: true},   // depthwise s2, wide rows, bottom-right padding
	{n: 1, c: 3, h: 9, w: 67, m: 6, kh: 3, kw: 3, group: 3, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}},                // depthwise x2, 64+masked tail
	{n: 2, c: 8, h: 9, w: 11, m: 8, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},    // one GEMM per tap (Cg >= Mg)
	{n: 1, c: 8, h: 10, w: 9, m: 4, kh: 3, kw: 2, group: 2, sh: 1, sw: 1, dh: 2, dw: 1, pads: [4]int{2, 0, 1, 1}, bias: true},    // per tap, grouped, dilated, asymmetric pads
	{n: 1, c: 24, h: 6, w: 20, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{0, 0, 0, 0}},              // per tap, no padding (C written in place)
	{n: 1, c: 16, h: 40, w: 40, m: 32, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // several im2col blocks
	// The tap kernel (conv_taps.go): any window, one input channel per group.
	{n: 2, c: 5, h: 14, w: 14, m: 5, kh: 5, kw: 5, group: 5, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}, bias: true}, // 5x5 (MobileNetV3)
	{n: 1, c: 4, h: 15, w: 13, m: 4, kh: 5, kw: 5, group: 4, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}, bias: true}, // 5x5 s2, odd plane
	{n: 1, c: 3, h: 9, w: 23, m: 6, kh: 7, kw: 7, group: 3, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{3, 3, 3, 3}},              // 7x7 x2
	{n: 1, c: 3, h: 12, w: 19, m: 9, kh: 3, kw: 3, group: 3, sh: 2, sw: 2, dh: 2, dw: 2, pads: [4]int{2, 1, 2, 2}, bias: true}, // 3x3 s2 dilated x3
	{n: 1, c: 2, h: 21, w: 70, m: 2, kh: 4, kw: 2, group: 2, sh: 2, sw: 1, dh: 1, dw: 3, pads: [4]int{1, 0, 2, 1}, bias: true}, // 4x2, wide rows
	{n: 1, c: 2, h: 11, w: 11, m: 2, kh: 3, kw: 3, group: 2, sh: 3, sw: 3, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // stride 3: row-by-row path
	{n: 1, c: 2, h: 3, w: 4, m: 2, kh: 5, kw: 5, group: 2, sh: 1, sw: 2, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}},               // plane smaller than the window
	// 1x1 on one pixel: output channels split among threads (pathRows).
	{n: 1, c: 96, h: 1, w: 1, m: 200, kh: 1, kw: 1, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, bias: true},
	{n: 1, c: 64, h: 1, w: 1, m: 130, kh: 1, kw: 1, group: 2, sh: 1, sw: 1, dh: 1, dw: 1},
}

func outDim(in, k, s, d, p0, p1 int) int { return (in+p0+p1-((k-1)*d+1))/s + 1 }

func TestConvLadder(t *testing.T) {
	r := newRand(1)
	for _, s := range fpConvLadder {
		// threads -1: one thread with tiny pixel blocks (many GEMM units per plane).
		for _, threads := range []int{1, 3, -1} {
			t.Run(fmt.Sprintf("%v_t%d", s, threads), func(t *testing.T) {
				if threads < 0 {
					saved := convBlockFloats
					convBlockFloats = 256
					defer func() { convBlockFloats = saved }()
					threads = 1
				}
				x := randT(r, s.n, s.c, s.h, s.w)
				w := randT(r, s.m, s.c/s.group, s.kh, s.kw)
				var b *Tensor
				ins := []*Tensor{x, w}
				if s.bias {
					b = randT(r, s.m)
					ins = append(ins, b)
				}
				attrs := map[string]Attr{
					"group":     intA(int64(s.group)),
					"strides":   ints(int64(s.sh), int64(s.sw)),
					"dilations": ints(int64(s.dh), int64(s.dw)),
					"pads":      ints(int64(s.pads[0]), int64(s.pads[1]), int64(s.pads[2]), int64(s.pads[3])),
				}
				oh := outDim(s.h, s.kh, s.sh, s.dh, s.pads[0], s.pads[2])
				ow := outDim(s.w, s.kw, s.sw, s.dw, s.pads[1], s.pads[3])
				want := convRef(x, w, b, s.group, s.sh, s.sw, s.dh, s.dw, s.pads[0], s.pads[1], oh, ow)
				for _, constW := range []bool{true, false} {
					c := opCase{op: "Conv", attrs: attrs, inputs: ins, threads: threads, consts: map[int]bool{1: constW, 2: constW}}
					got := c.mustRun(t)[0]
					checkClose(t, "conv", got, []int{s.n, s.m, oh, ow}, want)
				}
				// Fused Relu and Clip give the activation of the plain result.
				for _, act := range []string{"Relu", "Clip"} {
					a := map[string]Attr{"activation": strA(act), "activation_min": fltA(-0.5), "activation_max": fltA(0.75)}
					for k, v := range attrs {
						a[k] = v
					}
					got := opCase{op: "Conv", attrs: a, inputs: ins, threads: threads}.mustRun(t)[0]
					wa := make([]float64, len(want))
					for i, v := range want {
						if act == "Relu" {
							wa[i] = math.Max(v, 0)
						} else {
							wa[i] = math.Min(math.Max(v, -0.5), 0.75)
						}
					}
					checkClose(t, act, got, []int{s.n, s.m, oh, ow}, wa)
				}
			})
		}
	}
}

func TestConvAutoPadAnd1D(t *testing.T) {
	r := newRand(2)
	x := randT(r, 1, 2, 7, 6)
	w := randT(r, 3, 2, 3, 2)
	cases := []struct {
		autoPad        string
		pt, pl, oh, ow int
	}{
		// in 7x6, kernel 3x2, strides 2x2: SAME gives ceil(7/2)=4, ceil(6/2)=3;
		// total pad rows (4-1)*2+3-7=2, cols (3-1)*2+2-6=0.
		{"SAME_UPPER", 1, 0, 4, 3},
		{"SAME_LOWER", 1, 0, 4, 3},
		{"VALID", 0, 0, 3, 3},
	}
	for _, c := range cases {
		got := opCase{op: "Conv", inputs: []*Tensor{x, w}, attrs: map[string]Attr{
			"auto_pad": strA(c.autoPad), "strides": ints(2, 2)}}.mustRun(t)[0]
		checkClose(t, c.autoPad, got, []int{1, 3, c.oh, c.ow}, convRef(x, w, nil, 1, 2, 2, 1, 1, c.pt, c.pl, c.oh, c.ow))
	}
	// Odd total padding: SAME_UPPER puts the extra row at the end, SAME_LOWER at the start.
	x2 := randT(r, 1, 1, 6, 6)
	w2 := randT(r, 1, 1, 2, 2)
	up := opCase{op: "Conv", inputs: []*Tensor{x2, w2}, attrs: map[string]Attr{"auto_pad": strA("SAME_UPPER")}}.mustRun(t)[0]
	checkClose(t, "upper", up, []int{1, 1, 6, 6}, convRef(x2, w2, nil, 1, 1, 1, 1, 1, 0, 0, 6, 6))
	lo := opCase{op: "Conv", inputs: []*Tensor{x2, w2}, attrs: map[string]Attr{"auto_pad": strA("SAME_LOWER")}}.mustRun(t)[0]
	checkClose(t, "lower", lo, []int{1, 1, 6, 6}, convRef(x2, w2, nil, 1, 1, 1, 1, 1, 1, 1, 6, 6))

	// 1-D convolution equals the 2-D one with height 1.
	x1 := randT(r, 2, 3, 11)
	w1 := randT(r, 4, 3, 3)
	got := opCase{op: "Conv", inputs: []*Tensor{x1, w1}, attrs: map[string]Attr{"pads": ints(1, 1), "strides": ints(2)}}.mustRun(t)[0]
	x1b := &Tensor{DType: Float32, Shape: []int{2, 3, 1, 11}, F32: x1.F32}
	w1b := &Tensor{DType: Float32, Shape: []int{4, 3, 1, 3}, F32: w1.F32}
	checkClose(t, "conv1d", got, []int{2, 4, 6}, convRef(x1b, w1b, nil, 1, 1, 2, 1, 1, 0, 1, 1, 6))
}

func TestConvErrors(t *testing.T) {
	r := newRand(3)
	cases := []struct {
		name  string
		x, w  *Tensor
		b     *Tensor
		attrs map[string]Attr
		want  error
	}{
		{"channels", randT(r, 1, 3, 5, 5), randT(r, 2, 2, 3, 3), nil, nil, ErrShape},
		{"group", randT(r, 1, 4, 5, 5), randT(r, 3, 2, 3, 3), nil, map[string]Attr{"group": intA(2)}, ErrShape},
		{"rank", randT(r, 3, 5, 5), randT(r, 2, 3, 3, 3), nil, nil, ErrShape},
		{"kernel too big", randT(r, 1, 1, 2, 2), randT(r, 1, 1, 3, 3), nil, nil, ErrShape},
		{"bias", randT(r, 1, 1, 5, 5), randT(r, 2, 1, 3, 3), randT(r, 3), nil, ErrShape},
		{"strides len", randT(r, 1, 1, 5, 5), randT(r, 1, 1, 3, 3), nil, map[string]Attr{"strides": ints(1)}, ErrShape},
		{"zero stride", randT(r, 1, 1, 5, 5), randT(r, 1, 1, 3, 3), nil, map[string]Attr{"strides": ints(0, 1)}, ErrShape},
		{"negative pad", randT(r, 1, 1, 5, 5), randT(r, 1, 1, 3, 3), nil, map[string]Attr{"pads": ints(-1, 0, 0, 0)}, ErrShape},
		{"kernel_shape", randT(r, 1, 1, 5, 5), randT(r, 1, 1, 3, 3), nil, map[string]Attr{"kernel_shape": ints(2, 2)}, ErrShape},
		{"int64 input", i64T([]int{1, 1, 1, 1}, 1), randT(r, 1, 1, 1, 1), nil, nil, ErrDType},
		{"3-D spatial", randT(r, 1, 1, 3, 3, 3), randT(r, 1, 1, 1, 1, 1), nil, nil, ErrShape},
		{"activation", randT(r, 1, 1, 3, 3), randT(r, 1, 1, 1, 1), nil, map[string]Attr{"activation": strA("Tanh")}, ErrUnsupported},
		{"auto_pad", randT(r, 1, 1, 3, 3), randT(r, 1, 1, 1, 1), nil, map[string]Attr{"auto_pad": strA("FULL")}, ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ins := []*Tensor{c.x, c.w}
			if c.b != nil {
				ins = append(ins, c.b)
			}
			_, err := opCase{op: "Conv", inputs: ins, attrs: c.attrs}.run()
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// smallConvNet is conv(1→8, 3x3 pad 1) + ReLU + maxpool 2 + conv(8→8
// depthwise) + conv 1x1 (8→4) + Flatten + Gemm → 10.
func smallConvNet(r interface{ Float64() float64 }) *Graph {
	rt := func(shape ...int) *Tensor {
		t := New(Float32, shape...)
		for i := range t.F32 {
			t.F32[i] = float32(r.Float64()*2 - 1)
		}
		return t
	}
	g := &Graph{
		Name:    "small",
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Float32, Shape: []int{-1, 1, 16, 16}}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Consts: map[string]*Tensor{
			"w1": rt(8, 1, 3, 3), "b1": rt(8),
			"w2": rt(8, 1, 3, 3), "b2": rt(8),
			"w3": rt(4, 8, 1, 1),
			"fc": rt(10, 4*8*8), "fcb": rt(10),
		},
	}
	g.Nodes = []*Node{
		{Name: "conv1", Op: "Conv", Inputs: []string{"x", "w1", "b1"}, Outputs: []string{"c1"}, Attrs: map[string]Attr{"pads": ints(1, 1, 1, 1)}},
		{Name: "relu1", Op: "Relu", Inputs: []string{"c1"}, Outputs: []string{"r1"}},
		{Name: "pool1", Op: "MaxPool", Inputs: []string{"r1"}, Outputs: []string{"p1"}, Attrs: map[string]Attr{"kernel_shape": ints(2, 2), "strides": ints(2, 2)}},
		{Name: "dw", Op: "Conv", Inputs: []string{"p1", "w2", "b2"}, Outputs: []string{"c2"}, Attrs: map[string]Attr{"pads": ints(1, 1, 1, 1), "group": intA(8)}},
		{Name: "clip", Op: "Clip", Inputs: []string{"c2"}, Outputs: []string{"r2"}, Attrs: map[string]Attr{"min": fltA(0), "max": fltA(6)}},
		{Name: "pw", Op: "Conv", Inputs: []string{"r2", "w3"}, Outputs: []string{"c3"}},
		{Name: "flat", Op: "Flatten", Inputs: []string{"c3"}, Outputs: []string{"f"}},
		{Name: "fc", Op: "Gemm", Inputs: []string{"f", "fc", "fcb"}, Outputs: []string{"y"}, Attrs: map[string]Attr{"transB": intA(1)}},
	}
	return g
}

func TestConvNetWarmRunAllocatesNothing(t *testing.T) {
	r := newRand(4)
	for _, fuse := range []bool{false, true} {
		g := smallConvNet(r)
		if fuse {
			g = FuseActivations(g)
		}
		p, err := Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		x := randT(r, 2, 1, 16, 16)
		for _, threads := range []int{1, 2} {
			run := p.NewRunner(threads)
			if _, err := run.Run(x); err != nil {
				t.Fatal(err)
			}
			allocs := allocstest.Steady(20, func() {
				if _, err := run.Run(x); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 && !raceEnabled {
				t.Errorf("fuse=%v threads=%d: warm run allocates %v times", fuse, threads, allocs)
			}
		}
	}
}

// im2colRef is the plain definition of im2col: every patch element with an
// explicit bounds check.
func im2colRef(g *geom, x []float32, cg, p0, p1 int, col []float32) {
	np := p1 - p0
	HW := g.H * g.W
	for c := 0; c < cg; c++ {
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				row := (c*g.KH+kh)*g.KW + kw
				for p := p0; p < p1; p++ {
					oh, ow := p/g.OW, p%g.OW
					ih, iw := oh*g.SH-g.PT+kh*g.DH, ow*g.SW-g.PL+kw*g.DW
					v := float32(0)
					if ih >= 0 && ih < g.H && iw >= 0 && iw < g.W {
						v = x[c*HW+ih*g.W+iw]
					}
					col[row*np+p-p0] = v
				}
			}
		}
	}
}

func TestIm2colMatchesReference(t *testing.T) {
	r := newRand(12)
	for _, s := range fpConvLadder {
		a := winAttrs{op: "Conv", strides: []int{s.sh, s.sw}, dilations: []int{s.dh, s.dw}, pads: []int{s.pads[0], s.pads[1], s.pads[2], s.pads[3]}}
		g, err := a.resolve([]int{s.n, s.c, s.h, s.w}, []int{s.kh, s.kw})
		if err != nil {
			t.Fatal(err)
		}
		x := randT(r, s.c, s.h, s.w).F32
		P := g.OH * g.OW
		K := s.c * s.kh * s.kw
		for _, blk := range [][2]int{{0, P}, {0, 1}, {P / 3, P/3 + P/2}, {P - 1, P}} {
			got := make([]float32, K*(blk[1]-blk[0]))
			want := make([]float32, len(got))
			for i := range got {
				got[i] = 42 // every element must be written
			}
			im2col(&g, x, s.c, blk[0], blk[1], got)
			im2colRef(&g, x, s.c, blk[0], blk[1], want)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%v block %v: col[%d] = %v, want %v", s, blk, i, got[i], want[i])
				}
			}
			// The phase-plane path, for the rows the block starts in.
			if !phaseOK(&g) {
				continue
			}
			oh0, oh1 := blk[0]/g.OW, min(blk[0]/g.OW+2, g.OH)
			l := newPhaseLayout(&g, oh1-oh0)
			got = make([]float32, K*l.np)
			want = make([]float32, K*(oh1-oh0)*g.OW)
			planes := make([]float32, l.planeSize(&g))
			im2colPhase(&g, &l, x, s.c, oh0, got, planes)
			im2colRef(&g, x, s.c, oh0*g.OW, oh1*g.OW, want)
			for r := 0; r < K; r++ {
				for o := 0; o < oh1-oh0; o++ {
					for ow := 0; ow < g.OW; ow++ {
						if a, b := got[r*l.np+o*l.wq+ow], want[(r*(oh1-oh0)+o)*g.OW+ow]; a != b {
							t.Fatalf("%v rows [%d,%d): patch row %d (%d, %d) = %v, want %v", s, oh0, oh1, r, o, ow, a, b)
						}
					}
				}
			}
		}
	}
}

// FuzzConv builds a convolution from fuzzed small parameters: building and
// shape inference may reject it but never panic, and an accepted one matches
// the reference (direct, pointwise and im2col paths alike).
func FuzzConv(f *testing.F) {
	f.Add(uint8(1), uint8(3), uint8(5), uint8(5), uint8(2), uint8(3), uint8(3), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(0))
	f.Add(uint8(2), uint8(4), uint8(7), uint8(6), uint8(4), uint8(3), uint8(3), uint8(4), uint8(2), uint8(1), uint8(1), uint8(2), uint8(0), uint8(1), uint8(1), uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, n, c, h, w, m, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr, act uint8) {
		// Keep the sizes small so the reference stays fast.
		n, c, h, w, m = n%3, c%9, h%12, w%12, m%9
		kh, kw, group = kh%6, kw%6, group%9
		sh, sw, dh, dw = sh%4, sw%4, dh%4, dw%4
		pt, pl, pb, pr = pt%5, pl%5, pb%5, pr%5
		attrs := map[string]Attr{
			"group":     intA(int64(group)),
			"strides":   ints(int64(sh), int64(sw)),
			"dilations": ints(int64(dh), int64(dw)),
			"pads":      ints(int64(pt), int64(pl), int64(pb), int64(pr)),
		}
		if act%3 == 1 {
			attrs["activation"] = strA("Relu")
		}
		r := newRand(uint64(n) + 7)
		cg := 0
		if group > 0 {
			cg = int(c) / int(group)
		}
		x := randT(r, int(n), int(c), int(h), int(w))
		wt := randT(r, int(m), cg, int(kh), int(kw))
		b := randT(r, int(m))
		got, err := opCase{op: "Conv", attrs: attrs, inputs: []*Tensor{x, wt, b}, threads: 2}.run()
		if err != nil {
			return // rejected: fine, as long as it did not panic
		}
		oh := outDim(int(h), int(kh), int(sh), int(dh), int(pt), int(pb))
		ow := outDim(int(w), int(kw), int(sw), int(dw), int(pl), int(pr))
		want := convRef(x, wt, b, int(group), int(sh), int(sw), int(dh), int(dw), int(pt), int(pl), oh, ow)
		if act%3 == 1 {
			for i := range want {
				want[i] = math.Max(want[i], 0)
			}
		}
		checkClose(t, "fuzz", got[0], []int{int(n), int(m), oh, ow}, want)
	})
}

// TestConvTapRows runs per-tap convolutions (stride 1 and 2) both ways:
// one GEMM per output row written straight into the output, and one GEMM
// over the rows in plane coordinates followed by compactRows; and with
// exactPanelRule off and on (7x7 and 14x14 outputs: pathExact or pathTaps).
func TestConvTapRows(t *testing.T) {
	saved, savedRule := tapRowMinOW, exactPanelRule
	defer func() { tapRowMinOW, exactPanelRule = saved, savedRule }()
	r := newRand(11)
	specs := append([]fpConvSpec{
		{n: 1, c: 16, h: 28, w: 28, m: 16, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // tinyresnet l1
		{n: 2, c: 32, h: 14, w: 30, m: 24, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 2, 1, 0}},             // wide, asymmetric
		{n: 1, c: 16, h: 28, w: 28, m: 32, kh: 3, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true}, // stride 2, Cg < Mg (tinyresnet l2)
		{n: 2, c: 8, h: 21, w: 61, m: 16, kh: 3, kw: 3, group: 2, sh: 2, sw: 1, dh: 1, dw: 2, pads: [4]int{1, 0, 2, 1}},              // mixed strides, grouped, dilated, wide
		{n: 1, c: 12, h: 50, w: 52, m: 24, kh: 5, kw: 5, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{2, 2, 2, 2}, bias: true}, // stride 2, 5x5, wide rows
		{n: 1, c: 3, h: 37, w: 65, m: 16, kh: 3, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},  // RGB stem (tapsMinCg)
		{n: 2, c: 5, h: 9, w: 11, m: 8, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 0, 1, 2}, bias: true},    // narrow: pathExact
		{n: 1, c: 64, h: 8, w: 8, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},   // tinyresnet l3 (pathExact)
		{n: 1, c: 64, h: 7, w: 7, m: 64, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},   // 7x7 (exactPanelRule: pathTaps)
		{n: 2, c: 32, h: 14, w: 14, m: 32, kh: 3, kw: 3, group: 1, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}},             // 14x14 (exactPanelRule: pathTaps)
		{n: 1, c: 32, h: 16, w: 16, m: 64, kh: 3, kw: 3, group: 1, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}},             // stride 2 narrow
	}, fpConvLadder[17:]...)
	for _, s := range specs {
		x := randT(r, s.n, s.c, s.h, s.w)
		w := randT(r, s.m, s.c/s.group, s.kh, s.kw)
		ins := []*Tensor{x, w}
		var b *Tensor
		if s.bias {
			b = randT(r, s.m)
			ins = append(ins, b)
		}
		attrs := map[string]Attr{
			"group":      intA(int64(s.group)),
			"strides":    ints(int64(s.sh), int64(s.sw)),
			"dilations":  ints(int64(s.dh), int64(s.dw)),
			"pads":       ints(int64(s.pads[0]), int64(s.pads[1]), int64(s.pads[2]), int64(s.pads[3])),
			"activation": strA("Relu"),
		}
		oh := outDim(s.h, s.kh, s.sh, s.dh, s.pads[0], s.pads[2])
		ow := outDim(s.w, s.kw, s.sw, s.dw, s.pads[1], s.pads[3])
		want := convRef(x, w, b, s.group, s.sh, s.sw, s.dh, s.dw, s.pads[0], s.pads[1], oh, ow)
		for i, v := range want {
			want[i] = math.Max(v, 0)
		}
		for _, minOW := range []int{1, math.MaxInt} {
			for _, threads := range []int{1, 2} {
				for _, rule := range []bool{false, true} {
					t.Run(fmt.Sprintf("%v_min%d_t%d_rule%v", s, minOW, threads, rule), func(t *testing.T) {
						tapRowMinOW, exactPanelRule = minOW, rule
						got := opCase{op: "Conv", attrs: attrs, inputs: ins, threads: threads, consts: map[int]bool{1: true, 2: true}}.mustRun(t)[0]
						checkClose(t, "conv", got, []int{s.n, s.m, oh, ow}, want)
					})
				}
			}
		}
	}
}
