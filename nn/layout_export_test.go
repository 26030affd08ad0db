package nn

import "fmt"

// SetLayout switches the layout pass (layoutOn).
func SetLayout(on bool) { layoutOn = on }

// BlockedConvs lists the Convs r runs with NCHW16c input or output (planned
// by its last run), as "node in16c out16c" with each flag 0 or 1, then the
// input's and the output's borders.
func BlockedConvs(r *Runner) []string {
	var s []string
	for k, kern := range r.kern {
		if c, ok := kern.(*convKernel); ok && !r.skip[k] && (c.xBlocked || c.yBlocked) {
			s = append(s, fmt.Sprintf("%s %d %d %d %d", r.p.graph.Nodes[r.p.nodes[k]].Name, b2i(c.xBlocked), b2i(c.yBlocked), c.xBorder, c.yBorder))
		}
	}
	return s
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// NCHWcKernels reports whether pathNCHWc has its assembly kernels here
// (else Run takes it only when forced: SetNCHWcForce).
func NCHWcKernels() bool { return nchwcHave }

// SetNCHWcForce makes Run take pathNCHWc where it fits even without the
// assembly kernels (nchwcForce: the Go reference).
func SetNCHWcForce(on bool) { nchwcForce = on }

// BlockedPools lists the MaxPools r runs from NCHW16c (planned by its last
// run), as "node out16c" with the flag 0 or 1, then the input's and the
// output's borders.
func BlockedPools(r *Runner) []string {
	var s []string
	for k, kern := range r.kern {
		if p, ok := kern.(*poolKernel); ok && !r.skip[k] && p.xBlocked {
			s = append(s, fmt.Sprintf("%s %d %d %d", r.p.graph.Nodes[r.p.nodes[k]].Name, b2i(p.yBlocked), p.xBorder, p.yBorder))
		}
	}
	return s
}
