//go:build amd64 && !purego

#include "textflag.h"

// Index vectors of VPERMI2PS: even and odd elements of 32 floats.
DATA splitEven<>+0(SB)/4, $0
DATA splitEven<>+4(SB)/4, $2
DATA splitEven<>+8(SB)/4, $4
DATA splitEven<>+12(SB)/4, $6
DATA splitEven<>+16(SB)/4, $8
DATA splitEven<>+20(SB)/4, $10
DATA splitEven<>+24(SB)/4, $12
DATA splitEven<>+28(SB)/4, $14
DATA splitEven<>+32(SB)/4, $16
DATA splitEven<>+36(SB)/4, $18
DATA splitEven<>+40(SB)/4, $20
DATA splitEven<>+44(SB)/4, $22
DATA splitEven<>+48(SB)/4, $24
DATA splitEven<>+52(SB)/4, $26
DATA splitEven<>+56(SB)/4, $28
DATA splitEven<>+60(SB)/4, $30
DATA splitOdd<>+0(SB)/4, $1
DATA splitOdd<>+4(SB)/4, $3
DATA splitOdd<>+8(SB)/4, $5
DATA splitOdd<>+12(SB)/4, $7
DATA splitOdd<>+16(SB)/4, $9
DATA splitOdd<>+20(SB)/4, $11
DATA splitOdd<>+24(SB)/4, $13
DATA splitOdd<>+28(SB)/4, $15
DATA splitOdd<>+32(SB)/4, $17
DATA splitOdd<>+36(SB)/4, $19
DATA splitOdd<>+40(SB)/4, $21
DATA splitOdd<>+44(SB)/4, $23
DATA splitOdd<>+48(SB)/4, $25
DATA splitOdd<>+52(SB)/4, $27
DATA splitOdd<>+56(SB)/4, $29
DATA splitOdd<>+60(SB)/4, $31
GLOBL splitEven<>(SB), RODATA|NOPTR, $64
GLOBL splitOdd<>(SB), RODATA|NOPTR, $64

// func splitEvenOddAVX512(x, e, o *float32, blocks int)
// e[i] = x[2i], o[i] = x[2i+1] for i < 16·blocks.
TEXT ·splitEvenOddAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ e+8(FP), DI
	MOVQ o+16(FP), DX
	MOVQ blocks+24(FP), CX
	VMOVUPS splitEven<>(SB), Z30
	VMOVUPS splitOdd<>(SB), Z31
	TESTQ CX, CX
	JZ done
loop:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVAPS Z30, Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVAPS Z31, Z3
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, (DI)
	VMOVUPS Z3, (DX)
	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $64, DX
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func splitEvenOddTailAVX512(x, e, o *float32, n int)
// e[i] = x[2i] for 2i < n, o[i] = x[2i+1] for 2i+1 < n, with 0 < n < 32:
// masked loads and stores, nothing read or written past the n values.
TEXT ·splitEvenOddTailAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ e+8(FP), DI
	MOVQ o+16(FP), DX
	MOVQ n+24(FP), BX
	MOVQ BX, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	LEAQ 1(BX), CX
	SHRQ $1, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K3
	MOVQ BX, CX
	SHRQ $1, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K4
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS splitEven<>(SB), Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVUPS splitOdd<>(SB), Z3
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, K3, (DI)
	VMOVUPS Z3, K4, (DX)
	VZEROUPPER
	RET
