package nn_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/splitinfer/splitinfer/nn"
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
				r := p.NewRunner(threads)
				if _, err := r.Run(x); err != nil {
					b.Fatal(err)
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.ReportAllocs()
				b.ResetTimer()
				c0 := nn.ThreadCPUSeconds()
				for i := 0; i < b.N; i++ {
					if _, err := r.Run(x); err != nil {
						b.Fatal(err)
					}
				}
				if c1 := nn.ThreadCPUSeconds(); threads == 1 && c1 > 0 {
					b.ReportMetric((c1-c0)*1e6/float64(b.N), "cpu-µs/op")
				}
			})
		}
	}
}
