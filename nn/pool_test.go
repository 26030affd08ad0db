package nn

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

// poolRef pools x (N, C, H, W) with explicit geometry; avg divides by the
// count of in-input taps, or with includePad of taps inside the padded input.
func poolRef(x *Tensor, isMax, includePad bool, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, oh, ow int) []float64 {
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := make([]float64, n*c*oh*ow)
	for p := 0; p < n*c; p++ {
		for y := 0; y < oh; y++ {
			for z := 0; z < ow; z++ {
				acc := 0.0
				if isMax {
					acc = math.Inf(-1)
				}
				cnt := 0
				for ky := 0; ky < kh; ky++ {
					for kx := 0; kx < kw; kx++ {
						iy, ix := y*sh-pt+ky*dh, z*sw-pl+kx*dw
						inPad := iy >= -pt && iy < h+pb && ix >= -pl && ix < w+pr
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							if includePad && inPad {
								cnt++
							}
							continue
						}
						cnt++
						v := float64(x.F32[(p*h+iy)*w+ix])
						if isMax {
							acc = math.Max(acc, v)
						} else {
							acc += v
						}
					}
				}
				if !isMax && cnt > 0 {
					acc /= float64(cnt)
				}
				out[(p*oh+y)*ow+z] = acc
			}
		}
	}
	return out
}

func TestPoolLadder(t *testing.T) {
	r := newRand(5)
	type spec struct {
		n, c, h, w, kh, kw, sh, sw, dh, dw int
		pads                               [4]int
		ceil, includePad                   bool
		oh, ow                             int
	}
	specs := []spec{
		{1, 1, 4, 4, 2, 2, 2, 2, 1, 1, [4]int{}, false, false, 2, 2},
		{2, 16, 32, 32, 2, 2, 2, 2, 1, 1, [4]int{}, false, false, 16, 16},
		{1, 3, 7, 7, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, false, false, 4, 4},
		{1, 3, 7, 7, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, false, true, 4, 4},
		{1, 2, 5, 6, 2, 2, 2, 2, 1, 1, [4]int{}, true, false, 3, 3},              // ceil_mode
		{1, 2, 5, 5, 3, 3, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, true, true, 3, 3},     // ceil, last window fits
		{1, 1, 6, 6, 3, 3, 3, 3, 1, 1, [4]int{1, 1, 1, 1}, true, true, 3, 3},     // ceil, windows with padding
		{2, 2, 9, 8, 3, 2, 1, 2, 2, 1, [4]int{2, 0, 1, 1}, false, false, 8, 4},   // dilation, odd pads
		{1, 1, 5, 5, 2, 2, 2, 2, 1, 1, [4]int{1, 1, 1, 1}, true, false, 3, 3},    // ceil: a 4th window would start in the end padding
		{1, 1, 3, 3, 3, 3, 1, 1, 1, 1, [4]int{2, 2, 2, 2}, false, false, 5, 5},   // windows mostly padding
		{3, 4, 9, 7, 2, 2, 2, 2, 1, 1, [4]int{}, false, false, 4, 3},             // 2x2/2 with a last row and column left over
		{1, 3, 111, 111, 3, 3, 2, 2, 1, 1, [4]int{}, false, false, 55, 55},       // SqueezeNet's 3x3/2: tap kernel, 16-column blocks and tail
		{1, 2, 56, 56, 3, 3, 2, 2, 1, 1, [4]int{}, true, false, 28, 28},          // ceil_mode past the input (Caffe-style)
		{1, 2, 9, 40, 5, 5, 1, 1, 1, 1, [4]int{2, 2, 2, 2}, false, false, 9, 40}, // 5x5/1 "same"
		{1, 2, 9, 9, 3, 3, 3, 3, 1, 1, [4]int{}, false, false, 3, 3},             // stride 3: row-by-row path
	}
	for _, s := range specs {
		for _, isMax := range []bool{true, false} {
			op := "AveragePool"
			if isMax {
				op = "MaxPool"
			}
			t.Run(fmt.Sprintf("%s_%v", op, s), func(t *testing.T) {
				x := randT(r, s.n, s.c, s.h, s.w)
				attrs := map[string]Attr{
					"kernel_shape": ints(int64(s.kh), int64(s.kw)),
					"strides":      ints(int64(s.sh), int64(s.sw)),
					"pads":         ints(int64(s.pads[0]), int64(s.pads[1]), int64(s.pads[2]), int64(s.pads[3])),
				}
				if s.dh != 1 || s.dw != 1 {
					attrs["dilations"] = ints(int64(s.dh), int64(s.dw))
				}
				if s.ceil {
					attrs["ceil_mode"] = intA(1)
				}
				if s.includePad {
					attrs["count_include_pad"] = intA(1)
				}
				got := opCase{op: op, inputs: []*Tensor{x}, attrs: attrs}.mustRun(t)[0]
				got2 := opCase{op: op, inputs: []*Tensor{x}, attrs: attrs, threads: 3}.mustRun(t)[0]
				want := poolRef(x, isMax, s.includePad, s.kh, s.kw, s.sh, s.sw, s.dh, s.dw, s.pads[0], s.pads[1], s.pads[2], s.pads[3], s.oh, s.ow)
				checkClose(t, op, got, []int{s.n, s.c, s.oh, s.ow}, want)
				checkClose(t, op+" 3 threads", got2, []int{s.n, s.c, s.oh, s.ow}, want)
			})
		}
	}
}

