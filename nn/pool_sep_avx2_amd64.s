//go:build amd64 && !purego

#include "textflag.h"
#include "pool_sep_amd64.h"

// The separable MaxPool's kernels (pool_sep.go) for AVX2, over sepRowsArgs
// at AX as the AVX-512 ones (pool_sep_amd64.s): dst 0, src 8, offs 16,
// rows 24, n 32, ldd 40, lds 48, k 56, d 64, s 72, planes 80, xps 88,
// special 96. Blocks of 8 values; a row's last, partial block is loaded
// and stored under the lane mask Y14 (VMASKMOVPS, from tail8). The maxima
// are plain VMAXPS, flagged as in maxRowsAVX512: Y15 gathers the lanes of
// a value after a row's first that is NaN (VMAXPS keeps acc's NaN only),
// and of a maximum that is NaN or -0.

// tail8 holds 8 lanes of all ones, then 8 of zeros: the mask of the first
// r lanes starts 4·(8-r) bytes in.
DATA tail8<>+0(SB)/8, $-1
DATA tail8<>+8(SB)/8, $-1
DATA tail8<>+16(SB)/8, $-1
DATA tail8<>+24(SB)/8, $-1
DATA tail8<>+32(SB)/8, $0
DATA tail8<>+40(SB)/8, $0
DATA tail8<>+48(SB)/8, $0
DATA tail8<>+56(SB)/8, $0
GLOBL tail8<>(SB), RODATA|NOPTR, $64

// TAIL8 sets Y14 to the mask of the last CX&7 lanes of a row of CX
// values, and DX to the end of its whole blocks (R11 scratch).
#define TAIL8 \
	MOVQ CX, R11; \
	ANDQ $7, R11; \
	NEGQ R11; \
	LEAQ tail8<>+32(SB), DX; \
	VMOVDQU (DX)(R11*4), Y14; \
	MOVQ CX, DX; \
	ANDQ $-8, DX

// FLAGNAN adds the NaN lanes of y to Y15 (Y12 scratch); FLAGMAX also its
// -0 lanes (Y13: -0 in every lane).
#define FLAGNAN(y) VCMPPS $3, y, y, Y12; VORPS Y12, Y15, Y15
#define FLAGMAX(y) FLAGNAN(y); VPCMPEQD Y13, y, Y12; VORPS Y12, Y15, Y15

// ROWMAX sets Y0 to the maximum of the window rows (R9 offsets at R8) at
// the block BX, loaded with LOAD (R10, R12 scratch).
#define ROWMAX(LOAD, taps, done) \
	MOVQ (R8), R10; \
	LEAQ (SI)(R10*4), R10; \
	LOAD((R10)(BX*4), Y0); \
	MOVQ $1, R12; \
taps: \
	CMPQ R12, R9; \
	JGE done; \
	MOVQ (R8)(R12*8), R10; \
	LEAQ (SI)(R10*4), R10; \
	LOAD((R10)(BX*4), Y1); \
	FLAGNAN(Y1); \
	VMAXPS Y0, Y1, Y0; \
	INCQ R12; \
	JMP taps; \
done: \
	FLAGMAX(Y0)

#define LOAD8(a, y) VMOVUPS a, y
#define LOAD8M(a, y) VMASKMOVPS a, Y14, y

// func maxRowsAVX2(a *sepRowsArgs)
TEXT ·maxRowsAVX2(SB), NOSPLIT, $0-8
	RARGS
	VXORPS Y15, Y15, Y15
	MOVL $0x80000000, R11
	MOVQ R11, X13
	VPBROADCASTD X13, Y13
	TAIL8
rplane:
	MOVQ 16(AX), R8
	MOVQ 24(AX), R14
rrow:
	XORQ BX, BX
rblock:
	CMPQ BX, DX
	JGE rtail
	ROWMAX(LOAD8, rtaps, rdone)
	VMOVUPS Y0, (DI)(BX*4)
	ADDQ $8, BX
	JMP rblock
rtail:
	CMPQ BX, CX
	JGE rnext
	ROWMAX(LOAD8M, rtapsm, rdonem)
	VMASKMOVPS Y0, Y14, (DI)(BX*4)
rnext:
	RNEXT(rrow, rplane)
	XORQ DX, DX
	VPTEST Y15, Y15
	SETNE DX
	MOVQ DX, 96(AX)
	VZEROUPPER
	RET

// HTAP1 and HTAP2 load the tap at R12 for 8 outputs at stride 1, or the
// even values of 16 at stride 2 (in the order VSHUFPS leaves them, which
// HFIX2 puts right once the maximum is taken).
#define HTAP1(y, u) VMOVUPS (R12), y
#define HTAP2(y, u) VMOVUPS (R12), y; VMOVUPS 32(R12), u; VSHUFPS $0x88, u, y, y
#define HFIX1
#define HFIX2 VPERMPD $0xD8, Y0, Y0

// HMAX8 is hmaxAVX2's loop for one stride: TAP a tap, FIX the order, step
// the input bytes per block of 8 outputs.
#define HMAX8(TAP, FIX, step, row, block, taps, store, tail, next) \
row: \
	XORQ BX, BX; \
	MOVQ SI, R10; \
block: \
	MOVQ R10, R12; \
	TAP(Y0, Y1); \
	MOVQ $1, AX; \
taps: \
	CMPQ AX, R9; \
	JGE store; \
	ADDQ R8, R12; \
	TAP(Y2, Y3); \
	VMAXPS Y0, Y2, Y0; \
	INCQ AX; \
	JMP taps; \
store: \
	FIX; \
	CMPQ BX, DX; \
	JGE tail; \
	VMOVUPS Y0, (DI)(BX*4); \
	ADDQ $8, BX; \
	ADDQ $step, R10; \
	CMPQ BX, CX; \
	JLT block; \
	JMP next; \
tail: \
	VMASKMOVPS Y0, Y14, (DI)(BX*4); \
next: \
	HNEXTROW(row)

// func hmaxAVX2(a *sepRowsArgs)
// dst[r·ldd + o] = max over t < k of src[r·lds + s·o + t·d], o < n,
// r < rows, s 1 or 2; a row extends to the last value a block of 16
// outputs reads. The rows hold no NaN and no -0.
TEXT ·hmaxAVX2(SB), NOSPLIT, $0-8
	HARGS
	TAIL8
	CMPQ 72(AX), $2
	JEQ h2
	HMAX8(HTAP1, HFIX1, 32, h1row, h1block, h1taps, h1store, h1tail, h1next)
h2:
	HMAX8(HTAP2, HFIX2, 64, h2row, h2block, h2taps, h2store, h2tail, h2next)
