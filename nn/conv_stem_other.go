//go:build !amd64 || purego

package nn

// stemHave: no assembly kernels (pathNCHWc runs the stem, and no MaxPool
// is fused into it).
const stemHave = false

func stemFast(*stemArgs) bool { return false }

// stemWide is the AVX-512 kernels' switch of the amd64 build.
var stemWide = false
