package nn

import (
	"github.com/splitinfer/splitinfer/nn/internal/blas"
)

// Conv (ONNX opset 1-21, float32, 1-D and 2-D): groups (including
// depthwise), strides, pads, dilations, auto_pad, optional bias.
//
// Three paths: a direct kernel when each group has one input channel
// (depthwise), a GEMM straight on the input for 1x1 stride-1 unpadded
// convolutions, and im2col + blas.Sgemm otherwise. The output pixels are
// processed in column blocks; with RunContext.Threads > 1 and enough work the
// (batch, group, block) units are shared among goroutines, each with its own
// part of the scratch buffer.
//
// Non-ONNX attribute (set by FuseActivations): "activation" (string) is
// applied to the output in the same pass as the bias: "Relu", or "Clip" with
// float attributes "activation_min" and "activation_max" (default -inf and
// +inf).

func init() {
	Register("Conv", buildConv)
}

type convKernel struct {
	win  winAttrs
	grp  int
	act  activation
	actA float32
	actB float32
	// residual makes the kernel add input convResidual (a tensor of the
	// output's shape) to each output block before the activation: a
	// following Add fused at run time (fuse_run.go).
	residual bool
	// scaled makes the kernel multiply each input channel c of image n by
	// input convScale's value n·C+c (a [N, C, 1, 1] tensor) as it reads
	// it: a squeeze-and-excitation Mul before a 1x1 convolution, fused at
	// run time. Only pathPointwise takes it (pointwise).
	scaled bool
	// generic forces im2col + GEMM for every shape (benchmarks and tests
	// compare the fast paths with it).
	generic bool
	// dwc holds depthwise weights packed for pathDWC (packDWC).
	dwc []float32
	// packed holds the constant weights of each group packed for the GEMM
	// (nil when the weights are computed, or for the direct paths); wptr
	// and wlen identify the tensor they were packed from.
	packed []*blas.PackedA
	// taps holds, per group, the weights of each kernel tap (Mg×Cg)
	// packed for pathTaps.
	taps [][]*blas.PackedA
	// pw holds constant 1x1 weights packed for pathPW (conv_pw.go).
	pw *pwWeights
	// nchwc holds the weights packed for pathNCHWc (conv_nchwc.go).
	nchwc *nchwcWeights
	wptr  *float32
	wlen  int

	// xBlocked and yBlocked make pathNCHWc read its input and write its
	// output (and residual) in NCHW16c, xBorder and yBorder with a zero
	// border of that many pixels around each plane: a Runner's layout
	// pass sets them on its copy of the kernel (layout.go).
	xBlocked, yBlocked bool
	xBorder, yBorder   int
	// thin makes a dense convolution of fewer than nchwcMinCg input
	// channels run pathNCHWc (thinStem), or pathStem (conv_stem.go).
	thin bool
	// pooled makes a thin stem's output the 2x2 stride-2 MaxPool of the
	// convolution: a following MaxPool fused at run time (conv_stem.go).
	pooled bool
}

// readFusedActivation decodes the non-ONNX "activation" attribute.
func readFusedActivation(n *Node) (activation, float32, float32, error) {
	s := n.AttrString("activation", "")
	switch s {
	case "":
		return actNone, 0, 0, nil
	case "Relu":
		return actRelu, 0, 0, nil
	case "Clip":
		return actClip, attrFloatAny(n, "activation_min", negInf32), attrFloatAny(n, "activation_max", posInf32), nil
	}
	return actNone, 0, 0, unsupportedErrf("%s fused activation %q (want Relu or Clip)", n.Op, s)
}

func buildConv(bc *BuildContext) (Kernel, error) {
	if w := bc.InputConst(1); (w != nil && len(w.Shape) == 5) || len(bc.Node.AttrInts("kernel_shape", nil)) == 3 {
		return buildConvND(bc) // 3-D (ops_nd.go)
	}
	w, err := readWinAttrs(bc.Node, false)
	if err != nil {
		return nil, err
	}
	k := &convKernel{win: w, grp: int(bc.Node.AttrInt("group", 1))}
	if k.grp < 1 {
		return nil, shapeErrf("Conv group %d must be positive", k.grp)
	}
	if k.act, k.actA, k.actB, err = readFusedActivation(bc.Node); err != nil {
		return nil, err
	}
	k.pack(bc.InputConst(1))
	k.thin = thinStem(bc, k)
	return k, nil
}

// pack packs constant weights w (M, C/group, kernel...) once per group for
// the GEMM paths. Weights with one input channel per group run the direct
// kernel and are not packed.
func (k *convKernel) pack(w *Tensor) {
	if w == nil || w.DType != Float32 || len(w.Shape) < 3 || len(w.F32) == 0 {
		return
	}
	m := w.Shape[0]
	if len(w.Shape) == 4 && w.Shape[1] == 1 && m == k.grp && len(w.F32) == NumElements(w.Shape) {
		k.dwc = make([]float32, (m+15)/16*16*len(w.F32)/m)
		packDWC(k.dwc, w.F32, m, len(w.F32)/m)
		k.wptr, k.wlen = &w.F32[0], len(w.F32)
		return
	}
	if m%k.grp != 0 || w.Shape[1] == 1 || len(w.F32) != NumElements(w.Shape) {
		if m%k.grp == 0 && len(w.F32) == NumElements(w.Shape) {
			k.wptr, k.wlen = &w.F32[0], len(w.F32)
			k.packNCHWc(w) // a one-channel stem (thinStem)
		}
		return
	}
	mg, kk := m/k.grp, len(w.F32)/m
	k.packed = make([]*blas.PackedA, k.grp)
	for gr := range k.packed {
		k.packed[gr] = blas.PackA(mg, kk, w.F32[gr*mg*kk:(gr+1)*mg*kk], kk)
	}
	k.wptr, k.wlen = &w.F32[0], len(w.F32)
	k.packNCHWc(w)
	cg, kt := w.Shape[1], kk/w.Shape[1]
	if kt == 1 && k.grp == 1 {
		k.pw = newPWWeights(m, kk, w.F32)
	}
	if kt < 2 || mg > tapMaxM {
		return
	}
	k.taps = make([][]*blas.PackedA, k.grp)
	wt := make([]float32, mg*cg)
	for gr := range k.taps {
		k.taps[gr] = make([]*blas.PackedA, kt)
		for t := range kt {
			for m := 0; m < mg; m++ {
				for c := 0; c < cg; c++ {
					wt[m*cg+c] = w.F32[((gr*mg+m)*cg+c)*kt+t]
				}
			}
			k.taps[gr][t] = blas.PackA(mg, cg, wt, cg)
		}
	}
}

