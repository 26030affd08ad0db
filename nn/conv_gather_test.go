package nn

import (
	"fmt"
	"math"
	"testing"
)

// TestIm2colExactMatchesIm2col runs im2colExact (the assembly kernel where
// the CPU and geometry allow, else phase planes and gatherRows) against the
// plain im2col over a ladder of geometries: strides, pads (asymmetric
// too), dilations, kernel sizes, widths below and above what the assembly
// takes, blocks of rows, from NaN-filled scratch.
func TestIm2colExactMatchesIm2col(t *testing.T) {
	r := newRand(5)
	type pads struct{ t, l, b, r int }
	cases := 0
	for _, s := range []int{1, 2} {
		for _, d := range []int{1, 2} {
			for _, k := range []int{1, 3, 5} {
				for _, p := range []pads{{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 1, 0, 2}, {0, 2, 1, 0}} {
					for _, hw := range [][2]int{{8, 8}, {16, 16}, {7, 9}, {5, 31}, {12, 33}, {1, 3}} {
						var g geom
						g.KH, g.KW, g.SH, g.SW, g.DH, g.DW = k, k, s, s, d, d
						g.PT, g.PL, g.PB, g.PR = p.t, p.l, p.b, p.r
						g.H, g.W = hw[0], hw[1]
						g.OH = (g.H+p.t+p.b-d*(k-1)-1)/s + 1
						g.OW = (g.W+p.l+p.r-d*(k-1)-1)/s + 1
						if g.OH <= 0 || g.OW <= 0 || g.H+p.t+p.b < d*(k-1)+1 || g.W+p.l+p.r < d*(k-1)+1 {
							continue
						}
						for _, cg := range []int{1, 3} {
							x := randT(r, cg*g.H*g.W).F32
							x[0] = float32(math.NaN())
							K := cg * k * k
							for _, blk := range [][2]int{{0, g.OH}, {g.OH / 2, g.OH - g.OH/2}, {0, 1}} {
								oh0, rows := blk[0], blk[1]
								if rows <= 0 {
									continue
								}
								np := rows * g.OW
								want := make([]float32, K*np)
								im2col(&g, x, cg, oh0*g.OW, (oh0+rows)*g.OW, want)
								l := newPhaseLayout(&g, rows)
								got := make([]float32, K*np+1)
								for i := range got {
									got[i] = float32(math.NaN())
								}
								got[K*np] = 7 // must stay
								planes := make([]float32, l.planeSize(&g))
								im2colExact(&g, &l, x, cg, oh0, got, planes)
								name := fmt.Sprintf("s%d d%d k%d pad%v %dx%d cg%d rows %d+%d", s, d, k, p, g.H, g.W, cg, oh0, rows)
								if got[K*np] != 7 {
									t.Fatalf("%s: wrote past the patch matrix", name)
								}
								for i := range want {
									if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
										t.Fatalf("%s: col[%d] = %v, want %v", name, i, got[i], want[i])
									}
								}
								cases++
							}
						}
					}
				}
			}
		}
	}
	if cases < 500 {
		t.Fatalf("only %d cases ran", cases)
	}
}

func TestGatherRows(t *testing.T) {
	r := newRand(6)
	for _, n := range []int{1, 7, 8, 15, 16, 17, 31, 32, 33, 48} {
		for _, rows := range []int{1, 2, 5} {
			stride := n + 3
			src := randT(r, (rows-1)*stride+n).F32
			got := make([]float32, rows*n+1)
			got[rows*n] = 9
			gatherRows(got, src, rows, n, stride)
			for i := 0; i < rows; i++ {
				for j := 0; j < n; j++ {
					if got[i*n+j] != src[i*stride+j] {
						t.Fatalf("n %d rows %d: [%d][%d] = %v, want %v", n, rows, i, j, got[i*n+j], src[i*stride+j])
					}
				}
			}
			if got[rows*n] != 9 {
				t.Fatalf("n %d rows %d: wrote past the end", n, rows)
			}
		}
	}
}
