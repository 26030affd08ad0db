package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/splitinfer/splitinfer/evaluate"
)

// chunkSize is how many samples of a mini-batch one worker runs at a time.
const chunkSize = 16

// Dataset is a set of labelled samples: Images holds len(Labels) samples of
// the net's input size each (NCHW float32), Labels the class of each.
type Dataset struct {
	Images []float32
	Labels []uint8
}

// Len is the number of samples.
func (d Dataset) Len() int { return len(d.Labels) }

// Subset returns samples [lo,hi) of sampleSize values each (aliasing d),
// with lo and hi clamped to the samples d holds.
func (d Dataset) Subset(lo, hi, sampleSize int) Dataset {
	n := d.Len()
	if sampleSize > 0 {
		n = min(n, len(d.Images)/sampleSize)
	}
	lo, hi = min(max(lo, 0), n), min(max(hi, 0), n)
	if hi < lo || sampleSize <= 0 {
		hi = lo
		sampleSize = 0
	}
	return Dataset{Images: d.Images[lo*sampleSize : hi*sampleSize], Labels: d.Labels[lo:hi]}
}

func (n *Net) checkData(d Dataset) error {
	sz := n.Input.Size()
	if len(d.Labels) == 0 {
		return fmt.Errorf("%w: empty dataset", ErrData)
	}
	if len(d.Images) != len(d.Labels)*sz {
		return fmt.Errorf("%w: %d values for %d samples of %d", ErrData, len(d.Images), len(d.Labels), sz)
	}
	for i, y := range d.Labels {
		if int(y) >= n.Classes() {
			return fmt.Errorf("%w: label %d of sample %d, the net has %d classes", ErrData, y, i, n.Classes())
		}
	}
	return nil
}

// Config controls Fit. The zero value of each field means its default.
type Config struct {
	// Epochs over the data (default 1).
	Epochs int
	// Batch is the mini-batch size (default 128).
	Batch int
	// Seed drives the shuffling (same seed: same weights, whatever Threads).
	Seed uint64
	// Threads is how many goroutines split each mini-batch (default GOMAXPROCS).
	Threads int
	// Optimizer (default Adam with lr 1e-3).
	Optimizer Optimizer
	// Teacher, when set, turns training into knowledge distillation from
	// its logits with Temperature (default 4) and Alpha, the weight of the
	// soft loss (nil: 0.7; an explicit 0 trains on the labels alone). The
	// loss is (1-Alpha)·CE(student, label) + Alpha·T²·KL(softmax(teacher/T)
	// ‖ softmax(student/T)), batch mean.
	Teacher     Teacher
	Temperature float32
	Alpha       *float32
	// MaxSteps stops after this many optimizer steps in total (0: no limit).
	MaxSteps int
	// Schedule of the learning rate (default constant: the optimizer's own
	// rate throughout). A non-constant schedule scales from the rate the
	// optimizer has when Fit starts, sets it before every step and restores
	// it when Fit returns.
	Schedule Schedule
	// Warmup is how many steps of linear warm-up precede the cosine decay.
	Warmup int
	// Progress, when set, is called after every step and at each epoch end.
	Progress func(Progress)
}

// Progress reports training progress.
type Progress struct {
	Epoch, Epochs int     // 1-based epoch
	Seen, Total   int     // samples seen in this epoch, samples per epoch
	Loss, Acc     float64 // running mean loss and accuracy over the epoch
	ImagesPerSec  float64
	ETA           time.Duration // for the whole run
	EpochDone     bool
}

// EpochStats summarises one epoch of training.
type EpochStats struct {
	Loss, Acc    float64
	ImagesPerSec float64
	Duration     time.Duration
}

func threadsOr(t int) int {
	if t <= 0 {
		t = runtime.GOMAXPROCS(0)
	}
	return max(t, 1)
}