// tapMaxM bounds the output channels per group of pathTaps: up to it, the
// GEMM reads B (the planes) in place instead of packing it.
const tapMaxM = 64

// tapsFit reports whether pathTaps suits a convolution with Cg input and
// Mg output channels per group: stride 1 with Cg >= Mg (accumulating
// GEMMs per tap), or any phase stride when blas keeps the sum over taps in
// registers (Mg a multiple of 8, Cg at most 256) and Cg is not tiny.
func tapsFit(g *geom, cg, mg int) bool {
	if g.SH == 1 && g.SW == 1 && cg >= mg {
		return true
	}
	return tapsAnyStride && mg%8 == 0 && cg >= tapsMinCg && cg <= 256
}

// tapsAnyStride lets tapsFit take stride-2 convolutions and Cg < Mg (a
// variable so that benchmarks can compare).
var tapsAnyStride = true

// tapsMinCg is the fewest input channels per group for which tapsFit takes
// stride 2 or Cg < Mg: with 3 (an RGB stem) the per-tap GEMMs beat the
// phase im2col, 221 against 312 cpu-µs on MobileNetV2's 3x3 s2 3->32 stem.
var tapsMinCg = 3

// tapGEMM enables pathTaps (a variable so that benchmarks can compare).
var tapGEMM = true

// packedFor returns the packed weights of group gr when w is the tensor
// they were packed from, else nil.
func (k *convKernel) packedFor(w []float32, gr int) *blas.PackedA {
	if k.packed == nil || len(w) != k.wlen || &w[0] != k.wptr {
		return nil
	}
	return k.packed[gr]
}

// epilogue returns the GEMM epilogue that applies bias and the fused
// activation while storing, and whether it covers the activation (false:
// run applyAct after the GEMM).
func (k *convKernel) epilogue(bias []float32) (blas.Epilogue, bool) {
	ep := blas.NoClamp(bias)
	if k.residual {
		return ep, false // the activation follows the residual (finish)
	}
	lo, hi, ok := k.clampBounds()
	if ok {
		ep.Lo, ep.Hi = lo, hi
	}
	return ep, ok
}

// geometry validates x and w and resolves the window.
func (k *convKernel) geometry(in []Type) (geom, error) {
	var g geom
	if err := needInputs("Conv", in, 2); err != nil {
		return g, err
	}
	for i := 0; i < 3; i++ {
		if present(in, i) {
			if err := needF32("Conv", in, i); err != nil {
				return g, err
			}
		}
	}
	x, w := in[0].Shape, in[1].Shape
	if len(w) != len(x) || len(w) < 3 {
		return g, shapeErrf("Conv weights %v do not match input %v (want M, C/group, kernel...)", w, x)
	}
	if err := checkShape("Conv", 1, w); err != nil {
		return g, err
	}
	g, err := k.win.resolve(x, w[2:])
	if err != nil {
		return g, err
	}
	if g.C != w[1]*k.grp {
		return g, shapeErrf("Conv input has %d channels, weights %v with group %d want %d", g.C, w, k.grp, w[1]*k.grp)
	}
	if w[0]%k.grp != 0 || w[0] == 0 {
		return g, shapeErrf("Conv %d output channels not divisible by group %d", w[0], k.grp)
	}
	if present(in, 2) && (len(in[2].Shape) != 1 || in[2].Shape[0] != w[0]) {
		return g, shapeErrf("Conv bias has shape %v, want [%d]", in[2].Shape, w[0])
	}
	return g, nil
}

func (k *convKernel) OutputTypes(in []Type) ([]Type, error) {
	g, err := k.geometry(in)
	if err != nil {
		return nil, err
	}
	y := Type{DType: Float32, Shape: g.outShape(in[1].Shape[0])}
	if k.residual && (len(in) <= convResidual || in[convResidual].DType != Float32 || !sameShape(in[convResidual].Shape, y.Shape)) {
		return nil, shapeErrf("Conv residual input %v does not match the output %v", in[min(convResidual, len(in)-1)], y)
	}
	return []Type{y}, nil
}

// MACs is N·M·OH·OW·(C/group)·KH·KW (a dynamic batch counts as 1).
func (k *convKernel) MACs(in, out []Type) int64 {
	g, err := k.geometry(in)
	if err != nil {
		return 0
	}
	w := in[1].Shape
	return int64(max(g.N, 1)) * int64(w[0]) * int64(g.OH) * int64(g.OW) * int64(w[1]) * int64(g.KH) * int64(g.KW)
}

// convJob is one Conv run, split in units among goroutines.
type convJob struct {
	k       *convKernel
	g       geom
	x, w, b []float32
	y       []float32
	r       []float32 // the residual added before the activation (convKernel.residual), or nil
	s       []float32 // the per-channel input scales (convKernel.scaled), or nil
	scratch []float32
	M, Mg   int // output channels, per group
	Cg, K   int // input channels per group, Cg·KH·KW
	P       int // output pixels per plane
	pb, nPB int // pixel block size, blocks per plane
	path    convPath
	per     int // scratch floats per worker
	dw      dw3Geom
	dws     dwSmallPlan       // pathDW3 with small planes and Mg 1 when dws.rows > 0
	dd      dwDirectPlan      // pathDWDirect, pathDWMulti
	zb      []float32         // pathDWMulti and pathDWWin without a bias: zeros
	dwin    dwWinPlan         // pathDWWin
	tp      tapPlan           // pathDWTaps
	dwcp    dwcPlan           // pathDWC
	wc      []float32         // pathDWC: the packed weights
	mSlab   int               // pathRows: output channels per unit
	ws      []*blas.Workspace // GEMM packing memory per worker
	nc      nchwcPlan         // pathNCHWc
	st      stemPlan          // pathStem
}

// gemmWorkspaces returns n GEMM workspaces owned by rc, one per participant
// of a parallelFor (grown here, on the calling goroutine, before the
// fan-out), so that no GEMM draws on blas's sync.Pool from another thread.
func (rc *RunContext) gemmWorkspaces(n int) []*blas.Workspace {
	for len(rc.gemmWS) < n {
		rc.gemmWS = append(rc.gemmWS, new(blas.Workspace))
	}
	return rc.gemmWS[:n]
}

// phaseScratch is the per-worker scratch of pathPhase for blocks of rows
// output rows: patches, one channel's planes, the GEMM result.
func (j *convJob) phaseScratch(rows int) (l phaseLayout, n int) {
	l = newPhaseLayout(&j.g, rows)
	return l, (j.K+j.Mg)*l.np + l.planeSize(&j.g)
}

