package onnx

import (
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx/onnxpb"
)

// ReadTensor reads a serialized ONNX TensorProto file, such as the
// input_0.pb and output_0.pb files of an ONNX test data set.
func ReadTensor(path string) (*nn.Tensor, error) {
	data, err := readFile(path, DefaultMaxFileSize)
	if err != nil {
		return nil, err
	}
	t, err := DecodeTensor(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// DecodeTensor parses a serialized ONNX TensorProto.
func DecodeTensor(data []byte) (*nn.Tensor, error) {
	var tp onnxpb.TensorProto
	if err := proto.Unmarshal(data, &tp); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return tensorFromProto(&tp)
}

// EncodeTensor serializes t as an ONNX TensorProto named name (raw_data).
// Quantization parameters are not written.
func EncodeTensor(name string, t *nn.Tensor) ([]byte, error) {
	tp, err := tensorProto(name, t)
	if err != nil {
		return nil, err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(tp)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return data, nil
}

// WriteTensor writes t to path as a serialized ONNX TensorProto (no name).
func WriteTensor(path string, t *nn.Tensor) error {
	tp, err := tensorProto("", t)
	if err != nil {
		return err
	}
	return writeProto(path, tp)
}

func writeProto(path string, tp *onnxpb.TensorProto) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(tp)
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}
