//go:build amd64 && !purego

#include "textflag.h"

// Any KHxKW window (up to 7x7) of one input channel per output, straight
// from the unpadded planes, over several channels in one call
// (conv_dwwin.go). Per 16-output block every window row inside the image
// (bit of the row's on byte) adds its taps, each loaded under its column's
// mask (zero in the padding) and multiplied by its broadcast weight.
// Registers: AX the args, SI planes left, DI the output row, R8 the row's
// window origin, R15 its on byte, BX the output byte offset in the row, CX
// the block's masks, R9 the window row, R10 the tap, R11 window rows left,
// R12 the weight, R13 the tap's masks, R14 the on bits, DX taps left in
// the row, Z12 the sum, Z13 one window row's sum.

// WINTAP1 adds the tap at R10 (stride 1).
#define WINTAP1 \
	KMOVW (R13), K1; \
	VMOVUPS.Z (R10), K1, Z1; \
	VFMADD231PS.BCST (R12), Z1, Z13

// WINTAP2 adds the tap at R10 (stride 2: 32 lanes, the even ones).
#define WINTAP2 \
	KMOVW (R13), K1; \
	KMOVW 16(R13), K2; \
	VMOVUPS.Z (R10), K1, Z1; \
	VMOVUPS.Z 64(R10), K2, Z2; \
	VPERMT2PS Z2, Z20, Z1; \
	VFMADD231PS.BCST (R12), Z1, Z13

#define DWWIN(TAP, S, plane, row, block, khl, kwl, skip, next) \
	MOVQ a+0(FP), AX; \
	VBROADCASTSS 128(AX), Z10; \
	VBROADCASTSS 132(AX), Z11; \
	MOVQ 0(AX), DI; \
	MOVQ 32(AX), SI; \
plane: \
	MOVQ 8(AX), R8; \
	ADDQ 104(AX), R8; \
	MOVQ 112(AX), R15; \
	MOVQ 40(AX), R9; \
	MOVQ R9, 144(AX); \
row: \
	XORQ BX, BX; \
	MOVQ 120(AX), CX; \
block: \
	MOVQ 24(AX), R9; \
	VBROADCASTSS (R9), Z12; \
	LEAQ (R8)(BX*S), R9; \
	MOVQ 16(AX), R12; \
	MOVBQZX (R15), R14; \
	MOVQ 56(AX), R11; \
khl: \
	TESTQ $1, R14; \
	JZ skip; \
	MOVQ R9, R10; \
	MOVQ CX, R13; \
	MOVQ 64(AX), DX; \
	VXORPS Z13, Z13, Z13; \
kwl: \
	TAP; \
	ADDQ 96(AX), R10; \
	ADDQ $2, R13; \
	ADDQ $4, R12; \
	DECQ DX; \
	JNZ kwl; \
	VADDPS Z13, Z12, Z12; \
	JMP next; \
skip: \
	ADDQ 152(AX), R12; \
next: \
	SHRQ $1, R14; \
	ADDQ 88(AX), R9; \
	DECQ R11; \
	JNZ khl; \
	VMAXPS Z12, Z10, Z12; \
	VMINPS Z12, Z11, Z12; \
	KMOVW 14(CX), K7; \
	VMOVUPS Z12, K7, (DI)(BX*1); \
	ADDQ $64, BX; \
	ADDQ $32, CX; \
	CMPQ BX, 48(AX); \
	JLT block; \
	ADDQ 160(AX), DI; \
	ADDQ 80(AX), R8; \
	INCQ R15; \
	DECQ 144(AX); \
	JNZ row; \
	MOVQ 72(AX), R9; \
	ADDQ R9, 8(AX); \
	MOVQ 136(AX), R9; \
	ADDQ R9, 16(AX); \
	ADDQ $4, 24(AX); \
	DECQ SI; \
	JNZ plane; \
	VZEROUPPER; \
	RET

// func dwWin1AVX512(a *dwWinArgs)
TEXT ·dwWin1AVX512(SB), NOSPLIT, $0-8
	DWWIN(WINTAP1, 1, plane1, row1, block1, khl1, kwl1, skip1, next1)

// func dwWin2AVX512(a *dwWinArgs)
TEXT ·dwWin2AVX512(SB), NOSPLIT, $0-8
	VMOVUPS ·evenOddIdx(SB), Z20
	DWWIN(WINTAP2, 2, plane2, row2, block2, khl2, kwl2, skip2, next2)
