package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestUnaryOps(t *testing.T) {
	r := newRand(10)
	sig := func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }
	hs := func(v, a, b float64) float64 { return math.Max(0, math.Min(1, a*v+b)) }
	cases := []struct {
		op    string
		attrs map[string]Attr
		f     func(float64) float64
	}{
		{"Relu", nil, func(v float64) float64 { return math.Max(v, 0) }},
		{"LeakyRelu", nil, func(v float64) float64 { return map[bool]float64{true: v, false: 0.01 * v}[v >= 0] }},
		{"LeakyRelu", map[string]Attr{"alpha": fltA(0.3)}, func(v float64) float64 { return map[bool]float64{true: v, false: float64(float32(0.3)) * v}[v >= 0] }},
		{"Sigmoid", nil, sig},
		{"HardSigmoid", nil, func(v float64) float64 { return hs(v, 0.2, 0.5) }},
		{"HardSigmoid", map[string]Attr{"alpha": fltA(0.5), "beta": fltA(0.25)}, func(v float64) float64 { return hs(v, 0.5, 0.25) }},
		{"HardSwish", nil, func(v float64) float64 { return v * hs(v, 1.0/6, 0.5) }},
		{"Clip", map[string]Attr{"min": fltA(-0.25), "max": fltA(0.5)}, func(v float64) float64 { return math.Min(math.Max(v, -0.25), 0.5) }},
		{"Identity", nil, func(v float64) float64 { return v }},
		{"Dropout", nil, func(v float64) float64 { return v }},
	}
	for _, c := range cases {
		for _, shape := range [][]int{{1}, {7}, {2, 3, 5, 5}, {0, 4}, {3, 37}} {
			t.Run(fmt.Sprintf("%s_%v", c.op, shape), func(t *testing.T) {
				x := randT(r, shape...)
				for i := range x.F32 {
					x.F32[i] *= 8 // reach the saturated parts
				}
				got := opCase{op: c.op, attrs: c.attrs, inputs: []*Tensor{x}}.mustRun(t)[0]
				want := make([]float64, len(x.F32))
				for i, v := range x.F32 {
					want[i] = c.f(float64(v))
				}
				checkClose(t, c.op, got, shape, want)
			})
		}
	}
}

// TestHardActFastMatchesGo: the assembly HardSigmoid/HardSwish (where the
// CPU has it) gives the plain-Go loop's values bit for bit, NaN included,
// over lengths with whole and masked blocks.
func TestHardActFastMatchesGo(t *testing.T) {
	r := newRand(12)
	for _, n := range []int{1, 15, 16, 17, 64, 100} {
		x := randT(r, n).F32
		for i := range x {
			x[i] *= 8
		}
		x[n/2] = float32(math.NaN())
		for _, swish := range []bool{false, true} {
			a, b := float32(0.2), float32(0.5)
			if swish {
				a, b = 1.0/6, 0.5
			}
			got := make([]float32, n)
			if !hardActFast(got, x, a, b, swish) {
				t.Skip("no assembly kernel")
			}
			for i, v := range x {
				w := hardSigmoid32(v, a, b)
				if swish {
					w *= v
				}
				if got[i] != w && !(got[i] != got[i] && w != w) {
					t.Fatalf("n %d swish %v: y[%d] = %v, want %v (x %v)", n, swish, i, got[i], w, v)
				}
			}
		}
	}
}

func TestClipInputs(t *testing.T) {
	x := f32T([]int{6}, -3, -1, 0, 2, 6, 9)
	cases := []struct {
		name   string
		inputs []*Tensor
		want   []float64
	}{
		{"none", []*Tensor{x}, []float64{-3, -1, 0, 2, 6, 9}},
		{"min only", []*Tensor{x, f32T([]int{}, 0)}, []float64{0, 0, 0, 2, 6, 9}},
		{"max only", []*Tensor{x, nil, f32T([]int{}, 6)}, []float64{-3, -1, 0, 2, 6, 6}},
		{"relu6", []*Tensor{x, f32T([]int{}, 0), f32T([]int{}, 6)}, []float64{0, 0, 0, 2, 6, 6}},
	}
	for _, c := range cases {
		for _, constB := range []bool{false, true} {
			got := opCase{op: "Clip", inputs: c.inputs, consts: map[int]bool{1: constB, 2: constB}}.mustRun(t)[0]
			checkClose(t, c.name, got, []int{6}, c.want)
		}
	}
	_, err := opCase{op: "Clip", inputs: []*Tensor{x, f32T([]int{2}, 0, 1)}}.run()
	if !errors.Is(err, ErrShape) {
		t.Fatalf("non-scalar bound: err = %v", err)
	}
	_, err = opCase{op: "Dropout", inputs: []*Tensor{x}, outputs: 2}.run()
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("Dropout mask: err = %v", err)
	}
}

