package nn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/splitinfer/splitinfer/internal/cnnzoo"
	"github.com/splitinfer/splitinfer/nn"
)

// TestZooBatchMatchesImages runs each internal/cnnzoo family on batches of
// 4 and 7 different images, on 1 and 2 threads, with the default chunks and
// small ones (64 KB: chunks of one image, then of 2-4 with a smaller last
// one at 7), and checks every image's output against the image run alone:
// the batch paths (chunks of images, channel shuffles, splits, grouped and
// depthwise convolutions) give the single image's result.
func TestZooBatchMatchesImages(t *testing.T) {
	for _, m := range []struct {
		name  string
		build func(int) *nn.Graph
	}{
		{"resnet18_style", cnnzoo.ResNet18},
		{"regnetx_style", cnnzoo.RegNetX},
		{"efficientnetb0_style", cnnzoo.EfficientNetB0},
		{"shufflenetv2_style", cnnzoo.ShuffleNetV2},
		{"squeezenet_style", cnnzoo.SqueezeNet},
		{"mobilenetv3_style", cnnzoo.MobileNetV3},
	} {
		t.Run(m.name, func(t *testing.T) {
			const size = 64
			p, err := nn.Compile(m.build(size))
			if err != nil {
				t.Fatal(err)
			}
			all := nn.New(nn.Float32, 7, 3, size, size)
			for i := range all.F32 {
				all.F32[i] = float32((i*7+i/(3*size*size))%31) / 31
			}
			checkBatchMatchesImages(t, p, all, []int{4, 7}, 1e-4)
		})
	}
}

// checkBatchMatchesImages runs p on the first images of all as batches of
// each size, on 1 and 2 threads, with the default chunks and small ones
// (64 KB), and checks each image's output against the image run alone,
// within tol of the largest output.
func checkBatchMatchesImages(t *testing.T, p *nn.Program, all *nn.Tensor, batches []int, tol float64) {
	t.Helper()
	most, shape := all.Shape[0], all.Shape[1:]
	per := len(all.F32) / most
	want := make([][]float32, most)
	one := p.NewRunner(1)
	for b := range want {
		img, err := nn.FromFloat32(all.F32[b*per:(b+1)*per], append([]int{1}, shape...)...)
		if err != nil {
			t.Fatal(err)
		}
		out, err := one.Run(img)
		if err != nil {
			t.Fatal(err)
		}
		want[b] = append([]float32(nil), out[0].F32...)
	}
	defer nn.SetChunkBytes(nn.SetChunkBytes(0))
	for _, batch := range batches {
		x, err := nn.FromFloat32(all.F32[:batch*per], append([]int{batch}, shape...)...)
		if err != nil {
			t.Fatal(err)
		}
		for _, chunk := range []int{1 << 20, 1 << 16} {
			nn.SetChunkBytes(chunk)
			for _, threads := range []int{1, 2} {
				r := p.NewRunner(threads)
				out, err := r.Run(x)
				if err != nil {
					t.Fatal(err)
				}
				if chunk == 1<<16 && nn.ChunkSizes(r) == nil {
					t.Errorf("batch %d, %d threads: not chunked", batch, threads)
				}
				got := out[0].F32
				if len(got) != batch*len(want[0]) {
					t.Fatalf("batch %d, %d threads: %d outputs, want %d", batch, threads, len(got), batch*len(want[0]))
				}
				for b := range batch {
					if err := closeTo(got[b*len(want[b]):(b+1)*len(want[b])], want[b], tol); err != nil {
						t.Errorf("batch %d, %d KB chunks %v, %d threads, image %d: %v", batch, chunk>>10, nn.ChunkSizes(r), threads, b, err)
					}
				}
			}
		}
	}
}

// closeTo reports the first element of got farther than tol (relative to
// the largest magnitude of want) from want.
func closeTo(got, want []float32, tol float64) error {
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*math.Max(scale, 1)) {
			return fmt.Errorf("element %d = %v, want %v", i, got[i], want[i])
		}
	}
	return nil
}

// TestZooConcatViews runs the internal/cnnzoo families with Concats
// (DenseNet's chains of them, Inception's four-branch ones, SqueezeNet's
// fire modules) with the Concats written in place and without, on 1 and 2
// threads: the outputs agree bit for bit (the shared buffers poisoned).
func TestZooConcatViews(t *testing.T) {
	defer nn.SetRunFusion(true, true, true)
	for _, m := range []struct {
		name  string
		build func(int) *nn.Graph
	}{
		{"densenet_style", cnnzoo.DenseNet},
		{"inception_style", cnnzoo.Inception},
		{"squeezenet_style", cnnzoo.SqueezeNet},
	} {
		t.Run(m.name, func(t *testing.T) {
			const size = 32
			p, err := nn.Compile(m.build(size))
			if err != nil {
				t.Fatal(err)
			}
			x := nn.New(nn.Float32, 1, 3, size, size)
			for i := range x.F32 {
				x.F32[i] = float32(i*7%31) / 31
			}
			for _, threads := range []int{1, 2} {
				var outs [2][]float32
				for i, concat := range []bool{false, true} {
					nn.SetRunFusion(true, true, concat)
					out, err := p.NewRunner(threads).Run(x)
					if err != nil {
						t.Fatal(err)
					}
					outs[i] = out[0].F32
				}
				for i := range outs[0] {
					if math.Float32bits(outs[0][i]) != math.Float32bits(outs[1][i]) || math.IsNaN(float64(outs[1][i])) {
						t.Fatalf("%d threads: output %d = %v in place, %v copied", threads, i, outs[1][i], outs[0][i])
					}
				}
			}
		})
	}
}
