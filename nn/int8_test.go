package nn

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

// Plain reference implementations of the int8 arithmetic (direct loops,
// rounding done with exact big-number arithmetic), and tests that the
// kernels agree with them bit for bit over a ladder of shapes.

// q8RefRoundShift is x·m / 2^s rounded half away from zero, computed exactly.
func q8RefRoundShift(x *big.Int, s uint8) int64 {
	r := new(big.Rat).SetFrac(x, new(big.Int).Lsh(big.NewInt(1), uint(s)))
	neg := r.Sign() < 0
	r.Abs(r)
	r.Add(r, big.NewRat(1, 2))
	q := new(big.Int).Quo(r.Num(), r.Denom()) // floor(|v| + 1/2)
	if neg {
		q.Neg(q)
	}
	return q.Int64()
}

func q8RefRequant(acc int64, m q8Mult, yz, lo, hi int32) int8 {
	if acc > math.MaxInt32 {
		acc = math.MaxInt32
	}
	if acc < math.MinInt32 {
		acc = math.MinInt32
	}
	v := new(big.Int).Mul(big.NewInt(acc), big.NewInt(int64(m.M)))
	r := int64(yz) + q8RefRoundShift(v, m.S)
	return int8(max(int64(lo), min(int64(hi), r)))
}

type q8ConvCase struct {
	n, cin, h, w, cout, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, group int
	relu                                                              bool
	perTensor, noBias                                                 bool
}

func (c q8ConvCase) String() string {
	return fmt.Sprintf("n%d_c%d_%dx%d_o%d_k%dx%d_s%d%d_d%d%d_p%d%d%d%d_g%d_r%v", c.n, c.cin, c.h, c.w, c.cout,
		c.kh, c.kw, c.sh, c.sw, c.dh, c.dw, c.pt, c.pl, c.pb, c.pr, c.group, c.relu)
}

var q8ConvLadder = []q8ConvCase{
	{n: 1, cin: 1, h: 32, w: 32, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},  // seed conv1
	{n: 2, cin: 16, h: 16, w: 16, cout: 32, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true}, // seed conv2
	{n: 1, cin: 3, h: 7, w: 5, cout: 4, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1},
	{n: 1, cin: 8, h: 9, w: 9, cout: 8, kh: 1, kw: 1, sh: 2, sw: 2, dh: 1, dw: 1, group: 1, perTensor: true},
	{n: 3, cin: 4, h: 11, w: 6, cout: 5, kh: 3, kw: 2, sh: 2, sw: 1, dh: 1, dw: 2, pt: 2, pl: 0, pb: 1, pr: 3, group: 1, noBias: true},
	{n: 1, cin: 6, h: 10, w: 10, cout: 6, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 6, relu: true},  // depthwise
	{n: 2, cin: 8, h: 13, w: 12, cout: 8, kh: 3, kw: 3, sh: 2, sw: 2, dh: 2, dw: 2, pt: 2, pl: 2, pb: 2, pr: 2, group: 8},              // depthwise dilated
	{n: 1, cin: 6, h: 8, w: 8, cout: 9, kh: 3, kw: 3, sh: 1, sw: 2, dh: 1, dw: 1, pt: 0, pl: 1, pb: 2, pr: 0, group: 3, relu: true},    // grouped
	{n: 1, cin: 4, h: 5, w: 5, cout: 8, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, group: 2},                                            // 1x1 output, grouped
	{n: 1, cin: 3, h: 1, w: 1, cout: 2, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},                // all padding but one
	{n: 2, cin: 5, h: 9, w: 11, cout: 5, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 5, relu: true},   // depthwise s2
	{n: 1, cin: 4, h: 2, w: 3, cout: 4, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 4},                // depthwise, no interior
	{n: 1, cin: 3, h: 8, w: 8, cout: 6, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 3},                // channel multiplier 2
	{n: 1, cin: 4, h: 10, w: 9, cout: 4, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, group: 4},               // depthwise 5x5
	{n: 1, cin: 8, h: 5, w: 7, cout: 12, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 1, relu: true},                               // pointwise
	{n: 2, cin: 8, h: 6, w: 3, cout: 8, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1, group: 2},                                            // grouped pointwise
	{n: 2, cin: 3, h: 19, w: 21, cout: 20, kh: 7, kw: 7, sh: 2, sw: 2, dh: 1, dw: 1, pt: 3, pl: 3, pb: 3, pr: 3, group: 1, relu: true}, // RGB stem: 21-byte kernel rows
	{n: 1, cin: 5, h: 9, w: 10, cout: 17, kh: 5, kw: 5, sh: 1, sw: 1, dh: 1, dw: 1, pt: 2, pl: 2, pb: 2, pr: 2, group: 1},              // 25-byte rows, odd Cout
	{n: 1, cin: 1, h: 12, w: 11, cout: 8, kh: 5, kw: 3, sh: 1, sw: 2, dh: 1, dw: 1, pt: 1, pl: 0, pb: 2, pr: 1, group: 1},              // one channel, 5x3
	{n: 1, cin: 6, h: 11, w: 11, cout: 16, kh: 3, kw: 3, sh: 2, sw: 2, dh: 2, dw: 2, pt: 2, pl: 2, pb: 2, pr: 2, group: 1},             // 6 channels dilated
	{n: 1, cin: 12, h: 9, w: 9, cout: 24, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 4, relu: true},  // grouped, 3 channels per group
}

type q8ConvFixture struct {
	x, w     []int8
	bias     []int32
	xq, yq   q8Params
	wscale   []float32
	xf, wf   []float32 // dequantized values, for the float comparison
	biasReal []float32
}

