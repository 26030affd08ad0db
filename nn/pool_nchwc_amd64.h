// Shared by the blocked MaxPool's kernels (pool_nchwc_amd64.s,
// pool_nchwc_avx2_amd64.s) and the pooled stem's (conv_stem_amd64.s).

// MAXNANY sets acc = max(acc, x), NaN where either is NaN, as MAXNANK
// (simd_amd64.h) does: VMAXPS in the same operand order keeps acc's NaN,
// the sum blended in where the pair is unordered brings x's; m, s scratch.
#define MAXNANY(x, acc, m, s) VCMPPS $3, x, acc, m; VMAXPS acc, x, acc; VADDPS x, acc, s; VBLENDVPS m, s, acc, acc

// MPCARGS loads the mpcArgs at a+0(FP) (y 0, x 8, taps 16, ntaps 24, n 32,
// sx 40, sy 48, ys 56, tile 64, rows 72, sxr 80, syr 88; the kernels set
// special 96) and jumps to group when ys is not zero (NCHW output); AX
// keeps the block for rows, sxr and syr.
#define MPCARGS \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), DI; \
	MOVQ 8(AX), SI; \
	MOVQ 16(AX), R8; \
	MOVQ 24(AX), R9; \
	MOVQ 32(AX), CX; \
	MOVQ 40(AX), R12; \
	MOVQ 48(AX), R13; \
	MOVQ 56(AX), R14; \
	MOVQ 64(AX), R15; \
	TESTQ R14, R14; \
	JNZ group
