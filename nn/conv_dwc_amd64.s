//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// Depthwise convolution on channel-blocked tiles (conv_dwc.go): 16 channels
// side by side in one vector, so a small plane (7x7, 14x14) wastes no lanes.
// dwcTr16AVX512 moves a 16x16 block between planes and the [pixel][16]
// layout; dwc1/dwc2AVX512 compute output rows from a padded tile, up to 8
// output pixels at a time, each window tap one weight vector load and one
// FMA (memory source) per pixel.

// The compute kernels. dwcArgs (offsets fixed by conv_dwc_amd64.go): 0 t
// (the tile), 8 w (16 floats per tap), 16 bias (16 floats), 24 o (16 floats
// per output pixel), 32 output rows, 40 output columns, 48 kh, 56 kw, 64
// bytes between output rows' window origins, 72 between window rows, 80
// between window columns, 88 lo, 92 hi. Registers: AX the args, R8 the row's
// window origin, SI the block's, DI the output, BX rows left, CX columns
// left in the row, R9 the window row, R10 the tap, R11 window rows left, DX
// taps left in the window row, R12 the weights; Z0-Z7 the sums, Z28/Z29
// the clamp, Z30 the bias, Z31 the tap's weights.

#define I1 VMOVAPS Z30, Z0
#define I2 I1; VMOVAPS Z30, Z1
#define I3 I2; VMOVAPS Z30, Z2
#define I4 I3; VMOVAPS Z30, Z3
#define I5 I4; VMOVAPS Z30, Z4
#define I6 I5; VMOVAPS Z30, Z5
#define I7 I6; VMOVAPS Z30, Z6
#define I8 I7; VMOVAPS Z30, Z7

#define F1(S) VFMADD231PS (R10), Z31, Z0
#define F2(S) F1(S); VFMADD231PS (1*S)(R10), Z31, Z1
#define F3(S) F2(S); VFMADD231PS (2*S)(R10), Z31, Z2
#define F4(S) F3(S); VFMADD231PS (3*S)(R10), Z31, Z3
#define F5(S) F4(S); VFMADD231PS (4*S)(R10), Z31, Z4
#define F6(S) F5(S); VFMADD231PS (5*S)(R10), Z31, Z5
#define F7(S) F6(S); VFMADD231PS (6*S)(R10), Z31, Z6
#define F8(S) F7(S); VFMADD231PS (7*S)(R10), Z31, Z7

#define CS(z, off) VMAXPS z, Z28, z; VMINPS z, Z29, z; VMOVUPS z, off(DI)
#define S1 CS(Z0, 0)
#define S2 S1; CS(Z1, 64)
#define S3 S2; CS(Z2, 128)
#define S4 S3; CS(Z3, 192)
#define S5 S4; CS(Z4, 256)
#define S6 S5; CS(Z5, 320)
#define S7 S6; CS(Z6, 384)
#define S8 S7; CS(Z7, 448)

// DWCBLOCK computes N output pixels of the row from window origin SI, each
// tap's inputs read by the FMAs (FMAM).
#define DWCBLOCK(N, INIT, FMAM, LOADN, FMAR, SHIFT, STORE, khl, kwl, kwd) \
	INIT; \
	MOVQ 8(AX), R12; \
	MOVQ SI, R9; \
	MOVQ 48(AX), R11; \
khl: \
	MOVQ R9, R10; \
	MOVQ 56(AX), DX; \
kwl: \
	VMOVUPS (R12), Z31; \
	FMAM; \
	ADDQ $64, R12; \
	ADDQ 80(AX), R10; \
	DECQ DX; \
	JNZ kwl; \
	ADDQ 72(AX), R9; \
	DECQ R11; \
	JNZ khl; \
	STORE; \
	ADDQ $(N*64), DI; \
	SUBQ $N, CX; \
	JMP next

// DWCSLIDE is DWCBLOCK for stride 1 and dilation 1 along the row: a window
// row's N inputs are loaded into Z8-Z15 once (LOADN), each tap's FMAs take
// them from registers (FMAR), and the window slides one pixel on by
// register moves and one load (SHIFT), so a tap loads two vectors, not
// N + 1.
#define DWCSLIDE(N, INIT, FMAM, LOADN, FMAR, SHIFT, STORE, khl, kwl, kwd) \
	INIT; \
	MOVQ 8(AX), R12; \
	MOVQ SI, R9; \
	MOVQ 48(AX), R11; \