type convPath uint8

const (
	pathIm2col convPath = iota
	pathPointwise
	pathDepthwise
	pathDW3      // 3x3 direct kernel over a padded copy (conv_dw.go)
	pathPhase    // im2col from phase planes, whole output rows (conv_phase.go)
	pathTaps     // one accumulating GEMM per kernel tap straight on the planes
	pathExact    // im2col of the output columns only, from the planes (conv_gather.go)
	pathDWTaps   // any window over a padded copy, one input channel per group (conv_taps.go)
	pathRows     // 1x1 on one pixel: dot products, output channels split among threads
	pathDWDirect // 3x3, one input channel per group, straight from the unpadded plane (conv_dwdirect.go)
	pathDWMulti  // pathDWDirect with many outputs per group, all from one load of the inputs (conv_dwmulti.go)
	pathDWWin    // any window up to 7x7, one output per input channel, straight from the planes (conv_dwwin.go)
	pathPW       // 1x1 on a small plane, vector lanes across output channels (conv_pw.go)
	pathNCHWc    // direct, vectors across 16 output channels (conv_nchwc.go)
	pathDWC      // any window, one output per input channel, on channel-blocked tiles (conv_dwc.go)
	pathStem     // a thin stem, vectors across 16 output channels, maybe pooled (conv_stem.go)
)

// dwWinOn lets pathDWWin replace pathDWTaps where it pays, dwWinAny for
// every geometry it takes (variables so that benchmarks and tests can
// compare).
var dwWinOn, dwWinAny = true, false

// dwMultiOn lets pathDWMulti replace pathDW3 (a variable so that benchmarks
// and tests can compare).
var dwMultiOn = true

// dwDirectMaxMg is the most outputs per group of pathDWDirect (more run
// pathDWMulti).
const dwDirectMaxMg = 2

// dwDirectOn lets pathDWDirect replace pathDW3's padded copy (a variable so
// that benchmarks and tests can compare).
var dwDirectOn = true

// convBlockFloats bounds the working set of one unit of a GEMM-based
// convolution: K × pb floats of im2col patches for the general path,
// (C/group + M/group) × pb floats of input and output for 1x1. It keeps the
// im2col scratch at 2 MB per goroutine; BenchmarkConvBlocking found smaller
// blocks (128 KB to 512 KB) slower with the packed blas.Sgemm, which wants
// wide right-hand sides. A variable so that benchmarks can compare blockings.
var convBlockFloats = 1 << 19

// phaseBlockFloats bounds (K + M/group) × columns of one block of the
// phase-plane and per-tap paths, whose patches and GEMM result are both
// live: BenchmarkConvBlocking measured MobileNetV2's stem (224x224, K 27)
// 13-17% faster in blocks of 2^15 to 2^17 floats than in one, and the
// small MNIST layers fastest in one block (they fit under 2^18 whole).
var phaseBlockFloats = 1 << 18

