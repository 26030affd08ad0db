package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/splitinfer/splitinfer/models"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// modelFormat is a model file format loadModel understands. To add one,
// call registerModelFormat from an init function in its own file.
type modelFormat struct {
	name string
	// exts are the lower-case file extensions (with the dot) of the format.
	exts []string
	// sniff reports whether a file starting with head is in this format; it
	// decides when the extension matches no format.
	sniff func(head []byte) bool
	load  func(path string) (*nn.Graph, error)
}

// modelFormats are tried in registration order.
var modelFormats []*modelFormat

func registerModelFormat(f *modelFormat) { modelFormats = append(modelFormats, f) }

func init() {
	registerModelFormat(&modelFormat{
		name:  "sinf",
		exts:  []string{".sinf"},
		sniff: sinf.IsSinf,
		load: func(path string) (*nn.Graph, error) {
			m, err := sinf.Load(path)
			if err != nil {
				return nil, err
			}
			return m.Graph, nil
		},
	})
	registerModelFormat(&modelFormat{
		name: "onnx",
		exts: []string{".onnx"},
		// A serialized ModelProto starts with field 1 (ir_version, varint).
		sniff: func(head []byte) bool { return len(head) > 1 && head[0] == 0x08 },
		load:  loadONNX,
	})
}

// loadONNX loads an ONNX model (optimized); QDQ models are lowered onto the
// int8 kernels.
func loadONNX(path string) (*nn.Graph, error) {
	g, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	if onnx.HasQDQ(g) {
		return onnx.ImportQDQ(g)
	}
	return g, nil
}

// loadModel resolves a MODEL argument: "" is the built-in default model; an
// existing file is loaded by the format its extension (else its first
// bytes) names; otherwise spec must be a built-in model name. It returns
// the graph and a short name for reports.
func loadModel(spec string) (*nn.Graph, string, error) {
	if spec == "" {
		g, err := models.Default()
		return g, models.DefaultName, err
	}
	st, statErr := os.Stat(spec)
	if statErr != nil {
		if models.Has(spec) {
			g, err := models.Load(spec)
			return g, spec, err
		}
		return nil, "", fmt.Errorf("model %q is neither a readable file nor a built-in model (built-in: %s): %w",
			spec, strings.Join(models.Names(), ", "), statErr)
	}
	if st.IsDir() {
		return nil, "", fmt.Errorf("model %q is a directory", spec)
	}
	name := strings.TrimSuffix(filepath.Base(spec), filepath.Ext(spec))
	ext := strings.ToLower(filepath.Ext(spec))
	for _, f := range modelFormats {
		for _, e := range f.exts {
			if e == ext {
				g, err := f.load(spec)
				return g, name, err
			}
		}
	}
	head, err := readHead(spec, 64)
	if err != nil {
		return nil, "", err
	}
	var known []string
	for _, f := range modelFormats {
		if f.sniff != nil && f.sniff(head) {
			g, err := f.load(spec)
			return g, name, err
		}
		known = append(known, f.name)
	}
	return nil, "", fmt.Errorf("model %q: unknown format (known: %s)", spec, strings.Join(known, ", "))
}

func readHead(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, n)
	k, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return buf[:k], nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("inspect model.onnx --json") and returns the positionals. A
// flag error (already printed by the flag set) becomes errUsage.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// parseFlags is fs.Parse with flag errors (already printed) as errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}