// TestMaxPoolNaN: a NaN in a window gives NaN (numpy's max, the ONNX
// reference), on the 2x2/2 path and the general one.
func TestMaxPoolNaN(t *testing.T) {
	for _, k := range []int64{2, 3} {
		x := New(Float32, 1, 1, 6, 6)
		for i := range x.F32 {
			x.F32[i] = float32(i)
		}
		x.F32[0] = float32(math.NaN())
		attrs := map[string]Attr{"kernel_shape": ints(k, k), "strides": ints(2, 2)}
		y := opCase{op: "MaxPool", inputs: []*Tensor{x}, attrs: attrs}.mustRun(t)[0]
		for i, v := range y.F32 {
			if isNaN := v != v; isNaN != (i == 0) {
				t.Errorf("kernel %d: y[%d] = %v", k, i, v)
			}
		}
	}
}

func TestPoolSameAnd1D(t *testing.T) {
	r := newRand(6)
	x := randT(r, 1, 2, 5, 5)
	got := opCase{op: "MaxPool", inputs: []*Tensor{x}, attrs: map[string]Attr{
		"kernel_shape": ints(2, 2), "strides": ints(2, 2), "auto_pad": strA("SAME_UPPER")}}.mustRun(t)[0]
	checkClose(t, "same", got, []int{1, 2, 3, 3}, poolRef(x, true, false, 2, 2, 2, 2, 1, 1, 0, 0, 1, 1, 3, 3))

	x1 := randT(r, 2, 3, 9)
	got = opCase{op: "AveragePool", inputs: []*Tensor{x1}, attrs: map[string]Attr{
		"kernel_shape": ints(3), "strides": ints(2), "pads": ints(1, 1)}}.mustRun(t)[0]
	x2 := &Tensor{DType: Float32, Shape: []int{2, 3, 1, 9}, F32: x1.F32}
	checkClose(t, "1d", got, []int{2, 3, 5}, poolRef(x2, false, false, 1, 3, 1, 2, 1, 1, 0, 1, 0, 1, 1, 5))
}

