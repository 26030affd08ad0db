package nn

import "math"

// FuseActivations returns a copy of g in which each Relu or Clip that is the
// sole reader of a Conv or Gemm output is folded into that node as the
// non-ONNX attributes "activation" ("Relu" or "Clip") and, for Clip,
// "activation_min" / "activation_max" (float). The fused node then writes
// the activation's output tensor directly. Nothing is fused when the
// intermediate tensor is a graph output or read by more than one node, when
// the producer already carries an activation, or when Clip's bounds are not
// constants. g itself is not modified.
func FuseActivations(g *Graph) *Graph {
	c := g.Clone()
	fuseActivations(c)
	return c
}

// fuseActivationsPass is FuseActivations for the Optimize pipeline, which
// owns c and lets it be modified in place.
func fuseActivationsPass(c *Graph) (*Graph, error) {
	fuseActivations(c)
	return c, nil
}

func fuseActivations(g *Graph) {
	for {
		if !fuseOne(g) {
			return
		}
	}
}

// fuseOne folds one activation and reports whether it did.
func fuseOne(g *Graph) bool {
	prod := g.Producers()
	cons := g.Consumers()
	for ai, a := range g.Nodes {
		if (a.Op != "Relu" && a.Op != "Clip") || len(a.Inputs) == 0 || len(a.Outputs) != 1 || a.Outputs[0] == "" {
			continue
		}
		mid := a.Inputs[0]
		pi, ok := prod[mid]
		if !ok || len(cons[mid]) != 1 || isGraphOutputName(g, mid) {
			continue
		}
		p := g.Nodes[pi]
		if (p.Op != "Conv" && p.Op != "Gemm") || len(p.Outputs) != 1 || p.Outputs[0] != mid || hasAttr(p, "activation") {
			continue
		}
		attrs := map[string]Attr{"activation": {Kind: AttrString, Str: a.Op}}
		if a.Op == "Clip" {
			lo, hi, ok := clipBounds(g, a)
			if !ok {
				continue
			}
			attrs["activation_min"] = Attr{Kind: AttrFloat, Float: lo}
			attrs["activation_max"] = Attr{Kind: AttrFloat, Float: hi}
		}
		if p.Attrs == nil {
			p.Attrs = map[string]Attr{}
		}
		for k, v := range attrs {
			p.Attrs[k] = v
		}
		p.Outputs[0] = a.Outputs[0]
		g.Nodes = append(g.Nodes[:ai], g.Nodes[ai+1:]...)
		return true
	}
	return false
}

// clipBounds returns Clip's bounds when they are attributes or constants.
func clipBounds(g *Graph, n *Node) (lo, hi float32, ok bool) {
	lo = attrFloatAny(n, "min", float32(math.Inf(-1)))
	hi = attrFloatAny(n, "max", float32(math.Inf(1)))
	for i, dst := range []*float32{&lo, &hi} {
		name := n.Input(i + 1)
		if name == "" {
			continue
		}
		t := g.Consts[name]
		if t == nil || t.DType != Float32 || len(t.F32) != 1 {
			return 0, 0, false
		}
		*dst = t.F32[0]
	}
	return lo, hi, true
}

func isGraphOutputName(g *Graph, name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}
