//go:build amd64 && !purego

#include "textflag.h"

// Index vectors of VPERMI2PS: even and odd elements of a 32-float pair.
DATA mpEven<>+0(SB)/4, $0
DATA mpOdd<>+0(SB)/4, $1
DATA mpEven<>+4(SB)/4, $2
DATA mpOdd<>+4(SB)/4, $3
DATA mpEven<>+8(SB)/4, $4
DATA mpOdd<>+8(SB)/4, $5
DATA mpEven<>+12(SB)/4, $6
DATA mpOdd<>+12(SB)/4, $7
DATA mpEven<>+16(SB)/4, $8
DATA mpOdd<>+16(SB)/4, $9
DATA mpEven<>+20(SB)/4, $10
DATA mpOdd<>+20(SB)/4, $11
DATA mpEven<>+24(SB)/4, $12
DATA mpOdd<>+24(SB)/4, $13
DATA mpEven<>+28(SB)/4, $14
DATA mpOdd<>+28(SB)/4, $15
DATA mpEven<>+32(SB)/4, $16
DATA mpOdd<>+32(SB)/4, $17
DATA mpEven<>+36(SB)/4, $18
DATA mpOdd<>+36(SB)/4, $19
DATA mpEven<>+40(SB)/4, $20
DATA mpOdd<>+40(SB)/4, $21
DATA mpEven<>+44(SB)/4, $22
DATA mpOdd<>+44(SB)/4, $23
DATA mpEven<>+48(SB)/4, $24
DATA mpOdd<>+48(SB)/4, $25
DATA mpEven<>+52(SB)/4, $26
DATA mpOdd<>+52(SB)/4, $27
DATA mpEven<>+56(SB)/4, $28
DATA mpOdd<>+56(SB)/4, $29
DATA mpEven<>+60(SB)/4, $30
DATA mpOdd<>+60(SB)/4, $31
GLOBL mpEven<>(SB), RODATA|NOPTR, $64
GLOBL mpOdd<>(SB), RODATA|NOPTR, $64

// func maxPool2x2AVX512(a *mp2Args)
TEXT ·maxPool2x2AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	VMOVUPS mpEven<>(SB), Z30
	VMOVUPS mpOdd<>(SB), Z31
	MOVQ 0(AX), DI
	MOVQ 8(AX), SI
	MOVQ 16(AX), CX
	MOVQ 24(AX), DX
	KMOVW 32(AX), K1
	KMOVW 34(AX), K5
	KMOVW 36(AX), K6
	TESTQ CX, CX
	JZ done
row:
	MOVQ SI, R9
	ADDQ 48(AX), R9
	XORQ BX, BX
loop:
	CMPQ BX, DX
	JGE tail
	VMOVUPS (SI)(BX*8), Z0
	VMOVUPS 64(SI)(BX*8), Z1
	VMOVUPS (R9)(BX*8), Z2
	VMOVUPS 64(R9)(BX*8), Z3
	VMAXPS Z2, Z0, Z4
	VMAXPS Z3, Z1, Z5
	VCMPPS $3, Z2, Z0, K2
	VCMPPS $3, Z3, Z1, K3
	VADDPS Z2, Z0, K2, Z4
	VADDPS Z3, Z1, K3, Z5
	VMOVAPS Z30, Z6
	VPERMI2PS Z5, Z4, Z6
	VMOVAPS Z31, Z7
	VPERMI2PS Z5, Z4, Z7
	VMAXPS Z7, Z6, Z8
	VCMPPS $3, Z7, Z6, K4
	VADDPS Z7, Z6, K4, Z8
	VMOVUPS Z8, (DI)(BX*4)
	ADDQ $16, BX
	JMP loop
tail:
	KORTESTW K1, K1
	JZ next
	VMOVUPS.Z (SI)(BX*8), K5, Z0
	VMOVUPS.Z 64(SI)(BX*8), K6, Z1
	VMOVUPS.Z (R9)(BX*8), K5, Z2
	VMOVUPS.Z 64(R9)(BX*8), K6, Z3
	VMAXPS Z2, Z0, Z4
	VMAXPS Z3, Z1, Z5
	VCMPPS $3, Z2, Z0, K2
	VCMPPS $3, Z3, Z1, K3
	VADDPS Z2, Z0, K2, Z4
	VADDPS Z3, Z1, K3, Z5
	VMOVAPS Z30, Z6
	VPERMI2PS Z5, Z4, Z6
	VMOVAPS Z31, Z7
	VPERMI2PS Z5, Z4, Z7
	VMAXPS Z7, Z6, Z8
	VCMPPS $3, Z7, Z6, K4
	VADDPS Z7, Z6, K4, Z8
	VMOVUPS Z8, K1, (DI)(BX*4)
next:
	ADDQ 40(AX), SI
	ADDQ 56(AX), DI
	DECQ CX
	JNZ row
done:
	VZEROUPPER
	RET
