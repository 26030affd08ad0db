//go:build !amd64 || purego

package nn

// q8HasAVX512 is false: no assembly in this build.
const q8HasAVX512 = false

// q8RequantFast: no assembly kernel in this build.
func q8RequantFast(acc []int32, dst []int8, p *q8Lane, lohi *[2]int64) bool { return false }
