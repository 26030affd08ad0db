package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestMaxPoolNCHWcMatchesNCHW runs the blocked MaxPool (pool_nchwc.go;
// the AVX-512 and AVX2 kernels where the CPU has them, and the Go kernel) against
// maxPlane, bit for bit, on 2 images of 32 channels over windows 1 to 3
// (and 3x2), strides 1 and 2, dilation 2, pads, ceil mode (a last window
// past the input), odd and 16-lane-crossing widths, with NaN and
// infinities in the input, then with -0 and +0: NCHW16c input with and without a border (its
// border holding values that must not be read), output NCHW16c with and
// without a zero border, or NCHW.
func TestMaxPoolNCHWcMatchesNCHW(t *testing.T) {
	r := newRand(47)
	have, have2 := mpcHave, mpcHave2
	defer setMPC(have)
	defer setMPC2(have2)
	const n, c = 2, 32
	i := 0
	for _, hw := range [][2]int{{1, 1}, {2, 2}, {5, 7}, {16, 16}, {14, 17}, {32, 32}, {9, 33}} {
		for _, k := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {3, 2}} {
			for _, s := range []int{1, 2} {
				for _, ceil := range []bool{false, true} {
					i++
					h, w := hw[0], hw[1]
					d := 1 + i%5/4
					p := [4]int{i % 2, (i / 2) % 2, (i / 3) % 2, i % 2}
					if k[0] == 1 || p[0] >= k[0] || p[1] >= k[1] {
						p = [4]int{}
					}
					g := geom{N: n, C: c, H: h, W: w, KH: k[0], KW: k[1], SH: s, SW: s, DH: d, DW: d, PT: p[0], PL: p[1], PB: p[2], PR: p[3], rank: 2}
					g.OH = outDim(h, k[0], s, d, p[0], p[2])
					g.OW = outDim(w, k[1], s, d, p[1], p[3])
					if ceil && (g.OH-1)*s-p[0] < h-1 && (g.OW-1)*s-p[1] < w-1 {
						g.OH++
						g.OW++
					}
					if g.OH < 1 || g.OW < 1 {
						continue
					}
					x := randT(r, n, c, h, w).F32
					x[i%len(x)] = float32(math.NaN())
					x[(7*i)%len(x)] = float32(math.Inf(1))
					x[(3*i)%len(x)] = float32(math.Inf(-1))
					// Then values none above zero, with -0 and +0: the
					// maximum of -0 and +0 is +0, as Go's max gives.
					zeros := make([]float32, len(x))
					for q := range zeros {
						zeros[q] = []float32{-float32(math.Abs(float64(x[q]))), 0, float32(math.Copysign(0, -1))}[(q*q+i)%3]
					}
					for _, x := range [][]float32{x, zeros} {
						ohw := g.OH * g.OW
						want := make([]float32, n*c*ohw)
						for q := range n * c {
							maxPlane(&g, x[q*h*w:(q+1)*h*w], want[q*ohw:(q+1)*ohw])
						}
						// asm: the AVX-512 kernel ("avx512"), the AVX2 one
						// ("avx2", AVX-512 off) or the Go one ("go").
						for _, asm := range []string{"avx512", "avx2", "go"} {
							if asm == "avx512" && !have || asm == "avx2" && !have2 {
								continue
							}
							setMPC(asm == "avx512")
							setMPC2(asm == "avx2")
							for _, xb := range []int{0, 2} {
								xc := make([]float32, n*c*(h+2*xb)*(w+2*xb))
								toNCHW16c(xc, x, n, c, h, w, xb)
								if xb > 0 {
									inside := make([]bool, len(xc))
									eachNCHW16c(n, c, h, w, xb, func(_, o int) { inside[o] = true })
									for o := range xc {
										if !inside[o] {
											xc[o] = 1e30
										}
									}
								}
								for _, out := range []struct {
									blocked bool
									b       int
								}{{false, 0}, {true, 0}, {true, 1}} {
									name := fmt.Sprintf("hw%v k%v s%d d%d p%v ceil %v asm %s xb %d out %v", hw, k, s, d, p, ceil, asm, xb, out)
									kp := &poolKernel{max: true, xBlocked: true, xBorder: xb, yBlocked: out.blocked, yBorder: out.b}
									if !kp.blockedPoolFits(&g) {
										t.Fatalf("%s: blocked kernel does not take it", name)
									}
									y := make([]float32, n*c*(g.OH+2*out.b)*(g.OW+2*out.b))
									fillNaN(y)
									for _, threads := range []int{1, 2} {
										kp.maxPoolNCHWc(&RunContext{Threads: threads}, &g, xc, y)
										got := y
										if out.blocked {
											got = make([]float32, len(want))
											fromNCHW16c(got, y, n, c, g.OH, g.OW, out.b)
											wantB := make([]float32, len(y))
											toNCHW16c(wantB, want, n, c, g.OH, g.OW, out.b)
											sameF32(t, name+" (border)", y, wantB)
										}
										sameF32(t, name, got, want)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// BenchmarkMaxPoolNCHWc times the NCHW MaxPool against the blocked one
// (NCHW16c input, NCHW or NCHW16c output) on seednet's and the VGG-style
// model's pools.
//
//	go test -run X -bench MaxPoolNCHWc ./nn/
func BenchmarkMaxPoolNCHWc(b *testing.B) {
	r := newRand(5)
	for _, s := range []struct{ n, c, hw, k, st int }{{16, 32, 16, 2, 2}, {16, 16, 32, 2, 2}, {1, 64, 56, 3, 2}} {
		g := geom{N: s.n, C: s.c, H: s.hw, W: s.hw, KH: s.k, KW: s.k, SH: s.st, SW: s.st, DH: 1, DW: 1, rank: 2}
		g.OH, g.OW = outDim(s.hw, s.k, s.st, 1, 0, 0), outDim(s.hw, s.k, s.st, 1, 0, 0)
		x := randT(r, s.n, s.c, s.hw, s.hw)
		y := New(Float32, s.n, s.c, g.OH, g.OW)
		rc := &RunContext{Threads: 1}
		name := fmt.Sprintf("n%d c%d %dx%d k%d s%d", s.n, s.c, s.hw, s.hw, s.k, s.st)
		b.Run(name+"/nchw", func(b *testing.B) {
			k := &poolKernel{max: true, win: winAttrs{op: "MaxPool", kernel: []int{s.k, s.k}, strides: []int{s.st, s.st}}}
			for b.Loop() {
				if err := k.Run(rc, []*Tensor{x}, []*Tensor{y}); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, out := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/nchw16c-to-16c=%v", name, out), func(b *testing.B) {
				k := &poolKernel{max: true, xBlocked: true, yBlocked: out}
				for b.Loop() {
					k.maxPoolNCHWc(rc, &g, x.F32, y.F32)
				}
			})
		}
	}
}