func q8NewConvFixture(r *rand.Rand, c q8ConvCase) q8ConvFixture {
	f := q8ConvFixture{
		xq: q8Params{Scale: 0.02 + r.Float32()*0.01, Zero: int32(r.IntN(60)) - 30},
	}
	cinG := c.cin / c.group
	kk := cinG * c.kh * c.kw
	f.x = make([]int8, c.n*c.cin*c.h*c.w)
	for i := range f.x {
		f.x[i] = int8(r.IntN(256) - 128)
	}
	f.w = make([]int8, c.cout*kk)
	for i := range f.w {
		f.w[i] = int8(r.IntN(255) - 127)
	}
	nsc := c.cout
	if c.perTensor {
		nsc = 1
	}
	for i := 0; i < nsc; i++ {
		f.wscale = append(f.wscale, (0.5+r.Float32())/127/float32(math.Sqrt(float64(kk))))
	}
	if !c.noBias {
		f.bias = make([]int32, c.cout)
		for i := range f.bias {
			f.bias[i] = int32(r.IntN(4001) - 2000)
		}
	}
	// Output scale near the real output spread so the test exercises the
	// whole int8 range and saturation.
	f.yq = q8Params{Scale: 0.02 + r.Float32()*0.02, Zero: int32(r.IntN(40)) - 20}
	return f
}

func (f q8ConvFixture) wScale(c int) float32 {
	if len(f.wscale) == 1 {
		return f.wscale[0]
	}
	return f.wscale[c]
}

// q8RefConv is the direct-loop reference of QLinearConvInt8.
func q8RefConv(c q8ConvCase, f q8ConvFixture) ([]int8, []int) {
	cinG, coutG := c.cin/c.group, c.cout/c.group
	oh := (c.h+c.pt+c.pb-(c.dh*(c.kh-1)+1))/c.sh + 1
	ow := (c.w+c.pl+c.pr-(c.dw*(c.kw-1)+1))/c.sw + 1
	lo, hi := int32(-128), int32(127)
	if c.relu {
		lo = max(lo, f.yq.Zero)
	}
	out := make([]int8, c.n*c.cout*oh*ow)
	for b := 0; b < c.n; b++ {
		for co := 0; co < c.cout; co++ {
			g := co / coutG
			m, err := q8Multiplier(float64(f.xq.Scale) * float64(f.wScale(co)) / float64(f.yq.Scale))
			if err != nil {
				panic(err)
			}
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var acc int64
					if f.bias != nil {
						acc = int64(f.bias[co])
					}
					for ci := 0; ci < cinG; ci++ {
						for ky := 0; ky < c.kh; ky++ {
							for kx := 0; kx < c.kw; kx++ {
								iy := oy*c.sh - c.pt + ky*c.dh
								ix := ox*c.sw - c.pl + kx*c.dw
								xv := f.xq.Zero
								if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w {
									xv = int32(f.x[((b*c.cin+g*cinG+ci)*c.h+iy)*c.w+ix])
								}
								wv := int32(f.w[((co*cinG+ci)*c.kh+ky)*c.kw+kx])
								acc += int64(xv-f.xq.Zero) * int64(wv)
							}
						}
					}
					out[((b*c.cout+co)*oh+oy)*ow+ox] = q8RefRequant(acc, m, f.yq.Zero, lo, hi)
				}
			}
		}
	}
	return out, []int{c.n, c.cout, oh, ow}
}

// floatConv is the float32 convolution of the dequantized operands, quantized
// with the output parameters (what an ideal int8 conv would give).
func q8FloatConvQ(c q8ConvCase, f q8ConvFixture) []int32 {
	cinG, coutG := c.cin/c.group, c.cout/c.group
	oh := (c.h+c.pt+c.pb-(c.dh*(c.kh-1)+1))/c.sh + 1
	ow := (c.w+c.pl+c.pr-(c.dw*(c.kw-1)+1))/c.sw + 1
	out := make([]int32, c.n*c.cout*oh*ow)
	for b := 0; b < c.n; b++ {
		for co := 0; co < c.cout; co++ {
			g := co / coutG
			ws := float64(f.wScale(co))
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					var s float64
					if f.bias != nil {
						s = float64(f.bias[co]) * float64(f.xq.Scale) * ws
					}
					for ci := 0; ci < cinG; ci++ {
						for ky := 0; ky < c.kh; ky++ {
							for kx := 0; kx < c.kw; kx++ {
								iy := oy*c.sh - c.pt + ky*c.dh
								ix := ox*c.sw - c.pl + kx*c.dw
								if iy < 0 || iy >= c.h || ix < 0 || ix >= c.w {
									continue
								}
								xv := float64(int32(f.x[((b*c.cin+g*cinG+ci)*c.h+iy)*c.w+ix])-f.xq.Zero) * float64(f.xq.Scale)
								wv := float64(f.w[((co*cinG+ci)*c.kh+ky)*c.kw+kx]) * ws
								s += xv * wv
							}
						}
					}
					if c.relu && s < 0 {
						s = 0
					}
					out[((b*c.cout+co)*oh+oy)*ow+ox] = QuantizeValue(float32(s), f.yq.Scale, f.yq.Zero, -128, 127)
				}
			}
		}
	}
	return out
}

func q8ConvGraph(c q8ConvCase, f q8ConvFixture) *Graph {
	wT := &Tensor{DType: Int8, Shape: []int{c.cout, c.cin / c.group, c.kh, c.kw}, I8: f.w}
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x", Type: Type{DType: Int8, Shape: []int{-1, c.cin, c.h, c.w}}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Consts:  map[string]*Tensor{"w": wT},
	}
	attrs := map[string]Attr{
		"strides":   {Kind: AttrInts, Ints: []int64{int64(c.sh), int64(c.sw)}},
		"dilations": {Kind: AttrInts, Ints: []int64{int64(c.dh), int64(c.dw)}},
		"pads":      {Kind: AttrInts, Ints: []int64{int64(c.pt), int64(c.pl), int64(c.pb), int64(c.pr)}},
		"group":     {Kind: AttrInt, Int: int64(c.group)},
		"w_scale":   {Kind: AttrFloats, Floats: f.wscale},
	}
	if c.relu {
		attrs["relu"] = Attr{Kind: AttrInt, Int: 1}
	}
	Q8Attrs(attrs, "x", f.xq.Scale, f.xq.Zero)
	Q8Attrs(attrs, "y", f.yq.Scale, f.yq.Zero)
	ins := []string{"x", "w"}
	if f.bias != nil {
		g.Consts["b"] = &Tensor{DType: Int32, Shape: []int{c.cout}, I32: f.bias}
		ins = append(ins, "b")
	}
	g.Nodes = []*Node{{Name: "conv", Op: "QLinearConvInt8", Inputs: ins, Outputs: []string{"y"}, Attrs: attrs}}
	return g
}

