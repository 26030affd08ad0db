package nn

import (
	"fmt"
	"math"
	"testing"
)

// dwsCase is one geometry of the small-plane kernel tests.
type dwsCase struct {
	h, w, s, d int
	pads       [4]int // top, left, bottom, right
}

// dwsCases is the ladder: square planes 1..32 and some H != W ones, stride
// 1 (dilation 1 and 2) and 2, symmetric, asymmetric and no pads.
func dwsCases() []dwsCase {
	padSets := [][4]int{{0, 0, 0, 0}, {1, 1, 1, 1}, {0, 0, 1, 1}, {1, 1, 0, 0}, {2, 1, 0, 2}, {0, 2, 2, 0}, {2, 2, 2, 2}}
	sizes := [][2]int{{2, 9}, {9, 2}, {14, 7}, {7, 14}, {5, 16}, {16, 3}, {3, 29}, {20, 13}, {28, 28}, {31, 31}, {32, 32}, {12, 32}}
	for n := 1; n <= 16; n++ {
		sizes = append(sizes, [2]int{n, n})
	}
	var cs []dwsCase
	for _, hw := range sizes {
		for _, sd := range [][2]int{{1, 1}, {1, 2}, {2, 1}} {
			for _, p := range padSets {
				cs = append(cs, dwsCase{hw[0], hw[1], sd[0], sd[1], p})
			}
		}
	}
	return cs
}

func (c dwsCase) geom() geom {
	var g geom
	g.H, g.W, g.KH, g.KW = c.h, c.w, 3, 3
	g.SH, g.SW, g.DH, g.DW = c.s, c.s, c.d, c.d
	g.PT, g.PL, g.PB, g.PR = c.pads[0], c.pads[1], c.pads[2], c.pads[3]
	g.OH = outDim(c.h, 3, c.s, c.d, g.PT, g.PB)
	g.OW = outDim(c.w, 3, c.s, c.d, g.PL, g.PR)
	if c.h+g.PT+g.PB < 2*c.d+1 || c.w+g.PL+g.PR < 2*c.d+1 {
		g.OH, g.OW = 0, 0 // the window does not fit (outDim truncates toward 0)
	}
	return g
}

// TestDwSmallMatchesRef compares the many-channel kernel with the direct
// definition (and the per-channel dw3 kernel) over the ladder, with and
// without bias, under clamps, with NaN inputs, on scratch and outputs
// filled with garbage (every cell the kernel reads must be written or
// cleared, no cell past the outputs may be).
func TestDwSmallMatchesRef(t *testing.T) {
	if !dwSmallHave {
		t.Skip("no small-plane kernel in this build or on this CPU")
	}
	r := newRand(11)
	inf := float32(math.Inf(1))
	clamps := [][2]float32{{-inf, inf}, {0, inf}, {0, 6}, {-0.25, 0.5}}
	nan := float32(math.NaN())
	ran := 0
	for i, c := range dwsCases() {
		g := c.geom()
		if g.OH < 1 || g.OW < 1 {
			continue
		}
		p, ok := dwSmallLayout(&g)
		if !ok && g.W <= 32 && g.OW <= 32 && g.H <= 32 {
			t.Fatalf("%+v: layout rejected", c)
		}
		if !ok {
			continue
		}
		ran++
		n := 1 + i%40
		clamp := clamps[i%len(clamps)]
		x := randT(r, n, g.H, g.W).F32
		w := randT(r, n, 9).F32
		var b []float32
		if i%2 == 0 {
			b = randT(r, n).F32
		}
		if i%3 == 0 {
			x[(i*7)%len(x)] = nan
		}
		P := g.OH * g.OW
		y := make([]float32, n*P+5)
		for k := range y {
			y[k] = -7
		}
		buf := make([]float32, p.scratchFloats())
		for k := range buf {
			buf[k] = nan
		}
		if !p.run(x, y, w, b, n, clamp[0], clamp[1], buf) {
			t.Fatal("run reported no kernel")
		}
		for k := n * P; k < len(y); k++ {
			if y[k] != -7 {
				t.Fatalf("%+v n %d: y[%d] past the outputs written", c, n, k)
			}
		}
		var bt *Tensor
		if b != nil {
			bt = &Tensor{F32: b}
		}
		ref := convRef(&Tensor{Shape: []int{1, n, g.H, g.W}, F32: x}, &Tensor{Shape: []int{n, 1, 3, 3}, F32: w}, bt,
			n, g.SH, g.SW, g.DH, g.DW, g.PT, g.PL, g.OH, g.OW)
		for k, v := range ref {
			v = math.Min(math.Max(v, float64(clamp[0])), float64(clamp[1]))
			got := float64(y[k])
			if math.IsNaN(v) != math.IsNaN(got) || math.Abs(got-v) > 1e-5*(1+math.Abs(v)) {
				t.Fatalf("%+v n %d bias %v clamp %v: y[%d] = %v, reference %v", c, n, b != nil, clamp, k, got, v)
			}
		}
		// The per-channel kernel on the same channels agrees to rounding.
		l, ok := dw3Layout(&g)
		if !ok {
			continue
		}
		pad := make([]float32, l.size())
		want := make([]float32, P)
		for ch := 0; ch < n; ch++ {
			l.padPlane(&g, x[ch*g.H*g.W:(ch+1)*g.H*g.W], pad)
			var bias float32
			if b != nil {
				bias = b[ch]
			}
			dw3PlaneGo(want, pad, g.OH, g.OW, g.OW, l.rs, &l.off, w[ch*9:ch*9+9], bias, clamp[0], clamp[1])
			for k, v := range want {
				got := y[ch*P+k]
				if (v != v) != (got != got) || math.Abs(float64(got-v)) > 1e-5*(1+math.Abs(float64(v))) {
					t.Fatalf("%+v channel %d: y[%d] = %v, dw3PlaneGo %v", c, ch, k, got, v)
				}
			}
		}
	}
	if ran < 300 {
		t.Fatalf("only %d geometries ran", ran)
	}
}

