package actcode

import (
	"fmt"
	"slices"

	"github.com/splitinfer/splitinfer/nn"
)

// evalBatch is the batch the head and tail run at in Collect and Evaluate.
const evalBatch = 256

// Cut is a model split at one tensor for fitting and evaluating codecs.
type Cut struct {
	Name       string
	Head, Tail *nn.Program
	// Example is the head's output for one input (batch 1): its dtype,
	// shape and quantization are the cut tensor's.
	Example *nn.Tensor
	C, H, W int
}

// NewCut splits whole at tensor name (a single-tensor cut of a
// one-input, one-output model) and runs the head once on zeros to learn
// the tensor's type.
func NewCut(whole *nn.Program, name string) (*Cut, error) {
	if len(whole.Inputs()) != 1 || len(whole.Outputs()) != 1 {
		return nil, fmt.Errorf("%w: codecs fit models of one input and one output", ErrFit)
	}
	head, err := whole.Slice(whole.Inputs(), []string{name})
	if err != nil {
		return nil, fmt.Errorf("%w: head to %q: %v", ErrFit, name, err)
	}
	tail, err := whole.Slice([]string{name}, whole.Outputs())
	if err != nil {
		return nil, fmt.Errorf("%w: %q does not cut the model: %v", ErrFit, name, err)
	}
	var shape []int
	for _, in := range whole.Graph().Inputs {
		if in.Name == whole.Inputs()[0] {
			for _, d := range in.Type.Shape {
				shape = append(shape, max(d, 1))
			}
		}
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("%w: input %q has no shape", ErrFit, whole.Inputs()[0])
	}
	shape[0] = 1
	out, err := head.NewRunner(1).Run(nn.New(nn.Float32, shape...))
	if err != nil {
		return nil, fmt.Errorf("%w: head: %v", ErrFit, err)
	}
	ex := out[0].Clone()
	c, h, w, err := Plane(ex.Shape)
	if err != nil {
		return nil, err
	}
	return &Cut{Name: name, Head: head, Tail: tail, Example: ex, C: c, H: h, W: w}, nil
}

// run runs p on a batch of inputs in slices of evalBatch samples and
// calls f with each slice's first sample index and outputs.
func runBatches(p *nn.Program, images *nn.Tensor, threads int, f func(lo int, out *nn.Tensor) error) error {
	n := images.Shape[0]
	per := images.Len() / max(n, 1)
	r := p.NewRunner(threads)
	for lo := 0; lo < n; lo += evalBatch {
		hi := min(lo+evalBatch, n)
		x, err := nn.FromFloat32(images.F32[lo*per:hi*per], append([]int{hi - lo}, images.Shape[1:]...)...)
		if err != nil {
			return err
		}
		out, err := r.Run(x)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrFit, err)
		}
		if err := f(lo, out[0]); err != nil {
			return err
		}
	}
	return nil
}

// sample returns sample i of a batched tensor as a batch-1 tensor that
// shares its storage.
func sample(t *nn.Tensor, i int) *nn.Tensor {
	per := t.Len() / t.Shape[0]
	s := &nn.Tensor{DType: t.DType, Shape: append([]int{1}, t.Shape[1:]...), Quant: t.Quant}
	switch t.DType {
	case nn.Float32:
		s.F32 = t.F32[i*per : (i+1)*per]
	case nn.Int8:
		s.I8 = t.I8[i*per : (i+1)*per]
	case nn.Uint8:
		s.U8 = t.U8[i*per : (i+1)*per]
	}
	return s
}

// Samples runs the head on images (float32, batch first) and returns the
// real values of the cut tensor for each image, as Fit takes them.
func (c *Cut) Samples(images *nn.Tensor, threads int) ([][]float32, error) {
	var out [][]float32
	err := runBatches(c.Head, images, threads, func(_ int, t *nn.Tensor) error {
		for i := 0; i < t.Shape[0]; i++ {
			v := make([]float32, c.C*c.H*c.W)
			if err := RealValues(sample(t, i), v); err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	return out, err
}

// Features is Samples end to end in one slice, sample after sample (a
// training set of the cut's activations).
func (c *Cut) Features(images *nn.Tensor, threads int) ([]float32, error) {
	per := c.C * c.H * c.W
	out := make([]float32, 0, images.Shape[0]*per)
	samples, err := c.Samples(images, threads)
	if err != nil {
		return nil, err
	}
	for i := range samples {
		out = append(out, samples[i]...)
		samples[i] = nil
	}
	return out, nil
}

// Fit fits a codec at the cut from samples (see Samples).
func (c *Cut) Fit(samples [][]float32, cfg FitConfig) (*Codec, error) {
	return Fit(samples, c.C, c.H, c.W, cfg)
}

// Score is how a codec does on labelled images.
type Score struct {
	Images int
	// Bytes is the mean coded size of the cut tensor.
	Bytes float64
	// BitsPerElement is Bytes x 8 over the tensor's elements.
	BitsPerElement float64
	// Accuracy is the share of images whose top class, computed by the
	// tail from the decoded activations, is the label.
	Accuracy float64
}

// Evaluate codes the cut tensor of each image with cd (nil: sends it
// unchanged) and runs the tail on what the decoder makes of it.
func (c *Cut) Evaluate(cd *Codec, images *nn.Tensor, labels []uint8, threads int) (Score, error) {
	s, _, err := c.Predict(cd, images, labels, threads)
	return s, err
}

// Predict is Evaluate that also returns the tail's top class for each
// image: what the cloud answers when fed what the wire carries.
func (c *Cut) Predict(cd *Codec, images *nn.Tensor, labels []uint8, threads int) (Score, []int, error) {
	n := images.Shape[0]
	if len(labels) != n {
		return Score{}, nil, fmt.Errorf("%w: %d labels for %d images", ErrShape, len(labels), n)
	}
	var enc *Encoder
	var dec *Decoder
	vals := make([]float32, c.C*c.H*c.W)
	if cd != nil {
		enc, dec = cd.NewEncoder(), cd.NewDecoder()
	}
	tail := c.Tail.NewRunner(threads)
	var s Score
	pred := make([]int, n)
	total := 0
	err := runBatches(c.Head, images, threads, func(lo int, t *nn.Tensor) error {
		for i := 0; cd != nil && i < t.Shape[0]; i++ {
			one := sample(t, i)
			if err := RealValues(one, vals); err != nil {
				return err
			}
			msg, err := enc.Encode(vals)
			if err != nil {
				return err
			}
			total += len(msg)
			if err := dec.Decode(msg, vals); err != nil {
				return err
			}
			if err := SetRealValues(one, vals); err != nil {
				return err
			}
		}
		out, err := tail.Run(t)
		if err != nil {
			return fmt.Errorf("%w: tail: %v", ErrFit, err)
		}
		classes := out[0].Len() / t.Shape[0]
		for i := 0; i < t.Shape[0]; i++ {
			row := out[0].F32[i*classes : (i+1)*classes]
			pred[lo+i] = slices.Index(row, slices.Max(row))
			if pred[lo+i] == int(labels[lo+i]) {
				s.Accuracy++
			}
		}
		return nil
	})
	if err != nil {
		return Score{}, nil, err
	}
	s.Images = n
	s.Accuracy /= float64(max(n, 1))
	if cd != nil {
		s.Bytes = float64(total) / float64(max(n, 1))
		s.BitsPerElement = 8 * s.Bytes / float64(c.C*c.H*c.W)
	}
	return s, pred, nil
}
