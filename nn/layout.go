package nn

// The layout pass: pathNCHWc convolutions (conv_nchwc.go) hand each other
// their values in NCHW16c, [N][C/16][H][W][16], a pixel's 16 channels of a
// block side by side, as ONNX Runtime's MLAS and oneDNN do: the producer
// stores its tiles as they are (no transpose into NCHW) and the consumer
// reads 16 consecutive channels per pixel. A Runner decides it when it
// plans for its input shapes (Runner.layout), after the run-time fusions:
// a value is blocked only when every kernel that reads it takes NCHW16c,
// so graph outputs, values a split sends, and every other reader keep
// seeing NCHW, and no reorder is ever run.

// toNCHW16c writes x, n images of c planes of hw floats (c a multiple of
// 16), into dst in NCHW16c.
func toNCHW16c(dst, x []float32, n, c, hw int) {
	for i := 0; i < n*c; i++ {
		img, ch := i/c, i%c
		d := dst[(img*c+ch&^15)*hw+ch&15:]
		for p, v := range x[i*hw : (i+1)*hw] {
			d[p*16] = v
		}
	}
}

// fromNCHW16c is the inverse of toNCHW16c.
func fromNCHW16c(dst, x []float32, n, c, hw int) {
	for i := 0; i < n*c; i++ {
		img, ch := i/c, i%c
		s := x[(img*c+ch&^15)*hw+ch&15:]
		for p := range dst[i*hw : (i+1)*hw] {
			dst[i*hw+p] = s[p*16]
		}
	}
}

// blockedFits reports whether j's channels split into whole NCHW16c blocks
// per group where k reads or writes NCHW16c.
func (j *convJob) blockedFits() bool {
	return (!j.k.xBlocked || j.Cg%16 == 0) && (!j.k.yBlocked || j.Mg%16 == 0)
}