// bcastRef computes a op b with numpy broadcasting by index arithmetic.
func bcastRef(op binOp, a, b *Tensor, out []int) []float64 {
	n := NumElements(out)
	res := make([]float64, n)
	idx := make([]int, len(out))
	at := func(t *Tensor) float64 {
		off, st := 0, 1
		for i := len(t.Shape) - 1; i >= 0; i-- {
			d := len(out) - len(t.Shape) + i
			if t.Shape[i] != 1 {
				off += idx[d] * st
			}
			st *= t.Shape[i]
		}
		return float64(t.F32[off])
	}
	for k := 0; k < n; k++ {
		rem := k
		for d := len(out) - 1; d >= 0; d-- {
			idx[d] = rem % out[d]
			rem /= out[d]
		}
		x, y := at(a), at(b)
		switch op {
		case opAdd:
			res[k] = float64(float32(x) + float32(y))
		case opSub:
			res[k] = float64(float32(x) - float32(y))
		case opMul:
			res[k] = float64(float32(x) * float32(y))
		case opDiv:
			res[k] = float64(float32(x) / float32(y))
		}
	}
	return res
}

func TestBinaryBroadcast(t *testing.T) {
	r := newRand(11)
	cases := []struct{ a, b, out []int }{
		{[]int{5}, []int{5}, []int{5}},
		{[]int{2, 3, 4, 5}, []int{2, 3, 4, 5}, []int{2, 3, 4, 5}},
		{[]int{2, 3, 4, 5}, []int{}, []int{2, 3, 4, 5}},
		{[]int{1}, []int{3, 7}, []int{3, 7}},
		{[]int{2, 8, 3, 3}, []int{8, 1, 1}, []int{2, 8, 3, 3}},    // per-channel bias
		{[]int{2, 8, 3, 3}, []int{1, 8, 1, 1}, []int{2, 8, 3, 3}}, // per-channel, rank 4
		{[]int{4, 6}, []int{6}, []int{4, 6}},                      // row vector
		{[]int{4, 6}, []int{4, 1}, []int{4, 6}},                   // column vector
		{[]int{3, 1, 5}, []int{1, 4, 1}, []int{3, 4, 5}},          // both broadcast
		{[]int{1, 4, 1}, []int{3, 1, 5}, []int{3, 4, 5}},
		{[]int{2, 1, 3, 1}, []int{4, 1, 5}, []int{2, 4, 3, 5}},
		{[]int{8, 1, 1}, []int{2, 8, 3, 3}, []int{2, 8, 3, 3}}, // per-channel on the left
		{[]int{0, 3}, []int{3}, []int{0, 3}},
	}
	for _, c := range cases {
		for op := opAdd; op <= opDiv; op++ {
			t.Run(fmt.Sprintf("%s_%v_%v", binNames[op], c.a, c.b), func(t *testing.T) {
				a, b := randT(r, c.a...), randT(r, c.b...)
				if op == opDiv {
					for i := range b.F32 {
						b.F32[i] += 2 // keep away from zero
					}
				}
				for _, constB := range []bool{false, true} {
					got := opCase{op: binNames[op], inputs: []*Tensor{a, b}, consts: map[int]bool{1: constB}}.mustRun(t)[0]
					checkClose(t, binNames[op], got, c.out, bcastRef(op, a, b, c.out))
				}
			})
		}
	}
}

