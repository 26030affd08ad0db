//go:build race

package blas

// raceEnabled: the race detector makes sync.Pool drop items at random, so
// the allocation checks skip.
const raceEnabled = true
