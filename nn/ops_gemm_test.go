package nn

import (
	"errors"
	"fmt"
	"testing"
)

func TestGemmLadder(t *testing.T) {
	r := newRand(20)
	type spec struct {
		m, n, k        int
		transA, transB bool
		alpha, beta    float32
		c              []int // nil: no C
	}
	specs := []spec{
		{1, 1, 1, false, false, 1, 1, nil},
		{1, 10, 128, false, true, 1, 1, []int{10}},
		{8, 128, 2048, false, true, 1, 1, []int{128}},
		{3, 5, 7, true, false, 0.5, 2, []int{3, 5}},
		{4, 3, 6, true, true, 1, 0.5, []int{4, 1}},
		{5, 4, 3, false, false, 2, 1, []int{1, 4}},
		{5, 4, 3, false, false, 1, 1, []int{}},
		{2, 3, 4, false, true, 1, 0, []int{3}},
		{64, 96, 80, false, false, 1, 1, []int{96}},  // large enough to fan out by rows
		{2, 300, 400, false, true, 1, 1, []int{300}}, // few rows: fans out by columns
		{150, 20, 90, false, true, 1, 1, []int{20}},  // more rows than columns: fans out by row slabs
		// Constant B is packed once (the first run below): a batch of
		// images across micro-tile edges, both layouts of B.
		{16, 128, 2048, false, true, 1, 1, []int{128}},
		{33, 70, 300, false, false, 0.5, 1, []int{70}},
		{130, 33, 17, true, true, 1, 2, []int{1, 33}},
	}
	for _, s := range specs {
		for _, threads := range []int{1, 4} {
			t.Run(fmt.Sprintf("%+v_t%d", s, threads), func(t *testing.T) {
				as := []int{s.m, s.k}
				if s.transA {
					as = []int{s.k, s.m}
				}
				bs := []int{s.k, s.n}
				if s.transB {
					bs = []int{s.n, s.k}
				}
				a, b := randT(r, as...), randT(r, bs...)
				ins := []*Tensor{a, b}
				var c *Tensor
				if s.c != nil {
					c = randT(r, s.c...)
					ins = append(ins, c)
				}
				attrs := map[string]Attr{"alpha": fltA(s.alpha), "beta": fltA(s.beta)}
				if s.transA {
					attrs["transA"] = intA(1)
				}
				if s.transB {
					attrs["transB"] = intA(1)
				}
				want := make([]float64, s.m*s.n)
				for i := 0; i < s.m; i++ {
					for j := 0; j < s.n; j++ {
						acc := 0.0
						for p := 0; p < s.k; p++ {
							av := a.F32[i*s.k+p]
							if s.transA {
								av = a.F32[p*s.m+i]
							}
							bv := b.F32[p*s.n+j]
							if s.transB {
								bv = b.F32[j*s.k+p]
							}
							acc += float64(av) * float64(bv)
						}
						acc *= float64(s.alpha)
						if c != nil {
							ci := 0
							switch len(s.c) {
							case 1:
								ci = j % s.c[0]
							case 2:
								ci = (i%s.c[0])*s.c[1] + j%s.c[1]
							}
							acc += float64(s.beta) * float64(c.F32[ci])
						}
						want[i*s.n+j] = acc
					}
				}
				got := opCase{op: "Gemm", attrs: attrs, inputs: ins, threads: threads, consts: map[int]bool{1: true, 2: true}}.mustRun(t)[0]
				// Sums of up to 2048 products: compare at 1e-5 of the magnitude scale sqrt(k).
				checkCloseScaled(t, "gemm", got, []int{s.m, s.n}, want, float64(s.k))
				attrs["activation"] = strA("Clip")
				attrs["activation_min"] = fltA(-0.5)
				attrs["activation_max"] = fltA(0.5)
				got = opCase{op: "Gemm", attrs: attrs, inputs: ins, threads: threads}.mustRun(t)[0]
				clipped := make([]float64, len(want))
				for i := range want {
					clipped[i] = min(max(want[i], -0.5), 0.5)
				}
				checkCloseScaled(t, "gemm+clip", got, []int{s.m, s.n}, clipped, float64(s.k))
				attrs["activation"] = strA("Relu")
				got = opCase{op: "Gemm", attrs: attrs, inputs: ins, threads: threads}.mustRun(t)[0]
				for i := range want {
					want[i] = max(want[i], 0)
				}
				checkCloseScaled(t, "gemm+relu", got, []int{s.m, s.n}, want, float64(s.k))
			})
		}
	}
}

