//go:build amd64 && !purego

#include "textflag.h"

// func clampAVX512(dst, src *float32, n int, lo, hi float32)
// dst[i] = min(max(src[i], lo), hi) for i < n, 64 values per step, then 16,
// then a masked tail. A NaN in src stays NaN (the maximum and minimum return
// their second source, src, when either is NaN).
TEXT ·clampAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS lo+24(FP), Z30
	VBROADCASTSS hi+28(FP), Z31
	CMPQ CX, $64
	JLT tail16
loop64:
	VMAXPS 0(SI), Z30, Z0
	VMAXPS 64(SI), Z30, Z1
	VMAXPS 128(SI), Z30, Z2
	VMAXPS 192(SI), Z30, Z3
	VMINPS Z0, Z31, Z0
	VMINPS Z1, Z31, Z1
	VMINPS Z2, Z31, Z2
	VMINPS Z3, Z31, Z3
	VMOVUPS Z0, 0(DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	VMOVUPS Z3, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	CMPQ CX, $64
	JGE loop64
tail16:
	CMPQ CX, $16
	JLT tail
	VMAXPS 0(SI), Z30, Z0
	VMINPS Z0, Z31, Z0
	VMOVUPS Z0, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP tail16
tail:
	TESTQ CX, CX
	JE done
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z 0(SI), K1, Z0
	VMAXPS Z0, Z30, Z0
	VMINPS Z0, Z31, Z0
	VMOVUPS Z0, K1, 0(DI)
done:
	VZEROUPPER
	RET
