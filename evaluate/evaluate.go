// Package evaluate measures a model's accuracy on the MNIST test set: the
// one evaluator the commands and tests use.
package evaluate

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
)

// Result is an evaluation's outcome.
type Result struct {
	Model      string  `json:"model"`
	Accuracy   float64 `json:"accuracy"`
	Correct    int     `json:"correct"`
	Images     int     `json:"images"`
	Seconds    float64 `json:"seconds"`
	ImagesPerS float64 `json:"images_per_sec"`
	Batch      int     `json:"batch"`
	Threads    int     `json:"threads"`
	// Predictions are the predicted classes, in test-set order.
	Predictions []uint8 `json:"-"`
}

// MNIST classifies the first n images of set (all when n is 0 or more
// than the set holds) in batches, with threads goroutines each owning a
// runner, and returns the accuracy and the predicted classes.
func MNIST(ctx context.Context, g *nn.Graph, set *mnist.Set, n, batch, threads int) (*Result, error) {
	if len(g.Inputs) != 1 || len(g.Outputs) < 1 {
		return nil, fmt.Errorf("evaluate: needs a model with one input, %q has %d", g.Name, len(g.Inputs))
	}
	in := g.Inputs[0].Type
	if in.DType != nn.Float32 || len(in.Shape) != 4 || (in.Shape[1] >= 0 && in.Shape[1] != 1) ||
		(in.Shape[2] >= 0 && in.Shape[2] != mnist.Rows) || (in.Shape[3] >= 0 && in.Shape[3] != mnist.Cols) {
		return nil, fmt.Errorf("evaluate: needs a float32 [N,1,%d,%d] input, the model takes %v", mnist.Rows, mnist.Cols, in)
	}
	if n <= 0 || n > set.Len() {
		n = set.Len()
	}
	if in.Shape[0] >= 0 {
		batch = in.Shape[0] // a fixed batch dimension
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	res := &Result{Images: n, Batch: batch, Threads: threads, Predictions: make([]uint8, n)}
	nb := (n + batch - 1) / batch
	threads = min(threads, nb)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	start := time.Now()
	for w := 0; w < threads; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := prog.NewRunner(1)
			for b := range next {
				lo, hi := b*batch, min((b+1)*batch, n)
				data, rows := set.Batch(lo, hi), hi-lo
				if in.Shape[0] >= 0 && rows < batch {
					// A fixed batch dimension: pad the last batch with zeros.
					data = append(append([]float32(nil), data...), make([]float32, (batch-rows)*mnist.Pixels)...)
					rows = batch
				}
				x, err := nn.FromFloat32(data, rows, 1, mnist.Rows, mnist.Cols)
				var out []*nn.Tensor
				if err == nil {
					out, err = r.Run(x)
				}
				if err == nil {
					err = storePredictions(out[0], res.Predictions, lo, hi)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for b := 0; b < nb; b++ {
		if ctx.Err() != nil {
			break
		}
		next <- b
	}
	close(next)
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, p := range res.Predictions {
		if p == set.Labels[i] {
			res.Correct++
		}
	}
	res.Accuracy = float64(res.Correct) / float64(n)
	if res.Seconds > 0 {
		res.ImagesPerS = float64(n) / res.Seconds
	}
	return res, nil
}

// storePredictions writes the argmax of rows [0, hi-lo) of logits into
// pred[lo:hi].
func storePredictions(logits *nn.Tensor, pred []uint8, lo, hi int) error {
	if logits.DType != nn.Float32 || len(logits.Shape) != 2 || logits.Shape[0] < hi-lo || logits.Shape[1] < 1 || logits.Shape[1] > 256 {
		return fmt.Errorf("evaluate: needs float32 [N,classes] logits, the model gives %v", logits.Type())
	}
	c := logits.Shape[1]
	for i := lo; i < hi; i++ {
		pred[i] = uint8(Argmax(logits.F32[(i-lo)*c : (i-lo+1)*c]))
	}
	return nil
}

// Argmax returns the index of the largest value (the first on ties).
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// ArgmaxRows returns the Argmax of each row of a float32 [N, ...] tensor
// (the predicted class of each image of a batch).
func ArgmaxRows(t *nn.Tensor) []int {
	if t.DType != nn.Float32 || len(t.Shape) == 0 || t.Shape[0] <= 0 {
		return nil
	}
	row := t.Len() / t.Shape[0]
	classes := make([]int, t.Shape[0])
	for r := range classes {
		classes[r] = Argmax(t.F32[r*row : (r+1)*row])
	}
	return classes
}

// WriteOutputs prints each output of g in outs, its type and, for float32
// scores per row ([N, classes] or [N, classes, 1, 1]), the argmax of each
// row (infer's summary).
func WriteOutputs(w io.Writer, g *nn.Graph, outs []*nn.Tensor) {
	for i, o := range outs {
		fmt.Fprintf(w, "%s: %v\n", g.Outputs[i].Name, o.Type())
		if o.DType == nn.Float32 && len(o.Shape) >= 2 && o.Shape[0] > 0 && o.Len() > 0 {
			fmt.Fprintf(w, "  argmax per row: %v\n", ArgmaxRows(o))
		}
	}
}
