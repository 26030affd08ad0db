//go:build !amd64 || purego

package nn

// im2colExactFast: no assembly kernel in this build.
func im2colExactFast(g *geom, x []float32, cg, oh0, rows int, col []float32) bool { return false }

// im2colExactAsm: pathExact is not chosen without the assembly kernel.
const im2colExactAsm = false
