//go:build !amd64 || purego

package nn

// nchwcHave: pathNCHWc is only taken with the assembly kernels (or forced).
const nchwcHave = false

var nchwcAsm = false

func nchwcTile(c *nchwcCall) { nchwcTileRef(c) }

func nchwcStoreTile(s *nchwcStoreCall) { nchwcStoreRef(s) }