// TestDwSmallLayoutRejects: geometries the kernel does not cover.
func TestDwSmallLayoutRejects(t *testing.T) {
	for _, c := range []dwsCase{
		{h: 8, w: 33, s: 2, d: 1},                           // input row over 32
		{h: 8, w: 32, s: 1, d: 1, pads: [4]int{0, 2, 0, 2}}, // output row over 32
		{h: 90, w: 8, s: 1, d: 1},                           // scratch over dwsMaxFloats
		{h: 50, w: 20, s: 1, d: 1},                          // (wide rows)
	} {
		g := c.geom()
		if _, ok := dwSmallLayout(&g); ok {
			t.Errorf("%+v accepted", c)
		}
	}
}

// TestDwSmallConvRun runs depthwise Convs that take the kernel through
// Conv.Run (batches, threads, the unfused Clip) against the reference.
func TestDwSmallConvRun(t *testing.T) {
	saved := dwcOn
	dwcOn = false // the 7x7 and 14x14 s2 planes would take pathDWC
	defer func() { dwcOn = saved }()
	r := newRand(12)
	specs := []fpConvSpec{
		{n: 3, c: 37, h: 14, w: 14, m: 37, kh: 3, kw: 3, group: 37, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
		{n: 2, c: 20, h: 14, w: 14, m: 20, kh: 3, kw: 3, group: 20, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{0, 0, 1, 1}},
		{n: 2, c: 9, h: 28, w: 28, m: 9, kh: 3, kw: 3, group: 9, sh: 2, sw: 2, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
		{n: 1, c: 64, h: 7, w: 7, m: 64, kh: 3, kw: 3, group: 64, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
		{n: 2, c: 11, h: 28, w: 28, m: 11, kh: 3, kw: 3, group: 11, sh: 1, sw: 1, dh: 1, dw: 1, pads: [4]int{1, 1, 1, 1}, bias: true},
	}
	for _, s := range specs {
		for _, threads := range []int{1, 2, 5} {
			for _, act := range []string{"", "Relu", "Clip", "ClipReversed"} {
				t.Run(fmt.Sprintf("%v_t%d_%s", s, threads, act), func(t *testing.T) {
					x := randT(r, s.n, s.c, s.h, s.w)
					w := randT(r, s.m, 1, 3, 3)
					ins := []*Tensor{x, w}
					var b *Tensor
					if s.bias {
						b = randT(r, s.m)
						ins = append(ins, b)
					}
					attrs := map[string]Attr{
						"group":   intA(int64(s.group)),
						"strides": ints(int64(s.sh), int64(s.sw)),
						"pads":    ints(int64(s.pads[0]), int64(s.pads[1]), int64(s.pads[2]), int64(s.pads[3])),
					}
					lo, hi := -0.5, 0.75
					switch act {
					case "Relu":
						attrs["activation"] = strA("Relu")
						lo, hi = 0, math.Inf(1)
					case "Clip":
						attrs["activation"], attrs["activation_min"], attrs["activation_max"] = strA("Clip"), fltA(-0.5), fltA(0.75)
					case "ClipReversed": // min > max: not fused, applyAct runs after the kernel (all outputs = max)
						attrs["activation"], attrs["activation_min"], attrs["activation_max"] = strA("Clip"), fltA(0.75), fltA(-0.5)
						lo, hi = 0.75, -0.5
					default:
						lo, hi = math.Inf(-1), math.Inf(1)
					}
					oh := outDim(s.h, 3, s.sh, 1, s.pads[0], s.pads[2])
					ow := outDim(s.w, 3, s.sw, 1, s.pads[1], s.pads[3])
					want := convRef(x, w, b, s.group, s.sh, s.sw, 1, 1, s.pads[0], s.pads[1], oh, ow)
					for i, v := range want {
						want[i] = math.Min(math.Max(v, lo), hi)
					}
					got := opCase{op: "Conv", attrs: attrs, inputs: ins, threads: threads}.mustRun(t)[0]
					checkClose(t, "conv", got, []int{s.n, s.m, oh, ow}, want)
				})
			}
		}
	}
}
