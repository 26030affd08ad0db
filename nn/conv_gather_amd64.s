//go:build amd64 && !purego

#include "textflag.h"

// func gatherRowsAVX512(dst, src *float32, rows, n, strideBytes int, tail uint64)
// Per row: n/16 full vectors, then the n%16 tail under the mask tail.
TEXT ·gatherRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ n+24(FP), DX
	MOVQ strideBytes+32(FP), R8
	MOVQ tail+40(FP), AX
	KMOVW AX, K1
	MOVQ DX, R9
	SHRQ $4, R9          // full vectors per row
	ANDQ $15, DX         // tail floats
	SHLQ $2, DX          // tail bytes
row:
	MOVQ SI, R10
	MOVQ R9, R11
full:
	TESTQ R11, R11
	JZ tail
	VMOVUPS (R10), Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, R10
	ADDQ $64, DI
	DECQ R11
	JMP full
tail:
	TESTQ DX, DX
	JZ next
	VMOVUPS.Z (R10), K1, Z0
	VMOVUPS Z0, K1, (DI)
	ADDQ DX, DI
next:
	ADDQ R8, SI
	DECQ CX
	JNZ row
	VZEROUPPER
	RET

// func im2colExactAVX512(a *im2colExactArgs)
TEXT ·im2colExactAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), DI
	MOVQ 8(AX), SI
	MOVQ 32(AX), CX
	VMOVDQU32 104(AX), Z31
	MOVQ 96(AX), DX
	KMOVW DX, K3
	VPXORD Z30, Z30, Z30
chan:
	MOVQ 16(AX), R8
	MOVQ 24(AX), R9
tap:
	MOVLQSX 0(R8), R10
	MOVLQSX 4(R8), R11
	MOVL 8(R8), DX
	KMOVW DX, K1
	SHRL $16, DX
	KMOVW DX, K2
	MOVQ 64(AX), R12
	IMULQ 80(AX), R12
	ADDQ R10, R12
	MOVQ 72(AX), R13
row:
	CMPQ R12, 88(AX)
	JCC zero
	MOVQ R12, R14
	IMULQ 48(AX), R14
	ADDQ R11, R14
	VMOVUPS.Z (SI)(R14*1), K1, Z0
	VMOVUPS.Z 64(SI)(R14*1), K2, Z1
	VMOVAPS Z31, Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVUPS Z2, K3, (DI)
	JMP adv
zero:
	VMOVUPS Z30, K3, (DI)
adv:
	ADDQ 56(AX), DI
	ADDQ 80(AX), R12
	DECQ R13
	JNZ row
	ADDQ $12, R8
	DECQ R9
	JNZ tap
	ADDQ 40(AX), SI
	DECQ CX
	JNZ chan
	VZEROUPPER
	RET
