//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// 3x3 depthwise convolution of n small channels per call (dwSmallArgs in
// conv_dw_small.go). Per channel: each input row (up to 32 floats, two
// masked loads) is permuted into its tap vectors (three per 16 output
// columns), stored as one scratch row; then each output row is bias + nine
// FMAs per 16 columns over the scratch rows of its window, clamped and
// stored under the OW mask.
// The loads of the tap vectors match their stores exactly (same address
// and width), so they are forwarded from the store buffer.

// DWSMALL(NAME, SETUP, PADROW, OUTROW) writes a kernel: SETUP loads its
// masks and index vectors, PADROW turns the input row at SI into its tap
// vectors at DX (and steps both), OUTROW computes the output row at DI from
// the scratch rows DX, R11 and R12 (R11/R12 one and two rows of BX bytes
// below). The rest is the same for both widths: per channel, the 3x3
// weights to Z0-Z8 and the bias to Z9, the input rows, then the output rows.
// Arguments (dwSmallArgs at AX): SI x, DI y, R8 w, R9 b, R10 the channels
// left, K1/K2 the input row's masks, Z10/Z11 lo/hi, BX the scratch row
// stride (ds).
#define DWSMALL(NAME, SETUP, PADROW, OUTROW) \
TEXT NAME(SB), NOSPLIT, $0-8; \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), SI; MOVQ 8(AX), DI; MOVQ 16(AX), R8; MOVQ 24(AX), R9; MOVQ 32(AX), R10; \
	KMOVW 112(AX), K1; KMOVW 120(AX), K2; \
	VBROADCASTSS 192(AX), Z10; VBROADCASTSS 196(AX), Z11; \
	MOVQ 88(AX), BX; \
	SETUP; \
	TESTQ R10, R10; JZ done; \
channel: \
	BCAST9(R8, 0); \
	VBROADCASTSS (R9), Z9; \
	MOVQ 40(AX), CX; MOVQ 96(AX), DX; \
padrow: \
	PADROW; \
	DECQ CX; JNZ padrow; \
	MOVQ 48(AX), CX; MOVQ 104(AX), DX; \
	LEAQ (DX)(BX*1), R11; LEAQ (R11)(BX*1), R12; \
outrow: \
	OUTROW; \
	ADDQ 72(AX), DI; MOVQ 80(AX), R13; \
	ADDQ R13, DX; ADDQ R13, R11; ADDQ R13, R12; \
	DECQ CX; JNZ outrow; \
	ADDQ $36, R8; ADDQ 56(AX), R9; \
	DECQ R10; JNZ channel; \
done: \
	VZEROUPPER; \
	RET

// Output rows of up to 16 floats: three tap vectors per scratch row (one per
// kw), one accumulator pair per output row.
#define DWS16SETUP \
	KMOVW 128(AX), K3; KMOVW 144(AX), K4; KMOVW 152(AX), K5; KMOVW 160(AX), K6; \
	VMOVDQU32 200(AX), Z20; VMOVDQU32 264(AX), Z21; VMOVDQU32 328(AX), Z22
#define DWS16PAD \
	VMOVUPS.Z (SI), K1, Z12; \
	VMOVUPS.Z 64(SI), K2, Z13; \
	VMOVAPS Z20, Z14; \
	VPERMI2PS.Z Z13, Z12, K4, Z14; \
	VMOVAPS Z21, Z15; \
	VPERMI2PS.Z Z13, Z12, K5, Z15; \
	VMOVAPS Z22, Z16; \
	VPERMI2PS.Z Z13, Z12, K6, Z16; \
	VMOVUPS Z14, (DX); \
	VMOVUPS Z15, 64(DX); \
	VMOVUPS Z16, 128(DX); \
	ADDQ 64(AX), SI; \
	ADDQ $192, DX
#define DWS16OUT \
	VMOVAPS Z9, Z12; \
	VMULPS (DX), Z0, Z13; \
	VFMADD231PS 64(DX), Z1, Z12; \
	VFMADD231PS 128(DX), Z2, Z13; \
	VFMADD231PS (R11), Z3, Z12; \
	VFMADD231PS 64(R11), Z4, Z13; \
	VFMADD231PS 128(R11), Z5, Z12; \
	VFMADD231PS (R12), Z6, Z13; \
	VFMADD231PS 64(R12), Z7, Z12; \
	VFMADD231PS 128(R12), Z8, Z13; \
	VADDPS Z13, Z12, Z12; \
	VMAXPS Z12, Z10, Z12; \
	VMINPS Z12, Z11, Z12; \
	VMOVUPS Z12, K3, (DI)

