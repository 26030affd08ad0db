package earlyexit

import (
	"fmt"

	"github.com/splitinfer/splitinfer/compress/actcode"
	"github.com/splitinfer/splitinfer/nn"
)

// Program is a compiled exit head, shared by its Runners.
type Program struct {
	Head    *Head
	prog    *nn.Program
	inShape []int // batch 1
	outLen  int
}

// Compile compiles h for a model whose single output has outLen elements
// per image (the head's logits stand in for it when it exits).
func Compile(h *Head, outLen int) (*Program, error) {
	if h == nil || h.Graph == nil {
		return nil, fmt.Errorf("%w: no head", ErrFormat)
	}
	prog, err := nn.Compile(h.Graph)
	if err != nil {
		return nil, fmt.Errorf("earlyexit: head at %q: %w", h.Cut, err)
	}
	in := append([]int{1}, h.Graph.Inputs[0].Type.Shape[1:]...)
	if len(h.Graph.Inputs[0].Type.Shape) < 2 || nn.NumElements(in) < 1 {
		return nil, fmt.Errorf("%w: head input shape %v", ErrShape, h.Graph.Inputs[0].Type.Shape)
	}
	out := h.Graph.Outputs[0].Type.Shape
	if len(out) != 2 || out[1] != outLen {
		return nil, fmt.Errorf("%w: head output %v, the model's has %d elements an image", ErrShape, out, outLen)
	}
	return &Program{Head: h, prog: prog, inShape: in, outLen: outLen}, nil
}

// Runner runs a Program on one request at a time (one per goroutine).
type Runner struct {
	p  *Program
	r  *nn.Runner
	in *nn.Tensor
}

// NewRunner returns a runner with the given kernel thread budget.
func (p *Program) NewRunner(threads int) *Runner {
	return &Runner{p: p, r: p.prog.NewRunner(threads), in: nn.New(nn.Float32, p.inShape...)}
}

// Decision is what the head makes of one request.
type Decision struct {
	// Exit is set when Confidence reaches the threshold.
	Exit       bool
	Confidence float32
	// Logits are the head's output [1, classes] when it exits (the caller's).
	Logits *nn.Tensor
}

// Decide runs the head on the cut tensor of one request (batch 1, any
// dtype the cut has: int8 and uint8 through their quantization).
func (r *Runner) Decide(cut *nn.Tensor) (Decision, error) {
	if cut == nil || cut.Len() != r.in.Len() {
		return Decision{}, fmt.Errorf("%w: cut tensor of %d elements, the head takes %d", ErrShape, tensorLen(cut), r.in.Len())
	}
	if err := actcode.RealValues(cut, r.in.F32); err != nil {
		return Decision{}, fmt.Errorf("earlyexit: %w", err)
	}
	outs, err := r.r.Run(r.in)
	if err != nil {
		return Decision{}, fmt.Errorf("earlyexit: head: %w", err)
	}
	o := outs[0]
	if o.DType != nn.Float32 || o.Len() != r.p.outLen {
		return Decision{}, fmt.Errorf("%w: head gave %v", ErrShape, o.Type())
	}
	d := Decision{Confidence: Confidence(o.F32)}
	if d.Exit = d.Confidence >= r.p.Head.Threshold; d.Exit {
		d.Logits = o.Clone()
	}
	return d, nil
}

func tensorLen(t *nn.Tensor) int {
	if t == nil {
		return 0
	}
	return t.Len()
}