func q8RunOne(t testing.TB, g *Graph, in ...*Tensor) *Tensor {
	t.Helper()
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewRunner(1).Run(in...)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

func TestQLinearConvInt8MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range q8ConvLadder {
		t.Run(c.String(), func(t *testing.T) {
			f := q8NewConvFixture(r, c)
			want, shape := q8RefConv(c, f)
			x := &Tensor{DType: Int8, Shape: []int{c.n, c.cin, c.h, c.w}, I8: f.x}
			y := q8RunOne(t, q8ConvGraph(c, f), x)
			if !sameShape(y.Shape, shape) {
				t.Fatalf("shape %v, want %v", y.Shape, shape)
			}
			if y.Quant == nil || y.Quant.Scale[0] != f.yq.Scale || y.Quant.ZeroPoint[0] != f.yq.Zero {
				t.Fatalf("output quant %+v, want %+v", y.Quant, f.yq)
			}
			sat := 0
			for i := range want {
				if y.I8[i] != want[i] {
					t.Fatalf("element %d: kernel %d, reference %d", i, y.I8[i], want[i])
				}
				if want[i] == 127 || want[i] == -128 {
					sat++
				}
			}
			// Closeness to float: within one quantization step everywhere.
			fq := q8FloatConvQ(c, f)
			for i := range fq {
				if d := int32(y.I8[i]) - fq[i]; d > 1 || d < -1 {
					t.Fatalf("element %d: int8 %d, float quantized %d", i, y.I8[i], fq[i])
				}
			}
			if sat == len(want) {
				t.Fatalf("all outputs saturated: the fixture tests nothing")
			}
		})
	}
}

func TestQLinearGemmInt8MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{1, 1, 1}, {1, 10, 128}, {8, 128, 2048}, {3, 7, 5}, {17, 33, 65}, {2, 64, 10}, {1, 130, 2050}, {3, 5, 33}, {4, 9, 70}} {
		m, n, k := sz[0], sz[1], sz[2]
		t.Run(fmt.Sprintf("m%d_n%d_k%d", m, n, k), func(t *testing.T) {
			x := make([]int8, m*k)
			for i := range x {
				x[i] = int8(r.IntN(256) - 128)
			}
			w := make([]int8, n*k)
			for i := range w {
				w[i] = int8(r.IntN(255) - 127)
			}
			bias := make([]int32, n)
			ws := make([]float32, n)
			for i := range bias {
				bias[i] = int32(r.IntN(20001) - 10000)
				ws[i] = (0.5 + r.Float32()) / 127 / float32(math.Sqrt(float64(k)))
			}
			xq := q8Params{Scale: 0.03, Zero: -7}
			yq := q8Params{Scale: 0.05, Zero: 3}
			attrs := map[string]Attr{"w_scale": {Kind: AttrFloats, Floats: ws}, "relu": {Kind: AttrInt, Int: int64(n % 2)}}
			Q8Attrs(attrs, "x", xq.Scale, xq.Zero)
			Q8Attrs(attrs, "y", yq.Scale, yq.Zero)
			g := &Graph{
				Inputs:  []ValueInfo{{Name: "x"}},
				Outputs: []ValueInfo{{Name: "y"}},
				Consts: map[string]*Tensor{
					"w": {DType: Int8, Shape: []int{n, k}, I8: w},
					"b": {DType: Int32, Shape: []int{n}, I32: bias},
				},
				Nodes: []*Node{{Name: "fc", Op: "QLinearGemmInt8", Inputs: []string{"x", "w", "b"}, Outputs: []string{"y"}, Attrs: attrs}},
			}
			y := q8RunOne(t, g, &Tensor{DType: Int8, Shape: []int{m, k}, I8: x})
			lo := int32(-128)
			if n%2 == 1 {
				lo = yq.Zero
			}
			for i := 0; i < m; i++ {
				for j := 0; j < n; j++ {
					acc := int64(bias[j])
					var fs float64 = float64(bias[j]) * float64(xq.Scale) * float64(ws[j])
					for p := 0; p < k; p++ {
						acc += int64(int32(x[i*k+p])-xq.Zero) * int64(w[j*k+p])
						fs += float64(int32(x[i*k+p])-xq.Zero) * float64(xq.Scale) * float64(w[j*k+p]) * float64(ws[j])
					}
					mu, _ := q8Multiplier(float64(xq.Scale) * float64(ws[j]) / float64(yq.Scale))
					want := q8RefRequant(acc, mu, yq.Zero, lo, 127)
					got := y.I8[i*n+j]
					if got != want {
						t.Fatalf("(%d,%d): kernel %d, reference %d", i, j, got, want)
					}
					if lo > -128 && fs < 0 {
						fs = 0
					}
					fq := QuantizeValue(float32(fs), yq.Scale, yq.Zero, -128, 127)
					if d := int32(got) - fq; d > 1 || d < -1 {
						t.Fatalf("(%d,%d): int8 %d, float quantized %d", i, j, got, fq)
					}
				}
			}
		})
	}
}

