package nn

// The 3x3 convolution of one input channel into several output channels
// per group (pathDWMulti: seednet's and tinyresnet's first layers on a
// one-channel image, depthwise multipliers above dwDirectMaxMg) straight
// from the unpadded plane: per 16-output block the nine taps' inputs are
// loaded once and serve every output channel of the group, where
// pathDW3 re-reads a padded copy for each. Masks and row runs as in
// pathDWDirect (dwDirectPlan). Only with the assembly kernels.

// dwMultiArgs is the contract of the kernels: for every output channel
// m < mg, row r < rows and column c of the row's blocks (store mask),
//
//	y[m·ps + r·ldy + c] = min(max(bias[m] + Σ_{kh in on} Σ_kw w[9m+3kh+kw]·X(r·rs + off[kh] + kw·dcol + S·c), lo), hi)
//
// in bytes from x and y (S the stride along the row), X reading zero in
// the masked-off lanes. Field offsets are fixed by conv_dwmulti_amd64.s.
type dwMultiArgs struct {
	y, x    *float32
	rows    int
	end     int // output bytes per row that the blocks cover (64 per block)
	ldy, rs int
	on      uint64
	masks   *uint16
	off     [3]int // window row kh at output column 0
	dcol    int    // bytes between tap columns (dilation)
	w, bias *float32
	mg      int
	lo, hi  float32
	ps      int // bytes between output planes
}

// dwMultiPlanes computes the Mg output planes y (each OH×OW, planes P
// floats apart) of the input plane x with weights w (Mg×9) and bias (Mg
// values).
func dwMultiPlanes(g *geom, p *dwDirectPlan, y, x, w, bias []float32, mg int, lo, hi float32) {
	P := g.OH * g.OW
	if mg < 1 || len(y) < mg*P || len(x) < g.H*g.W || len(w) < 9*mg || len(bias) < mg {
		panic("nn: dwMultiPlanes out of bounds")
	}
	a := dwMultiArgs{
		x: &x[0], end: 64 * p.blocks, ldy: 4 * g.OW, rs: 4 * g.SH * g.W,
		masks: &p.masks[0], dcol: 4 * g.DW, w: &w[0], bias: &bias[0], mg: mg, lo: lo, hi: hi, ps: 4 * P,
	}
	for _, run := range p.runs[:p.nruns] {
		ih0 := run.oh*g.SH - g.PT
		for kh := 0; kh < 3; kh++ {
			a.off[kh] = 4 * ((ih0+kh*g.DH)*g.W - g.PL)
		}
		a.y, a.rows, a.on = &y[run.oh*g.OW], run.rows, run.on
		dwMultiRun(&a, g.SW)
	}
}
