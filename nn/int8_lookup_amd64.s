//go:build amd64 && !purego

#include "textflag.h"

// LOOKUP sets Z3 to the table's bytes at the 64 indices in Z0 (uint8): the
// two 128-byte halves (Z16:Z17, Z18:Z19) looked up by the low 7 bits with
// VPERMI2B, then picked by each index's top bit.
#define LOOKUP \
	VMOVDQA64 Z0, Z1; \
	VPERMI2B Z17, Z16, Z1; \
	VMOVDQA64 Z0, Z2; \
	VPERMI2B Z19, Z18, Z2; \
	VPMOVB2M Z0, K2; \
	VPBLENDMB Z2, Z1, K2, Z3

// func q8LookupAVX512(dst, src *int8, n int, table *[256]int8)
// dst[i] = table[uint8(src[i])] for i < n, 64 bytes a step and a masked
// tail.
TEXT ·q8LookupAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ table+24(FP), AX
	VMOVDQU64 0(AX), Z16
	VMOVDQU64 64(AX), Z17
	VMOVDQU64 128(AX), Z18
	VMOVDQU64 192(AX), Z19
loop:
	CMPQ CX, $64
	JLT tail
	VMOVDQU64 (SI), Z0
	LOOKUP
	VMOVDQU64 Z3, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $64, CX
	JMP loop
tail:
	TESTQ CX, CX
	JE done
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K1
	VMOVDQU8.Z (SI), K1, Z0
	LOOKUP
	VMOVDQU8 Z3, K1, (DI)
done:
	VZEROUPPER
	RET