// Fit trains n on d. It returns the per-epoch statistics; on cancellation
// it returns ctx's error with the statistics so far (weights keep the last
// completed step).
func Fit(ctx context.Context, n *Net, d Dataset, cfg Config) ([]EpochStats, error) {
	if err := n.checkData(d); err != nil {
		return nil, err
	}
	if cfg.Epochs <= 0 {
		cfg.Epochs = 1
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 128
	}
	if cfg.Optimizer == nil {
		cfg.Optimizer = NewAdam(1e-3)
	}
	if cfg.Temperature <= 0 {
		cfg.Temperature = 4
	}
	alpha := float32(0.7)
	if cfg.Alpha != nil {
		alpha = *cfg.Alpha
	}
	if alpha < 0 || alpha > 1 {
		return nil, fmt.Errorf("%w: distillation weight %v outside [0,1]", ErrArg, alpha)
	}
	if alpha == 0 {
		cfg.Teacher = nil // no weight on the soft loss: the teacher's logits are not needed
	}
	sched, err := ParseSchedule(string(cfg.Schedule))
	if err != nil {
		return nil, err
	}
	if cfg.Warmup < 0 {
		return nil, fmt.Errorf("%w: warm-up of %d steps", ErrArg, cfg.Warmup)
	}
	baseLR := cfg.Optimizer.LearningRate()
	allSteps := totalSteps(cfg, d.Len())
	if sched != ScheduleConstant {
		// Give the optimizer its rate back, so that a second Fit with it
		// starts from the same base, not from the end of the decay.
		defer cfg.Optimizer.SetLR(baseLR)
	}
	threads := min(threadsOr(cfg.Threads), cfg.Batch)
	N := d.Len()
	var soft []float32
	if cfg.Teacher != nil {
		var err error
		if soft, err = teacherLogits(cfg.Teacher, d, n.Input.Size(), n.Classes()); err != nil {
			return nil, err
		}
	}
	n.ApplyMasks()
	// A mini-batch is cut into chunks of chunkSize samples that the workers
	// take in turn; each chunk has its own gradient buffers, summed in chunk
	// order, so the result does not depend on which worker ran which chunk
	// (nor on the number of threads).
	maxChunks := (cfg.Batch + chunkSize - 1) / chunkSize
	threads = min(threads, maxChunks)
	wss := make([]*workspace, threads)
	for i := range wss {
		wss[i] = newWorkspace(n, chunkSize, true)
	}
	type acc struct {
		loss    float64
		correct int
	}
	accs := make([]acc, maxChunks)
	grads := make([][][]float32, maxChunks)
	for c := range grads {
		grads[c] = make([][]float32, len(n.Params))
		for i, p := range n.Params {
			grads[c][i] = make([]float32, len(p.Data))
		}
	}
	// BatchNorm statistics of each chunk, for the running statistics.
	bnStats := make([][][]float32, maxChunks)
	for c := range bnStats {
		bnStats[c] = newBNStats(n)
	}
	sizes := make([]int, maxChunks)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xdada))
	var stats []EpochStats
	start := time.Now()
	steps := 0
	totalImages := N * cfg.Epochs
	isz := n.Input.Size()
	for ep := 1; ep <= cfg.Epochs; ep++ {
		perm := rng.Perm(N)
		t0 := time.Now()
		var lossSum float64
		correct, seen := 0, 0
		for lo := 0; lo < N; lo += cfg.Batch {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			if cfg.MaxSteps > 0 && steps >= cfg.MaxSteps {
				break
			}
			hi := min(lo+cfg.Batch, N)
			bs := hi - lo
			chunks := (bs + chunkSize - 1) / chunkSize
			n.prepareStep()
			var next atomic.Int64
			var wg sync.WaitGroup
			for w := 0; w < min(threads, chunks); w++ {
				wg.Add(1)
				go func(ws *workspace) {
					defer wg.Done()
					for {
						c := int(next.Add(1) - 1)
						if c >= chunks {
							return
						}
						clo, chi := lo+c*chunkSize, min(lo+(c+1)*chunkSize, hi)
						m := chi - clo
						x := ws.act[0]
						for s := 0; s < m; s++ {
							j := perm[clo+s]
							copy(x[s*isz:(s+1)*isz], d.Images[j*isz:(j+1)*isz])
						}
						ws.bn = bnStats[c]
						sizes[c] = m
						n.forward(ws, m)
						l, k := n.lossGrad(ws, m, bs, d.Labels, perm[clo:chi], soft, cfg.Temperature, alpha)
						accs[c] = acc{l, k}
						ws.pgrad = grads[c]
						for _, g := range ws.pgrad {
							clear(g)
						}
						n.backward(ws, m)
					}
				}(wss[w])
			}
			wg.Wait()
			for pi, p := range n.Params {
				copy(p.Grad, grads[0][pi])
				for c := 1; c < chunks; c++ {
					for j, g := range grads[c][pi] {
						p.Grad[j] += g
					}
				}
				if p.Mask != nil {
					for j, m := range p.Mask {
						p.Grad[j] *= m
					}
				}
			}
			if sched != ScheduleConstant {
				cfg.Optimizer.SetLR(sched.LRAt(baseLR, steps, allSteps, cfg.Warmup))
			}
			cfg.Optimizer.Step(n.Params)
			n.ApplyMasks()
			n.updateRunningStats(bnStats[:chunks], sizes[:chunks])
			steps++
			for _, a := range accs[:chunks] {
				lossSum += a.loss
				correct += a.correct
			}
			seen += bs
			if cfg.Progress != nil {
				cfg.Progress(progress(ep, cfg.Epochs, seen, N, lossSum, correct, t0, start, (ep-1)*N+seen, totalImages))
			}
		}
		if seen == 0 {
			break
		}
		el := time.Since(t0)
		st := EpochStats{Loss: lossSum / float64(seen), Acc: float64(correct) / float64(seen), Duration: el, ImagesPerSec: float64(seen) / el.Seconds()}
		stats = append(stats, st)
		if cfg.Progress != nil {
			p := progress(ep, cfg.Epochs, seen, N, lossSum, correct, t0, start, ep*N, totalImages)
			p.EpochDone = true
			cfg.Progress(p)
		}
		if cfg.MaxSteps > 0 && steps >= cfg.MaxSteps {
			break
		}
	}
	return stats, nil
}

