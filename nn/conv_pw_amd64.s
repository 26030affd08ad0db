//go:build amd64 && !purego

#include "textflag.h"

// Pointwise (1x1) convolution on small planes with the vector lanes across
// output channels (conv_pw.go): one call computes pwRows = 7 consecutive
// output pixels of nv·16 output channels over the whole depth, so no lane
// is wasted on a 7x7 or 14x14 plane. Per input channel it loads nv weight
// vectors (the packed panel: k rows of nv·16 floats), broadcasts the seven
// pixels' inputs (read in place from the NCHW planes) and runs 7·nv FMAs.
// The store adds the bias (a vector over channels), transposes each
// vector's seven accumulators in registers into the 16 channels' rows of 7
// pixels, adds the residual, clamps and stores the rows with a 7-lane mask.
//
// Registers: AX the *pwArgs, SI the input row (pixel p0 of the current
// channel), R9 the input channel stride, DI the weights, CX the depth left,
// R12 the next line to prefetch into L2 (pwArgs.pf);
// accumulators Z0 up (row r, vector v: Z(nv·r+v)), weights Z28-Z30,
// broadcasts Z31. Store: biases Z21-Z23, then the lane permutations
// Z24/Z23; clamp Z25/Z26; transposition temporaries Z21, Z22, Z27-Z29;
// Z30/Z31 the halves stored and the residual loaded; K2 the 7-pixel mask;
// R10 the output row of the channel stored (R13 the residual's), R8 one
// channel's stride, R11 four, R12 twelve.

// PWLOAD takes the arguments.
#define PWLOAD \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), SI; \
	MOVQ 8(AX), R9; \
	MOVQ 16(AX), DI; \
	MOVQ 24(AX), CX; \
	MOVQ 72(AX), R12

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

// PWEPI loads what every store needs: clamp, mask, lane permutation A,
// the output (R10) and residual (R13) bases and the channel strides.
#define PWEPI \
	VBROADCASTSS 56(AX), Z25; \
	VBROADCASTSS 60(AX), Z26; \
	MOVL $0x7f, BX; \
	KMOVW BX, K2; \
	VMOVDQU32 pwPermA<>(SB), Z24; \
	MOVQ 48(AX), DX; \
	MOVQ 32(AX), R10; \
	MOVQ 40(AX), R13; \
	MOVQ 64(AX), R8; \
	LEAQ (R8*4), R11; \
	LEAQ (R11)(R11*2), R12

// PWOUT clamps w, whose low half is pixels p0..p0+7 of one channel and
// high half those of another, and stores the first 7 of each at ca and cb;
// PWOUTR first adds the residual rows at ra and rb.
#define PWOUT(w, ca, cb, ra, rb) \
	VMAXPS w, Z25, w; \
	VMINPS w, Z26, w; \
	VMOVUPS w, K2, ca; \
	VEXTRACTF64X4 $1, w, Y30; \
	VMOVUPS Z30, K2, cb

#define PWOUTR(w, ca, cb, ra, rb) \
	VMOVUPS.Z ra, K2, Z30; \
	VMOVUPS.Z rb, K2, Z31; \
	VINSERTF64X4 $1, Y31, Z30, Z30; \
	VADDPS Z30, w, w; \
	PWOUT(w, ca, cb, ra, rb)

// PWPAIR takes u = channels 4L+j, rows 0-3 (128-bit lane L) and u4 = the
// same channels' rows 4-7, and stores channels j and 4+j (a permuted copy
// in Z28) and 8+j and 12+j (u permuted in place); then the next j.
#define PWPAIR(OUT, u, u4) \
	VMOVAPS u, Z28; \
	VPERMT2PS u4, Z24, Z28; \
	VPERMT2PS u4, Z23, u; \
	OUT(Z28, (R10), (R10)(R11*1), (R13), (R13)(R11*1)); \
	OUT(u, (R10)(R11*2), (R10)(R12*1), (R13)(R11*2), (R13)(R12*1)); \
	ADDQ R8, R10; \
	ADDQ R8, R13

// PWVEC stores one vector's accumulators a0-a6 (pixels p0..p0+6 of 16
// channels): 4x4 transposes within 128-bit lanes (row 7 repeats row 6),
// then PWPAIR per channel j of a lane; R10/R13 move on to the next vector.
#define PWVEC(OUT, a0, a1, a2, a3, a4, a5, a6) \
	VUNPCKLPS a1, a0, Z21; \
	VUNPCKHPS a1, a0, a0; \
	VUNPCKLPS a3, a2, Z22; \
	VUNPCKHPS a3, a2, a2; \
	VUNPCKLPS a5, a4, Z27; \
	VUNPCKHPS a5, a4, a4; \
	VUNPCKLPS a6, a6, Z28; \
	VUNPCKHPS a6, a6, a6; \
	VUNPCKLPD Z22, Z21, a1; \
	VUNPCKHPD Z22, Z21, Z21; \
	VUNPCKLPD a2, a0, a3; \
	VUNPCKHPD a2, a0, a0; \
	VUNPCKLPD Z28, Z27, a5; \
	VUNPCKHPD Z28, Z27, Z27; \
	VUNPCKLPD a6, a4, Z29; \
	VUNPCKHPD a6, a4, a4; \
	PWPAIR(OUT, a1, a5); \
	PWPAIR(OUT, Z21, Z27); \
	PWPAIR(OUT, a3, Z29); \
	PWPAIR(OUT, a0, a4); \
	ADDQ R12, R10; \
	ADDQ R12, R13

