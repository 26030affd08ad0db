// Package cputime reads the calling OS thread's CPU clock, for profiles
// that a loaded host does not inflate and for an emulated slower edge.
package cputime

// Supported reports whether per-thread CPU time can be measured here.
func Supported() bool {
	_, ok := Thread()
	return ok
}
