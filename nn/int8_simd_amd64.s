//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 int8 kernels (int8_simd_amd64.go). The requantization follows
// int8.go exactly: with acc' = acc + init (int32, no overflow by the
// caller's noSat check), x = acc'·m (exact int64, VPMULDQ),
// v = (x + hz + (x>>63)) >> s with hz = 2^(s-1) + y_zp·2^s (rounding half
// away from zero and the zero point in one add), clamped to [lo, hi].

// REQ16 requantizes the 16 int32 in Z0 (after the init add) into Z2 (low
// 8 lanes) and Z3 (high 8 lanes) as int64 in [lo, hi]. Parameters: Z21 m
// (dword broadcast), Z22 hz, Z23 s, Z24 lo, Z25 hi. Clobbers Z1, Z4, Z5.
#define REQ16 \
	VEXTRACTI64X4 $1, Z0, Y1 \
	VPMOVSXDQ Y0, Z2 \
	VPMOVSXDQ Y1, Z3 \
	VPMULDQ Z21, Z2, Z2 \
	VPMULDQ Z21, Z3, Z3 \
	VPSRAQ $63, Z2, Z4 \
	VPSRAQ $63, Z3, Z5 \
	VPADDQ Z22, Z2, Z2 \
	VPADDQ Z22, Z3, Z3 \
	VPADDQ Z4, Z2, Z2 \
	VPADDQ Z5, Z3, Z3 \
	VPSRAVQ Z23, Z2, Z2 \
	VPSRAVQ Z23, Z3, Z3 \
	VPMAXSQ Z24, Z2, Z2 \
	VPMAXSQ Z24, Z3, Z3 \
	VPMINSQ Z25, Z2, Z2 \
	VPMINSQ Z25, Z3, Z3

// func q8RequantAVX512(acc *int32, n int, dst *int8, p *q8Lane, lohi *[2]int64)
TEXT ·q8RequantAVX512(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ p+24(FP), R8
	MOVQ lohi+32(FP), R9
	VPBROADCASTD 0(R8), Z20
	VPBROADCASTD 4(R8), Z21
	VPBROADCASTQ 8(R8), Z22
	VPBROADCASTQ 16(R8), Z23
	VPBROADCASTQ 0(R9), Z24
	VPBROADCASTQ 8(R9), Z25
loop:
	CMPQ CX, $16
	JLT tail
	VMOVDQU32 (SI), Z0
	VPADDD Z20, Z0, Z0
	REQ16
	VPMOVQB Z2, (DI)
	VPMOVQB Z3, 8(DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JMP loop
tail:
	TESTQ CX, CX
	JE done
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	KSHIFTRW $8, K1, K2
	VMOVDQU32.Z (SI), K1, Z0
	VPADDD Z20, Z0, Z0
	REQ16
	VPMOVQB Z2, K1, (DI)
	VPMOVQB Z3, K2, 8(DI)
done:
	VZEROUPPER
	RET
