package edgeworker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/preprocess"
)

// MaxInputFileBytes bounds one input file of PredictFiles.
const MaxInputFileBytes = 64 << 20

// FileResult is the outcome of one input file (one JSON line of
// `splitinfer edge --input` and `infer --input`).
type FileResult struct {
	File string `json:"file"`
	// Top holds the best classes of the model's first output, best first.
	Top       []Class `json:"top,omitempty"`
	LatencyMs float64 `json:"latency_ms"`
	// Cut is the split's cut, "local" when the whole model ran here.
	Cut string `json:"cut,omitempty"`
	// Exited is set when the edge's exit head answered (nothing was sent).
	Exited bool   `json:"exited,omitempty"`
	Error  string `json:"error,omitempty"`
}

// IsFileInput reports whether path is a directory or a PNG/JPEG image (by
// its first bytes): an input of the per-file mode (PredictFiles), not a
// tensor file of every model input.
func IsFileInput(path string) bool {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	return bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(head, []byte("\xff\xd8\xff"))
}

// InputFiles lists the files of path: path itself, or the regular files
// directly in a directory (not hidden), sorted.
func InputFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && e.Name()[0] != '.' {
			out = append(out, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("edgeworker: no files in %s", path)
	}
	return out, nil
}

// PredictFile runs one file through the model: a PNG or JPEG image (by its
// header) through the model's preprocessing, else an ONNX TensorProto as
// the model's first input. It keeps the top k classes (default 1) of the
// model's first output.
func (p *Predictor) PredictFile(ctx context.Context, path string, k int) FileResult {
	start := time.Now()
	fr := FileResult{File: path}
	resp, err := p.predictFile(ctx, path, max(k, 1))
	fr.LatencyMs = float64(time.Since(start)) / 1e6
	if err != nil {
		fr.Error = err.Error()
		return fr
	}
	fr.Top = resp.Outputs[0].Classes[0]
	fr.Cut, fr.Exited = resp.Result.Cut, resp.Result.Exited
	if resp.Result.Fallback {
		fr.Cut = "local"
	}
	return fr
}

func (p *Predictor) predictFile(ctx context.Context, path string, k int) (*PredictResponse, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxInputFileBytes {
		return nil, fmt.Errorf("%d bytes, over the %d-byte limit", st.Size(), MaxInputFileBytes)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	in := Input{Name: p.info.Inputs[0].Name}
	if _, _, _, herr := preprocess.Header(b); herr == nil {
		in.Images = [][]byte{b}
	} else if in.Tensor, err = onnx.DecodeTensor(b); err != nil {
		return nil, fmt.Errorf("neither a PNG/JPEG image nor an ONNX TensorProto: %w", err)
	}
	if len(p.info.Inputs) != 1 {
		return nil, fmt.Errorf("the model takes %d inputs; files feed one-input models", len(p.info.Inputs))
	}
	resp, err := p.Predict(ctx, &PredictRequest{Inputs: []Input{in},
		Outputs: []OutputRequest{{Name: p.info.Outputs[0].Name, Classes: k}}})
	if err != nil {
		return nil, err
	}
	if len(resp.Outputs[0].Classes) != 1 {
		return nil, fmt.Errorf("a batch of %d: one input per file", len(resp.Outputs[0].Classes))
	}
	return resp, nil
}

// PredictFiles runs files through PredictFile, concurrency at a time, and
// calls emit with each result in the files' order. It returns how many
// failed; it stops starting files when ctx ends.
func (p *Predictor) PredictFiles(ctx context.Context, files []string, k, concurrency int, emit func(FileResult)) int {
	concurrency = max(1, min(concurrency, p.cfg.MaxInFlight))
	results := make([]chan FileResult, len(files))
	for i := range results {
		results[i] = make(chan FileResult, 1)
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	go func() {
		for i, f := range files {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				for j := i; j < len(files); j++ {
					results[j] <- FileResult{File: files[j], Error: ctx.Err().Error()}
				}
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				results[i] <- p.PredictFile(ctx, f, k)
			}()
		}
	}()
	failed := 0
	for i := range files {
		r := <-results[i]
		if r.Error != "" {
			failed++
		}
		emit(r)
	}
	wg.Wait()
	return failed
}

// RunFiles runs FILE or the files of DIR at path through p (PredictFiles),
// concurrency at a time, and writes one JSON line per file to w; it fails
// when any file failed.
func (p *Predictor) RunFiles(ctx context.Context, path string, k, concurrency int, w io.Writer) error {
	files, err := InputFiles(path)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	failed := p.PredictFiles(ctx, files, k, concurrency, func(r FileResult) { _ = enc.Encode(r) })
	if failed > 0 {
		return fmt.Errorf("%d of %d inputs failed", failed, len(files))
	}
	return nil
}
