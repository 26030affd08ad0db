//go:build !amd64 || purego

package nn

// mpcHave: no assembly kernel in this build.
const mpcHave = false

// maxPoolNCHWcFast: no assembly kernel in this build.
func maxPoolNCHWcFast(a *mpcArgs) bool { return false }

// setMPC: nothing to switch in this build.
func setMPC(bool) {}

// mpcHave2: no assembly kernel in this build.
const mpcHave2 = false

// setMPC2: nothing to switch in this build.
func setMPC2(bool) {}