// ADDB7 adds bias vector b to the seven accumulators of one vector.
#define ADDB7(b, a0, a1, a2, a3, a4, a5, a6) \
	VADDPS b, a0, a0; VADDPS b, a1, a1; VADDPS b, a2, a2; VADDPS b, a3, a3; \
	VADDPS b, a4, a4; VADDPS b, a5, a5; VADDPS b, a6, a6

// Lane permutations of PWPAIR: 128-bit lanes (0, 0', 1, 1') and (2, 2', 3, 3')
// of u and u4.
DATA pwPermA<>+0(SB)/4, $0
DATA pwPermA<>+4(SB)/4, $1
DATA pwPermA<>+8(SB)/4, $2
DATA pwPermA<>+12(SB)/4, $3
DATA pwPermA<>+16(SB)/4, $16
DATA pwPermA<>+20(SB)/4, $17
DATA pwPermA<>+24(SB)/4, $18
DATA pwPermA<>+28(SB)/4, $19
DATA pwPermA<>+32(SB)/4, $4
DATA pwPermA<>+36(SB)/4, $5
DATA pwPermA<>+40(SB)/4, $6
DATA pwPermA<>+44(SB)/4, $7
DATA pwPermA<>+48(SB)/4, $20
DATA pwPermA<>+52(SB)/4, $21
DATA pwPermA<>+56(SB)/4, $22
DATA pwPermA<>+60(SB)/4, $23
GLOBL pwPermA<>(SB), RODATA|NOPTR, $64
DATA pwPermB<>+0(SB)/4, $8
DATA pwPermB<>+4(SB)/4, $9
DATA pwPermB<>+8(SB)/4, $10
DATA pwPermB<>+12(SB)/4, $11
DATA pwPermB<>+16(SB)/4, $24
DATA pwPermB<>+20(SB)/4, $25
DATA pwPermB<>+24(SB)/4, $26
DATA pwPermB<>+28(SB)/4, $27
DATA pwPermB<>+32(SB)/4, $12
DATA pwPermB<>+36(SB)/4, $13
DATA pwPermB<>+40(SB)/4, $14
DATA pwPermB<>+44(SB)/4, $15
DATA pwPermB<>+48(SB)/4, $28
DATA pwPermB<>+52(SB)/4, $29
DATA pwPermB<>+56(SB)/4, $30
DATA pwPermB<>+60(SB)/4, $31
GLOBL pwPermB<>(SB), RODATA|NOPTR, $64

// func pwKern3AVX512(a *pwArgs)
TEXT ·pwKern3AVX512(SB), NOSPLIT, $0-8
	PWLOAD
	ZERO7(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	ZERO7(Z7, Z8, Z9, Z10, Z11, Z12, Z13)
	ZERO7(Z14, Z15, Z16, Z17, Z18, Z19, Z20)
loop3:
	PREFETCHT1 (R12)
	ADDQ $64, R12
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
	ADDB7(Z21, Z0, Z3, Z6, Z9, Z12, Z15, Z18)
	ADDB7(Z22, Z1, Z4, Z7, Z10, Z13, Z16, Z19)
	ADDB7(Z23, Z2, Z5, Z8, Z11, Z14, Z17, Z20)
	VMOVDQU32 pwPermB<>(SB), Z23
	TESTQ R13, R13
	JZ plain3
	PWVEC(PWOUTR, Z0, Z3, Z6, Z9, Z12, Z15, Z18)
	PWVEC(PWOUTR, Z1, Z4, Z7, Z10, Z13, Z16, Z19)
	PWVEC(PWOUTR, Z2, Z5, Z8, Z11, Z14, Z17, Z20)
	VZEROUPPER
	RET
plain3:
	PWVEC(PWOUT, Z0, Z3, Z6, Z9, Z12, Z15, Z18)
	PWVEC(PWOUT, Z1, Z4, Z7, Z10, Z13, Z16, Z19)
	PWVEC(PWOUT, Z2, Z5, Z8, Z11, Z14, Z17, Z20)
	VZEROUPPER
	RET

// func pwKern2AVX512(a *pwArgs)
TEXT ·pwKern2AVX512(SB), NOSPLIT, $0-8
	PWLOAD
	ZERO7(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	ZERO7(Z7, Z8, Z9, Z10, Z11, Z12, Z13)
loop2:
	PREFETCHT1 (R12)
	ADDQ $64, R12
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
	ADDB7(Z21, Z0, Z2, Z4, Z6, Z8, Z10, Z12)
	ADDB7(Z22, Z1, Z3, Z5, Z7, Z9, Z11, Z13)
	VMOVDQU32 pwPermB<>(SB), Z23
	TESTQ R13, R13
	JZ plain2
	PWVEC(PWOUTR, Z0, Z2, Z4, Z6, Z8, Z10, Z12)
	PWVEC(PWOUTR, Z1, Z3, Z5, Z7, Z9, Z11, Z13)
	VZEROUPPER
	RET
plain2:
	PWVEC(PWOUT, Z0, Z2, Z4, Z6, Z8, Z10, Z12)
	PWVEC(PWOUT, Z1, Z3, Z5, Z7, Z9, Z11, Z13)
	VZEROUPPER
	RET

// func pwKern1AVX512(a *pwArgs)
TEXT ·pwKern1AVX512(SB), NOSPLIT, $0-8
	PWLOAD
	ZERO7(Z0, Z1, Z2, Z3, Z4, Z5, Z6)
loop1:
	PREFETCHT1 (R12)
	ADDQ $64, R12
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
	ADDB7(Z21, Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	VMOVDQU32 pwPermB<>(SB), Z23
	TESTQ R13, R13
	JZ plain1
	PWVEC(PWOUTR, Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	VZEROUPPER
	RET
plain1:
	PWVEC(PWOUT, Z0, Z1, Z2, Z3, Z4, Z5, Z6)
	VZEROUPPER
	RET