// checkCloseScaled is checkClose for long dot products: the tolerance grows
// with the square root of the number of terms (k), as float32 rounding does.
func checkCloseScaled(t *testing.T, name string, got *Tensor, shape []int, want []float64, k float64) {
	t.Helper()
	if k <= 100 {
		checkClose(t, name, got, shape, want)
		return
	}
	scale := k / 100
	w2 := make([]float64, len(want))
	g2 := got.Clone()
	for i := range want {
		w2[i] = want[i] / scale
		g2.F32[i] = float32(float64(got.F32[i]) / scale)
	}
	checkClose(t, name, g2, shape, w2)
}

func TestMatMul(t *testing.T) {
	r := newRand(21)
	cases := []struct{ a, b, out []int }{
		{[]int{3, 4}, []int{4, 5}, []int{3, 5}},
		{[]int{1, 7}, []int{7, 1}, []int{1, 1}},
		{[]int{4}, []int{4, 3}, []int{3}},
		{[]int{2, 4}, []int{4}, []int{2}},
		{[]int{4}, []int{4}, []int{}},
		{[]int{2, 3, 4}, []int{4, 5}, []int{2, 3, 5}},
		{[]int{4, 5}, []int{2, 5, 3}, []int{2, 4, 3}},
		{[]int{2, 1, 3, 4}, []int{3, 4, 2}, []int{2, 3, 3, 2}},
		{[]int{3, 2, 4}, []int{1, 4, 6}, []int{3, 2, 6}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v_%v", c.a, c.b), func(t *testing.T) {
			a, b := randT(r, c.a...), randT(r, c.b...)
			got := opCase{op: "MatMul", inputs: []*Tensor{a, b}}.mustRun(t)[0]
			// Reference: promote to rank >= 2, broadcast batch dims by index.
			as, bs := append([]int(nil), c.a...), append([]int(nil), c.b...)
			if len(as) == 1 {
				as = []int{1, as[0]}
			}
			if len(bs) == 1 {
				bs = []int{bs[0], 1}
			}
			m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
			batch, err := broadcastShape("ref", as[:len(as)-2], bs[:len(bs)-2])
			if err != nil {
				t.Fatal(err)
			}
			nb := NumElements(batch)
			want := make([]float64, 0, nb*m*n)
			idx := make([]int, len(batch))
			off := func(s []int, mat int) int {
				o, st := 0, mat
				for i := len(s) - 1; i >= 0; i-- {
					d := len(batch) - len(s) + i
					if s[i] != 1 {
						o += idx[d] * st
					}
					st *= s[i]
				}
				return o
			}
			for q := 0; q < nb; q++ {
				rem := q
				for d := len(batch) - 1; d >= 0; d-- {
					idx[d] = rem % batch[d]
					rem /= batch[d]
				}
				oa, ob := off(as[:len(as)-2], m*k), off(bs[:len(bs)-2], k*n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						s := 0.0
						for p := 0; p < k; p++ {
							s += float64(a.F32[oa+i*k+p]) * float64(b.F32[ob+p*n+j])
						}
						want = append(want, s)
					}
				}
			}
			checkClose(t, "matmul", got, c.out, want)
		})
	}
}

func TestGemmMatMulErrors(t *testing.T) {
	r := newRand(22)
	cases := []struct {
		name  string
		op    string
		ins   []*Tensor
		attrs map[string]Attr
		want  error
	}{
		{"gemm inner", "Gemm", []*Tensor{randT(r, 2, 3), randT(r, 4, 5)}, nil, ErrShape},
		{"gemm rank", "Gemm", []*Tensor{randT(r, 2, 3, 1), randT(r, 3, 5)}, nil, ErrShape},
		{"gemm C", "Gemm", []*Tensor{randT(r, 2, 3), randT(r, 3, 5), randT(r, 4)}, nil, ErrShape},
		{"gemm dtype", "Gemm", []*Tensor{i64T([]int{1, 1}, 1), randT(r, 1, 1)}, nil, ErrDType},
		{"gemm activation", "Gemm", []*Tensor{randT(r, 1, 1), randT(r, 1, 1)}, map[string]Attr{"activation": strA("Elu")}, ErrUnsupported},
		{"matmul inner", "MatMul", []*Tensor{randT(r, 2, 3), randT(r, 4, 5)}, nil, ErrShape},
		{"matmul batch", "MatMul", []*Tensor{randT(r, 2, 2, 3), randT(r, 3, 3, 5)}, nil, ErrShape},
		{"matmul scalar", "MatMul", []*Tensor{randT(r), randT(r, 3)}, nil, ErrShape},
		{"matmul missing", "MatMul", []*Tensor{randT(r, 3)}, nil, ErrMissing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := opCase{op: c.op, inputs: c.ins, attrs: c.attrs}.run()
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}