khl: \
	MOVQ R9, R10; \
	LOADN; \
	MOVQ 56(AX), DX; \
kwl: \
	VMOVUPS (R12), Z31; \
	FMAR; \
	ADDQ $64, R12; \
	DECQ DX; \
	JZ kwd; \
	SHIFT; \
	ADDQ $64, R10; \
	JMP kwl; \
kwd: \
	ADDQ 72(AX), R9; \
	DECQ R11; \
	JNZ khl; \
	STORE; \
	ADDQ $(N*64), DI; \
	SUBQ $N, CX; \
	JMP next

#define L1 VMOVUPS (R10), Z8
#define L2 L1; VMOVUPS 64(R10), Z9
#define L3 L2; VMOVUPS 128(R10), Z10
#define L4 L3; VMOVUPS 192(R10), Z11
#define L5 L4; VMOVUPS 256(R10), Z12
#define L6 L5; VMOVUPS 320(R10), Z13
#define L7 L6; VMOVUPS 384(R10), Z14
#define L8 L7; VMOVUPS 448(R10), Z15

#define FR1 VFMADD231PS Z8, Z31, Z0
#define FR2 FR1; VFMADD231PS Z9, Z31, Z1
#define FR3 FR2; VFMADD231PS Z10, Z31, Z2
#define FR4 FR3; VFMADD231PS Z11, Z31, Z3
#define FR5 FR4; VFMADD231PS Z12, Z31, Z4
#define FR6 FR5; VFMADD231PS Z13, Z31, Z5
#define FR7 FR6; VFMADD231PS Z14, Z31, Z6
#define FR8 FR7; VFMADD231PS Z15, Z31, Z7

#define M2 VMOVAPS Z9, Z8
#define M3 M2; VMOVAPS Z10, Z9
#define M4 M3; VMOVAPS Z11, Z10
#define M5 M4; VMOVAPS Z12, Z11
#define M6 M5; VMOVAPS Z13, Z12
#define M7 M6; VMOVAPS Z14, Z13
#define M8 M7; VMOVAPS Z15, Z14
#define SH1 VMOVUPS 64(R10), Z8
#define SH2 M2; VMOVUPS 128(R10), Z9
#define SH3 M3; VMOVUPS 192(R10), Z10
#define SH4 M4; VMOVUPS 256(R10), Z11
#define SH5 M5; VMOVUPS 320(R10), Z12
#define SH6 M6; VMOVUPS 384(R10), Z13
#define SH7 M7; VMOVUPS 448(R10), Z14
#define SH8 M8; VMOVUPS 512(R10), Z15

// DWC is the kernel of pixel step S bytes (64 per stride unit), blocks
// computed by BLOCK.
#define DWC(S, BLOCK) \
	MOVQ a+0(FP), AX; \
	VBROADCASTSS 88(AX), Z28; \
	VBROADCASTSS 92(AX), Z29; \
	MOVQ 16(AX), R8; \
	VMOVUPS (R8), Z30; \
	MOVQ 24(AX), DI; \
	MOVQ 0(AX), R8; \
	MOVQ 32(AX), BX; \
row: \
	MOVQ R8, SI; \
	MOVQ 40(AX), CX; \
pix: \
	CMPQ CX, $8; \
	JGE b8; \
	CMPQ CX, $4; \
	JGT b567; \
	JEQ b4; \
	CMPQ CX, $2; \
	JGT b3; \
	JEQ b2; \
	JMP b1; \
b567: \
	CMPQ CX, $6; \
	JGT b7; \
	JEQ b6; \
	JMP b5; \
b8: \
	BLOCK(8, I8, F8(S), L8, FR8, SH8, S8, kh8, kw8, kd8); \
b7: \
	BLOCK(7, I7, F7(S), L7, FR7, SH7, S7, kh7, kw7, kd7); \