func TestBinaryInt64AndErrors(t *testing.T) {
	a := i64T([]int{2, 2}, 1, 2, 3, 4)
	b := i64T([]int{2}, 10, 20)
	got := opCase{op: "Mul", inputs: []*Tensor{a, b}}.mustRun(t)[0]
	if want := []int64{10, 40, 30, 80}; fmt.Sprint(got.I64) != fmt.Sprint(want) {
		t.Fatalf("int64 Mul = %v, want %v", got.I64, want)
	}
	got = opCase{op: "Div", inputs: []*Tensor{b, i64T([]int{}, 3)}}.mustRun(t)[0]
	if want := []int64{3, 6}; fmt.Sprint(got.I64) != fmt.Sprint(want) {
		t.Fatalf("int64 Div = %v, want %v", got.I64, want)
	}
	if _, err := (opCase{op: "Div", inputs: []*Tensor{b, i64T([]int{}, 0)}}).run(); !errors.Is(err, errDivZero) {
		t.Fatalf("int64 Div by zero: err = %v", err)
	}
	if _, err := (opCase{op: "Add", inputs: []*Tensor{randT(newRand(1), 2, 3), randT(newRand(1), 4)}}).run(); !errors.Is(err, ErrShape) {
		t.Fatalf("bad broadcast: err = %v", err)
	}
	if _, err := (opCase{op: "Add", inputs: []*Tensor{randT(newRand(1), 2), b}}).run(); !errors.Is(err, ErrDType) {
		t.Fatalf("mixed dtypes: err = %v", err)
	}
	if _, err := (opCase{op: "Sub", inputs: []*Tensor{New(Uint8, 2), New(Uint8, 2)}}).run(); !errors.Is(err, ErrDType) {
		t.Fatalf("uint8: err = %v", err)
	}
	if _, err := (opCase{op: "Relu", inputs: []*Tensor{a}}).run(); !errors.Is(err, ErrDType) {
		t.Fatalf("Relu int64: err = %v", err)
	}
}

// TestBinLineFast checks the assembly Add and Mul lines (same-shape and
// scalar operands) against the Go loops over a ladder of lengths and
// offsets, with NaN, infinities and signed zeros, in place and out of
// place, and that nothing past the end is written.
func TestBinLineFast(t *testing.T) {
	if !binLineFast(opAdd, make([]float32, 1), make([]float32, 1), make([]float32, 1), 1, 1) {
		t.Skip("no assembly binary kernels in this build")
	}
	defer func() { binLineAsm = true }()
	for _, op := range []binOp{opAdd, opMul, opSub} {
		for _, st := range [][2]int{{1, 1}, {1, 0}, {0, 1}} {
			checkLines(t, 13, 150, st[0] == 1, func(want, a, b []float32) {
				binLineAsm = false
				binLine(op, want, a, b, st[0], st[1])
				binLineAsm = true
			}, func(dst, a, b []float32) {
				binLine(op, dst, a, b, st[0], st[1])
			})
		}
	}
}

// fillSpecial fills s with normal values and, one in six, a NaN, an
// infinity or a signed zero.
func fillSpecial(r *rand.Rand, s []float32) {
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for i := range s {
		if r.IntN(6) == 0 {
			s[i] = special[r.IntN(len(special))]
		} else {
			s[i] = float32(r.NormFloat64() * 4)
		}
	}
}

// checkLines compares got with want (the Go reference) over lengths 0 to
// maxN at offsets 0 to 2, out of place and, when inPlace, with dst = a, on
// values with NaN, infinities, signed zeros and exact cancellations (b = -a
// every seventh value), and checks that nothing past the end is written.
// a and b hold at least len(dst) values.
func checkLines(t *testing.T, seed uint64, maxN int, inPlace bool, want, got func(dst, a, b []float32)) {
	t.Helper()
	r := newRand(seed)
	for n := 0; n <= maxN; n++ {
		for off := 0; off < 3; off++ {
			for _, same := range []bool{false, true} {
				if same && !inPlace {
					continue
				}
				a := make([]float32, off+n+5)
				b := make([]float32, off+n+5)
				fillSpecial(r, a)
				fillSpecial(r, b)
				for i := 0; i < n; i += 7 {
					b[off+i] = -a[off+i]
				}
				w := make([]float32, n)
				want(w, a[off:], b[off:])
				dst := make([]float32, off+n+5)
				if same {
					dst = a
				}
				sentinel := float32(-123.5)
				for i := off + n; i < len(dst); i++ {
					dst[i] = sentinel
				}
				got(dst[off:off+n], a[off:], b[off:])
				for i := range w {
					// Any NaN matches a NaN (payloads may differ between the
					// assembly and the Go reference, e.g. under -race).
					g := dst[off+i]
					if math.Float32bits(g) != math.Float32bits(w[i]) && !(g != g && w[i] != w[i]) {
						t.Fatalf("n=%d off=%d in place %v: [%d] = %v, want %v", n, off, same, i, g, w[i])
					}
				}
				for i := off + n; i < len(dst); i++ {
					if dst[i] != sentinel {
						t.Fatalf("n=%d off=%d: wrote past the end at %d", n, off, i)
					}
				}
			}
		}
	}
}

