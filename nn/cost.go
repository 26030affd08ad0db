package nn

// Coster is implemented by kernels that can say how much arithmetic a run
// costs for given input and output types: multiply-accumulates for Conv,
// Gemm and MatMul, one per element (or per window tap) for element-wise
// ops and pools. The partitioner and inspect use it as a cost estimate.
type Coster interface {
	MACs(in, out []Type) int64
}

// NodeMACs returns k's MACs for the given types, or 0 when k does not
// implement Coster or the types are invalid for it.
func NodeMACs(k Kernel, in, out []Type) int64 {
	c, ok := k.(Coster)
	if !ok {
		return 0
	}
	n := c.MACs(in, out)
	if n < 0 {
		return 0
	}
	return n
}
