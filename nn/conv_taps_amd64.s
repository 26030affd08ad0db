//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// The tap kernels of conv_taps.go: for each output row r and column c,
// the sum (FMA) or NaN-propagating maximum over the taps of the padded
// copy at r·rs + off[t] + c. Four rows per pass (four accumulators; with
// four rows or more the last pass moves up to end at the last row,
// recomputing some rows, instead of running single rows), 16 columns per
// vector, the last partial vector stored under mask K1 (its loads are
// whole: the copy has tapSlack floats after it).
//
// Registers: AX args, DI y row, SI x window row, CX rows left, BX column
// bytes, R8 off pointer, R9 w pointer, R10 taps left, R11 rs, R12/R13 tap
// addresses, R14 ldy, DX ow16, Z28 bias (or -inf), Z29 lo, Z30 hi.

// SUMTAP/MAXTAP combine the vector at address a into accumulator acc
// (Z8: the tap's weight; MAXTAP uses kreg for the unordered lanes).
#define SUMTAP(a, acc, kreg) VFMADD231PS a, Z8, acc
#define MAXTAP(a, acc, kreg) VMOVUPS a, Z9; VCMPPS $3, Z9, acc, kreg; VMAXPS acc, Z9, acc; VADDPS Z9, acc, kreg, acc

#define SUMINIT VBROADCASTSS (R9), Z8
#define MAXINIT

#define SUMEND(acc) VMAXPS acc, Z29, acc; VMINPS acc, Z30, acc
#define MAXEND(acc)

// TAPSTART points R8/R9/R10 at the offsets, weights and count of the taps
// and R15 at column BX of the window; TAPNEXT(LBL) steps to the next tap.
// PASS4/PASS1(LBL, ST, TAP, INIT, END) compute 16 columns at BX of four
// rows (one row) from Z28, the taps' loop at label LBL, and store them with
// ST under K1 (STOREV or STOREVK of simd_amd64.h).
#define TAPSTART \
	MOVQ 56(AX), R8; MOVQ 64(AX), R9; MOVQ 48(AX), R10; \
	LEAQ (SI)(BX*1), R15
#define TAPNEXT(LBL) ADDQ $8, R8; ADDQ $4, R9; DECQ R10; JNZ LBL

#define PASS4(LBL, ST, TAP, INIT, END) \
	VMOVAPS Z28, Z0; VMOVAPS Z28, Z1; VMOVAPS Z28, Z2; VMOVAPS Z28, Z3; \
	TAPSTART; \
LBL: \
	MOVQ (R8), R12; ADDQ R15, R12; INIT; \
	TAP((R12), Z0, K2); TAP((R12)(R11*1), Z1, K3); \
	LEAQ (R12)(R11*2), R13; \
	TAP((R13), Z2, K4); TAP((R13)(R11*1), Z3, K5); \
	TAPNEXT(LBL); \
	END(Z0); END(Z1); END(Z2); END(Z3); \
	LEAQ (DI)(BX*1), R13; \
	ST(Z0, K1, (R13)); ST(Z1, K1, (R13)(R14*1)); LEAQ (R13)(R14*2), R13; \
	ST(Z2, K1, (R13)); ST(Z3, K1, (R13)(R14*1))

#define PASS1(LBL, ST, TAP, INIT, END) \
	VMOVAPS Z28, Z0; \
	TAPSTART; \
LBL: \
	MOVQ (R8), R12; ADDQ R15, R12; INIT; \
	TAP((R12), Z0, K2); \
	TAPNEXT(LBL); \
	END(Z0); \
	ST(Z0, K1, (DI)(BX*1))

#define KERNEL(NAME, TAP, INIT, END) \
TEXT NAME(SB), NOSPLIT, $0-8; \
	MOVQ a+0(FP), AX; \
	VBROADCASTSS 72(AX), Z28; VBROADCASTSS 76(AX), Z29; VBROADCASTSS 80(AX), Z30; \
	KMOVW 84(AX), K1; \
	MOVQ 0(AX), DI; MOVQ 8(AX), SI; MOVQ 16(AX), CX; MOVQ 24(AX), DX; \
	MOVQ 40(AX), R11; MOVQ 32(AX), R14; \
	CMPQ CX, $4; JLT rows1; \
rows4: \
	TESTQ CX, CX; JLE done; \
	CMPQ CX, $4; JGE pass4; \
	MOVQ $4, R12; SUBQ CX, R12; MOVQ R12, R13; \
	IMULQ R14, R13; SUBQ R13, DI; IMULQ R11, R12; SUBQ R12, SI; \
	MOVQ $4, CX; \
pass4: \
	XORQ BX, BX; \
cols4: \
	CMPQ BX, DX; JGE tail4; \
	PASS4(t4, STOREV, TAP, INIT, END); \
	ADDQ $64, BX; JMP cols4; \
tail4: \
	KORTESTW K1, K1; JZ next4; \
	PASS4(t4m, STOREVK, TAP, INIT, END); \
next4: \
	LEAQ (DI)(R14*4), DI; LEAQ (SI)(R11*4), SI; SUBQ $4, CX; JMP rows4; \
rows1: \
	TESTQ CX, CX; JZ done; \
	XORQ BX, BX; \
cols1: \
	CMPQ BX, DX; JGE tail1; \
	PASS1(t1, STOREV, TAP, INIT, END); \
	ADDQ $64, BX; JMP cols1; \
tail1: \
	KORTESTW K1, K1; JZ next1; \
	PASS1(t1m, STOREVK, TAP, INIT, END); \
next1: \
	ADDQ R14, DI; ADDQ R11, SI; DECQ CX; JMP rows1; \
done: \
	VZEROUPPER; \
	RET

// func tapSumAVX512(a *tapArgs)
KERNEL(·tapSumAVX512, SUMTAP, SUMINIT, SUMEND)

// func tapMaxAVX512(a *tapArgs)
KERNEL(·tapMaxAVX512, MAXTAP, MAXINIT, MAXEND)