func (k *convKernel) Run(rc *RunContext, in, out []*Tensor) error {
	types := [3]Type{}
	for i := 0; i < 3 && i < len(in); i++ {
		if in[i] != nil {
			types[i] = in[i].Type()
		}
	}
	g, err := k.geometry(types[:min(len(in), 3)])
	if err != nil {
		return err
	}
	if g.N < 0 {
		return shapeErrf("Conv input has dynamic shape %v", in[0].Shape)
	}
	j := &rc.kernelJobs().conv
	*j = convJob{k: k, g: g, x: in[0].F32, w: in[1].F32, y: out[0].F32}
	if presentT(in, 2) {
		j.b = in[2].F32
	}
	if k.residual {
		if !presentT(in, convResidual) || len(in[convResidual].F32) != len(j.y) {
			return shapeErrf("Conv residual input does not match the output %v", out[0].Shape)
		}
		j.r = in[convResidual].F32
	}
	if k.scaled {
		if !presentT(in, convScale) || len(in[convScale].F32) != g.N*g.C || !k.pointwise(&g) || g.C != in[1].Shape[1]*k.grp || in[1].Shape[1] < 2 {
			return shapeErrf("Conv input scales do not match a 1x1 convolution of %v", in[0].Shape)
		}
		j.s = in[convScale].F32
	}
	ws := in[1].Shape
	j.M, j.Cg = ws[0], ws[1]
	j.Mg = j.M / k.grp
	j.K = j.Cg * g.KH * g.KW
	j.P = g.OH * g.OW
	macs := int64(g.N) * int64(j.M) * int64(j.P) * int64(j.K)
	var units int
	if k.pooled && !k.stemTakes(&g, j.w, j.Cg, j.Mg) && !k.nchwcPoolTakes(&g, &geom{KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, H: g.OH, W: g.OW, OH: g.OH / 2, OW: g.OW / 2}, j.w, j.Cg, j.Mg) {
		return shapeErrf("Conv of %v with a fused MaxPool runs neither pathStem nor pathNCHWc", in[0].Shape)
	}
	switch {
	case k.stemTakes(&g, j.w, j.Cg, j.Mg) && (k.pooled || k.runsNCHWc(&g, j.w, j.Cg, j.Mg, j.P)):
		j.path = pathStem
		if units = j.stemPlanRun(rc.Threads); len(j.y) < j.stemOutLen() {
			return shapeErrf("Conv output %v too small for pathStem", out[0].Shape)
		}
	case k.thin && k.runsNCHWc(&g, j.w, j.Cg, j.Mg, j.P):
		j.path = pathNCHWc
		units = j.nchwcPlanRun(rc.Threads, macs)
	case j.Cg == 1 && !k.generic:
		if j.Mg == 1 && dwcLayout(&g, j.M, &j.dwcp) && (dwcAny || dwcHave && dwcOn && dwcPays(&g)) {
			j.path = pathDWC
			units = g.N * j.dwcp.blocks * j.dwcp.chunks
			break
		}
		if l, ok := dw3Layout(&g); ok {
			// One unit per input plane: its padded copy serves the
			// group's Mg outputs.
			j.path, j.dw = pathDW3, l
			units = g.N * k.grp
			if j.Mg == 1 && dwSmallOn && dwSmallHave {
				if p, ok := dwSmallLayout(&g); ok {
					j.dws = p
				}
			}
			// With several outputs per input plane, pathDWMulti loads the
			// inputs once for all of them.
			if j.dws.rows == 0 && dwDirectOn && dwDirectLayout(&g, &j.dd) {
				switch {
				case j.Mg <= dwDirectMaxMg:
					j.path = pathDWDirect
				case dwMultiOn:
					j.path = pathDWMulti
					if j.b == nil {
						j.zb = rc.ScratchF32(j.Mg)
						clear(j.zb)
					}
				}
			}
			break
		}
		// pathDWWin's generic tap loop beats the padded copy only where
		// the copy is the larger part: stride 2 onto planes of one block
		// a row (MobileNetV3's 5x5 s2 14->7: 124 against 86 cpu-µs; at
		// 56->28 it loses, 125 against 149: BenchmarkDWWin).
		if j.Mg == 1 && (dwWinAny || g.SW == 2 && g.OW <= 16) && dwWinOn && dwWinLayout(&g, &j.dwin) {
			j.path = pathDWWin
			units = g.N * k.grp
			if j.b == nil {
				j.zb = rc.ScratchF32(k.grp)
				clear(j.zb)
			}
			break
		}
		if l, ok := tapLayout(&g); ok && tapsDW {
			j.path, j.tp = pathDWTaps, l
			units = g.N * k.grp
			break
		}
		j.path = pathDepthwise
		units = g.N * j.M
	case j.P == 0:
		units = 0
	case k.runsNCHWc(&g, j.w, j.Cg, j.Mg, j.P):
		j.path = pathNCHWc
		if units = j.nchwcPlanRun(rc.Threads, macs); k.pooled && len(j.y) < j.nchwcPoolOutLen() {
			return shapeErrf("Conv output %v too small for its fused MaxPool", out[0].Shape)
		}
	default:
		if k.pointwise(&g) {
			j.path = pathPointwise
			if n, ok := j.pwPlan(rc, macs); ok {
				units = n
				break
			}
		}
		j.pb = j.P
		per := j.K
		if j.path == pathPointwise {
			per = j.Cg + j.Mg
		}
		if convBlockFloats > 0 && per*j.pb > convBlockFloats {
			j.pb = min(max(convBlockFloats/per, 64)&^15, j.P)
		}
		// With a thread budget, cut the planes so every goroutine gets a share.
		if ng := g.N * k.grp; rc.Threads > 1 && macs >= 2*minParallelWork && ng*((j.P+j.pb-1)/j.pb) < rc.Threads {
			per := (rc.Threads + ng - 1) / ng
			j.pb = min(j.pb, ((j.P+per-1)/per+15)&^15)
		}
		if j.path == pathIm2col && !k.generic && phaseOK(&g) {
			j.path = pathPhase
			// One GEMM per tap saves the im2col copy (whose share of the
			// work grows as Mg shrinks). With per-tap accumulating GEMMs C
			// is read and written once per tap, which only pays when
			// Cg >= Mg; blas.SgemmTapsEpWS keeps the sum over taps in
			// registers, which made it faster also for Cg < Mg and
			// stride 2 (seednet conv2 and tinyresnet's stride-2 layers):
			// see tapsFit.
			if tapGEMM && k.taps != nil && k.packedFor(j.w, 0) != nil && tapsFit(&g, j.Cg, j.Mg) {
				j.path = pathTaps
			}
			// Narrow outputs: the planes' padding columns would be a large
			// share of the GEMM (8x8 output: 80 columns for 64).
			// Only where the assembly im2colExact takes the geometry: its
			// Go fallback copies row by row and loses to the plane GEMMs.
			rows := max(j.pb/g.OW, 1)
			wq := (g.W + g.PL + g.PR + g.SW - 1) / g.SW
			if phaseBlockFloats > 0 {
				// Keep patches and GEMM result of a block in L2.
				rows = min(rows, max(phaseBlockFloats/((j.K+j.Mg)*wq), 1))
			}
			if im2colExactAsm && g.OW < exactMaxOW && im2colExactFits(&g) && wq != g.OW && !(j.path == pathTaps && g.SH == 1 && g.SW == 1 && exactSavesNoPanel(rows, wq, g.OW)) {
				j.path = pathExact
			}
			j.pb = min(rows*g.OW, j.P)
		}
		j.pb = j.balancedBlock(g.N*k.grp, g.OW, rc.Threads, macs)
		j.nPB = (j.P + j.pb - 1) / j.pb
		units = g.N * k.grp * j.nPB
		if j.path == pathPointwise && j.P == 1 && rc.Threads > 1 && units < rc.Threads && j.Mg >= 2*rowsMinSlab && !k.scaled {
			// One pixel per image (a classifier or squeeze-and-excitation
			// layer written as a 1x1 convolution): the work is in the
			// weights, so the threads share the output channels.
			j.path = pathRows
			per := (rc.Threads + units - 1) / units
			j.mSlab = max(rowsMinSlab, (j.Mg+per-1)/per)
			units = g.N * k.grp * ((j.Mg + j.mSlab - 1) / j.mSlab)
		}
	}
	if (k.xBlocked || k.yBlocked || k.xBorder > 0 || k.yBorder > 0) && units > 0 && (j.path != pathNCHWc && j.path != pathStem || !j.blockedFits()) {
		return shapeErrf("Conv of %v in NCHW16c does not run pathNCHWc", in[0].Shape)
	}
	blocks := blocksFor(rc.Threads, units, macs)
	switch j.path {
	case pathPointwise:
		if j.s != nil {
			j.per = j.Cg * j.pb // the scaled input block
			j.scratch = rc.ScratchF32(blocks * j.per)
		}
	case pathIm2col:
		j.per = j.K * j.pb
		j.scratch = rc.ScratchF32(blocks * j.per)
	case pathPhase:
		_, j.per = j.phaseScratch(j.pb / g.OW)
		j.scratch = rc.ScratchF32(blocks * j.per)
	case pathExact:
		l := newPhaseLayout(&g, j.pb/g.OW)
		j.per = j.K*j.pb + l.planeSize(&g)
		j.scratch = rc.ScratchF32(blocks * j.per)
	case pathTaps:
		l := newPhaseLayout(&g, j.pb/g.OW)
		j.per = j.Cg*l.planeSize(&g) + j.Mg*l.np
		j.scratch = rc.ScratchF32(blocks * j.per)
	case pathNCHWc:
		j.nchwcScratch(rc, blocks)
	case pathStem:
		j.stemScratch(rc, blocks)
	case pathDWTaps:
		j.per = j.tp.scratch()
		j.scratch = rc.ScratchF32(blocks * j.per)
	case pathDWC:
		j.per = j.dwcp.scratch(&g)
		kt := g.KH * g.KW
		if j.wc = k.dwcWeights(j.w); j.wc == nil {
			j.scratch = rc.ScratchF32(blocks*j.per + j.dwcp.blocks*16*kt)
			j.wc = j.scratch[blocks*j.per:]
			packDWC(j.wc, j.w, j.M, kt)
		} else {
			j.scratch = rc.ScratchF32(blocks * j.per)
		}
	case pathDW3:
		j.per = j.dw.size()
		if j.dws.rows > 0 {
			j.per = j.dws.scratchFloats()
		}
		j.scratch = rc.ScratchF32(blocks * j.per)
	}
	if j.path != pathDW3 && j.path != pathDepthwise && j.path != pathDWTaps && j.path != pathDWDirect && j.path != pathDWMulti && j.path != pathDWWin && j.path != pathDWC {
		j.ws = rc.gemmWorkspaces(blocks)
	}
	if j.P > 0 && units > 0 {
		rc.parallelFor(blocks, units, j)
	}
	*j = convJob{}
	return nil
}