func progress(ep, eps, seen, total int, lossSum float64, correct int, t0, start time.Time, doneAll, totalAll int) Progress {
	el := time.Since(t0).Seconds()
	p := Progress{Epoch: ep, Epochs: eps, Seen: seen, Total: total, Loss: lossSum / float64(seen), Acc: float64(correct) / float64(seen)}
	if el > 0 {
		p.ImagesPerSec = float64(seen) / el
	}
	if all := time.Since(start).Seconds(); all > 0 && doneAll > 0 {
		rate := float64(doneAll) / all
		p.ETA = time.Duration(float64(totalAll-doneAll) / rate * float64(time.Second))
	}
	return p
}

// lossGrad computes the loss of the m samples in ws (labels by index idx)
// and writes d loss / d logits, scaled for a batch of bs, into the output
// gradient. It returns the summed (unscaled) loss and the correct count.
func (n *Net) lossGrad(ws *workspace, m, bs int, labels []uint8, idx []int, soft []float32, T, alpha float32) (float64, int) {
	k := n.Classes()
	logits := ws.act[n.Output][:m*k]
	grad := ws.grad[n.Output][:m*k]
	inv := 1 / float32(bs)
	var loss float64
	correct := 0
	p := make([]float32, k)
	ps := make([]float32, k)
	pt := make([]float32, k)
	for s := 0; s < m; s++ {
		z := logits[s*k : (s+1)*k]
		g := grad[s*k : (s+1)*k]
		y := int(labels[idx[s]])
		lse := logSoftmax(z, 1, p)
		if evaluate.Argmax(z) == y {
			correct++
		}
		ce := -(float64(z[y]) - lse)
		if soft == nil {
			loss += ce
			for j := range g {
				g[j] = p[j] * inv
			}
			g[y] -= inv
			continue
		}
		// Distillation: soft targets from the teacher at temperature T.
		tz := soft[idx[s]*k : (idx[s]+1)*k]
		lseS := logSoftmax(z, T, ps)
		lseT := logSoftmax(tz, T, pt)
		var kl float64
		for j := 0; j < k; j++ {
			if pt[j] > 0 {
				logPt := float64(tz[j]/T) - lseT
				logPs := float64(z[j]/T) - lseS
				kl += float64(pt[j]) * (logPt - logPs)
			}
		}
		loss += float64(1-alpha)*ce + float64(alpha*T*T)*kl
		for j := range g {
			g[j] = ((1-alpha)*p[j] + alpha*T*(ps[j]-pt[j])) * inv
		}
		g[y] -= (1 - alpha) * inv
	}
	return loss, correct
}

// logSoftmax writes softmax(z/T) into p and returns logsumexp(z/T).
func logSoftmax(z []float32, T float32, p []float32) float64 {
	mx := z[0] / T
	for _, v := range z[1:] {
		mx = max(mx, v/T)
	}
	var s float64
	for j, v := range z {
		e := math.Exp(float64(v/T - mx))
		p[j] = float32(e)
		s += e
	}
	for j := range p[:len(z)] {
		p[j] = float32(float64(p[j]) / s)
	}
	return float64(mx) + math.Log(s)
}

// Logits runs the net on count samples of x and returns count x Classes()
// logits, using threads goroutines (<=0: GOMAXPROCS).
func (n *Net) Logits(x []float32, count, threads int) ([]float32, error) {
	isz, k := n.Input.Size(), n.Classes()
	if count <= 0 || len(x) != count*isz {
		return nil, fmt.Errorf("%w: %d values for %d samples of %d", ErrData, len(x), count, isz)
	}
	out := make([]float32, count*k)
	threads = min(threadsOr(threads), count)
	const chunk = 256
	var wg sync.WaitGroup
	for w := 0; w < threads; w++ {
		lo, hi := w*count/threads, (w+1)*count/threads
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			ws := newWorkspace(n, min(chunk, hi-lo), false)
			for a := lo; a < hi; a += chunk {
				b := min(a+chunk, hi)
				copy(ws.act[0], x[a*isz:b*isz])
				n.forward(ws, b-a)
				copy(out[a*k:b*k], ws.act[n.Output][:(b-a)*k])
			}
		}(lo, hi)
	}
	wg.Wait()
	return out, nil
}

// Accuracy is the fraction of d that n classifies correctly.
func Accuracy(n *Net, d Dataset, threads int) (float64, error) {
	if err := n.checkData(d); err != nil {
		return 0, err
	}
	logits, err := n.Logits(d.Images, d.Len(), threads)
	if err != nil {
		return 0, err
	}
	return accuracyOf(logits, d.Labels, n.Classes()), nil
}

func accuracyOf(logits []float32, labels []uint8, k int) float64 {
	c := 0
	for i, y := range labels {
		if evaluate.Argmax(logits[i*k:(i+1)*k]) == int(y) {
			c++
		}
	}
	return float64(c) / float64(len(labels))
}
