//go:build !amd64 || purego

package nn

// maxPool2x2Fast: no assembly kernel in this build.
func maxPool2x2Fast(a *mp2Args) bool { return false }

// avgPool2x2Fast: no assembly kernel in this build.
func avgPool2x2Fast(a *mp2Args) bool { return false }
