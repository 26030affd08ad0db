//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// func affineClampAVX512(dst, src *float32, n int, a, b, lo, hi float32)
// dst[i] = min(max(src[i]·a + b, lo), hi) for i < n: a multiply and an add,
// rounded separately as the Go loop rounds them, 64 values per step, then
// 16, then a masked tail. A NaN stays NaN (the maximum and minimum return
// their second source when either is NaN).
TEXT ·affineClampAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Z28
	VBROADCASTSS b+28(FP), Z29
	VBROADCASTSS lo+32(FP), Z30
	VBROADCASTSS hi+36(FP), Z31
	CMPQ CX, $64
	JLT  tail16
loop64:
	VMULPS 0(SI), Z28, Z0
	VMULPS 64(SI), Z28, Z1
	VMULPS 128(SI), Z28, Z2
	VMULPS 192(SI), Z28, Z3
	VADDPS Z29, Z0, Z0
	VADDPS Z29, Z1, Z1
	VADDPS Z29, Z2, Z2
	VADDPS Z29, Z3, Z3
	VMAXPS Z0, Z30, Z0
	VMAXPS Z1, Z30, Z1
	VMAXPS Z2, Z30, Z2
	VMAXPS Z3, Z30, Z3
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
	JGE  loop64
tail16:
	CMPQ CX, $16
	JLT  tail
	VMULPS 0(SI), Z28, Z0
	VADDPS Z29, Z0, Z0
	VMAXPS Z0, Z30, Z0
	VMINPS Z0, Z31, Z0
	VMOVUPS Z0, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  tail16
tail:
	TESTQ CX, CX
	JE    done
	LOWMASK(AX)
	KMOVW AX, K1
	VMOVUPS.Z 0(SI), K1, Z0
	VMULPS Z0, Z28, Z0
	VADDPS Z29, Z0, Z0
	VMAXPS Z0, Z30, Z0
	VMINPS Z0, Z31, Z0
	VMOVUPS Z0, K1, 0(DI)
done:
	VZEROUPPER
	RET
