package train

import (
	"fmt"
	"sync"

	"github.com/splitinfer/splitinfer/nn"
)

// Teacher produces logits for a batch of samples: x holds count samples,
// the result count x classes values.
type Teacher interface {
	Logits(x []float32, count int) ([]float32, error)
}

// FixedTeacher hands Fit logits computed beforehand, count x classes for
// the whole dataset in order (Fit asks for them once): the student may
// then see other inputs than the teacher did, such as a cut's activations
// where the teacher saw the images.
type FixedTeacher []float32

// Logits implements Teacher.
func (t FixedTeacher) Logits(_ []float32, count int) ([]float32, error) {
	if count <= 0 || len(t)%count != 0 {
		return nil, fmt.Errorf("%w: %d teacher logits for %d samples", ErrArg, len(t), count)
	}
	return []float32(t), nil
}

// NetTeacher uses a trainable Net as a teacher.
type NetTeacher struct {
	Net     *Net
	Threads int
}

// Logits implements Teacher.
func (t NetTeacher) Logits(x []float32, count int) ([]float32, error) {
	return t.Net.Logits(x, count, t.Threads)
}

// ProgramTeacher runs any compiled model (nn.Compile) as a teacher: its
// single input takes NCHW batches of the given per-sample shape and its
// first output is the logits.
type ProgramTeacher struct {
	Program *nn.Program
	Input   Shape
	Threads int
}

// Logits implements Teacher.
func (t ProgramTeacher) Logits(x []float32, count int) ([]float32, error) {
	if len(t.Program.Inputs()) != 1 {
		return nil, fmt.Errorf("%w: teacher takes %d inputs, want 1", ErrModel, len(t.Program.Inputs()))
	}
	isz := t.Input.Size()
	if count <= 0 || len(x) != count*isz {
		return nil, fmt.Errorf("%w: %d values for %d samples of %d", ErrData, len(x), count, isz)
	}
	threads := min(threadsOr(t.Threads), count)
	const chunk = 256
	parts := make([][]float32, threads)
	errs := make([]error, threads)
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		lo, hi := w*count/threads, (w+1)*count/threads
		wg.Add(1)
		go func(w, lo, hi int) {
			defer wg.Done()
			r := t.Program.NewRunner(1)
			for a := lo; a < hi; a += chunk {
				b := min(a+chunk, hi)
				in, err := nn.FromFloat32(x[a*isz:b*isz], b-a, t.Input.C, t.Input.H, t.Input.W)
				if err != nil {
					errs[w] = err
					return
				}
				outs, err := r.Run(in)
				if err != nil {
					errs[w] = fmt.Errorf("train: teacher: %w", err)
					return
				}
				o := outs[0]
				if o.DType != nn.Float32 || len(o.Shape) != 2 || o.Shape[0] != b-a {
					errs[w] = fmt.Errorf("%w: teacher output %v for a batch of %d", ErrModel, o.Type(), b-a)
					return
				}
				parts[w] = append(parts[w], o.F32...)
			}
		}(w, lo, hi)
	}
	wg.Wait()
	var out []float32
	for w := range parts {
		if errs[w] != nil {
			return nil, errs[w]
		}
		out = append(out, parts[w]...)
	}
	return out, nil
}

// teacherLogits runs the teacher once over the whole dataset (there is no
// augmentation, so its logits are fixed for the whole run).
func teacherLogits(t Teacher, d Dataset, isz, classes int) ([]float32, error) {
	out, err := t.Logits(d.Images, d.Len())
	if err != nil {
		return nil, err
	}
	if len(out) != d.Len()*classes {
		return nil, fmt.Errorf("%w: teacher gave %d logits for %d samples, student has %d classes", ErrModel, len(out), d.Len(), classes)
	}
	return out, nil
}
