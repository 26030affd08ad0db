package pipeline_test

import (
	"fmt"

	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/pipeline"
)

// A request carrying one activation tensor, encoded with zstd and decoded
// back within the default limits.
func Example() {
	act, _ := nn.FromFloat32([]float32{0, 1.5, -2, 4}, 1, 4)
	wt, _ := pipeline.FromNN("pool2", act)
	msg, err := pipeline.EncodeRequest(&pipeline.Request{
		ID: "req-1", Model: "3f0c...", Cut: "pool2", Codec: pipeline.CodecZstd, Tensors: []pipeline.Tensor{wt},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	req, err := pipeline.DecodeRequest(msg, pipeline.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	t, _ := req.Tensors[0].ToNN()
	fmt.Println(req.ID, req.Cut, t.Shape, t.F32)

	// The 5-byte array bomb gets a coded error, not a 32 GiB allocation.
	_, err = pipeline.DecodeRequest([]byte{0x81, 0xa2, 'i', 'd', 0xdd, 0xff, 0xff, 0xff, 0xff}, pipeline.Limits{})
	fmt.Println(pipeline.AsError(err).Code)
	// Output:
	// req-1 pool2 [1 4] [0 1.5 -2 4]
	// 400
}

// Wire quantization of a float32 activation: 1 byte per element plus a
// scale and zero point, dequantized by the receiver.
func ExampleQuantize() {
	act, _ := nn.FromFloat32([]float32{0, 1, 2, 2.55}, 4)
	wt, _ := pipeline.Quantize("x", act, nn.Uint8)
	back, _ := wt.ToNN()
	fmt.Println(len(wt.Data), wt.Scale[0], wt.ZeroPoint[0], back.DType, back.F32)
	// Output: 4 0.01 0 float32 [0 1 2 2.55]
}
