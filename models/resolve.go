package models

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
	"github.com/splitinfer/splitinfer/nn/sinf"
)

// Format is a model file format Resolve understands. To add one, call
// RegisterFormat from an init function.
type Format struct {
	Name string
	// Exts are the lower-case file extensions (with the dot) of the format.
	Exts []string
	// Sniff reports whether a file starting with head is in this format; it
	// decides when the extension matches no format.
	Sniff func(head []byte) bool
	Load  func(path string) (*nn.Graph, error)
}

// formats are tried in registration order.
var formats []*Format

// RegisterFormat adds a model file format to those Resolve tries.
func RegisterFormat(f *Format) { formats = append(formats, f) }

func init() {
	RegisterFormat(&Format{
		Name:  "sinf",
		Exts:  []string{".sinf"},
		Sniff: sinf.IsSinf,
		Load: func(path string) (*nn.Graph, error) {
			m, err := sinf.Load(path)
			if err != nil {
				return nil, err
			}
			return m.Graph, nil
		},
	})
	RegisterFormat(&Format{
		Name: "onnx",
		Exts: []string{".onnx"},
		// A serialized ModelProto starts with field 1 (ir_version, varint).
		Sniff: func(head []byte) bool { return len(head) > 1 && head[0] == 0x08 },
		Load:  loadONNX,
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

// Resolve resolves a MODEL argument: "" is the built-in default model; an
// existing file is loaded by the format its extension (else its first
// bytes) names; otherwise spec must be a built-in model name. It returns
// the graph and a short name for reports.
func Resolve(spec string) (*nn.Graph, string, error) {
	if spec == "" {
		g, err := Default()
		return g, DefaultName, err
	}
	st, statErr := os.Stat(spec)
	if statErr != nil {
		if Has(spec) {
			g, err := Load(spec)
			return g, spec, err
		}
		return nil, "", fmt.Errorf("model %q is neither a readable file nor a built-in model (built-in: %s): %w",
			spec, strings.Join(Names(), ", "), statErr)
	}
	if st.IsDir() {
		return nil, "", fmt.Errorf("model %q is a directory", spec)
	}
	name := strings.TrimSuffix(filepath.Base(spec), filepath.Ext(spec))
	ext := strings.ToLower(filepath.Ext(spec))
	for _, f := range formats {
		for _, e := range f.Exts {
			if e == ext {
				g, err := f.Load(spec)
				return g, name, err
			}
		}
	}
	head, err := readHead(spec, 64)
	if err != nil {
		return nil, "", err
	}
	var known []string
	for _, f := range formats {
		if f.Sniff != nil && f.Sniff(head) {
			g, err := f.Load(spec)
			return g, name, err
		}
		known = append(known, f.Name)
	}
	return nil, "", fmt.Errorf("model %q: unknown format (known: %s)", spec, strings.Join(known, ", "))
}

// readHead returns the first n bytes of the file at path (fewer if it is
// shorter): what format sniffing looks at.
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
