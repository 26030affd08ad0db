//go:build amd64 && !purego

#include "textflag.h"

// 3x3 depthwise convolution of n small channels per call (dwSmallArgs in
// conv_dw_small.go). Per channel: each input row (up to 32 floats, two
// masked loads) is permuted into its three tap vectors, stored as one
// 192-byte scratch row; then each output row is bias + nine FMAs over the
// scratch rows of its window, clamped and stored under the OW mask.
// The loads of the tap vectors match their stores exactly (same address
// and width), so they are forwarded from the store buffer.

// func dwSmallAVX512(a *dwSmallArgs)
TEXT ·dwSmallAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI   // x
	MOVQ 8(AX), DI   // y
	MOVQ 16(AX), R8  // w
	MOVQ 24(AX), R9  // b
	MOVQ 32(AX), R10 // channels left
	KMOVW 112(AX), K1
	KMOVW 120(AX), K2
	KMOVW 128(AX), K3
	KMOVW 136(AX), K4
	KMOVW 144(AX), K5
	KMOVW 152(AX), K6
	VBROADCASTSS 160(AX), Z10
	VBROADCASTSS 164(AX), Z11
	VMOVDQU32 168(AX), Z20
	VMOVDQU32 232(AX), Z21
	VMOVDQU32 296(AX), Z22
	MOVQ 88(AX), BX // ds
	TESTQ R10, R10
	JZ done

channel:
	VBROADCASTSS 0(R8), Z0
	VBROADCASTSS 4(R8), Z1
	VBROADCASTSS 8(R8), Z2
	VBROADCASTSS 12(R8), Z3
	VBROADCASTSS 16(R8), Z4
	VBROADCASTSS 20(R8), Z5
	VBROADCASTSS 24(R8), Z6
	VBROADCASTSS 28(R8), Z7
	VBROADCASTSS 32(R8), Z8
	VBROADCASTSS (R9), Z9

	// Input rows into their tap vectors.
	MOVQ 40(AX), CX
	MOVQ 96(AX), DX
padrow:
	VMOVUPS.Z (SI), K1, Z12
	VMOVUPS.Z 64(SI), K2, Z13
	VMOVAPS Z20, Z14
	VPERMI2PS.Z Z13, Z12, K4, Z14
	VMOVAPS Z21, Z15
	VPERMI2PS.Z Z13, Z12, K5, Z15
	VMOVAPS Z22, Z16
	VPERMI2PS.Z Z13, Z12, K6, Z16
	VMOVUPS Z14, (DX)
	VMOVUPS Z15, 64(DX)
	VMOVUPS Z16, 128(DX)
	ADDQ 64(AX), SI
	ADDQ $192, DX
	DECQ CX
	JNZ padrow

	// Output rows.
	MOVQ 48(AX), CX
	MOVQ 104(AX), DX
	LEAQ (DX)(BX*1), R11
	LEAQ (R11)(BX*1), R12
outrow:
	VMOVAPS Z9, Z12
	VMULPS (DX), Z0, Z13
	VFMADD231PS 64(DX), Z1, Z12
	VFMADD231PS 128(DX), Z2, Z13
	VFMADD231PS (R11), Z3, Z12
	VFMADD231PS 64(R11), Z4, Z13
	VFMADD231PS 128(R11), Z5, Z12
	VFMADD231PS (R12), Z6, Z13
	VFMADD231PS 64(R12), Z7, Z12
	VFMADD231PS 128(R12), Z8, Z13
	VADDPS Z13, Z12, Z12
	VMAXPS Z12, Z10, Z12
	VMINPS Z12, Z11, Z12
	VMOVUPS Z12, K3, (DI)
	ADDQ 72(AX), DI
	MOVQ 80(AX), R13
	ADDQ R13, DX
	ADDQ R13, R11
	ADDQ R13, R12
	DECQ CX
	JNZ outrow

	ADDQ $36, R8
	ADDQ 56(AX), R9
	DECQ R10
	JNZ channel

done:
	VZEROUPPER
	RET
