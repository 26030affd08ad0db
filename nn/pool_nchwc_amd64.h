// Shared by the blocked MaxPool's kernels (pool_nchwc_amd64.s,
// pool_nchwc_avx2_amd64.s).

// MPCARGS loads the mpcArgs at a+0(FP) (y 0, x 8, taps 16, ntaps 24, n 32,
// sx 40, sy 48, ys 56, tile 64, rows 72, sxr 80, syr 88) and jumps to group
// when ys is not zero (NCHW output); AX keeps the block for rows, sxr and
// syr.
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
