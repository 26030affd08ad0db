//go:build amd64 && !purego

package nn

//go:noescape
func q8LookupAVX512(dst, src *int8, n int, table *[256]int8)

// q8LookupFast writes table[uint8(x[i])] to y[i] (len(y) >= len(x)) with
// the AVX-512 VBMI kernel when the CPU has it, and reports whether it did.
func q8LookupFast(y, x []int8, table *[256]int8) bool {
	if !q8HasAVX512 || len(x) == 0 || len(y) < len(x) {
		return false
	}
	q8LookupAVX512(&y[0], &x[0], len(x), table)
	return true
}
