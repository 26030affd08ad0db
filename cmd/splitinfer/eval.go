package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/splitinfer/splitinfer/dataset/mnist"
	"github.com/splitinfer/splitinfer/nn"
)

func init() {
	register(&command{
		name:    "eval",
		summary: "accuracy of a model on the MNIST test set",
		run:     runEval,
	})
}

// evalResult is what eval reports (the --json object).
type evalResult struct {
	Model       string  `json:"model"`
	Accuracy    float64 `json:"accuracy"`
	Correct     int     `json:"correct"`
	Images      int     `json:"images"`
	Seconds     float64 `json:"seconds"`
	ImagesPerS  float64 `json:"images_per_sec"`
	Batch       int     `json:"batch"`
	Threads     int     `json:"threads"`
	predictions []uint8
}

func runEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("eval", stderr)
	model := fs.String("model", "", "model file or built-in model name (default: the built-in default model)")
	n := fs.Int("n", 0, "evaluate the first N test images (default: all 10,000)")
	batch := fs.Int("batch", 100, "images per run")
	threads := fs.Int("threads", runtime.GOMAXPROCS(0), "goroutines, each running whole batches")
	asJSON := fs.Bool("json", false, "print one JSON object")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: splitinfer eval [--model MODEL] [--n N] [--batch B] [--threads T] [--json]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 || (len(pos) == 1 && *model != "") {
		fs.Usage()
		return errUsage
	}
	if len(pos) == 1 {
		*model = pos[0]
	}
	if *batch < 1 || *threads < 1 || *n < 0 {
		fmt.Fprintln(stderr, "splitinfer eval: --batch and --threads must be at least 1, --n not negative")
		return errUsage
	}
	g, name, err := loadModel(*model)
	if err != nil {
		return err
	}
	set, err := mnistTest()
	if err != nil {
		return err
	}
	res, err := evaluate(ctx, g, set, *n, *batch, *threads)
	if err != nil {
		return err
	}
	res.Model = name
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "model      %s\naccuracy   %.4f (%d/%d)\nimages     %d\nseconds    %.3f\nimages/s   %.1f\n",
		res.Model, res.Accuracy, res.Correct, res.Images, res.Images, res.Seconds, res.ImagesPerS)
	return nil
}

// evaluate classifies the first n images of set (all when n is 0 or more
// than the set holds) in batches, with threads goroutines each owning a
// runner, and returns the accuracy and the predicted classes.
func evaluate(ctx context.Context, g *nn.Graph, set *mnist.Set, n, batch, threads int) (*evalResult, error) {
	if len(g.Inputs) != 1 || len(g.Outputs) < 1 {
		return nil, fmt.Errorf("eval needs a model with one input, %q has %d", g.Name, len(g.Inputs))
	}
	in := g.Inputs[0].Type
	if in.DType != nn.Float32 || len(in.Shape) != 4 || (in.Shape[1] >= 0 && in.Shape[1] != 1) ||
		(in.Shape[2] >= 0 && in.Shape[2] != mnist.Rows) || (in.Shape[3] >= 0 && in.Shape[3] != mnist.Cols) {
		return nil, fmt.Errorf("eval needs a float32 [N,1,%d,%d] input, the model takes %v", mnist.Rows, mnist.Cols, in)
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
	res := &evalResult{Images: n, Batch: batch, Threads: threads, predictions: make([]uint8, n)}
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
					err = storePredictions(out[0], res.predictions, lo, hi)
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
	for i, p := range res.predictions {
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
		return fmt.Errorf("eval needs float32 [N,classes] logits, the model gives %v", logits.Type())
	}
	c := logits.Shape[1]
	for i := lo; i < hi; i++ {
		pred[i] = uint8(argmaxF32(logits.F32[(i-lo)*c : (i-lo+1)*c]))
	}
	return nil
}
