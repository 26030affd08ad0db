//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"

// MAXPOOL16(LD, ST, k0, k1, ks) writes the 16 outputs at (DI)(BX*4): the
// NaN-propagating maximum of each 2x2 window of the rows at SI and R9, 32
// floats from (BX*8). LD loads the two input halves under k0 and k1, ST
// stores under ks (see simd_amd64.h). Z30/Z31: the even/odd index vectors.
#define MAXPOOL16(LD, ST, k0, k1, ks) \
	LD((SI)(BX*8), k0, Z0); \
	LD(64(SI)(BX*8), k1, Z1); \
	LD((R9)(BX*8), k0, Z2); \
	LD(64(R9)(BX*8), k1, Z3); \
	VMAXPS Z2, Z0, Z4; \
	VMAXPS Z3, Z1, Z5; \
	VCMPPS $3, Z2, Z0, K2; \
	VCMPPS $3, Z3, Z1, K3; \
	VADDPS Z2, Z0, K2, Z4; \
	VADDPS Z3, Z1, K3, Z5; \
	VMOVAPS Z30, Z6; \
	VPERMI2PS Z5, Z4, Z6; \
	VMOVAPS Z31, Z7; \
	VPERMI2PS Z5, Z4, Z7; \
	VMAXPS Z7, Z6, Z8; \
	VCMPPS $3, Z7, Z6, K4; \
	VADDPS Z7, Z6, K4, Z8; \
	NEGZEROS(Z8); \
	ST(Z8, ks, (DI)(BX*4))

// NEGZEROS adds z's -0 lanes to R12 (K7, R11 scratch): a -0 maximum may
// be wrong, as VMAXPS gives either zero for ±0, and Go's max +0.
#define NEGZEROS(z) VFPCLASSPSZ $0x04, z, K7; KMOVW K7, R11; ORL R11, R12

// AVGPOOL16(LD, ST, k0, k1, ks) is MAXPOOL16 for the average: each
// window's four inputs summed from +0 in avgPlane2x2's order (row 0's
// even and odd lane, then row 1's), times 1/4 (Z29), which equals the
// division by 4: the result is avgPlane2x2's bit for bit.
#define AVGPOOL16(LD, ST, k0, k1, ks) \
	LD((SI)(BX*8), k0, Z0); \
	LD(64(SI)(BX*8), k1, Z1); \
	LD((R9)(BX*8), k0, Z2); \
	LD(64(R9)(BX*8), k1, Z3); \
	VMOVAPS Z30, Z4; \
	VPERMI2PS Z1, Z0, Z4; \
	VMOVAPS Z31, Z5; \
	VPERMI2PS Z1, Z0, Z5; \
	VMOVAPS Z30, Z6; \
	VPERMI2PS Z3, Z2, Z6; \
	VMOVAPS Z31, Z7; \
	VPERMI2PS Z3, Z2, Z7; \
	VXORPS Z8, Z8, Z8; \
	VADDPS Z4, Z8, Z8; \
	VADDPS Z5, Z8, Z8; \
	VADDPS Z6, Z8, Z8; \
	VADDPS Z7, Z8, Z8; \
	VMULPS Z29, Z8, Z8; \
	ST(Z8, ks, (DI)(BX*4))

// POOL2X2(POOL16) is a 2x2/2 pool's loop over rows and 16-output blocks
// (the last one masked), over mp2Args at AX; it sets special to R12.
#define POOL2X2(POOL16) \
	XORQ R12, R12; \
	VMOVUPS ·evenOddIdx+0(SB), Z30; \
	VMOVUPS ·evenOddIdx+64(SB), Z31; \
	MOVQ 0(AX), DI; \
	MOVQ 8(AX), SI; \
	MOVQ 16(AX), CX; \
	MOVQ 24(AX), DX; \
	KMOVW 32(AX), K1; \
	KMOVW 34(AX), K5; \
	KMOVW 36(AX), K6; \
	TESTQ CX, CX; \
	JZ done; \
row: \
	MOVQ SI, R9; \
	ADDQ 48(AX), R9; \
	XORQ BX, BX; \
loop: \
	CMPQ BX, DX; \
	JGE tail; \
	POOL16(LOADV, STOREV, K0, K0, K0); \
	ADDQ $16, BX; \
	JMP loop; \
tail: \
	KORTESTW K1, K1; \
	JZ next; \
	POOL16(LOADVZ, STOREVK, K5, K6, K1); \
next: \
	ADDQ 40(AX), SI; \
	ADDQ 56(AX), DI; \
	DECQ CX; \
	JNZ row; \
done: \
	MOVQ R12, 64(AX); \
	VZEROUPPER; \
	RET

// func maxPool2x2AVX512(a *mp2Args)
TEXT ·maxPool2x2AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	POOL2X2(MAXPOOL16)

// func avgPool2x2AVX512(a *mp2Args)
TEXT ·avgPool2x2AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVL $0x3e800000, R10 // 0.25
	VPBROADCASTD R10, Z29
	POOL2X2(AVGPOOL16)