func TestQ8MultiplierAndRounding(t *testing.T) {
	for _, real := range []float64{1e-12, 1e-6, 0.000123, 0.25, 0.5, 0.7071, 0.9999999999, 1, 3.5, 1000} {
		m, err := q8Multiplier(real)
		if err != nil {
			t.Fatal(err)
		}
		if m.M == 0 {
			if real >= math.Ldexp(1, -32) {
				t.Fatalf("%v: zero multiplier", real)
			}
			continue
		}
		if m.M < 1<<30 {
			t.Fatalf("%v: mantissa %d not normalised", real, m.M)
		}
		got := math.Ldexp(float64(m.M), -int(m.S))
		if math.Abs(got-real)/real > math.Ldexp(1, -30) {
			t.Fatalf("%v: M=%d S=%d gives %v", real, m.M, m.S, got)
		}
	}
	for _, bad := range []float64{0, -1, math.NaN(), math.Inf(1), math.Ldexp(1, 32)} {
		if _, err := q8Multiplier(bad); err == nil {
			t.Fatalf("multiplier %v accepted", bad)
		}
	}
	// Half away from zero.
	for _, c := range []struct {
		x    int64
		s    uint8
		want int64
	}{{5, 1, 3}, {-5, 1, -3}, {7, 2, 2}, {6, 2, 2}, {-6, 2, -2}, {-7, 2, -2}, {2, 2, 1}, {-2, 2, -1}, {1, 2, 0}, {-1, 2, 0}, {9, 0, 9}} {
		if got := q8RoundShift(c.x, c.s); got != c.want {
			t.Errorf("roundShift(%d, %d) = %d, want %d", c.x, c.s, got, c.want)
		}
		if got := q8RefRoundShift(big.NewInt(c.x), c.s); got != c.want {
			t.Errorf("q8RefRoundShift(%d, %d) = %d, want %d", c.x, c.s, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 10000; i++ {
		x := r.Int64N(1<<62) - 1<<61
		s := uint8(r.IntN(63))
		if a, b := q8RoundShift(x, s), q8RefRoundShift(big.NewInt(x), s); a != b {
			t.Fatalf("roundShift(%d, %d) = %d, reference %d", x, s, a, b)
		}
	}
}

func TestQuantizeDequantizeLinear(t *testing.T) {
	// Round half to even, saturation, NaN, per-axis, uint8 default.
	x := []float32{0.25, 0.75, -0.25, -0.75, 1000, -1000, float32(math.NaN()), 0.1}
	g := &Graph{
		Inputs:  []ValueInfo{{Name: "x"}},
		Outputs: []ValueInfo{{Name: "q"}, {Name: "d"}},
		Consts: map[string]*Tensor{
			"s": {DType: Float32, Shape: []int{}, F32: []float32{0.5}},
			"z": {DType: Int8, Shape: []int{}, I8: []int8{1}},
		},
		Nodes: []*Node{
			{Name: "q", Op: "QuantizeLinear", Inputs: []string{"x", "s", "z"}, Outputs: []string{"q"}},
			{Name: "d", Op: "DequantizeLinear", Inputs: []string{"q", "s", "z"}, Outputs: []string{"d"}},
		},
	}
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	xt, _ := FromFloat32(x, len(x))
	out, err := p.NewRunner(1).Run(xt)
	if err != nil {
		t.Fatal(err)
	}
	// x/0.5 = 0.5, 1.5, -0.5, -1.5 -> 0, 2, -0, -2 (half to even), + zp 1.
	wantQ := []int8{1, 3, 1, -1, 127, -128, 1, 1}
	for i, w := range wantQ {
		if out[0].I8[i] != w {
			t.Errorf("q[%d] = %d, want %d (x=%v)", i, out[0].I8[i], w, x[i])
		}
	}
	for i, w := range wantQ {
		if d := out[1].F32[i]; d != float32(int32(w)-1)*0.5 {
			t.Errorf("d[%d] = %v", i, d)
		}
	}
	if q := out[0].Quant; q == nil || q.Scale[0] != 0.5 || q.ZeroPoint[0] != 1 {
		t.Errorf("quantized output carries %+v", q)
	}
	// Per-axis, uint8 without zero point.
	g2 := &Graph{
		Inputs:  []ValueInfo{{Name: "x"}},
		Outputs: []ValueInfo{{Name: "q"}},
		Consts:  map[string]*Tensor{"s": {DType: Float32, Shape: []int{2}, F32: []float32{1, 0.1}}},
		Nodes:   []*Node{{Name: "q", Op: "QuantizeLinear", Inputs: []string{"x", "s"}, Outputs: []string{"q"}, Attrs: map[string]Attr{"axis": {Kind: AttrInt, Int: 1}}}},
	}
	xt2, _ := FromFloat32([]float32{1, 2, 1, 2, -1, 300, 0.15, 0.25}, 2, 2, 2)
	q := q8RunOne(t, g2, xt2)
	want := []uint8{1, 2, 10, 20, 0, 255, 2, 2}
	for i, w := range want {
		if q.U8[i] != w {
			t.Errorf("per-axis q[%d] = %d, want %d", i, q.U8[i], w)
		}
	}
}

func TestInt8PoolAddRequant(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]int8, 2*3*9*9)
	for i := range x {
		x[i] = int8(r.IntN(256) - 128)
	}
	xt := &Tensor{DType: Int8, Shape: []int{2, 3, 9, 9}, I8: x, Quant: &Quant{Scale: []float32{0.1}, ZeroPoint: []int32{4}}}
	for _, ceil := range []int64{0, 1} {
		g := &Graph{Inputs: []ValueInfo{{Name: "x"}}, Outputs: []ValueInfo{{Name: "y"}},
			Nodes: []*Node{{Name: "p", Op: "MaxPoolInt8", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]Attr{
				"kernel_shape": {Kind: AttrInts, Ints: []int64{3, 2}},
				"strides":      {Kind: AttrInts, Ints: []int64{2, 2}},
				"pads":         {Kind: AttrInts, Ints: []int64{1, 0, 1, 0}},
				"ceil_mode":    {Kind: AttrInt, Int: ceil},
			}}}}
		y := q8RunOne(t, g, xt)
		oh, ow := y.Shape[2], y.Shape[3]
		wantH, wantW := 5, 4
		if ceil == 1 {
			wantH, wantW = 5, 5
		}
		if oh != wantH || ow != wantW {
			t.Fatalf("ceil=%d: pool output %v", ceil, y.Shape)
		}
		for c := 0; c < 6; c++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					m := -1000
					for ky := 0; ky < 3; ky++ {
						for kx := 0; kx < 2; kx++ {
							iy, ix := oy*2-1+ky, ox*2+kx
							if iy >= 0 && iy < 9 && ix >= 0 && ix < 9 {
								m = max(m, int(x[(c*9+iy)*9+ix]))
							}
						}
					}
					if got := int(y.I8[(c*oh+oy)*ow+ox]); got != m {
						t.Fatalf("pool (%d,%d,%d) = %d, want %d", c, oy, ox, got, m)
					}
				}
			}
		}
		if y.Quant != xt.Quant {
			t.Fatalf("pool does not pass quantization through")
		}
	}

	// Add with rescale and ReLU, and Requantize.
	b := make([]int8, len(x))
	for i := range b {
		b[i] = int8(r.IntN(256) - 128)
	}
	bt := &Tensor{DType: Int8, Shape: xt.Shape, I8: b}
	attrs := map[string]Attr{"relu": {Kind: AttrInt, Int: 1}}
	Q8Attrs(attrs, "a", 0.1, 4)
	Q8Attrs(attrs, "b", 0.037, -11)
	Q8Attrs(attrs, "y", 0.13, -128)
	rq := map[string]Attr{}
	Q8Attrs(rq, "x", 0.1, 4)
	Q8Attrs(rq, "y", 0.0731, 9)
	g := &Graph{Inputs: []ValueInfo{{Name: "a"}, {Name: "b"}}, Outputs: []ValueInfo{{Name: "y"}, {Name: "r"}},
		Nodes: []*Node{
			{Name: "add", Op: "QLinearAddInt8", Inputs: []string{"a", "b"}, Outputs: []string{"y"}, Attrs: attrs},
			{Name: "rq", Op: "RequantizeInt8", Inputs: []string{"a"}, Outputs: []string{"r"}, Attrs: rq},
		}}
	p, err := Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.NewRunner(1).Run(xt, bt)
	if err != nil {
		t.Fatal(err)
	}
	ma, mb, s, err := q8AddMultipliers(0.1, 0.037, 0.13)
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := q8Multiplier(0.1 / float64(float32(0.0731)))
	for i := range x {
		v := (int64(x[i])-4)*ma + (int64(b[i])+11)*mb
		want := int8(max(-128, min(127, -128+q8RefRoundShift(big.NewInt(v), s))))
		if out[0].I8[i] != want {
			t.Fatalf("add[%d] = %d, reference %d", i, out[0].I8[i], want)
		}
		real := (float64(x[i])-4)*0.1 + (float64(b[i])+11)*float64(float32(0.037))
		fq := QuantizeValue(float32(math.Max(real, 0)), 0.13, -128, -128, 127)
		if d := int32(want) - fq; d > 1 || d < -1 {
			t.Fatalf("add[%d] = %d, float quantized %d", i, want, fq)
		}
		if got, w := out[1].I8[i], q8RefRequant(int64(x[i])-4, rm, 9, -128, 127); got != w {
			t.Fatalf("requant[%d] = %d, reference %d", i, got, w)
		}
	}
}

