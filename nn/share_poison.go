//go:build nnpoison

package nn

// The build tag nnpoison turns on the NaN check of shared outputs
// (share.go) for every test binary that links nn, e.g. the model tests of
// nn/onnx.
func init() { poisonShared = true }