func (j *convJob) runRange(lo, hi, worker int) {
	if j.path == pathDWC {
		j.dwc(lo, hi, j.scratch[worker*j.per:(worker+1)*j.per])
		return
	}
	if j.path == pathNCHWc {
		j.nchwc(lo, hi, j.scratch[worker*j.per:(worker+1)*j.per])
		return
	}
	if j.path == pathStem {
		j.stem(lo, hi, j.scratch[worker*j.per:(worker+1)*j.per])
		return
	}
	if j.path == pathPW {
		j.pwRun(lo, hi)
		return
	}
	if j.path == pathDWWin {
		j.dwWin(lo, hi)
		return
	}
	if j.path == pathDW3 || j.path == pathDWDirect || j.path == pathDWMulti {
		buf := j.scratch[worker*j.per : (worker+1)*j.per]
		if j.dws.rows > 0 {
			j.dwSmall(lo, hi, buf)
			return
		}
		for u := lo; u < hi; u++ {
			j.dw3(u/j.k.grp, u%j.k.grp, buf)
		}
		return
	}
	if j.path == pathDWTaps {
		buf := j.scratch[worker*j.per : (worker+1)*j.per]
		for u := lo; u < hi; u++ {
			j.dwTaps(u/j.k.grp, u%j.k.grp, buf, u == lo)
		}
		return
	}
	if j.path == pathRows {
		j.rows(lo, hi)
		return
	}
	if j.path == pathDepthwise {
		for u := lo; u < hi; u++ {
			j.depthwise(u/j.M, u%j.M)
		}
		return
	}
	var col []float32
	if j.path == pathIm2col || j.path == pathPhase || j.path == pathTaps || j.path == pathExact || j.s != nil {
		col = j.scratch[worker*j.per : (worker+1)*j.per]
	}
	g := &j.g
	HW := g.H * g.W
	for u := lo; u < hi; u++ {
		n := u / (j.k.grp * j.nPB)
		r := u % (j.k.grp * j.nPB)
		gr, blk := r/j.nPB, r%j.nPB
		p0 := blk * j.pb
		p1 := min(p0+j.pb, j.P)
		np := p1 - p0
		x := j.x[(n*g.C+gr*j.Cg)*HW : (n*g.C+(gr+1)*j.Cg)*HW]
		w := j.w[gr*j.Mg*j.K : (gr+1)*j.Mg*j.K]
		yoff := (n*j.M + gr*j.Mg) * j.P
		y := j.y[yoff : yoff+j.Mg*j.P]
		var bias []float32
		if j.b != nil {
			bias = j.b[gr*j.Mg : (gr+1)*j.Mg]
		}
		ep, fused := j.k.epilogue(bias)
		pa := j.k.packedFor(j.w, gr)
		if j.path == pathTaps {
			j.runTaps(x, y, gr, p0/g.OW, np/g.OW, col, ep, j.ws[worker])
			if !fused {
				for m := 0; m < j.Mg; m++ {
					j.finish(yoff+m*j.P+p0, np)
				}
			}
			continue
		}
		b, ldb := x[p0:], HW
		c, ldc, ncol := y[p0:], j.P, np
		var ph phaseLayout
		switch j.path {
		case pathPointwise:
			if j.s != nil {
				// The squeeze-and-excitation Mul, on the block only.
				sc := j.s[n*g.C+gr*j.Cg : n*g.C+(gr+1)*j.Cg]
				for c := range sc {
					binLine(opMul, col[c*np:(c+1)*np], x[c*HW+p0:c*HW+p1], sc[c:c+1], 1, 0)
				}
				b, ldb = col[:j.Cg*np], np
			}
		case pathIm2col:
			b, ldb = col[:j.K*np], np
			im2col(g, x, j.Cg, p0, p1, b)
		case pathExact:
			ph = newPhaseLayout(g, np/g.OW)
			b, ldb = col[:j.K*np], np
			im2colExact(g, &ph, x, j.Cg, p0/g.OW, b, col[j.K*np:])
		case pathPhase:
			ph = newPhaseLayout(g, np/g.OW)
			ncol = ph.np
			b, ldb = col[:j.K*ph.np], ph.np
			if ph.wq != g.OW {
				c, ldc = col[j.K*ph.np:(j.K+j.Mg)*ph.np], ph.np
			}
			im2colPhase(g, &ph, x, j.Cg, p0/g.OW, b, col[(j.K+j.Mg)*ph.np:])
		}
		if pa != nil {
			blas.SgemmPackedEpWS(j.ws[worker], pa, ncol, b, ldb, c, ldc, false, ep)
		} else {
			blas.SgemmEpWS(j.ws[worker], j.Mg, ncol, j.K, w, j.K, b, ldb, c, ldc, false, ep)
		}
		if j.path == pathPhase && ph.wq != g.OW {
			compactRows(g, &ph, c, j.Mg, y, j.P, p0/g.OW)
		}
		if !fused {
			for m := 0; m < j.Mg; m++ {
				j.finish(yoff+m*j.P+p0, np)
			}
		}
	}
}

// convResidual and convScale are the input indices of the residual of a
// convKernel with residual set and of the scales of one with scaled set
// (after X, W and the optional bias; absent inputs are nil).
const (
	convResidual = 3
	convScale    = 4
)

// pointwise reports whether the convolution runs pathPointwise (a 1x1
// stride-1 unpadded convolution: a GEMM straight on the input).
func (k *convKernel) pointwise(g *geom) bool {
	return !k.generic && g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && g.PB == 0 && g.PR == 0
}