func TestInt8BadParams(t *testing.T) {
	f := q8NewConvFixture(rand.New(rand.NewPCG(9, 9)), q8ConvLadder[0])
	c := q8ConvLadder[0]
	for name, mutate := range map[string]func(g *Graph){
		"zero scale":        func(g *Graph) { Q8Attrs(g.Nodes[0].Attrs, "y", 0, 0) },
		"zp out of range":   func(g *Graph) { Q8Attrs(g.Nodes[0].Attrs, "x", 0.1, 300) },
		"missing scale":     func(g *Graph) { delete(g.Nodes[0].Attrs, "x_scale") },
		"wrong scale count": func(g *Graph) { g.Nodes[0].Attrs["w_scale"] = Attr{Kind: AttrFloats, Floats: []float32{1, 2}} },
		"float weight":      func(g *Graph) { g.Consts["w"] = New(Float32, 16, 1, 3, 3) },
		"bad bias":          func(g *Graph) { g.Consts["b"] = New(Int32, 3) },
	} {
		g := q8ConvGraph(c, f)
		mutate(g)
		if _, err := Compile(g); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
	// Wrong input shape and dtype at run time.
	p, err := Compile(q8ConvGraph(c, f))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.NewRunner(1).Run(New(Int8, 1, 2, 32, 32)); err == nil {
		t.Error("2-channel input accepted")
	}
	if _, err := p.NewRunner(1).Run(New(Float32, 1, 1, 32, 32)); err == nil {
		t.Error("float input accepted")
	}
}

// The threaded conv (rows and images split among goroutines) gives the
// single-threaded result bit for bit.
func TestQLinearConvInt8Threads(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []q8ConvCase{q8ConvLadder[0], q8ConvLadder[1], q8ConvLadder[4], q8ConvLadder[7], q8ConvLadder[10], q8ConvLadder[13], q8ConvLadder[14], q8ConvLadder[15]} {
		f := q8NewConvFixture(r, c)
		want, _ := q8RefConv(c, f)
		p, err := Compile(q8ConvGraph(c, f))
		if err != nil {
			t.Fatal(err)
		}
		q8CheckThreads(t, p, c, f, want, 2, 3, 8)
	}
}

// q8CheckThreads runs p on f's input with each thread count and checks
// the output against want bit for bit.
func q8CheckThreads(t *testing.T, p *Program, c q8ConvCase, f q8ConvFixture, want []int8, threads ...int) {
	t.Helper()
	for _, th := range threads {
		x := &Tensor{DType: Int8, Shape: []int{c.n, c.cin, c.h, c.w}, I8: f.x}
		out, err := p.NewRunner(th).Run(x)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if out[0].I8[i] != want[i] {
				t.Fatalf("%v threads %d: element %d = %d, reference %d", c, th, i, out[0].I8[i], want[i])
			}
		}
	}
}

