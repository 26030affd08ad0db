//go:build amd64 && !purego

#include "textflag.h"
#include "dwdirect_amd64.h"

// 3x3 convolution of one input plane into several output planes (conv_dwmulti.go):
// per 16-output block the nine taps' inputs are loaded once (zero in the
// lanes of the padding, as pathDWDirect masks them, and for window rows
// outside the image) and every output channel is nine FMAs on them with
// its broadcast weights. Registers: Z0-Z8 the taps' inputs, Z10/Z11 the
// clamp, R8-R10 the window rows' bases, R11 the tap column stride in
// bytes, BX the output byte offset in the row, CX the block's masks, DI
// the output row of channel 0; per channel R13 its output row, R14 its
// weights, R15 its bias, DX the channels left.

// ZERO3 clears z0-z2 (a window row in the padding).
#define ZERO3(z0, z1, z2) VXORPS z0, z0, z0; VXORPS z1, z1, z1; VXORPS z2, z2, z2

// ROWIN1 loads window row kh (bit b of on, base r) into z0-z2 (stride 1).
#define ROWIN1(b, skip, done, r, z0, z1, z2) \
	TESTB $b, 48(AX); \
	JZ skip; \
	LEAQ (r)(BX*1), R12; \
	VMOVUPS.Z (R12), K1, z0; \
	VMOVUPS.Z (R12)(R11*1), K3, z1; \
	VMOVUPS.Z (R12)(R11*2), K5, z2; \
	JMP done; \
skip: \
	ZERO3(z0, z1, z2); \
done:

// EVEN loads the 32 input lanes at a (masks klo, khi; zero elsewhere) and
// gathers their even lanes into z.
#define EVEN(a, a64, klo, khi, z) \
	VMOVUPS.Z a, klo, z; \
	VMOVUPS.Z a64, khi, Z15; \
	VPERMT2PS Z15, Z20, z

// ROWIN2 is ROWIN1 for stride 2.
#define ROWIN2(b, skip, done, r, z0, z1, z2) \
	TESTB $b, 48(AX); \
	JZ skip; \
	LEAQ (r)(BX*2), R12; \
	EVEN((R12), 64(R12), K1, K2, z0); \
	EVEN((R12)(R11*1), 64(R12)(R11*1), K3, K4, z1); \
	EVEN((R12)(R11*2), 64(R12)(R11*2), K5, K6, z2); \
	JMP done; \
skip: \
	ZERO3(z0, z1, z2); \
done:

// DWMULTI is a kernel's loop over rows, 16-output blocks and output
// channels, ROWIN loading the window rows.
#define DWMULTI(ROWIN, row, block, ch, s0, d0, s1, d1, s2, d2) \
	MOVQ a+0(FP), AX; \
	VBROADCASTSS 120(AX), Z10; \
	VBROADCASTSS 124(AX), Z11; \
	MOVQ 8(AX), SI; \
	MOVQ 64(AX), R8; ADDQ SI, R8; \
	MOVQ 72(AX), R9; ADDQ SI, R9; \
	MOVQ 80(AX), R10; ADDQ SI, R10; \
	MOVQ 88(AX), R11; \
	MOVQ 0(AX), DI; \
	MOVQ 16(AX), SI; \
row: \
	ROWSTART; \
block: \
	TAPMASKS; \
	KMOVW 12(CX), K7; \
	ROWIN(1, s0, d0, R8, Z0, Z1, Z2); \
	ROWIN(2, s1, d1, R9, Z3, Z4, Z5); \
	ROWIN(4, s2, d2, R10, Z6, Z7, Z8); \
	MOVQ DI, R13; \
	MOVQ 96(AX), R14; \
	MOVQ 104(AX), R15; \
	MOVQ 112(AX), DX; \
ch: \
	VBROADCASTSS (R15), Z12; \
	VMULPS.BCST 12(R14), Z3, Z13; \
	VFMADD231PS.BCST 0(R14), Z0, Z12; \
	VFMADD231PS.BCST 4(R14), Z1, Z12; \
	VFMADD231PS.BCST 8(R14), Z2, Z12; \
	VFMADD231PS.BCST 16(R14), Z4, Z13; \
	VFMADD231PS.BCST 20(R14), Z5, Z13; \
	VFMADD231PS.BCST 24(R14), Z6, Z12; \
	VFMADD231PS.BCST 28(R14), Z7, Z13; \
	VFMADD231PS.BCST 32(R14), Z8, Z12; \
	VADDPS Z13, Z12, Z12; \
	VMAXPS Z12, Z10, Z12; \
	VMINPS Z12, Z11, Z12; \
	VMOVUPS Z12, K7, (R13)(BX*1); \
	ADDQ 128(AX), R13; \
	ADDQ $36, R14; \
	ADDQ $4, R15; \
	DECQ DX; \
	JNZ ch; \
	NEXTBLOCK(block); \
	ADDQ 32(AX), DI; \
	ADDQ 40(AX), R8; \
	ADDQ 40(AX), R9; \
	ADDQ 40(AX), R10; \
	DECQ SI; \
	JNZ row; \
	VZEROUPPER; \
	RET

// func dwMulti1AVX512(a *dwMultiArgs)
TEXT ·dwMulti1AVX512(SB), NOSPLIT, $0-8
	DWMULTI(ROWIN1, row1, block1, ch1, s01, d01, s11, d11, s21, d21)

// func dwMulti2AVX512(a *dwMultiArgs)
TEXT ·dwMulti2AVX512(SB), NOSPLIT, $0-8
	VMOVUPS ·evenOddIdx(SB), Z20
	DWMULTI(ROWIN2, row2, block2, ch2, s02, d02, s12, d12, s22, d22)