b6: \
	BLOCK(6, I6, F6(S), L6, FR6, SH6, S6, kh6, kw6, kd6); \
b5: \
	BLOCK(5, I5, F5(S), L5, FR5, SH5, S5, kh5, kw5, kd5); \
b4: \
	BLOCK(4, I4, F4(S), L4, FR4, SH4, S4, kh4, kw4, kd4); \
b3: \
	BLOCK(3, I3, F3(S), L3, FR3, SH3, S3, kh3, kw3, kd3); \
b2: \
	BLOCK(2, I2, F2(S), L2, FR2, SH2, S2, kh2, kw2, kd2); \
b1: \
	BLOCK(1, I1, F1(S), L1, FR1, SH1, S1, kh1, kw1, kd1); \
next: \
	ADDQ $(8*S), SI; \
	TESTQ CX, CX; \
	JG pix; \
	ADDQ 64(AX), R8; \
	DECQ BX; \
	JNZ row; \
	VZEROUPPER; \
	RET

// func dwc1AVX512(a *dwcArgs)
TEXT ·dwc1AVX512(SB), NOSPLIT, $0-8
	DWC(64, DWCBLOCK)

// func dwc2AVX512(a *dwcArgs)
TEXT ·dwc2AVX512(SB), NOSPLIT, $0-8
	DWC(128, DWCBLOCK)

// func dwcSlideAVX512(a *dwcArgs)
TEXT ·dwcSlideAVX512(SB), NOSPLIT, $0-8
	DWC(64, DWCSLIDE)

// dwcTr16AVX512(dst, ldd, src, lds, nr, nc, smask): dst[c·ldd + r] =
// src[r·lds + c] (ldd, lds in bytes) for rows r < nr of src (the others
// read as zero) and columns c < nc, storing only the lanes r of smask.
TEXT ·dwcTr16AVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R8
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R9
	MOVQ nr+32(FP), BX
	MOVQ nc+40(FP), CX
	MOVQ $1, DX
	SHLQ CX, DX
	DECQ DX
	KMOVW DX, K1
	MOVQ smask+48(FP), DX
	KMOVW DX, K2
	MOVQ nc+40(FP), DX
	VXORPS Z0, Z0, Z0; VXORPS Z1, Z1, Z1; VXORPS Z2, Z2, Z2; VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4; VXORPS Z5, Z5, Z5; VXORPS Z6, Z6, Z6; VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8; VXORPS Z9, Z9, Z9; VXORPS Z10, Z10, Z10; VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12; VXORPS Z13, Z13, Z13; VXORPS Z14, Z14, Z14; VXORPS Z15, Z15, Z15
#define TRLOAD(z, n) VMOVUPS.Z (SI), K1, z; CMPQ BX, $n; JLE transpose; ADDQ R9, SI
	TRLOAD(Z0, 1); TRLOAD(Z1, 2); TRLOAD(Z2, 3); TRLOAD(Z3, 4)
	TRLOAD(Z4, 5); TRLOAD(Z5, 6); TRLOAD(Z6, 7); TRLOAD(Z7, 8)
	TRLOAD(Z8, 9); TRLOAD(Z9, 10); TRLOAD(Z10, 11); TRLOAD(Z11, 12)
	TRLOAD(Z12, 13); TRLOAD(Z13, 14); TRLOAD(Z14, 15)
	VMOVUPS.Z (SI), K1, Z15
transpose:
	TRANSPOSE16
#define TRSTORE(z, n) VMOVUPS z, K2, (DI); CMPQ DX, $n; JLE done; ADDQ R8, DI
	TRSTORE(Z0, 1); TRSTORE(Z1, 2); TRSTORE(Z2, 3); TRSTORE(Z3, 4)
	TRSTORE(Z4, 5); TRSTORE(Z5, 6); TRSTORE(Z6, 7); TRSTORE(Z7, 8)
	TRSTORE(Z8, 9); TRSTORE(Z9, 10); TRSTORE(Z10, 11); TRSTORE(Z11, 12)
	TRSTORE(Z12, 13); TRSTORE(Z13, 14); TRSTORE(Z14, 15)
	VMOVUPS Z15, K2, (DI)
done:
	VZEROUPPER
	RET