// TestSumFast checks the assembly sum over a ladder of lengths and offsets:
// exactly on small integers (every order of addition gives the same), within
// rounding of the float64 sum on normal values, and NaN and infinities
// propagated.
func TestSumFast(t *testing.T) {
	if _, ok := sumFast(make([]float32, 16)); !ok {
		t.Skip("no assembly sum in this build")
	}
	r := newRand(17)
	for n := 16; n <= 300; n++ {
		for off := 0; off < 3; off++ {
			x := make([]float32, off+n+3)
			for i := range x {
				x[i] = float32(r.IntN(200) - 100)
			}
			for i := off + n; i < len(x); i++ {
				x[i] = float32(math.NaN()) // past the end: must not be read
			}
			var want, abs float64
			for _, v := range x[off : off+n] {
				want += float64(v)
			}
			if got, _ := sumFast(x[off : off+n]); float64(got) != want {
				t.Fatalf("n=%d off=%d integers: %v, want %v", n, off, got, want)
			}
			want, abs = 0, 0
			for i := off; i < off+n; i++ {
				x[i] = float32(r.NormFloat64())
				want += float64(x[i])
				abs += math.Abs(float64(x[i]))
			}
			if got, _ := sumFast(x[off : off+n]); math.Abs(float64(got)-want) > 1e-6*abs {
				t.Fatalf("n=%d off=%d: %v, want %v", n, off, got, want)
			}
			x[off+r.IntN(n)] = float32(math.Inf(1))
			if got, _ := sumFast(x[off : off+n]); !math.IsInf(float64(got), 1) {
				t.Fatalf("n=%d off=%d: sum with +Inf is %v", n, off, got)
			}
			x[off+r.IntN(n)] = float32(math.NaN())
			if got, _ := sumFast(x[off : off+n]); got == got {
				t.Fatalf("n=%d off=%d: sum with NaN is %v", n, off, got)
			}
		}
	}
}

// TestSigmoidFast checks the assembly logistic against the float64 one
// within 4 ulp over [-110, 110] (both tails, where it rounds to 0 and 1),
// at every length up to 150 and offset (four-vector steps, single
// vectors, masked tails), with NaN and
// infinities, and that nothing past the end is written.
func TestSigmoidFast(t *testing.T) {
	if !sigmoidFast(make([]float32, 1), make([]float32, 1)) {
		t.Skip("no assembly sigmoid in this build")
	}
	ref := func(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) }
	check := func(x []float32) {
		t.Helper()
		got := make([]float32, len(x)+3)
		for i := len(x); i < len(got); i++ {
			got[i] = -7
		}
		sigmoidFast(got[:len(x)], x)
		for i, v := range x {
			w := ref(v)
			if v != v {
				if got[i] == got[i] {
					t.Fatalf("sigmoid(NaN) = %v", got[i])
				}
				continue
			}
			ulp := math.Abs(float64(math.Nextafter32(w, 2) - w))
			if d := math.Abs(float64(got[i] - w)); d > 4*ulp && d > 1e-38 {
				t.Fatalf("sigmoid(%v) = %v, want %v (%.1f ulp)", v, got[i], w, d/ulp)
			}
		}
		for i := len(x); i < len(got); i++ {
			if got[i] != -7 {
				t.Fatalf("len %d: wrote past the end", len(x))
			}
		}
	}
	var x []float32
	for v := -110.0; v <= 110; v += 0.0137 {
		x = append(x, float32(v))
	}
	x = append(x, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1e-30, -1e-30)
	check(x)
	for n := 1; n <= 150; n++ {
		for off := 0; off < 3; off++ {
			check(x[off*997 : off*997+n])
		}
	}
}

// TestSwishFast checks that the one-pass SiLU kernel equals the logistic
// kernel followed by a multiply, bit for bit, at every length up to 200
// (the four-vector steps, single vectors and the masked tail) and with
// NaN and infinities.
func TestSwishFast(t *testing.T) {
	if !swishFast(make([]float32, 1), make([]float32, 1)) {
		t.Skip("no assembly SiLU in this build")
	}
	r := newRand(93)
	x := randT(r, 203).F32
	for i := range x {
		x[i] *= 40
	}
	x[5], x[70], x[141] = float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))
	for n := 1; n <= 200; n++ {
		for off := 0; off < 3; off++ {
			src := x[off : off+n]
			got, want := make([]float32, n+1), make([]float32, n)
			got[n] = -7
			swishFast(got[:n], src)
			sigmoidFast(want, src)
			for i, v := range src {
				w := v * want[i]
				if math.Float32bits(got[i]) != math.Float32bits(w) && !(w != w && got[i] != got[i]) {
					t.Fatalf("n=%d off=%d: swish(%v) = %v, want %v", n, off, v, got[i], w)
				}
			}
			if got[n] != -7 {
				t.Fatalf("n=%d: wrote past the end", n)
			}
		}
	}
}
