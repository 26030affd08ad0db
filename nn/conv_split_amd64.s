//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// evenOddIdx: the index vectors of VPERMI2PS that gather the even and the
// odd elements of a pair of vectors (32 floats), at +0 and +64; also used
// by maxPool2x2AVX512.
DATA ·evenOddIdx+0(SB)/4, $0
DATA ·evenOddIdx+4(SB)/4, $2
DATA ·evenOddIdx+8(SB)/4, $4
DATA ·evenOddIdx+12(SB)/4, $6
DATA ·evenOddIdx+16(SB)/4, $8
DATA ·evenOddIdx+20(SB)/4, $10
DATA ·evenOddIdx+24(SB)/4, $12
DATA ·evenOddIdx+28(SB)/4, $14
DATA ·evenOddIdx+32(SB)/4, $16
DATA ·evenOddIdx+36(SB)/4, $18
DATA ·evenOddIdx+40(SB)/4, $20
DATA ·evenOddIdx+44(SB)/4, $22
DATA ·evenOddIdx+48(SB)/4, $24
DATA ·evenOddIdx+52(SB)/4, $26
DATA ·evenOddIdx+56(SB)/4, $28
DATA ·evenOddIdx+60(SB)/4, $30
DATA ·evenOddIdx+64(SB)/4, $1
DATA ·evenOddIdx+68(SB)/4, $3
DATA ·evenOddIdx+72(SB)/4, $5
DATA ·evenOddIdx+76(SB)/4, $7
DATA ·evenOddIdx+80(SB)/4, $9
DATA ·evenOddIdx+84(SB)/4, $11
DATA ·evenOddIdx+88(SB)/4, $13
DATA ·evenOddIdx+92(SB)/4, $15
DATA ·evenOddIdx+96(SB)/4, $17
DATA ·evenOddIdx+100(SB)/4, $19
DATA ·evenOddIdx+104(SB)/4, $21
DATA ·evenOddIdx+108(SB)/4, $23
DATA ·evenOddIdx+112(SB)/4, $25
DATA ·evenOddIdx+116(SB)/4, $27
DATA ·evenOddIdx+120(SB)/4, $29
DATA ·evenOddIdx+124(SB)/4, $31
GLOBL ·evenOddIdx(SB), RODATA|NOPTR, $128

// func splitEvenOddAVX512(x, e, o *float32, blocks int)
// e[i] = x[2i], o[i] = x[2i+1] for i < 16·blocks.
TEXT ·splitEvenOddAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ e+8(FP), DI
	MOVQ o+16(FP), DX
	MOVQ blocks+24(FP), CX
	VMOVUPS ·evenOddIdx+0(SB), Z30
	VMOVUPS ·evenOddIdx+64(SB), Z31
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
	LOWMASK(AX)
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	LEAQ 1(BX), CX
	SHRQ $1, CX
	LOWMASK(AX)
	KMOVW AX, K3
	MOVQ BX, CX
	SHRQ $1, CX
	LOWMASK(AX)
	KMOVW AX, K4
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS.Z 64(SI), K2, Z1
	VMOVUPS ·evenOddIdx+0(SB), Z2
	VPERMI2PS Z1, Z0, Z2
	VMOVUPS ·evenOddIdx+64(SB), Z3
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS Z2, K3, (DI)
	VMOVUPS Z3, K4, (DX)
	VZEROUPPER
	RET