// finish applies what the epilogue left to outputs [off, off+n) of j.y,
// while they are in cache: the residual of a fused Add, then the
// activation, with the element functions of the separate Add and
// activation kernels (so the result is theirs bit for bit).
func (j *convJob) finish(off, n int) {
	y := j.y[off : off+n]
	if j.r != nil {
		addActTo(j.k.act, j.k.actA, j.k.actB, y, y, j.r[off:off+n])
		return
	}
	applyAct(j.k.act, j.k.actA, j.k.actB, y)
}

// rowsMinSlab is the fewest output channels of a pathRows unit.
const rowsMinSlab = 32

// rows computes units [lo, hi) of pathRows: image n, group gr, output
// channels [m0, m1) of the group, each a dot product of its weights with
// the image's pixel (one value per input channel).
func (j *convJob) rows(lo, hi int) {
	slabs := (j.Mg + j.mSlab - 1) / j.mSlab
	for u := lo; u < hi; u++ {
		n, r := u/(j.k.grp*slabs), u%(j.k.grp*slabs)
		gr, s := r/slabs, r%slabs
		m0 := gr*j.Mg + s*j.mSlab
		m1 := min(m0+j.mSlab, (gr+1)*j.Mg)
		x := j.x[n*j.g.C+gr*j.Cg : n*j.g.C+(gr+1)*j.Cg]
		y := j.y[n*j.M+m0 : n*j.M+m1]
		blas.SgemmNT(1, m1-m0, j.K, x, j.K, j.w[m0*j.K:m1*j.K], j.K, y, m1-m0, false)
		if j.b != nil {
			for i, b := range j.b[m0:m1] {
				y[i] += b
			}
		}
		j.finish(n*j.M+m0, m1-m0)
	}
}

// exactMaxOW is the output width below which pathExact replaces pathPhase
// and pathTaps (where im2colExactFits: at most 16). A variable so that
// benchmarks can compare (0 turns pathExact off).
var exactMaxOW = 24

// exactSavesNoPanel reports whether the GEMM over a block of rows output
// rows in plane coordinates ((rows-1)·wq + ow columns) fills no more
// 32-column panels than the exact columns (rows·ow) would: at stride 1
// pathExact's patch copy then buys nothing over pathTaps, which reads the
// planes in place (14x14 and 7x7 outputs of 3x3 convolutions: 7 and 2
// panels either way, 3-9% faster as taps in BenchmarkConvExactPanels; an
// 8x8 output takes 3 panels in plane coordinates and 2 exact). At stride
// 2 pathExact stays: the taps then read four phase planes (a 3x3 s2
// 16->32 layer on 28x28: 23 against 30 cpu-µs).
func exactSavesNoPanel(rows, wq, ow int) bool {
	const panel = 32
	return exactPanelRule && ((rows-1)*wq+ow+panel-1)/panel <= (rows*ow+panel-1)/panel
}

// exactPanelRule enables exactSavesNoPanel (a variable so that benchmarks
// can compare).
var exactPanelRule = true

// tapRowMinOW is the output width from which pathTaps runs one GEMM per
// output row straight into the output instead of one GEMM over the rows in
// plane coordinates followed by compactRows (narrow rows fill too little of
// a 32-column panel). A variable so that benchmarks can compare both.
var tapRowMinOW = 24

// runTaps computes output rows [oh0, oh0+rows) of group gr (input x,
// output planes y) as one GEMM per kernel tap, each reading its B operand
// (Cg × np) straight from the channels' padded planes (stride 1: a tap is
// an offset into every plane), accumulating into C; the last applies the
// epilogue.
func (j *convJob) runTaps(x, y []float32, gr, oh0, rows int, scratch []float32, ep blas.Epilogue, ws *blas.Workspace) {
	g := &j.g
	l := newPhaseLayout(g, rows)
	ps := l.planeSize(g)
	HW := g.H * g.W
	planes := scratch[:j.Cg*ps]
	for c := 0; c < j.Cg; c++ {
		l.fillPlanes(g, x[c*HW:(c+1)*HW], planes[c*ps:(c+1)*ps], oh0)
	}
	taps := j.k.taps[gr]
	var offs [49]int
	if len(taps) <= len(offs) && l.wq != g.OW && g.OW >= tapRowMinOW {
		// One GEMM per output row, written straight into y: no columns
		// between rows computed, no compaction.
		for t := range taps {
			offs[t] = l.tapOffset(g, t/g.KW, t%g.KW)
		}
		for o := 0; o < rows; o++ {
			blas.SgemmTapsEpWS(ws, taps, offs[:len(taps)], g.OW, planes[o*l.wq:], ps, y[(oh0+o)*g.OW:], j.P, ep)
		}
		return
	}
	c, ldc := y[oh0*g.OW:], j.P
	if l.wq != g.OW {
		c, ldc = scratch[j.Cg*ps:j.Cg*ps+j.Mg*l.np], l.np
	}
	if len(taps) <= len(offs) {
		// One pass over C: the sum over taps stays in registers.
		for t := range taps {
			offs[t] = l.tapOffset(g, t/g.KW, t%g.KW)
		}
		blas.SgemmTapsEpWS(ws, taps, offs[:len(taps)], l.np, planes, ps, c, ldc, ep)
		taps = nil
	}
	for t, pa := range taps {
		b := planes[l.tapOffset(g, t/g.KW, t%g.KW):]
		if t < len(taps)-1 {
			blas.SgemmPackedWS(ws, pa, l.np, b, ps, c, ldc, t > 0)
		} else {
			blas.SgemmPackedEpWS(ws, pa, l.np, b, ps, c, ldc, t > 0, ep)
		}
	}
	if l.wq != g.OW {
		compactRows(g, &l, c, j.Mg, y, j.P, oh0)
	}
}

// dw3 computes the Mg outputs of group gr of image n with the direct 3x3
// kernel: pathDW3 from a padded copy of the group's input plane in buf,
// pathDWDirect and pathDWMulti straight from the plane.
func (j *convJob) dw3(n, gr int, buf []float32) {
	g := &j.g
	HW := g.H * g.W
	x := j.x[(n*g.C+gr)*HW : (n*g.C+gr+1)*HW]
	direct := j.path == pathDWDirect
	ep, fused := j.k.epilogue(nil)
	if j.path == pathDWMulti {
		bias := j.zb
		if j.b != nil {
			bias = j.b[gr*j.Mg : (gr+1)*j.Mg]
		}
		y := j.y[(n*j.M+gr*j.Mg)*j.P : (n*j.M+(gr+1)*j.Mg)*j.P]
		dwMultiPlanes(g, &j.dd, y, x, j.w[gr*j.Mg*9:(gr+1)*j.Mg*9], bias, j.Mg, ep.Lo, ep.Hi)
		if !fused {
			j.finish((n*j.M+gr*j.Mg)*j.P, j.Mg*j.P)
		}
		return
	}
	if !direct {
		j.dw.padPlane(g, x, buf)
	}
	for m := gr * j.Mg; m < (gr+1)*j.Mg; m++ {
		var bias float32
		if j.b != nil {
			bias = j.b[m]
		}
		y := j.y[(n*j.M+m)*j.P : (n*j.M+m+1)*j.P]
		if direct {
			dwDirectPlane(g, &j.dd, y, x, j.w[m*9:m*9+9], bias, ep.Lo, ep.Hi)
		} else {
			dw3Plane(y, buf, g.OH, g.OW, g.OW, j.dw.rs, &j.dw.off, j.w[m*9:m*9+9], bias, ep.Lo, ep.Hi)
		}
		if !fused {
			j.finish((n*j.M+m)*j.P, j.P)
		}
	}
}

