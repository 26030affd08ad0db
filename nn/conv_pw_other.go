//go:build !amd64 || purego

package nn

// pwHave: no pathPW kernel in this build (1x1 convolutions run
// pathPointwise).
var pwHave = false

func pwTile(a *pwArgs, nv int) { panic("nn: no pathPW kernel") }
