package onnx

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
)

// inlineExternalData reads the data of every tensor saved as external data
// (initializers and Constant values) from its file under dir into
// raw_data. Locations are confined to dir: os.Root refuses absolute paths,
// ".." escapes and symbolic links leading out. At most max bytes are read
// in total.
func inlineExternalData(m *onnxpb.ModelProto, dir string, max int64) error {
	var tensors []*onnxpb.TensorProto
	gp := m.GetGraph()
	tensors = append(tensors, gp.GetInitializer()...)
	for _, n := range gp.GetNode() {
		for _, a := range n.GetAttribute() {
			if a.GetT() != nil {
				tensors = append(tensors, a.GetT())
			}
		}
	}
	var root *os.Root
	defer func() {
		if root != nil {
			root.Close()
		}
	}()
	budget := max
	for _, tp := range tensors {
		if tp.GetDataLocation() != onnxpb.TensorProto_EXTERNAL && len(tp.GetExternalData()) == 0 {
			continue
		}
		if root == nil {
			r, err := os.OpenRoot(dir)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrExternalData, err)
			}
			root = r
		}
		data, err := readExternal(root, tp, budget)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", tp.GetName(), err)
		}
		budget -= int64(len(data))
		tp.RawData = data
		tp.DataLocation = onnxpb.TensorProto_DEFAULT
		tp.ExternalData = nil
	}
	return nil
}

func readExternal(root *os.Root, tp *onnxpb.TensorProto, budget int64) ([]byte, error) {
	var loc string
	offset, length := int64(0), int64(-1)
	for _, kv := range tp.GetExternalData() {
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset", "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: %s %q", ErrExternalData, kv.GetKey(), kv.GetValue())
			}
			if kv.GetKey() == "offset" {
				offset = v
			} else {
				length = v
			}
		}
	}
	if loc == "" {
		return nil, fmt.Errorf("%w: no location", ErrExternalData)
	}
	if filepath.IsAbs(loc) || !filepath.IsLocal(filepath.FromSlash(loc)) {
		return nil, fmt.Errorf("%w: location %q is outside the model's directory", ErrExternalData, loc)
	}
	f, err := root.Open(filepath.FromSlash(loc))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExternalData, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrExternalData, err)
	}
	if length < 0 {
		length = st.Size() - offset
	}
	if offset > st.Size() || length > st.Size()-offset {
		return nil, fmt.Errorf("%w: %s holds %d bytes, the tensor needs %d at offset %d", ErrExternalData, loc, st.Size(), length, offset)
	}
	if length > budget {
		return nil, fmt.Errorf("%w: external data above the size limit", ErrTooLarge)
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, offset); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return nil, fmt.Errorf("%w: %s: %v", ErrExternalData, loc, err)
	}
	return buf, nil
}
