package nn_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/splitinfer/splitinfer/internal/testref"
	"github.com/splitinfer/splitinfer/nn"
	"github.com/splitinfer/splitinfer/nn/onnx"
)

// BenchmarkModelBatch32 runs MobileNetV2 on a batch of 32 with one chunk
// size for the whole program ("one", one image at a time) and with the
// chunk growing along it ("staged"), on 1 and 2 threads; on one thread it
// reports the thread's CPU time per run.
//
//	go test -run X -bench ModelBatch32 -benchtime 5x -count 3 ./nn/
func BenchmarkModelBatch32(b *testing.B) {
	g, in := loadRef(b, "mobilenet_v2")
	x := batchOf(in, 32)
	p, err := nn.Compile(g)
	if err != nil {
		b.Fatal(err)
	}
	defer nn.SetChunkStages(true)
	for _, threads := range []int{1, 2} {
		for _, staged := range []bool{false, true} {
			name := map[bool]string{false: "one", true: "staged"}[staged]
			b.Run(fmt.Sprintf("%s/t%d", name, threads), func(b *testing.B) {
				nn.SetChunkStages(staged)
				benchRuns(b, p, x, threads)
			})
		}
	}
}

// TestMobileNetV2BatchStages checks MobileNetV2's staged batch plan at
// batch 32 (one image at a time through the 112x112 layers, the whole
// batch through the classifier on one thread) and that it gives each
// image's batch-1 output.
func TestMobileNetV2BatchStages(t *testing.T) {
	if testing.Short() {
		t.Skip("mobilenet_v2 at batch 32: not in -short")
	}
	g, in := loadRef(t, "mobilenet_v2")
	x := batchOf(in, 32)
	p, err := nn.Compile(g)
	if err != nil {
		t.Fatal(err)
	}
	r := p.NewRunner(1)
	out, err := r.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	sizes := nn.ChunkSizes(r)
	if len(sizes) < 3 || sizes[0] != 1 || sizes[len(sizes)-1] != 32 {
		t.Fatalf("stage chunks %v, want 1 first, 32 last, growing in between", sizes)
	}
	t.Logf("stage chunks %v", sizes)
	one := p.NewRunner(1)
	per := len(out[0].F32) / 32
	for _, i := range []int{0, 1, 31} {
		img := nn.New(nn.Float32, append([]int{1}, x.Shape[1:]...)...)
		copy(img.F32, x.F32[i*len(img.F32):])
		want, err := one.Run(img)
		if err != nil {
			t.Fatal(err)
		}
		// Relative to the largest output: this model's are near 1e-9.
		got, scale, diff := out[0].F32[i*per:(i+1)*per], 0.0, 0.0
		for j, w := range want[0].F32 {
			scale = max(scale, math.Abs(float64(w)))
			diff = max(diff, math.Abs(float64(got[j]-w)))
		}
		if !(scale > 0 && diff <= 1e-4*scale) {
			t.Errorf("image %d: max abs diff %.3g, largest output %.3g", i, diff, scale)
		}
	}
}

// TestRefBatchMatchesImages runs the MNIST reference models, fp32 and int8
// (QDQ), on batches of 13 and 32 different images (ragged chunks: 13 in
// 4, 3, 3, 3 and the like) and checks each image's output against the
// image run alone (checkBatchMatchesImages); int8 exactly.
func TestRefBatchMatchesImages(t *testing.T) {
	for _, name := range []string{"seednet_mnist", "tinyresnet_mnist"} {
		for _, q := range []bool{false, true} {
			g, in := loadRef(t, name)
			if q {
				var err error
				if g, err = onnx.LoadQDQ(testref.Path(t, name+"_int8_qdq_pc.onnx")); err != nil {
					t.Fatal(err)
				}
			}
			p, err := nn.Compile(g)
			if err != nil {
				t.Fatal(err)
			}
			// Different images: the reference ones cycled, each scaled.
			all := batchOf(in, 32)
			per := len(all.F32) / 32
			for i := range all.F32 {
				all.F32[i] *= 1 + float32(i/per)/64
			}
			tol := 1e-4
			if q {
				tol = 0
			}
			t.Run(fmt.Sprintf("%s/int8=%v", name, q), func(t *testing.T) {
				checkBatchMatchesImages(t, p, all, []int{13, 32}, tol)
			})
		}
	}
}
