//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// One AVX-512 kernel for a whole output plane of a 3x3
// depthwise convolution over a padded input.

// DW16(off, MUL, FMA, a0, a1) accumulates the nine taps (weights Z0-Z8,
// input rows R8-R15 and DX) of the 16 columns at off + 4·BX bytes into a0
// (from the bias Z9) and a1; MUL/FMA are the full or masked (K1) forms of
// simd_amd64.h. DWOUT(off, ST, a0, a1) adds the halves, clamps them to
// [Z10, Z11] and stores them at off(DI)(BX*4) with ST under K1.
#define DW16(off, MUL, FMA, a0, a1) \
	VMOVAPS Z9, a0; \
	MUL(off(R13)(BX*4), Z5, K1, a1); \
	FMA(off(R8)(BX*4), Z0, K1, a0); \
	FMA(off(R9)(BX*4), Z1, K1, a0); \
	FMA(off(R10)(BX*4), Z2, K1, a0); \
	FMA(off(R11)(BX*4), Z3, K1, a0); \
	FMA(off(R12)(BX*4), Z4, K1, a0); \
	FMA(off(R14)(BX*4), Z6, K1, a1); \
	FMA(off(R15)(BX*4), Z7, K1, a1); \
	FMA(off(DX)(BX*4), Z8, K1, a1)
#define DWOUT(off, ST, a0, a1) \
	VADDPS a1, a0, a0; \
	VMAXPS a0, Z10, a0; \
	VMINPS a0, Z11, a0; \
	ST(a0, K1, off(DI)(BX*4))

// ROWPTR(off, r) sets r to the input row at offset off(AX) from SI.
#define ROWPTR(off, r) MOVQ off(AX), r; ADDQ SI, r

// func dw3PlaneAVX512(a *dw3Args)
TEXT ·dw3PlaneAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	BCAST9(AX, 136)
	VBROADCASTSS 172(AX), Z9
	VBROADCASTSS 176(AX), Z10
	VBROADCASTSS 180(AX), Z11
	KMOVW 40(AX), K1
	MOVQ 8(AX), SI
	ROWPTR(64, R8)
	ROWPTR(72, R9)
	ROWPTR(80, R10)
	ROWPTR(88, R11)
	ROWPTR(96, R12)
	ROWPTR(104, R13)
	ROWPTR(112, R14)
	ROWPTR(120, R15)
	ROWPTR(128, DX)
	MOVQ 0(AX), DI
	MOVQ 16(AX), SI
	MOVQ 24(AX), CX
	TESTQ SI, SI
	JZ done
row:
	XORQ BX, BX
loop64:
	CMPQ BX, CX
	JGE loop16
	DW16(0, MULV, FMAV, Z12, Z13)
	DW16(64, MULV, FMAV, Z14, Z15)
	DW16(128, MULV, FMAV, Z16, Z17)
	DW16(192, MULV, FMAV, Z18, Z19)
	DWOUT(0, STOREV, Z12, Z13)
	DWOUT(64, STOREV, Z14, Z15)
	DWOUT(128, STOREV, Z16, Z17)
	DWOUT(192, STOREV, Z18, Z19)
	ADDQ $64, BX
	JMP loop64
loop16:
	CMPQ BX, 32(AX)
	JGE tail
	DW16(0, MULV, FMAV, Z12, Z13)
	DWOUT(0, STOREV, Z12, Z13)
	ADDQ $16, BX
	JMP loop16
tail:
	KORTESTW K1, K1
	JZ next
	DW16(0, MULVZ, FMAVK, Z12, Z13)
	DWOUT(0, STOREVK, Z12, Z13)
next:
	ADDQ 48(AX), DI
	ADDQ 56(AX), R8
	ADDQ 56(AX), R9
	ADDQ 56(AX), R10
	ADDQ 56(AX), R11
	ADDQ 56(AX), R12
	ADDQ 56(AX), R13
	ADDQ 56(AX), R14
	ADDQ 56(AX), R15
	ADDQ 56(AX), DX
	DECQ SI
	JNZ row
done:
	VZEROUPPER
	RET
