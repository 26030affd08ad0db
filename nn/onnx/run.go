package onnx

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/splitinfer/splitinfer/nn/onnx/onnxpb"

	"github.com/splitinfer/splitinfer/nn"
)

// RunFiles runs g on the TensorProto files inputs (one per graph input, in
// order; dynamic shapes are specialized to theirs) with threads threads and
// writes the first len(outputs) outputs to the files outputs. It returns
// all the outputs.
func RunFiles(ctx context.Context, g *nn.Graph, inputs, outputs []string, threads int) ([]*nn.Tensor, error) {
	if len(inputs) != len(g.Inputs) {
		return nil, fmt.Errorf("the model takes %d inputs, %d --input files given", len(g.Inputs), len(inputs))
	}
	if len(outputs) > len(g.Outputs) {
		return nil, fmt.Errorf("the model has %d outputs, %d --output files given", len(g.Outputs), len(outputs))
	}
	feeds := make([]*nn.Tensor, len(inputs))
	for i, path := range inputs {
		t, err := ReadTensor(path)
		if err != nil {
			return nil, err
		}
		if err := checkInput(g.Inputs[i], t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		feeds[i] = t
	}
	var err error
	if g.HasDynamicInputs() {
		// Shapes computed from the input's (dynamic) shape fold now.
		types := make([]nn.Type, len(feeds))
		for i, t := range feeds {
			types[i] = t.Type()
		}
		if g, err = nn.Specialize(g, types); err != nil {
			return nil, err
		}
	}
	prog, err := nn.Compile(g)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	outs, err := prog.NewRunner(threads).Run(feeds...)
	if err != nil {
		return nil, err
	}
	for i, path := range outputs {
		if err := writeOutput(path, g, g.Outputs[i].Name, outs[i]); err != nil {
			return nil, err
		}
	}
	return outs, nil
}

// MetaOutputElemType + an output's name is the graph metadata key holding
// the ONNX element type the model declares for that output when the engine
// computes it in another one: bool (held as uint8 0/1) and double (held
// as float32).
const MetaOutputElemType = "splitinfer.onnx_elem_type."

// writeOutput writes output name of g as a TensorProto file, in the
// element type the model declares for it (MetaOutputElemType).
func writeOutput(path string, g *nn.Graph, name string, t *nn.Tensor) error {
	et := g.Meta[MetaOutputElemType+name]
	switch {
	case et == strconv.Itoa(onnxBool) && t.DType == nn.Uint8:
		tp, err := tensorProto("", t)
		if err != nil {
			return err
		}
		tp.DataType = onnxBool
		return writeProto(path, tp)
	case et == strconv.Itoa(onnxDouble) && t.DType == nn.Float32:
		tp := &onnxpb.TensorProto{DataType: onnxDouble}
		for _, d := range t.Shape {
			tp.Dims = append(tp.Dims, int64(d))
		}
		tp.RawData = make([]byte, 8*len(t.F32))
		for i, v := range t.F32 {
			binary.LittleEndian.PutUint64(tp.RawData[8*i:], math.Float64bits(float64(v)))
		}
		return writeProto(path, tp)
	}
	return WriteTensor(path, t)
}

// ErrInputType reports an input tensor whose type the model does not take.
var ErrInputType = errors.New("onnx: input does not match the model")

// checkInput compares a tensor with a graph input's declared type (dynamic
// dimensions match anything).
func checkInput(vi nn.ValueInfo, t *nn.Tensor) error {
	if vi.Type.DType != nn.Undefined && vi.Type.DType != t.DType {
		return fmt.Errorf("%w: %q wants %v, the file holds %v", ErrInputType, vi.Name, vi.Type, t.Type())
	}
	if vi.Type.Shape == nil {
		return nil
	}
	if len(vi.Type.Shape) != len(t.Shape) {
		return fmt.Errorf("%w: %q wants %v, the file holds %v", ErrInputType, vi.Name, vi.Type, t.Type())
	}
	for i, d := range vi.Type.Shape {
		if d >= 0 && d != t.Shape[i] {
			return fmt.Errorf("%w: %q wants %v, the file holds %v", ErrInputType, vi.Name, vi.Type, t.Type())
		}
	}
	return nil
}