// func dwSmallAVX512(a *dwSmallArgs)
DWSMALL(·dwSmallAVX512, DWS16SETUP, DWS16PAD, DWS16OUT)

// Output rows of 17 to 32 floats: six tap vectors per scratch row (vector
// 2·kw + half), two accumulator pairs per output row.
#define DWS32SETUP \
	KMOVW 136(AX), K3; KMOVW 144(AX), K4; KMOVW 160(AX), K5; KMOVW 176(AX), K6; \
	VMOVDQU32 200(AX), Z24; VMOVDQU32 264(AX), Z25; VMOVDQU32 328(AX), Z26; \
	VMOVDQU32 392(AX), Z27; VMOVDQU32 456(AX), Z28; VMOVDQU32 520(AX), Z29
#define DWS32PAD \
	VMOVUPS.Z (SI), K1, Z16; \
	VMOVUPS.Z 64(SI), K2, Z17; \
	VMOVAPS Z24, Z18; \
	VPERMI2PS.Z Z17, Z16, K4, Z18; \
	KMOVW 152(AX), K7; \
	VMOVAPS Z25, Z19; \
	VPERMI2PS.Z Z17, Z16, K7, Z19; \
	VMOVAPS Z26, Z20; \
	VPERMI2PS.Z Z17, Z16, K5, Z20; \
	KMOVW 168(AX), K7; \
	VMOVAPS Z27, Z21; \
	VPERMI2PS.Z Z17, Z16, K7, Z21; \
	VMOVAPS Z28, Z22; \
	VPERMI2PS.Z Z17, Z16, K6, Z22; \
	KMOVW 184(AX), K7; \
	VMOVAPS Z29, Z23; \
	VPERMI2PS.Z Z17, Z16, K7, Z23; \
	VMOVUPS Z18, (DX); \
	VMOVUPS Z19, 64(DX); \
	VMOVUPS Z20, 128(DX); \
	VMOVUPS Z21, 192(DX); \
	VMOVUPS Z22, 256(DX); \
	VMOVUPS Z23, 320(DX); \
	ADDQ 64(AX), SI; \
	ADDQ $384, DX
#define DWS32OUT \
	VMOVAPS Z9, Z12; \
	VMULPS (DX), Z0, Z13; \
	VMOVAPS Z9, Z14; \
	VMULPS 64(DX), Z0, Z15; \
	VFMADD231PS 128(DX), Z1, Z12; \
	VFMADD231PS 192(DX), Z1, Z14; \
	VFMADD231PS 256(DX), Z2, Z13; \
	VFMADD231PS 320(DX), Z2, Z15; \
	VFMADD231PS (R11), Z3, Z12; \
	VFMADD231PS 64(R11), Z3, Z14; \
	VFMADD231PS 128(R11), Z4, Z13; \
	VFMADD231PS 192(R11), Z4, Z15; \
	VFMADD231PS 256(R11), Z5, Z12; \
	VFMADD231PS 320(R11), Z5, Z14; \
	VFMADD231PS (R12), Z6, Z13; \
	VFMADD231PS 64(R12), Z6, Z15; \
	VFMADD231PS 128(R12), Z7, Z12; \
	VFMADD231PS 192(R12), Z7, Z14; \
	VFMADD231PS 256(R12), Z8, Z13; \
	VFMADD231PS 320(R12), Z8, Z15; \
	VADDPS Z13, Z12, Z12; \
	VADDPS Z15, Z14, Z14; \
	VMAXPS Z12, Z10, Z12; \
	VMAXPS Z14, Z10, Z14; \
	VMINPS Z12, Z11, Z12; \
	VMINPS Z14, Z11, Z14; \
	VMOVUPS Z12, (DI); \
	VMOVUPS Z14, K3, 64(DI)

// func dwSmallWideAVX512(a *dwSmallArgs)
DWSMALL(·dwSmallWideAVX512, DWS32SETUP, DWS32PAD, DWS32OUT)
