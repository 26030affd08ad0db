package nn

import "testing"

// TestSplitEvenOddFast checks the assembly even/odd split (blocks and the
// masked tail) for every length up to 100 and every e/o length that limits
// it, and that nothing past the slices' ends is written.
func TestSplitEvenOddFast(t *testing.T) {
	const sentinel = float32(-99)
	for nx := 0; nx <= 100; nx++ {
		for cut := 0; cut < 3; cut++ {
			x := make([]float32, nx)
			for i := range x {
				x[i] = float32(i + 1)
			}
			ne, no := (nx+1)/2, nx/2
			switch cut {
			case 1:
				ne = max(ne-1, 0)
			case 2:
				no = max(no-1, 0)
			}
			eb, ob := make([]float32, ne+20), make([]float32, no+20)
			for i := range eb {
				eb[i] = sentinel
			}
			for i := range ob {
				ob[i] = sentinel
			}
			e, o := eb[:ne], ob[:no]
			n := min(nx, 2*ne, 2*no+1)
			got := splitEvenOddFast(x, e, o)
			if got != 0 && got != n {
				t.Fatalf("nx %d ne %d no %d: did %d, want 0 or %d", nx, ne, no, got, n)
			}
			for i, v := range eb {
				want := sentinel
				if 2*i < got {
					want = x[2*i]
				}
				if v != want {
					t.Fatalf("nx %d ne %d no %d: e[%d] = %v, want %v", nx, ne, no, i, v, want)
				}
			}
			for i, v := range ob {
				want := sentinel
				if 2*i+1 < got {
					want = x[2*i+1]
				}
				if v != want {
					t.Fatalf("nx %d ne %d no %d: o[%d] = %v, want %v", nx, ne, no, i, v, want)
				}
			}
		}
	}
}
