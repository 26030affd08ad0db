package nn

import "fmt"

// GlobalAveragePool in NCHW16c (layout.go): the layout pass lets a
// GlobalAveragePool read a value pathNCHWc convolutions keep blocked,
// [N][C/16][H][W][16], so that the convolution before it (with its fused
// residual) stores its tiles as they are instead of transposing them into
// NCHW on small planes (tinyresnet's last 7x7 stage). A pixel's 16
// channels of a block are one vector: each lane is summed with exactly
// the partial sums, in exactly the order, that sum32 uses on that
// channel's NCHW plane (the AVX-512 kernel's 64 accumulators indexed by
// pixel and its reduction tree, or the Go loop's 8), so the means are the
// NCHW kernel's bit for bit.

// gapNCHWcKernel is GlobalAveragePool reading NCHW16c planes of h x w
// pixels with a zero border of b (its offsets, plan-time, give each
// pixel's byte offset in a block's bordered plane); it writes NCHW.
type gapNCHWcKernel struct {
	globalAvgKernel
	h, w, b int
	off     []int32
}

// newGapNCHWc returns the blocked GlobalAveragePool of h x w planes with a
// border of b pixels.
func newGapNCHWc(h, w, b int) *gapNCHWcKernel {
	k := &gapNCHWcKernel{h: h, w: w, b: b, off: make([]int32, h*w)}
	for p := range k.off {
		k.off[p] = int32(((p/w+b)*(w+2*b) + p%w + b) * 64)
	}
	return k
}

// gapBlockedFits reports whether a GlobalAveragePool of input shape s may
// read it in NCHW16c: 2-D planes of a few pixels at least, channels in
// whole blocks, byte offsets within int32.
func gapBlockedFits(s []int) bool {
	return len(s) == 4 && s[1]%16 == 0 && s[2] > 0 && s[3] > 0 && (s[2]+32)*(s[3]+32) < 1<<24
}

func (k *gapNCHWcKernel) Run(rc *RunContext, in, out []*Tensor) error {
	s := in[0].Shape
	if len(s) != 4 || s[2] != k.h || s[3] != k.w {
		return fmt.Errorf("%w: blocked GlobalAveragePool planned for %dx%d planes, input %v", ErrShape, k.h, k.w, s)
	}
	y := out[0].F32
	units := s[0] * s[1] / 16
	j := &rc.kernelJobs().gapC
	*j = gapNCHWcJob{k: k, x: in[0].F32, y: y}
	rc.parallelFor(blocksFor(rc.Threads, units, int64(len(y)*k.h*k.w)), units, j)
	*j = gapNCHWcJob{}
	return nil
}

// gapNCHWcJob averages blocks of 16 channels (image, block).
type gapNCHWcJob struct {
	k    *gapNCHWcKernel
	x, y []float32
}

func (j *gapNCHWcJob) runRange(lo, hi, _ int) {
	k := j.k
	xp := 16 * (k.h + 2*k.b) * (k.w + 2*k.b)
	for u := lo; u < hi; u++ {
		gapNCHWc(j.y[u*16:(u+1)*16], j.x[u*xp:(u+1)*xp], k.off)
	}
}

// gapNCHWc writes to y[:16] the means of the 16 channels of one NCHW16c
// block x over the pixels at byte offsets off, as sum32 and globalAvgKernel
// compute each channel's.
func gapNCHWc(y, x []float32, off []int32) {
	if gapNCHWcFast(y, x, off) {
		return
	}
	var s [8][16]float32
	for p, o := range off {
		v := x[o/4:][:16]
		a := &s[p%8]
		for l := range a {
			a[l] += v[l]
		}
	}
	n := float32(len(off))
	for l := range y[:16] {
		y[l] = (((s[0][l] + s[1][l]) + (s[2][l] + s[3][l])) + ((s[4][l] + s[5][l]) + (s[6][l] + s[7][l]))) / n
	}
}

// blockedGAPs reports, by position, the GlobalAveragePools that can read
// NCHW16c for the shapes in r.vals (gapBlockedFits).
func (r *Runner) blockedGAPs() []bool {
	gaps := make([]bool, len(r.kern))
	for k := range r.kern {
		if _, ok := r.kern[k].(globalAvgKernel); !ok || r.skip[k] || len(r.nodeIn[k]) != 1 || len(r.nodeOut[k]) != 1 || r.nodeIn[k][0] < 0 {
			continue
		}
		if v := r.vals[r.nodeIn[k][0]]; v != nil && v.DType == Float32 && gapBlockedFits(v.Shape) {
			gaps[k] = true
		}
	}
	return gaps
}