// dwSmall computes units [lo, hi) (image u/grp, channel u%grp; Mg is 1)
// with the many-channel kernel, one call per image in the range.
func (j *convJob) dwSmall(lo, hi int, buf []float32) {
	g := &j.g
	HW, grp := g.H*g.W, j.k.grp
	ep, fused := j.k.epilogue(nil)
	for lo < hi {
		c0 := lo % grp
		end := min(hi, lo-c0+grp) // the image's last channel + 1
		var b []float32
		if j.b != nil {
			b = j.b[c0 : end-lo+c0]
		}
		y := j.y[lo*j.P : end*j.P]
		j.dws.run(j.x[lo*HW:end*HW], y, j.w[c0*9:(c0+end-lo)*9], b, end-lo, ep.Lo, ep.Hi, buf)
		if !fused {
			j.finish(lo*j.P, len(y))
		}
		lo = end
	}
}

// im2col writes the patches of output pixels [p0, p1) of the Cg-channel
// input x into col, row (c, kh, kw) by column (pixel - p0).
func im2col(g *geom, x []float32, cg, p0, p1 int, col []float32) {
	np := p1 - p0
	HW := g.H * g.W
	row := 0
	for c := 0; c < cg; c++ {
		xc := x[c*HW : (c+1)*HW]
		for kh := 0; kh < g.KH; kh++ {
			for kw := 0; kw < g.KW; kw++ {
				dst := col[row*np : (row+1)*np]
				row++
				offW := kw*g.DW - g.PL
				lo, hi := validRange(g.W, g.OW, g.SW, offW)
				p := p0
				for p < p1 {
					oh, ow := p/g.OW, p%g.OW
					end := min(p1, (oh+1)*g.OW) // end of this output row within the block
					seg := dst[p-p0 : end-p0]
					ow1 := ow + len(seg)
					ih := oh*g.SH - g.PT + kh*g.DH
					if ih < 0 || ih >= g.H {
						clear(seg)
						p = end
						continue
					}
					xr := xc[ih*g.W : (ih+1)*g.W]
					// Left padding, in-bounds columns, right padding.
					a, b := min(max(lo, ow), ow1), min(max(hi, ow), ow1)
					if a > b {
						a = b
					}
					clear(seg[:a-ow])
					if in := seg[a-ow : b-ow]; a < b && g.SW == 1 {
						copy(in, xr[a+offW:b+offW])
					} else if a < b {
						for i := range in {
							in[i] = xr[(a+i)*g.SW+offW]
						}
					}
					clear(seg[b-ow:])
					p = end
				}
			}
		}
	}
}

// depthwise computes output channel m of image n directly (one input
// channel per group), one output row at a time: the row starts at the bias,
// each kernel tap adds a shifted input row over the columns where it is in
// bounds, and the activation is applied while the row is in cache. A 3x3
// window whose three input rows are inside the image (the bulk of a
// MobileNet layer) takes a nine-tap loop that reads and writes the output
// once.
func (j *convJob) depthwise(n, m int) {
	g := &j.g
	gr := m / j.Mg
	HW := g.H * g.W
	x := j.x[(n*g.C+gr)*HW : (n*g.C+gr+1)*HW]
	w := j.w[m*g.KH*g.KW : (m+1)*g.KH*g.KW]
	y := j.y[(n*j.M+m)*j.P : (n*j.M+m+1)*j.P]
	var bv float32
	if j.b != nil {
		bv = j.b[m]
	}
	k3 := g.KH == 3 && g.KW == 3 && (g.SW == 1 || g.SW == 2)
	for oh := 0; oh < g.OH; oh++ {
		yr := y[oh*g.OW : (oh+1)*g.OW]
		for i := range yr {
			yr[i] = bv
		}
		ih0 := oh*g.SH - g.PT
		if k3 && ih0 >= 0 && ih0+2*g.DH < g.H {
			dw3x3Row(g, yr, x[ih0*g.W:], w)
		} else {
			dwRowGeneric(g, yr, x, w, ih0)
		}
		j.finish((n*j.M+m)*j.P+oh*g.OW, g.OW)
	}
}

// dwRowGeneric adds every in-bounds tap of the window starting at input
// row ih0 to output row yr.
func dwRowGeneric(g *geom, yr, x, w []float32, ih0 int) {
	for kh := 0; kh < g.KH; kh++ {
		ih := ih0 + kh*g.DH
		if ih < 0 || ih >= g.H {
			continue
		}
		xr := x[ih*g.W : (ih+1)*g.W]
		for kw := 0; kw < g.KW; kw++ {
			wv := w[kh*g.KW+kw]
			if wv == 0 {
				continue
			}
			off := kw*g.DW - g.PL
			lo, hi := validRange(g.W, g.OW, g.SW, off)
			if lo >= hi {
				continue
			}
			if g.SW == 1 {
				ys := yr[lo:hi]
				xs := xr[lo+off : hi+off]
				xs = xs[:len(ys)]
				for i := range ys {
					ys[i] += wv * xs[i]
				}
			} else {
				for o := lo; o < hi; o++ {
					yr[o] += wv * xr[o*g.SW+off]
				}
			}
		}
	}
}

