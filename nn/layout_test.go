package nn_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/splitinfer/splitinfer/internal/cnnzoo"
	"github.com/splitinfer/splitinfer/nn"
)

// TestLayoutNCHWcMatchesNCHW runs models whose pathNCHWc convolutions hand
// values over in NCHW16c (the layout pass) against the same runs without
// the pass, at batches 1, 4, 7, 13 and 32 (whole or in chunks, sub-runners
// planning their own layouts) on 1 and 2 threads: the outputs must be the
// same bit for bit (the kernels sum in the same order in either layout,
// and read a bordered value's zeros where they read a padded copy's), and
// the pass must block what it can: tinyresnet's convolutions inside its
// residual stages, with borders for its 3x3 layers, never one whose
// output the model returns (its last stage, with the shortcut its fused
// residual, writes NCHW16c for the GlobalAveragePool); MaxPools reading NCHW16c (the ResNet-style
// model's pool writing its convolutions' bordered input, seednet's first
// pool between its grey stem and its second conv, or, with pathStem's
// kernels, the stem with that pool fused writing it; VGG's convolutions
// with their 2x2 pools fused writing the next ones' inputs). Without
// the assembly kernels (purego) pathNCHWc runs the Go reference, forced,
// on tinyresnet at two batches.
func TestLayoutNCHWcMatchesNCHW(t *testing.T) {
	type model struct {
		name    string
		g       *nn.Graph
		in      *nn.Tensor
		blocked []string // Convs and MaxPools that must read or write NCHW16c at batch 1 (nn.BlockedConvs, nn.BlockedPools)
	}
	g, in := loadRef(t, "tinyresnet_mnist")
	models := []model{{"tinyresnet", g, firstImage(in), []string{"/stem/stem.0/Conv 0 1 0 1", "/l1/c1/Conv 1 1 1 1", "/l1/c2/Conv 1 1 1 1", "/l3/c1/Conv 1 1 1 1", "/l3/sc/sc.0/Conv 1 1 1 0", "/l3/Add 1 1 1 0"}}}
	g, in = loadRef(t, "seednet_mnist")
	seed := []string{"/conv1/Conv 0 1 0 0", "/MaxPool 1 0 1", "/conv2/Conv 1 0 1 0"}
	if nn.StemKernels() {
		// The first pool runs inside the stem (conv_stem.go), which
		// writes the second conv's bordered input.
		seed = []string{"/conv1/Conv 0 1 0 1", "/conv2/Conv 1 0 1 0"}
	}
	models = append(models, model{"seednet", g, firstImage(in), seed})
	batches := []int{1, 4, 7, 13, 32}
	if nn.NCHWcKernels() {
		for _, z := range []struct {
			name    string
			build   func(int) *nn.Graph
			blocked []string
		}{{"resnet18", cnnzoo.ResNet18, []string{"MaxPool_5 1 0 1"}},
			// VGG's 2x2 pools run inside its convolutions (conv_pool.go),
			// which write the next ones' bordered inputs.
			{"vgg", cnnzoo.VGG, []string{"Conv_3 0 1 0 1", "Conv_26 1 1 1 1"}}} {
			g, in := zooModel(z.build, 32)
			models = append(models, model{name: z.name, g: g, in: in, blocked: z.blocked})
		}
	} else {
		nn.SetNCHWcForce(true)
		defer nn.SetNCHWcForce(false)
		batches = []int{1, 7}
	}
	defer nn.SetLayout(true)
	for _, m := range models {
		p, err := nn.Compile(m.g)
		if err != nil {
			t.Fatal(err)
		}
		for _, batch := range batches {
			x := batchOf(m.in, batch)
			for i := range x.F32 {
				x.F32[i] *= 1 + float32(i%97)/97
			}
			for _, threads := range []int{1, 2} {
				t.Run(fmt.Sprintf("%s/b%d/t%d", m.name, batch, threads), func(t *testing.T) {
					var out [2][]*nn.Tensor
					var blocked []string
					for i, on := range []bool{false, true} {
						nn.SetLayout(on)
						r := p.NewRunner(threads)
						o, err := r.Run(x)
						if err != nil {
							t.Fatal(err)
						}
						for _, v := range o {
							out[i] = append(out[i], v.Clone())
						}
						if on {
							blocked = append(nn.BlockedConvs(r), nn.BlockedPools(r)...)
						}
					}
					for i := range out[0] {
						if !slices.Equal(out[0][i].F32, out[1][i].F32) {
							t.Fatalf("output %d differs with the layout pass", i)
						}
					}
					if batch == 1 {
						t.Logf("NCHW16c: %v", blocked)
						for _, b := range m.blocked {
							if !slices.Contains(blocked, b) {
								t.Errorf("%q not among the convolutions in NCHW16c %v", b, blocked)
							}
						}
						if len(blocked) == 0 {
							t.Errorf("nothing runs in NCHW16c")
						}
					}
				})
			}
		}
	}
}

// TestLayoutMergesStages checks that a batch stage is not cut at a value
// the layout pass keeps in NCHW16c when the stage's weights are small:
// tinyresnet at batch 32 on one thread runs its 8x8 layers in the chunks
// of its first stage (without the pass they start a stage of 16 images).
func TestLayoutMergesStages(t *testing.T) {
	g, in := loadRef(t, "tinyresnet_mnist")
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	if !nn.NCHWcKernels() {
		nn.SetNCHWcForce(true)
		defer nn.SetNCHWcForce(false)
	}
	defer nn.SetLayout(true)
	for _, c := range []struct {
		on   bool
		want []int
	}{{false, []int{8, 16, 32}}, {true, []int{8, 32}}} {
		nn.SetLayout(c.on)
		r := p.NewRunner(1)
		if _, err := r.Run(batchOf(in, 32)); err != nil {
			t.Fatal(err)
		}
		if got := nn.ChunkSizes(r); !slices.Equal(got, c.want) {
			t.Errorf("layout pass %v: stage chunks %v, want %v", c.on, got, c.want)
		}
	}
}
