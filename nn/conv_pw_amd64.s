//go:build amd64 && !purego

#include "textflag.h"

// Pointwise (1x1) convolution on small planes with the vector lanes across
// output channels (conv_pw.go): one call computes pwRows = 7 consecutive
// output pixels of nv·16 output channels over the whole depth, so no lane
// is wasted on a 7x7 or 14x14 plane. Per input channel it loads nv weight
// vectors (the packed panel: k rows of nv·16 floats), broadcasts the seven
// pixels' inputs (read in place from the NCHW planes) and runs 7·nv FMAs.
// The store adds the bias (a vector over channels), the residual (gathered
// from NCHW), clamps and scatters each accumulator to its 16 channels'
// planes.
//
// Registers: AX the *pwArgs, SI the input row (pixel p0 of the current
// channel), R9 the input channel stride, DI the weights, CX the depth left;
// accumulators Z0 up (row r, vector v: Z(nv·r+v)), weights Z28-Z30,
// broadcasts Z31. Store: biases Z21-Z23, channel offsets Z24, clamp Z25/Z26,
// gathered residual Z27, output vector bases R10-R12, residual bases
// R13/R14/BX.

// PWLOAD takes the arguments.
#define PWLOAD \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), SI; \
	MOVQ 8(AX), R9; \
	MOVQ 16(AX), DI; \
	MOVQ 24(AX), CX

// ZERO7 zeroes seven accumulators.
#define ZERO7(a, b, c, d, e, f, g) \
	VPXORD a, a, a; VPXORD b, b, b; VPXORD c, c, c; VPXORD d, d, d; \
	VPXORD e, e, e; VPXORD f, f, f; VPXORD g, g, g

// PWROWn broadcasts the input of one pixel (at off(SI)) and accumulates it
// times the nv weight vectors.
#define PWROW1(off, a0) \
	VBROADCASTSS off(SI), Z31; \
	VFMADD231PS Z28, Z31, a0

#define PWROW2(off, a0, a1) \
	VBROADCASTSS off(SI), Z31; \
	VFMADD231PS Z28, Z31, a0; \
	VFMADD231PS Z29, Z31, a1

#define PWROW3(off, a0, a1, a2) \
	VBROADCASTSS off(SI), Z31; \
	VFMADD231PS Z28, Z31, a0; \
	VFMADD231PS Z29, Z31, a1; \
	VFMADD231PS Z30, Z31, a2

// PWEPI loads what every store needs: clamp, channel offsets, the output
// base of vector 0 (R10) and the vector stride (R8).
#define PWEPI \
	VBROADCASTSS 56(AX), Z25; \
	VBROADCASTSS 60(AX), Z26; \
	VMOVDQU32 72(AX), Z24; \
	MOVQ 48(AX), DX; \
	MOVQ 32(AX), R10; \
	MOVQ 64(AX), R8; \
	MOVQ 40(AX), R13

// PWOUT stores accumulator acc (pixel at byte offset off, bias vector b)
// to the 16 channels' planes from base yb; PWOUTR first adds the residual
// gathered from base rb at the same offsets.
//
// STOREn(OUT) stores the 7·n accumulators of an n-vector kernel with OUT
// (PWOUT or PWOUTR): row r at byte offset 4r, vector v from bases
// R10/R11/R12 (output) and R13/R14/BX (residual).
#define PWOUT(acc, b, off, yb, rb) \
	VADDPS b, acc, acc; \
	VMAXPS acc, Z25, acc; \
	VMINPS acc, Z26, acc; \
	KXNORW K0, K0, K1; \
	VSCATTERDPS acc, K1, off(yb)(Z24*1)

#define PWOUTR(acc, b, off, yb, rb) \
	VADDPS b, acc, acc; \
	KXNORW K0, K0, K1; \
	VGATHERDPS off(rb)(Z24*1), K1, Z27; \
	VADDPS Z27, acc, acc; \
	VMAXPS acc, Z25, acc; \
	VMINPS acc, Z26, acc; \
	KXNORW K0, K0, K1; \
	VSCATTERDPS acc, K1, off(yb)(Z24*1)

#define STORE3(OUT) \
	OUT(Z0, Z21, 0, R10, R13); \
	OUT(Z1, Z22, 0, R11, R14); \
	OUT(Z2, Z23, 0, R12, BX); \
	OUT(Z3, Z21, 4, R10, R13); \
	OUT(Z4, Z22, 4, R11, R14); \
	OUT(Z5, Z23, 4, R12, BX); \
	OUT(Z6, Z21, 8, R10, R13); \
	OUT(Z7, Z22, 8, R11, R14); \
	OUT(Z8, Z23, 8, R12, BX); \
	OUT(Z9, Z21, 12, R10, R13); \
	OUT(Z10, Z22, 12, R11, R14); \
	OUT(Z11, Z23, 12, R12, BX); \
	OUT(Z12, Z21, 16, R10, R13); \
	OUT(Z13, Z22, 16, R11, R14); \
	OUT(Z14, Z23, 16, R12, BX); \
	OUT(Z15, Z21, 20, R10, R13); \
	OUT(Z16, Z22, 20, R11, R14); \
	OUT(Z17, Z23, 20, R12, BX); \
	OUT(Z18, Z21, 24, R10, R13); \
	OUT(Z19, Z22, 24, R11, R14); \
	OUT(Z20, Z23, 24, R12, BX)