func TestGlobalAveragePool(t *testing.T) {
	r := newRand(7)
	// The last shape is large enough for the planes to be shared among
	// two threads.
	for _, shape := range [][]int{{1, 1, 1, 1}, {2, 3, 5, 7}, {3, 64, 8, 8}, {2, 4, 6}, {1, 96, 56, 56}} {
		x := randT(r, shape...)
		got := opCase{op: "GlobalAveragePool", inputs: []*Tensor{x}}.mustRun(t)[0]
		got2 := opCase{op: "GlobalAveragePool", inputs: []*Tensor{x}, threads: 2}.mustRun(t)[0]
		sameBits(t, "gap 2 threads", got2, got)
		nc := shape[0] * shape[1]
		sp := len(x.F32) / nc
		want := make([]float64, nc)
		for i := range want {
			for _, v := range x.F32[i*sp : (i+1)*sp] {
				want[i] += float64(v)
			}
			want[i] /= float64(sp)
		}
		ws := []int{shape[0], shape[1]}
		for range shape[2:] {
			ws = append(ws, 1)
		}
		checkClose(t, "gap", got, ws, want)
	}
}

func TestPoolErrors(t *testing.T) {
	r := newRand(8)
	cases := []struct {
		name  string
		op    string
		x     *Tensor
		attrs map[string]Attr
		outs  int
		want  error
	}{
		{"no kernel", "MaxPool", randT(r, 1, 1, 4, 4), nil, 1, ErrShape},
		{"too big", "MaxPool", randT(r, 1, 1, 2, 2), map[string]Attr{"kernel_shape": ints(3, 3)}, 1, ErrShape},
		{"rank", "AveragePool", randT(r, 4, 4), map[string]Attr{"kernel_shape": ints(2, 2)}, 1, ErrShape},
		{"kernel rank", "AveragePool", randT(r, 1, 1, 4, 4), map[string]Attr{"kernel_shape": ints(2)}, 1, ErrShape},
		{"3-D indices", "MaxPool", randT(r, 1, 1, 4, 4, 4), map[string]Attr{"kernel_shape": ints(2, 2, 2)}, 2, ErrUnsupported},
		{"dtype", "MaxPool", i64T([]int{1, 1, 2, 2}, 1, 2, 3, 4), map[string]Attr{"kernel_shape": ints(2, 2)}, 1, ErrDType},
		{"gap rank", "GlobalAveragePool", randT(r, 4), nil, 1, ErrShape},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := opCase{op: c.op, inputs: []*Tensor{c.x}, attrs: c.attrs, outputs: c.outs}.run()
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzPool: fuzzed pooling parameters are rejected or match the reference.
func FuzzPool(f *testing.F) {
	f.Add(uint8(1), uint8(2), uint8(5), uint8(6), uint8(2), uint8(2), uint8(2), uint8(2), uint8(1), uint8(1), uint8(0), uint8(0), uint8(0), uint8(0), uint8(0))
	f.Add(uint8(2), uint8(1), uint8(7), uint8(7), uint8(3), uint8(3), uint8(2), uint8(2), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(7))
	f.Fuzz(func(t *testing.T, n, c, h, w, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, flags uint8) {
		n, c, h, w = n%3, c%4, h%10, w%10
		kh, kw, sh, sw, dh, dw = kh%5, kw%5, sh%4, sw%4, dh%3, dw%3
		pt, pl, pb, pr = pt%4, pl%4, pb%4, pr%4
		isMax, ceil, includePad := flags&1 != 0, flags&2 != 0, flags&4 != 0
		op := "AveragePool"
		if isMax {
			op = "MaxPool"
		}
		attrs := map[string]Attr{
			"kernel_shape": ints(int64(kh), int64(kw)),
			"strides":      ints(int64(sh), int64(sw)),
			"dilations":    ints(int64(dh), int64(dw)),
			"pads":         ints(int64(pt), int64(pl), int64(pb), int64(pr)),
		}
		if ceil {
			attrs["ceil_mode"] = intA(1)
		}
		if includePad {
			attrs["count_include_pad"] = intA(1)
		}
		x := randT(newRand(uint64(h)), int(n), int(c), int(h), int(w))
		got, err := opCase{op: op, attrs: attrs, inputs: []*Tensor{x}}.run()
		if err != nil {
			return
		}
		size := func(in, k, s, d, p0, p1 int) int {
			span := in + p0 + p1 - ((k-1)*d + 1)
			if !ceil {
				return span/s + 1
			}
			o := (span+s-1)/s + 1
			if (o-1)*s >= in+p0 {
				o--
			}
			return o
		}
		oh := size(int(h), int(kh), int(sh), int(dh), int(pt), int(pb))
		ow := size(int(w), int(kw), int(sw), int(dw), int(pl), int(pr))
		want := poolRef(x, isMax, includePad, int(kh), int(kw), int(sh), int(sw), int(dh), int(dw), int(pt), int(pl), int(pb), int(pr), oh, ow)
		checkClose(t, op, got[0], []int{int(n), int(c), oh, ow}, want)
	})
}

// TestMaxPlane2x2MatchesGo compares the 2x2/2 kernel (assembly where the
// CPU has it) with the plain-Go one over widths covering full blocks of 16
// and every tail, odd input sizes and NaNs, bit for bit; then on values
// none above zero, with -0 and +0 (the maximum of -0 and +0 is +0).
func TestMaxPlane2x2MatchesGo(t *testing.T) {
	r := newRand(21)
	for ow := 1; ow <= 40; ow++ {
		for _, extra := range []int{0, 1} {
			var g geom
			g.OH, g.OW = 3, ow
			g.H, g.W = 2*g.OH+extra, 2*ow+extra
			x := randT(r, g.H*g.W).F32
			for i := range x {
				x[i] -= 0.5
			}
			x[r.IntN(len(x))] = float32(math.NaN())
			zeros := make([]float32, len(x))
			for i := range zeros {
				zeros[i] = []float32{-float32(math.Abs(float64(x[i]))), 0, float32(math.Copysign(0, -1))}[(i*i+ow)%3]
			}
			for _, x := range [][]float32{x, zeros} {
				got := make([]float32, g.OH*g.OW+1)
				want := make([]float32, len(got))
				got[len(got)-1], want[len(want)-1] = 7, 7
				maxPlane2x2(&g, x, got[:g.OH*g.OW])
				maxPlane2x2Go(&g, x, want[:g.OH*g.OW])
				sameF32(t, fmt.Sprintf("ow %d extra %d", ow, extra), got, want)
			}
		}
	}
}

// TestAvgPlane2x2BitForBit: the 2x2/2 average (its assembly kernel where
// the CPU has it) is the general path's bit for bit, signed zeros,
// infinities and tiny values included, on widths around the 16-output
// blocks, with an odd last row and column left over.
func TestAvgPlane2x2BitForBit(t *testing.T) {
	r := newRand(6)
	negZero := float32(math.Copysign(0, -1))
	for _, ow := range []int{1, 6, 15, 16, 17, 33} {
		for _, extra := range []int{0, 1} {
			h, w := 9, 2*ow+extra
			x := randT(r, 1, 1, h, w)
			x.F32[0], x.F32[1], x.F32[w], x.F32[w+1] = negZero, negZero, negZero, negZero
			x.F32[2*w+2*(ow-1)] = float32(math.Inf(1))
			x.F32[len(x.F32)-1] = 1e-42
			x.F32[3*w] = float32(math.NaN())
			k := &poolKernel{win: winAttrs{op: "AveragePool", kernel: []int{2, 2}, strides: []int{2, 2}}}
			g, err := k.geometry([]Type{x.Type()})
			if err != nil {
				t.Fatal(err)
			}
			want, got := make([]float32, g.OH*g.OW), make([]float32, g.OH*g.OW+1)
			got[len(got)-1] = 7
			k.avgPlane(&g, x.F32, want)
			avgPlane2x2(&g, x.F32, got[:len(want)])
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
					t.Fatalf("ow %d extra %d: y[%d] = %v, want %v", ow, extra, i, got[i], want[i])
				}
			}
			if got[len(want)] != 7 {
				t.Fatalf("ow %d extra %d: wrote past the plane", ow, extra)
			}
		}
	}
}
