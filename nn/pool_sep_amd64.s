//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// The separable MaxPool's kernels (pool_sep.go), over sepRowsArgs at AX:
// dst 0, src 8, offs 16, rows 24, n 32, ldd 40, lds 48, k 56, d 64, s 72,
// planes 80, xps 88.
// K1 masks the last, partial block of 16 values of a row.

// BLOCKMASK sets K1 to the lanes of the block at BX of a row of CX values,
// or jumps to done past the row's end (DX, R11 scratch).
#define BLOCKMASK(full, done) \
	MOVQ CX, DX; \
	SUBQ BX, DX; \
	JLE done; \
	KXNORW K1, K1, K1; \
	CMPQ DX, $16; \
	JGE full; \
	MOVQ $1, R11; \
	SHLXQ DX, R11, R11; \
	DECQ R11; \
	KMOVW R11, K1; \
full:

// func maxRowsAVX512(a *sepRowsArgs)
// For each plane q < planes and row r < rows: dst[(q·rows + r)·ldd + i] =
// max over j < k of src[q·xps + offs[r·k+j] + i], i < n.
TEXT ·maxRowsAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), DI
	MOVQ 8(AX), SI
	MOVQ 32(AX), CX
	MOVQ 40(AX), R15
	SHLQ $2, R15
	MOVQ 56(AX), R9
	MOVQ 80(AX), R13
rplane:
	MOVQ 16(AX), R8
	MOVQ 24(AX), R14
rrow:
	XORQ BX, BX
rblock:
	BLOCKMASK(rfull, rnext)
	MOVQ (R8), R10
	LEAQ (SI)(R10*4), R10
	VMOVUPS.Z (R10)(BX*4), K1, Z0
	MOVQ $1, R12
rtaps:
	CMPQ R12, R9
	JGE rstore
	MOVQ (R8)(R12*8), R10
	LEAQ (SI)(R10*4), R10
	VMOVUPS.Z (R10)(BX*4), K1, Z1
	MAXNANK(Z1, Z0, K2)
	INCQ R12
	JMP rtaps
rstore:
	VMOVUPS Z0, K1, (DI)(BX*4)
	ADDQ $16, BX
	JMP rblock
rnext:
	ADDQ R15, DI
	LEAQ (R8)(R9*8), R8
	DECQ R14
	JNZ rrow
	MOVQ 88(AX), R10
	LEAQ (SI)(R10*4), SI
	DECQ R13
	JNZ rplane
	VZEROUPPER
	RET

// TAPS1 and TAPS2 load a tap's 16 values at R12 into t (stride 2: the
// even lanes of 32, gathered by the indices in Z20).
#define TAPS1(t, u) VMOVUPS (R12), t
#define TAPS2(t, u) VMOVUPS (R12), t; VMOVUPS 64(R12), u; VPERMT2PS u, Z20, t

// HMAX is hmaxAVX512's loop for one stride: LOAD a tap, step the input
// bytes per block of 16 outputs.
#define HMAX(LOAD, step, row, block, full, next, taps, store) \
row: \
	XORQ BX, BX; \
	MOVQ SI, R10; \
block: \
	BLOCKMASK(full, next); \
	MOVQ R10, R12; \
	LOAD(Z0, Z1); \
	MOVQ $1, AX; \
taps: \
	CMPQ AX, R9; \
	JGE store; \
	ADDQ R8, R12; \
	LOAD(Z2, Z3); \
	MAXNANK(Z2, Z0, K2); \
	INCQ AX; \
	JMP taps; \
store: \
	VMOVUPS Z0, K1, (DI)(BX*4); \
	ADDQ $16, BX; \
	ADDQ $step, R10; \
	JMP block; \
next: \
	ADDQ R15, DI; \
	ADDQ R13, SI; \
	DECQ R14; \
	JNZ row; \
	VZEROUPPER; \
	RET

// func hmaxAVX512(a *sepRowsArgs)
// dst[r·ldd + o] = max over t < k of src[r·lds + s·o + t·d], o < n,
// r < rows, s 1 or 2; a row extends to the last value a block reads.
TEXT ·hmaxAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), DI
	MOVQ 8(AX), SI
	MOVQ 24(AX), R14
	MOVQ 32(AX), CX
	MOVQ 40(AX), R15
	SHLQ $2, R15
	MOVQ 48(AX), R13
	SHLQ $2, R13
	MOVQ 56(AX), R9
	MOVQ 64(AX), R8
	SHLQ $2, R8
	CMPQ 72(AX), $2
	JEQ stride2
	HMAX(TAPS1, 64, h1row, h1block, h1full, h1next, h1taps, h1store)
stride2:
	VMOVUPS ·evenOddIdx(SB), Z20
	HMAX(TAPS2, 128, h2row, h2block, h2full, h2next, h2taps, h2store)
