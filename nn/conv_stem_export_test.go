package nn

// StemKernels reports whether pathStem has its assembly kernels, and so
// whether a Runner fuses a thin stem's 2x2 MaxPool into it.
func StemKernels() bool { return stemHave }

// SetStem lets Run take pathStem, and Runners planned afterwards fuse
// MaxPools into thin stems, or not.
func SetStem(on bool) { stemOn = on }

// PooledConvs lists the Convs r runs with a MaxPool fused (planned by its
// last run).
func PooledConvs(r *Runner) []string {
	var s []string
	for k, kern := range r.kern {
		if c, ok := kern.(*convKernel); ok && !r.skip[k] && c.pooled {
			s = append(s, r.p.graph.Nodes[r.p.nodes[k]].Name)
		}
	}
	return s
}

// SetNCHWcPool lets Runners planned afterwards fuse 2x2 MaxPools into
// pathNCHWc convolutions, or not.
func SetNCHWcPool(on bool) { nchwcPoolOn = on }
