package nn

import "fmt"

// Specialize returns a copy of g whose graph inputs have the given types
// (dynamic dimensions made concrete), optimized again with Optimize: shape
// computations that depended on dynamic dimensions (Shape feeding
// ConstantOfShape, Expand, Range, Tile, Resize sizes, ...) become constants,
// so graphs whose output shapes follow their input's shape can be
// compiled. Each type must be compatible with the declared one.
func Specialize(g *Graph, types []Type) (*Graph, error) {
	if len(types) != len(g.Inputs) {
		return nil, fmt.Errorf("%w: %d input types for %d graph inputs", ErrShape, len(types), len(g.Inputs))
	}
	c := g.Clone()
	for i, t := range types {
		decl := c.Inputs[i].Type
		if decl.DType != Undefined && decl.DType != t.DType {
			return nil, fmt.Errorf("%w: input %q is %v, given %v", ErrDType, c.Inputs[i].Name, decl, t)
		}
		if decl.Shape != nil {
			if len(decl.Shape) != len(t.Shape) {
				return nil, fmt.Errorf("%w: input %q is %v, given %v", ErrShape, c.Inputs[i].Name, decl, t)
			}
			for j, d := range decl.Shape {
				if d >= 0 && d != t.Shape[j] {
					return nil, fmt.Errorf("%w: input %q is %v, given %v", ErrShape, c.Inputs[i].Name, decl, t)
				}
			}
		}
		c.Inputs[i].Type = Type{DType: t.DType, Shape: append([]int(nil), t.Shape...)}
	}
	return Optimize(c)
}

// HasDynamicInputs reports whether some graph input has an unknown
// dimension (or no declared shape).
func (g *Graph) HasDynamicInputs() bool {
	for _, in := range g.Inputs {
		if in.Type.Shape == nil {
			return true
		}
		for _, d := range in.Type.Shape {
			if d < 0 {
				return true
			}
		}
	}
	return false
}
