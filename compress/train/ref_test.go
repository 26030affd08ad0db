package train

import (
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// TestFromONNXMatchesRuntime loads the PyTorch reference models with
// nn/onnx, converts them to trainable nets and checks the logits against
// ONNX Runtime's outputs.
func TestFromONNXMatchesRuntime(t *testing.T) {
	for _, name := range []string{"seednet_mnist", "tinyresnet_mnist"} {
		t.Run(name, func(t *testing.T) {
			g, err := onnx.Load(testref.Path(t, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			n, err := FromGraph(g)
			if err != nil {
				t.Fatal(err)
			}
			in, err := onnx.ReadTensor(testref.Path(t, name, "test_data_set_0", "input_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := onnx.ReadTensor(testref.Path(t, name, "test_data_set_0", "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := n.Logits(in.F32, in.Shape[0], 0)
			if err != nil {
				t.Fatal(err)
			}
			if md := maxDiff(got, want.F32); md > 1e-4 {
				t.Errorf("logits differ from ONNX Runtime by %g", md)
			}
			// And back: the exported graph compiles and runs in the engine.
			eg, err := n.ToGraph(name)
			if err != nil {
				t.Fatal(err)
			}
			p, err := nn.Compile(eg)
			if err != nil {
				t.Fatal(err)
			}
			outs, err := p.NewRunner(1).Run(in)
			if err != nil {
				t.Fatal(err)
			}
			if md := maxDiff(outs[0].F32, want.F32); md > 1e-4 {
				t.Errorf("engine on the exported graph differs from ONNX Runtime by %g", md)
			}
			tl, err := ProgramTeacher{Program: p, Input: n.Input}.Logits(in.F32, in.Shape[0])
			if err != nil {
				t.Fatal(err)
			}
			if md := maxDiff(tl, want.F32); md > 1e-4 {
				t.Errorf("ProgramTeacher differs from ONNX Runtime by %g", md)
			}
		})
	}
}