// A fused Clip (y_min, y_max) clamps the requantized output.
func TestQLinearConvInt8Clip(t *testing.T) {
	c := q8ConvLadder[1]
	f := q8NewConvFixture(rand.New(rand.NewPCG(13, 14)), c)
	c.relu = false
	want, _ := q8RefConv(c, f)
	g := q8ConvGraph(c, f)
	g.Nodes[0].Attrs["y_min"] = Attr{Kind: AttrInt, Int: -20}
	g.Nodes[0].Attrs["y_max"] = Attr{Kind: AttrInt, Int: 30}
	y := q8RunOne(t, g, &Tensor{DType: Int8, Shape: []int{c.n, c.cin, c.h, c.w}, I8: f.x})
	clipped := 0
	for i, w := range want {
		e := max(min(w, 30), -20)
		if e != w {
			clipped++
		}
		if y.I8[i] != e {
			t.Fatalf("element %d: %d, want %d", i, y.I8[i], e)
		}
	}
	if clipped == 0 {
		t.Fatal("nothing clipped: the test checks nothing")
	}
}

func TestQLinearGlobalAveragePoolInt8(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, sh := range [][]int{{2, 3, 4, 4}, {1, 64, 8, 8}, {3, 5, 1, 7}, {1, 2, 1, 1}} {
		x := New(Int8, sh...)
		for i := range x.I8 {
			x.I8[i] = int8(r.IntN(256) - 128)
		}
		xp, yp := q8Params{Scale: 0.05, Zero: -9}, q8Params{Scale: 0.02, Zero: 4}
		attrs := map[string]Attr{}
		Q8Attrs(attrs, "x", xp.Scale, xp.Zero)
		Q8Attrs(attrs, "y", yp.Scale, yp.Zero)
		g := &Graph{Inputs: []ValueInfo{{Name: "x"}}, Outputs: []ValueInfo{{Name: "y"}},
			Nodes: []*Node{{Name: "gap", Op: "QLinearGlobalAveragePoolInt8", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: attrs}}}
		y := q8RunOne(t, g, x)
		hw := sh[2] * sh[3]
		m, _ := q8Multiplier(float64(xp.Scale) / (float64(yp.Scale) * float64(hw)))
		for c := 0; c < sh[0]*sh[1]; c++ {
			var acc int64
			var real float64
			for _, v := range x.I8[c*hw : (c+1)*hw] {
				acc += int64(v) - int64(xp.Zero)
				real += (float64(v) - float64(xp.Zero)) * float64(xp.Scale)
			}
			want := q8RefRequant(acc, m, yp.Zero, -128, 127)
			if y.I8[c] != want {
				t.Fatalf("%v channel %d: %d, reference %d", sh, c, y.I8[c], want)
			}
			fq := QuantizeValue(float32(real/float64(hw)), yp.Scale, yp.Zero, -128, 127)
			if d := int32(want) - fq; d > 1 || d < -1 {
				t.Fatalf("%v channel %d: %d, float %d", sh, c, want, fq)
			}
		}
	}
}

// The 2x2/2 fast path of MaxPoolInt8 (odd sizes drop the last row/column).
func TestMaxPoolInt8Fast(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, hw := range [][2]int{{32, 32}, {7, 9}, {2, 2}, {16, 16}, {10, 66}, {9, 131}, {4, 128}, {3, 63}, {5, 50}, {6, 17}} {
		h, w := hw[0], hw[1]
		x := New(Int8, 2, 3, h, w)
		for i := range x.I8 {
			x.I8[i] = int8(r.IntN(256) - 128)
		}
		g := &Graph{Inputs: []ValueInfo{{Name: "x"}}, Outputs: []ValueInfo{{Name: "y"}},
			Nodes: []*Node{{Name: "p", Op: "MaxPoolInt8", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]Attr{
				"kernel_shape": {Kind: AttrInts, Ints: []int64{2, 2}},
				"strides":      {Kind: AttrInts, Ints: []int64{2, 2}},
			}}}}
		y := q8RunOne(t, g, x)
		oh, ow := h/2, w/2
		if y.Shape[2] != oh || y.Shape[3] != ow {
			t.Fatalf("shape %v", y.Shape)
		}
		for c := 0; c < 6; c++ {
			for oy := 0; oy < oh; oy++ {
				for ox := 0; ox < ow; ox++ {
					m := int8(-128)
					for dy := 0; dy < 2; dy++ {
						for dx := 0; dx < 2; dx++ {
							if v := x.I8[(c*h+2*oy+dy)*w+2*ox+dx]; v > m {
								m = v
							}
						}
					}
					if got := y.I8[(c*oh+oy)*ow+ox]; got != m {
						t.Fatalf("%dx%d (%d,%d,%d) = %d, want %d", h, w, c, oy, ox, got, m)
					}
				}
			}
		}
	}
}

