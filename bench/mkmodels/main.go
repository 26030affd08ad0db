// Command mkmodels writes CNNs of families the reference set lacks, with
// random weights, as ONNX files for `go run ./bench -model FILE`:
//
//   - squeezenet_style.onnx: SqueezeNet 1.1 (fire modules: a 1x1 squeeze,
//     then 1x1 and 3x3 expands joined by Concat), 3x224x224;
//   - mobilenetv3_style.onnx: MobileNetV3-Small (3x3 and 5x5 depthwise,
//     HardSwish, squeeze-and-excitation with HardSigmoid and Mul, residual
//     Add), 3x224x224;
//   - resnet18_style, regnetx_style (grouped 3x3 convolutions),
//     efficientnetb0_style (SiLU, 5x5 depthwise, Sigmoid squeeze-and-
//     excitation) and shufflenetv2_style (Split, Concat, channel shuffle by
//     Reshape-Transpose-Reshape), densenet_style (pre-activation batch
//     norms, growing Concats), inception_style (GoogLeNet's four-branch
//     modules), 3x224x224, and vgg_style (VGG-11 for CIFAR), 3x32x32;
//     `make bench` times the first
//     two families, these on demand (`make bench BENCH_MODELS=...`);
//   - and, with -int8, each one quantized by compress/quantize and saved in
//     QDQ form as NAME_int8_qdq.onnx.
//
// The weights are seeded, so every run writes the same files. Make's bench
// target runs it before the benchmark.
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/splitinfer/splitinfer/compress/quantize"
	"github.com/splitinfer/splitinfer/internal/cnnzoo"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

func main() {
	out := flag.String("out", "bench/models", "output directory")
	int8 := flag.Bool("int8", true, "also write QDQ int8 versions")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	for name, build := range map[string]func() *nn.Graph{
		"squeezenet_style":     func() *nn.Graph { return cnnzoo.SqueezeNet(224) },
		"mobilenetv3_style":    func() *nn.Graph { return cnnzoo.MobileNetV3(224) },
		"resnet18_style":       func() *nn.Graph { return cnnzoo.ResNet18(224) },
		"regnetx_style":        func() *nn.Graph { return cnnzoo.RegNetX(224) },
		"efficientnetb0_style": func() *nn.Graph { return cnnzoo.EfficientNetB0(224) },
		"shufflenetv2_style":   func() *nn.Graph { return cnnzoo.ShuffleNetV2(224) },
		"densenet_style":       func() *nn.Graph { return cnnzoo.DenseNet(224) },
		"inception_style":      func() *nn.Graph { return cnnzoo.Inception(224) },
		"vgg_style":            func() *nn.Graph { return cnnzoo.VGG(32) },
	} {
		g := build()
		path := filepath.Join(*out, name+".onnx")
		if err := onnx.Save(path, g); err != nil {
			fatal(fmt.Errorf("%s: %w", name, err))
		}
		fmt.Fprintln(os.Stderr, "wrote", path)
		if !*int8 {
			continue
		}
		calib := nn.New(nn.Float32, append([]int{8}, g.Inputs[0].Type.Shape[1:]...)...)
		r := rand.New(rand.NewPCG(3, 4))
		for i := range calib.F32 {
			calib.F32[i] = r.Float32()
		}
		res, err := quantize.Quantize(g, calib)
		if err != nil {
			fatal(fmt.Errorf("%s: quantize: %w", name, err))
		}
		qpath := filepath.Join(*out, name+"_int8_qdq.onnx")
		if err := onnx.SaveQDQ(qpath, res.Graph); err != nil {
			fatal(fmt.Errorf("%s: %w", name, err))
		}
		fmt.Fprintln(os.Stderr, "wrote", qpath)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mkmodels:", err)
	os.Exit(1)
}
