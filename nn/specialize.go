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

// BatchOneInputs returns zero tensors for g's inputs, with dynamic
// dimensions set to 1.
func BatchOneInputs(g *Graph) ([]*Tensor, error) {
	var out []*Tensor
	for _, in := range g.Inputs {
		if in.Type.DType == Undefined || in.Type.Shape == nil {
			return nil, fmt.Errorf("%w: input %q has no declared type", ErrShape, in.Name)
		}
		s := append([]int(nil), in.Type.Shape...)
		for j := range s {
			if s[j] < 0 {
				s[j] = 1
			}
		}
		if n := NumElements(s); n < 0 || n > 1<<28 {
			return nil, fmt.Errorf("%w: input %q shape %v is too large", ErrShape, in.Name, s)
		}
		out = append(out, New(in.Type.DType, s...))
	}
	return out, nil
}

// ValueTypes runs the whole graph of p once at batch 1 on zero inputs
// (BatchOneInputs) and returns the type of every tensor: graph inputs,
// node outputs and constants.
func (p *Program) ValueTypes() (map[string]Type, error) {
	g := p.graph
	ins, err := BatchOneInputs(g)
	if err != nil {
		return nil, err
	}
	var all []string
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			if o != "" {
				all = append(all, o)
			}
		}
	}
	whole, err := p.Slice(p.Inputs(), all)
	if err != nil {
		return nil, err
	}
	vals, err := whole.NewRunner(1).Run(ins...)
	if err != nil {
		return nil, fmt.Errorf("running the model at batch 1: %w", err)
	}
	types := make(map[string]Type, len(all)+len(ins)+len(g.Consts))
	for i, in := range p.Inputs() {
		types[in] = ins[i].Type()
	}
	for i, o := range all {
		types[o] = Type{DType: vals[i].DType, Shape: append([]int(nil), vals[i].Shape...)}
	}
	for n, c := range g.Consts {
		types[n] = c.Type()
	}
	return types, nil
}