// Random (often invalid) attributes and input shapes give errors, never
// panics, in the int8 kernels.
func TestInt8KernelsNoPanic(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	ri := func(lo, hi int) int64 { return int64(lo + r.IntN(hi-lo+1)) }
	ints := func(n, lo, hi int) Attr {
		a := Attr{Kind: AttrInts}
		for i := 0; i < n; i++ {
			a.Ints = append(a.Ints, ri(lo, hi))
		}
		return a
	}
	compiled, ran := 0, 0
	for iter := 0; iter < 3000; iter++ {
		attrs := map[string]Attr{
			"strides":      ints(int(ri(1, 3)), -1, 3),
			"pads":         ints(int(ri(3, 4)), -1, 3),
			"dilations":    ints(2, 0, 2),
			"group":        {Kind: AttrInt, Int: ri(0, 4)},
			"kernel_shape": ints(2, 0, 3),
			"ceil_mode":    {Kind: AttrInt, Int: ri(0, 1)},
			"w_scale":      {Kind: AttrFloats, Floats: []float32{0.01, 0.02, 0.03, 0.04}[:ri(1, 4)]},
			"relu":         {Kind: AttrInt, Int: ri(0, 1)},
			"y_min":        {Kind: AttrInt, Int: ri(-300, 300)},
		}
		for _, p := range []string{"x", "y", "a", "b"} {
			Q8Attrs(attrs, p, []float32{0.1, 0, -1, 1e-30, 1e30}[r.IntN(5)], int32(ri(-130, 130)))
		}
		ws := []int{int(ri(0, 4)), int(ri(0, 3)), int(ri(0, 3)), int(ri(0, 3))}
		w := New(Int8, ws...)
		op := []string{"QLinearConvInt8", "QLinearGemmInt8", "MaxPoolInt8", "QLinearAddInt8", "RequantizeInt8", "QLinearGlobalAveragePoolInt8"}[r.IntN(6)]
		if op == "QLinearGemmInt8" {
			w = New(Int8, int(ri(0, 4)), int(ri(0, 4)))
		}
		g := &Graph{
			Inputs:  []ValueInfo{{Name: "x"}, {Name: "x2"}},
			Outputs: []ValueInfo{{Name: "y"}},
			Consts:  map[string]*Tensor{"w": w, "b": New(Int32, int(ri(0, 4)))},
		}
		ins := []string{"x", "w", "b"}
		if op == "QLinearAddInt8" {
			ins = []string{"x", "x2"}
		}
		g.Nodes = []*Node{{Name: "n", Op: op, Inputs: ins, Outputs: []string{"y"}, Attrs: attrs}}
		p, err := Compile(g)
		if err != nil {
			continue
		}
		compiled++
		shape := []int{int(ri(0, 2)), int(ri(0, 5)), int(ri(0, 6)), int(ri(0, 6))}[:ri(1, 4)]
		x := New(Int8, shape...)
		x2 := New(Int8, shape...)
		if r.IntN(4) == 0 {
			x2 = New(Int8, 1, 2)
		}
		if _, err := p.NewRunner(int(ri(1, 3))).Run(x, x2); err == nil {
			ran++
		}
	}
	t.Logf("3000 random nodes: %d compiled, %d ran", compiled, ran)
	if compiled == 0 || ran == 0 {
		t.Fatal("the random cases never reach the kernels")
	}
}

// TestMaxPoolInt8Geometries checks the general MaxPoolInt8 path against a
// per-tap reference over kernels, strides, dilations, pads, ceil mode and
// odd planes, on 1 and 2 threads.
func TestMaxPoolInt8Geometries(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	type geo struct{ h, w, kh, kw, s, d, pt, pl, pb, pr, ceil int }
	var cases []geo
	for _, k := range []int{1, 2, 3, 5} {
		for _, s := range []int{1, 2, 3} {
			for _, d := range []int{1, 2} {
				for _, p := range []int{0, 1, 2} {
					if p >= k*d {
						continue
					}
					for _, hw := range [][2]int{{7, 9}, {16, 13}} {
						if (k-1)*d+1 > hw[0]+2*p {
							continue
						}
						cases = append(cases, geo{hw[0], hw[1], k, k, s, d, p, p, p, p, (k + s) % 2})
					}
				}
			}
		}
	}
	cases = append(cases, geo{112, 112, 3, 3, 2, 1, 1, 1, 1, 1, 0}, geo{5, 6, 3, 2, 1, 1, 2, 0, 0, 1, 1})
	for _, c := range cases {
		x := make([]int8, 2*3*c.h*c.w)
		for i := range x {
			x[i] = int8(r.IntN(256) - 128)
		}
		xt := &Tensor{DType: Int8, Shape: []int{2, 3, c.h, c.w}, I8: x, Quant: &Quant{Scale: []float32{0.1}, ZeroPoint: []int32{0}}}
		g := &Graph{Inputs: []ValueInfo{{Name: "x"}}, Outputs: []ValueInfo{{Name: "y"}},
			Nodes: []*Node{{Name: "p", Op: "MaxPoolInt8", Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: map[string]Attr{
				"kernel_shape": ints(int64(c.kh), int64(c.kw)),
				"strides":      ints(int64(c.s), int64(c.s)),
				"dilations":    ints(int64(c.d), int64(c.d)),
				"pads":         ints(int64(c.pt), int64(c.pl), int64(c.pb), int64(c.pr)),
				"ceil_mode":    {Kind: AttrInt, Int: int64(c.ceil)},
			}}}}
		p, err := Compile(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			out, err := p.NewRunner(threads).Run(xt)
			if err != nil {
				t.Fatalf("%+v: %v", c, err)
			}
			y := out[0]
			oh, ow := y.Shape[2], y.Shape[3]
			for pl := 0; pl < 6; pl++ {
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						m := math.MinInt8
						for ky := 0; ky < c.kh; ky++ {
							for kx := 0; kx < c.kw; kx++ {
								iy, ix := oy*c.s-c.pt+ky*c.d, ox*c.s-c.pl+kx*c.d
								if iy >= 0 && iy < c.h && ix >= 0 && ix < c.w {
									m = max(m, int(x[(pl*c.h+iy)*c.w+ix]))
								}
							}
						}
						if got := int(y.I8[(pl*oh+oy)*ow+ox]); got != m {
							t.Fatalf("%+v, %d threads: pool (%d,%d,%d) = %d, want %d", c, threads, pl, oy, ox, got, m)
						}
					}
				}
			}
		}
	}
}

// TestQ8MaxBytesEvens checks the vector byte maximum and stride-2 pick
// against plain loops over a ladder of lengths.
func TestQ8MaxBytesEvens(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for n := 0; n <= 100; n++ {
		a, b := make([]int8, 2*n+1), make([]int8, 2*n+1)
		for i := range a {
			a[i], b[i] = int8(r.IntN(256)-128), int8(r.IntN(256)-128)
		}
		got := make([]int8, n)
		q8MaxBytes(got, a, b)
		for i := range got {
			if got[i] != max(a[i], b[i]) {
				t.Fatalf("n=%d: max[%d] = %d, want %d", n, i, got[i], max(a[i], b[i]))
			}
		}
		q8Evens(got, a)
		for i := range got {
			if got[i] != a[2*i] {
				t.Fatalf("n=%d: evens[%d] = %d, want %d", n, i, got[i], a[2*i])
			}
		}
	}
}

