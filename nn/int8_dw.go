package nn

// The SIMD depthwise path of QLinearConvInt8 (q8DWRow: AVX2, any kernel
// size and dilation, horizontal stride 1 or 2). runDepthwise's plain-Go
// loop is the reference and the fallback.

// q8DWSlack is how many bytes past a padded plane the row kernel may read:
// a last block of 16 outputs reads at most 16·step + 2 bytes beyond the
// last output's window.
const q8DWSlack = 64

// dwSetup prepares the entries of the SIMD depthwise path when the CPU
// and the geometry allow it: taps paired along a kernel row (dilation 1)
// or alone with a zero partner, the weights of each channel as int16
// pairs.
func (k *q8Conv) dwSetup() {
	if !q8HasAVX2 || !k.depthwise || (k.sw != 1 && k.sw != 2) {
		return
	}
	per := 1
	if k.dw == 1 {
		per = 2
	}
	for ky := 0; ky < k.kh; ky++ {
		for kx := 0; kx < k.kw; kx += per {
			k.dwTaps = append(k.dwTaps, [2]int{ky, kx})
		}
	}
	nent := len(k.dwTaps)
	k.dwW = make([]int32, k.cout*nent)
	kk := k.kh * k.kw
	for c := 0; c < k.cout; c++ {
		wt := k.w[c*kk : (c+1)*kk]
		for e, t := range k.dwTaps {
			w0 := uint32(uint16(int16(wt[t[0]*k.kw+t[1]])))
			var w1 uint32
			if per == 2 && t[1]+1 < k.kw {
				w1 = uint32(uint16(int16(wt[t[0]*k.kw+t[1]+1])))
			}
			k.dwW[c*nent+e] = int32(w0 | w1<<16)
		}
	}
}

// runDepthwiseSIMD is runDepthwise on q8DWRow: per (image, channel) the
// plane is copied into a scratch plane padded with x_zp, then each output
// row is summed in blocks of 16 and requantized.
func (k *q8Conv) runDepthwiseSIMD(rc *RunContext, x, y *Tensor) {
	nb, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	oh, ow := y.Shape[2], y.Shape[3]
	units := nb * c
	blocks := blocksFor(rc.Threads, units, int64(units)*int64(oh*ow)*int64(k.kh*k.kw)/4)
	ld := w + k.pl + k.pr
	nent := len(k.dwTaps)
	j := &rc.kernelJobs().q8DWS
	*j = q8DWSJob{k: k, x: x, y: y, ld: ld, plane: (h+k.pt+k.pb)*ld + q8DWSlack, accPer: (ow + 15) &^ 15}
	i32 := rc.ScratchI32(nent + blocks*j.accPer)
	j.offs, j.acc = i32[:nent], i32[nent:]
	for e, t := range k.dwTaps {
		j.offs[e] = int32(t[0]*k.dh*ld + t[1]*k.dw)
	}
	j.pad = rc.ScratchI8(blocks * j.plane)
	rc.parallelFor(blocks, units, j)
	*j = q8DWSJob{}
}

type q8DWSJob struct {
	k         *q8Conv
	x, y      *Tensor
	ld, plane int
	accPer    int
	offs, acc []int32
	pad       []int8
}

func (j *q8DWSJob) runRange(lo, hi, worker int) {
	k := j.k
	c, h, w := j.x.Shape[1], j.x.Shape[2], j.x.Shape[3]
	oh, ow := j.y.Shape[2], j.y.Shape[3]
	pad := j.pad[worker*j.plane : (worker+1)*j.plane]
	acc := j.acc[worker*j.accPer : (worker+1)*j.accPer]
	nent := len(j.offs)
	q8Fill(pad, int8(k.x.Zero))
	for u := lo; u < hi; u++ {
		ch := u % c
		src := j.x.I8[u*h*w : (u+1)*h*w]
		for iy := 0; iy < h; iy++ {
			copy(pad[(iy+k.pt)*j.ld+k.pl:], src[iy*w:iy*w+w])
		}
		dst := j.y.I8[u*oh*ow : (u+1)*oh*ow]
		wts := k.dwW[ch*nent : (ch+1)*nent]
		for oy := 0; oy < oh; oy++ {
			q8DWRow(pad[oy*k.sh*j.ld:], j.offs, wts, acc, ow, k.sw)
			k.requantRow(acc[:ow], dst[oy*ow:oy*ow+ow], ch)
		}
	}
}

// q8Fill sets every element of t to v (doubling copies).
func q8Fill[T int8 | int16](t []T, v T) {
	if len(t) == 0 {
		return
	}
	t[0] = v
	for f := 1; f < len(t); f *= 2 {
		copy(t[f:], t[:f])
	}
}
