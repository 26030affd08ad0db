//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

#define AFFINE(z) VMULPS z, Z28, z; VADDPS Z29, z, z; VMAXPS z, Z30, z; VMINPS z, Z31, z
#define AFFINE4 \
	VMOVUPS 0(SI), Z0; VMOVUPS 64(SI), Z1; VMOVUPS 128(SI), Z2; VMOVUPS 192(SI), Z3; \
	AFFINE(Z0); AFFINE(Z1); AFFINE(Z2); AFFINE(Z3); \
	VMOVUPS Z0, 0(DI); VMOVUPS Z1, 64(DI); VMOVUPS Z2, 128(DI); VMOVUPS Z3, 192(DI)
#define AFFINE1 VMOVUPS 0(SI), Z0; AFFINE(Z0); VMOVUPS Z0, 0(DI)
#define AFFINEM VMOVUPS.Z 0(SI), K1, Z0; AFFINE(Z0); VMOVUPS Z0, K1, 0(DI)
#define AFFINESTEP(n) ADDQ $n, SI; ADDQ $n, DI

// func affineClampAVX512(dst, src *float32, n int, a, b, lo, hi float32)
// dst[i] = min(max(src[i]·a + b, lo), hi) for i < n: a multiply and an add,
// rounded separately as the Go loop rounds them, 64 values per step, then
// 16, then a masked tail (MAP). A NaN stays NaN (the maximum and minimum
// return their second source when either is NaN).
TEXT ·affineClampAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Z28
	VBROADCASTSS b+28(FP), Z29
	VBROADCASTSS lo+32(FP), Z30
	VBROADCASTSS hi+36(FP), Z31
	MAP(AFFINE4, AFFINE1, AFFINEM, AFFINESTEP)