// TestQ8DequantLadder: the vector dequantization is the Go loop's bit for
// bit over a ladder of lengths, zero points and scales.
func TestQ8DequantLadder(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 70; n++ {
		src := make([]int8, n)
		for i := range src {
			src[i] = int8(r.IntN(256) - 128)
		}
		for _, zs := range []struct {
			z int32
			s float32
		}{{0, 0.1}, {-128, 0.0371}, {127, 3.5e-5}, {5, 1}} {
			got, want := make([]float32, n), make([]float32, n)
			q8Dequant(got, src, zs.z, zs.s)
			q8DequantGo(want, src, zs.z, zs.s)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("n=%d z=%d s=%v: y[%d] = %v, want %v", n, zs.z, zs.s, i, got[i], want[i])
				}
			}
		}
	}
}

// With VNNI, convs of any channel count and kernel take the quad path
// (quadSetup): RGB stems, 5x5 on odd channel counts, grouped with 3
// channels per group, and 1x1 convs packed from the planes (quadPW); the
// ladder checks their results.
func TestQLinearConvInt8QuadPath(t *testing.T) {
	if !q8HasAVX512 || !blas.S8VNNI() {
		t.Skip("no AVX-512 VNNI")
	}
	for _, c := range q8ConvLadder {
		if c.cout/c.group < 4 || c.cin/c.group == 1 && c.group > 1 ||
			c.dw > 1 && (c.cin/c.group)%4 != 0 || c.cin/c.group == 1 && c.kh == 3 && c.kw == 3 && c.sh == 1 && c.sw == 1 {
			continue // fewer than 4 outputs per group, depthwise, dilated odd channels, c1
		}
		f := q8NewConvFixture(rand.New(rand.NewPCG(1, 1)), c)
		p, err := Compile(q8ConvGraph(c, f))
		if err != nil {
			t.Fatal(err)
		}
		if k := p.Kernel(p.NodeIndices()[0]).(*q8Conv); !k.quad && !(k.pointwise && k.quadPW) {
			t.Errorf("%v: not on the quad path", c)
		}
	}
}

// The quad path joins the images of small planes into one unit
// (implImages): its chunks then cross images, even mid-image (9-pixel
// planes in chunks of 112), and a unit's last panel is partly empty.
// Every batch and thread count gives the reference bit for bit.
func TestQLinearConvInt8JoinedImages(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, c := range []q8ConvCase{
		{cin: 16, h: 2, w: 2, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, relu: true},
		{cin: 64, h: 3, w: 3, cout: 20, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
		{cin: 8, h: 1, w: 1, cout: 12, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},
		{cin: 12, h: 5, w: 3, cout: 8, kh: 3, kw: 3, sh: 2, sw: 2, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1, noBias: true},
		{cin: 8, h: 7, w: 7, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 2, dw: 2, pt: 2, pl: 2, pb: 2, pr: 2, group: 1},
		{cin: 16, h: 5, w: 4, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 2, relu: true},
		{cin: 32, h: 6, w: 2, cout: 8, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1},  // narrow rows (q8PadNHWCNarrow)
		{cin: 16, h: 4, w: 4, cout: 16, kh: 3, kw: 3, sh: 1, sw: 1, dh: 1, dw: 1, pt: 1, pl: 1, pb: 1, pr: 1, group: 1}, // whole panels: not joined
	} {
		for _, n := range []int{1, 2, 3, 7, 13, 32} {
			c.n = n
			f := q8NewConvFixture(r, c)
			want, _ := q8RefConv(c, f)
			p, err := Compile(q8ConvGraph(c, f))
			if err != nil {
				t.Fatal(err)
			}
			k := p.Kernel(p.NodeIndices()[0]).(*q8Conv)
			oh, ow := k.outHW(c.h, c.w)
			if joined := k.implImages(n, oh*ow, 1) > 1; k.quad && joined != (n >= 2 && oh*ow%16 != 0) {
				t.Errorf("%v: quad path, images joined %v", c, joined)
			}
			q8CheckThreads(t, p, c, f, want, 1, 2)
		}
	}
}

// q8PadNHWCNarrow writes what q8PadNHWC writes, on the planes it takes.
func TestQ8PadNHWCNarrow(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		h, w, cn, pt, pl, pb, pr int
		takes                    bool
	}{
		{2, 2, 16, 1, 1, 1, 1, true},
		{6, 2, 32, 1, 1, 1, 1, true},
		{4, 1, 48, 2, 0, 1, 3, true},
		{2, 2, 512, 1, 1, 1, 1, true},
		{3, 3, 16, 1, 1, 1, 1, false}, // 9 pixels
		{2, 2, 12, 1, 1, 1, 1, false}, // channels not in 16s
		{2, 4, 16, 1, 1, 1, 1, false}, // rows for q8NHWCRowsFast
	} {
		x := make([]int8, c.h*c.w*c.cn)
		for i := range x {
			x[i] = int8(r.IntN(256) - 128)
		}
		wp := c.w + c.pl + c.pr
		n := (c.h + c.pt + c.pb) * wp * c.cn
		want, got := make([]int8, n), make([]int8, n)
		q8PadNHWC(x, c.h, c.w, c.cn, c.pt, c.pl, wp, -7, want)
		tmp := make([]int8, c.h*c.w*c.cn)
		took := q8PadNHWCNarrow(x, c.h, c.w, c.cn, c.pt, c.pl, wp, -7, got, tmp)
		if took != (c.takes && q8HasAVX512) {
			t.Fatalf("%+v: took %v", c, took)
		}
		if took && !slices.Equal(got, want) {
			t.Fatalf("%+v: differs from q8PadNHWC", c)
		}
		if c.takes && q8HasAVX512 && q8PadNHWCNarrow(x, c.h, c.w, c.cn, c.pt, c.pl, wp, -7, got, tmp[1:]) {
			t.Fatalf("%+v: took a short tmp", c)
		}
	}
}