// dw3x3Row adds a 3x3 window (stride 1 or 2 along the row) whose three input
// rows, starting at x, are all inside the image.
func dw3x3Row(g *geom, yr, x, w []float32) {
	W, D := g.W, g.DH*g.W
	r0, r1, r2 := x[:W], x[D:D+W], x[2*D:2*D+W]
	// Columns where all three horizontal taps are inside the row.
	lo, _ := validRange(W, g.OW, g.SW, -g.PL)
	_, hi := validRange(W, g.OW, g.SW, 2*g.DW-g.PL)
	if lo > hi {
		lo = hi
	}
	w0, w1, w2, w3, w4, w5, w6, w7, w8 := w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]
	if lo < hi {
		d := g.DW
		ys := yr[lo:hi]
		if g.SW == 1 {
			b := lo - g.PL
			n := len(ys)
			a0, a1, a2 := r0[b:b+n], r0[b+d:b+d+n], r0[b+2*d:b+2*d+n]
			b0, b1, b2 := r1[b:b+n], r1[b+d:b+d+n], r1[b+2*d:b+2*d+n]
			c0, c1, c2 := r2[b:b+n], r2[b+d:b+d+n], r2[b+2*d:b+2*d+n]
			// Equal lengths let the compiler drop the bounds checks.
			a0, a1, a2 = a0[:len(ys)], a1[:len(ys)], a2[:len(ys)]
			b0, b1, b2 = b0[:len(ys)], b1[:len(ys)], b2[:len(ys)]
			c0, c1, c2 = c0[:len(ys)], c1[:len(ys)], c2[:len(ys)]
			for i := range ys {
				ys[i] += w0*a0[i] + w1*a1[i] + w2*a2[i] +
					w3*b0[i] + w4*b1[i] + w5*b2[i] +
					w6*c0[i] + w7*c1[i] + w8*c2[i]
			}
		} else {
			// Stride 2: walk the three rows two columns at a time.
			b := lo*2 - g.PL
			n := len(ys)
			e := b + 2*(n-1) + 2*d + 1
			a, bb, c := r0[b:e], r1[b:e], r2[b:e]
			if d == 1 {
				for i := range ys {
					k := 2 * i
					// Loading the farthest tap first lets one bounds check
					// per row cover the nearer two.
					a2, b2, c2 := a[k+2], bb[k+2], c[k+2]
					ys[i] += w0*a[k] + w1*a[k+1] + w2*a2 +
						w3*bb[k] + w4*bb[k+1] + w5*b2 +
						w6*c[k] + w7*c[k+1] + w8*c2
				}
			} else {
				for i := range ys {
					k := 2 * i
					ys[i] += w0*a[k] + w1*a[k+d] + w2*a[k+2*d] +
						w3*bb[k] + w4*bb[k+d] + w5*bb[k+2*d] +
						w6*c[k] + w7*c[k+d] + w8*c[k+2*d]
				}
			}
		}
	}
	// Edge columns: taps checked one by one.
	for o := 0; o < g.OW; o++ {
		if o == lo {
			o = hi
			if o >= g.OW {
				break
			}
		}
		var s float32
		for kw := 0; kw < 3; kw++ {
			iw := o*g.SW - g.PL + kw*g.DW
			if iw < 0 || iw >= W {
				continue
			}
			s += w[kw]*r0[iw] + w[3+kw]*r1[iw] + w[6+kw]*r2[iw]
		}
		yr[o] += s
	}
}

// balancedBlock returns the column block of a GEMM-based path, at most
// j.pb, with the planes cut into equal blocks: cutting P into blocks of
// j.pb leaves a short last one (MobileNetV2's 56x56 1x1 layers ran as 3120
// and 16 columns), which a second thread finishes long before the first.
// With a thread budget and few units, the block count is also raised to a
// multiple of the threads so that every participant gets an equal share.
// The phase paths cut whole output rows (ow columns), the others multiples
// of 16 columns.
func (j *convJob) balancedBlock(ng, ow, threads int, macs int64) int {
	unit := 16
	switch j.path {
	case pathPhase, pathExact, pathTaps:
		unit = ow
	}
	nb := (j.P + j.pb - 1) / j.pb
	if threads > 1 && macs >= 2*minParallelWork && ng*nb < 4*threads {
		for (ng*nb)%threads != 0 {
			nb++
		}
	}
	pb := (j.P + nb - 1) / nb
	pb = (pb + unit - 1) / unit * unit
	return max(min(pb, j.P), 1)
}

// nchwcPointwiseMinCg is the fewest input channels from which a 1x1
// convolution on a plane too large for pathPW runs pathNCHWc instead of
// the GEMM (a variable so that benchmarks can compare): with 256 input
// channels its register sums beat the GEMM's packing, 128x256 on 56x56
// 2,170 -> 1,894 cpu-µs and on 28x28 506 -> 466, while shallow layers
// lose (MobileNetV2's 24->144 on 56x56 206 -> 275).
var nchwcPointwiseMinCg = 256

// nchwcPointwiseWide is the fewest input and output channels from which a
// 1x1 convolution whose outputs fill whole 16-channel blocks runs pathNCHWc
// below nchwcPointwiseMinCg with the AVX-512 kernels (a variable so that
// benchmarks can compare). BenchmarkConvPWLarge, cpu-µs, GEMM -> pathNCHWc:
// DenseNet's 224->128 on 56x56 2,156-2,258 -> 1,742, 96->128 796-833 ->
// 740-748, 64->128 531 -> 515-521, 128->128 on 28x28 257-261 -> 239-241;
// even from 256 outputs on (64->256 on 56x56, 128->512 on 28x28); with 24
// or 32 outputs it loses (144->24 on 56x56 202-217 -> 266-282). The AVX2
// kernel (one block of 6 pixels a call) loses on all of them (224->128
// 2,461-2,530 -> 2,902-2,956).
var nchwcPointwiseWide = 64

// nchwcPointwise reports whether a 1x1 convolution of cg input and mg
// output channels takes pathNCHWc: deep or wide enough, on planes pathPW
// does not take, without a fused input scale (which only pathPointwise and
// pathPW apply).
//
// Only the AVX-512 kernels: the AVX2 one (one block of 6 pixels a call)
// loses to the GEMM on large planes with deep inputs too, GODEBUG=
// cpu.avx512f=off BenchmarkConvPWLarge, cpu-µs, GEMM -> pathNCHWc: 512->256
// on 28x28 2,373-2,622 -> 3,208-3,302, 256->128 on 56x56 3,137-3,358 ->
// 3,351-3,522, 512->128 on 28x28 even.
func nchwcPointwise(cg, mg, p int, scaled bool) bool {
	deep := nchwcPointwiseMinCg > 0 && cg >= nchwcPointwiseMinCg
	wide := nchwcPointwiseWide > 0 && cg >= nchwcPointwiseWide && mg >= nchwcPointwiseWide && mg%16 == 0
	return (nchwcWide || nchwcForce) && (deep || wide) && !pwPays(p, cg) && !scaled
}