#define STORE2(OUT) \
	OUT(Z0, Z21, 0, R10, R13); \
	OUT(Z1, Z22, 0, R11, R14); \
	OUT(Z2, Z21, 4, R10, R13); \
	OUT(Z3, Z22, 4, R11, R14); \
	OUT(Z4, Z21, 8, R10, R13); \
	OUT(Z5, Z22, 8, R11, R14); \
	OUT(Z6, Z21, 12, R10, R13); \
	OUT(Z7, Z22, 12, R11, R14); \
	OUT(Z8, Z21, 16, R10, R13); \
	OUT(Z9, Z22, 16, R11, R14); \
	OUT(Z10, Z21, 20, R10, R13); \
	OUT(Z11, Z22, 20, R11, R14); \
	OUT(Z12, Z21, 24, R10, R13); \
	OUT(Z13, Z22, 24, R11, R14)

#define STORE1(OUT) \
	OUT(Z0, Z21, 0, R10, R13); \
	OUT(Z1, Z21, 4, R10, R13); \
	OUT(Z2, Z21, 8, R10, R13); \
	OUT(Z3, Z21, 12, R10, R13); \
	OUT(Z4, Z21, 16, R10, R13); \
	OUT(Z5, Z21, 20, R10, R13); \
	OUT(Z6, Z21, 24, R10, R13)

// func pwKern3AVX512(a *pwArgs)
TEXT ·pwKern3AVX512(SB), NOSPLIT, $0-8
	PWLOAD
	ZERO7(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	ZERO7(Z7, Z8, Z9, Z10, Z11, Z12, Z13)
	ZERO7(Z14, Z15, Z16, Z17, Z18, Z19, Z20)
loop3:
	VMOVUPS 0(DI), Z28
	VMOVUPS 64(DI), Z29
	VMOVUPS 128(DI), Z30
	PWROW3(0, Z0, Z1, Z2)
	PWROW3(4, Z3, Z4, Z5)
	PWROW3(8, Z6, Z7, Z8)
	PWROW3(12, Z9, Z10, Z11)
	PWROW3(16, Z12, Z13, Z14)
	PWROW3(20, Z15, Z16, Z17)
	PWROW3(24, Z18, Z19, Z20)
	ADDQ R9, SI
	ADDQ $192, DI
	DECQ CX
	JNZ loop3
	PWEPI
	VMOVUPS 0(DX), Z21
	VMOVUPS 64(DX), Z22
	VMOVUPS 128(DX), Z23
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	TESTQ R13, R13
	JZ plain3
	LEAQ (R13)(R8*1), R14
	LEAQ (R14)(R8*1), BX
	STORE3(PWOUTR)
	VZEROUPPER
	RET
plain3:
	STORE3(PWOUT)
	VZEROUPPER
	RET

// func pwKern2AVX512(a *pwArgs)
TEXT ·pwKern2AVX512(SB), NOSPLIT, $0-8
	PWLOAD
	ZERO7(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	ZERO7(Z7, Z8, Z9, Z10, Z11, Z12, Z13)
loop2:
	VMOVUPS 0(DI), Z28
	VMOVUPS 64(DI), Z29
	PWROW2(0, Z0, Z1)
	PWROW2(4, Z2, Z3)
	PWROW2(8, Z4, Z5)
	PWROW2(12, Z6, Z7)
	PWROW2(16, Z8, Z9)
	PWROW2(20, Z10, Z11)
	PWROW2(24, Z12, Z13)
	ADDQ R9, SI
	ADDQ $128, DI
	DECQ CX
	JNZ loop2
	PWEPI
	VMOVUPS 0(DX), Z21
	VMOVUPS 64(DX), Z22
	LEAQ (R10)(R8*1), R11
	TESTQ R13, R13
	JZ plain2
	LEAQ (R13)(R8*1), R14
	STORE2(PWOUTR)
	VZEROUPPER
	RET
plain2:
	STORE2(PWOUT)
	VZEROUPPER
	RET

// func pwKern1AVX512(a *pwArgs)
TEXT ·pwKern1AVX512(SB), NOSPLIT, $0-8
	PWLOAD
	ZERO7(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
loop1:
	VMOVUPS 0(DI), Z28
	PWROW1(0, Z0)
	PWROW1(4, Z1)
	PWROW1(8, Z2)
	PWROW1(12, Z3)
	PWROW1(16, Z4)
	PWROW1(20, Z5)
	PWROW1(24, Z6)
	ADDQ R9, SI
	ADDQ $64, DI
	DECQ CX
	JNZ loop1
	PWEPI
	VMOVUPS 0(DX), Z21
	TESTQ R13, R13
	JZ plain1
	STORE1(PWOUTR)
	VZEROUPPER
	RET
plain1:
	STORE1(PWOUT)
	VZEROUPPER
	RET
