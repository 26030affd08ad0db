//go:build !amd64 || purego

package nn

// stemHave: no assembly kernels (pathNCHWc runs the stem, and no MaxPool
// is fused into it).
const stemHave = false

func stemFast(*stemArgs) bool { return false }
