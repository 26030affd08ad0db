// The contract of the same 3x3 MaxPool's kernels (pool_same3_amd64.s,
// pool_same3_avx2_amd64.s): same3Args at AX, y 0, x 8, n 16, w 24,
// masks 32, period 40, special 48, lanes 56.

// SAME3ARGS loads the arguments at a+0(FP): AX the args, DI y, SI x, CX n,
// R8 a row's bytes, R9 the masks and R11 their end, R10 and R13 the first
// mask entry (of the vertical and the output block), BX 0.
#define SAME3ARGS \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), DI; \
	MOVQ 8(AX), SI; \
	MOVQ 16(AX), CX; \
	MOVQ 24(AX), R8; \
	SHLQ $2, R8; \
	MOVQ 32(AX), R9; \
	MOVQ 40(AX), R11; \
	LEAQ (R9)(R11*8), R11; \
	MOVQ R9, R10; \
	MOVQ R9, R13; \
	XORQ BX, BX
