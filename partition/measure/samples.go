package measure

import (
	"fmt"
	"math/rand"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
)

// SampleInputs makes n batch-1 inputs for g to profile and size with:
// images of set (when not nil and the model takes one 1x1x32x32 input),
// else seeded uniform [0,1) values. The string names them for notes.
func SampleInputs(g *nn.Graph, n int, set *mnist.Set) ([][]*nn.Tensor, string, error) {
	var out [][]*nn.Tensor
	shapes := make([][]int, len(g.Inputs))
	for i, in := range g.Inputs {
		s := append([]int(nil), in.Type.Shape...)
		for j := range s {
			if s[j] < 0 {
				if j != 0 {
					return nil, "", fmt.Errorf("measure: input %q has a dynamic dimension %d besides the batch", in.Name, j)
				}
				s[j] = 1
			}
		}
		if nn.NumElements(s) <= 0 || nn.NumElements(s) > 1<<26 {
			return nil, "", fmt.Errorf("measure: input %q shape %v is not usable", in.Name, in.Type.Shape)
		}
		shapes[i] = s
	}
	if set != nil && len(shapes) == 1 && fmt.Sprint(shapes[0]) == "[1 1 32 32]" && set.Len() >= n {
		for i := 0; i < n; i++ {
			t := nn.New(nn.Float32, shapes[0]...)
			copy(t.F32, set.Image(i))
			out = append(out, []*nn.Tensor{t})
		}
		return out, fmt.Sprintf("%d MNIST test images", n), nil
	}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < n; i++ {
		var ins []*nn.Tensor
		for _, s := range shapes {
			t := nn.New(nn.Float32, s...)
			for j := range t.F32 {
				t.F32[j] = rng.Float32()
			}
			ins = append(ins, t)
		}
		out = append(out, ins)
	}
	return out, fmt.Sprintf("%d seeded random inputs", n), nil
}
