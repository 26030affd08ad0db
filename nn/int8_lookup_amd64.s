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

// ROW16 sets r to the bytes of the table's 16-byte row at off(AX) indexed
// by the low nibbles in Y1.
#define ROW16(off, r) \
	VBROADCASTI128 off(AX), r; \
	VPSHUFB Y1, r, r

// QUAD4 sets a to the lookups in the four rows from off(AX), picked by
// bits 4 and 5 of the bytes (the top bits of Y10, Y11); b and c are
// scratch. VPBLENDVB takes its second source where the mask's top bit is
// set.
#define QUAD4(off, a, b, c) \
	ROW16(off, a); \
	ROW16(off+16, b); \
	VPBLENDVB Y10, b, a, a; \
	ROW16(off+32, b); \
	ROW16(off+48, c); \
	VPBLENDVB Y10, c, b, b; \
	VPBLENDVB Y11, b, a, a

// func q8LookupAVX2(dst, src *int8, n int, table *[256]int8)
// dst[i] = table[uint8(src[i])] for i < n, a multiple of 32: each of the
// table's 16 rows of 16 bytes is looked up by the low nibbles (VPSHUFB),
// and a tree of blends on bits 4-7 picks each byte's row.
TEXT ·q8LookupAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ table+24(FP), AX
	MOVL $0x0f0f0f0f, DX
	MOVD DX, X15
	VPBROADCASTD X15, Y15
	XORQ BX, BX
q8lk2_loop:
	CMPQ BX, CX
	JGE q8lk2_done
	VMOVDQU (SI)(BX*1), Y0
	VPAND Y15, Y0, Y1
	VPSLLW $3, Y0, Y10
	VPSLLW $2, Y0, Y11
	VPSLLW $1, Y0, Y12
	QUAD4(0, Y2, Y3, Y4)
	QUAD4(64, Y3, Y4, Y5)
	VPBLENDVB Y12, Y3, Y2, Y2
	QUAD4(128, Y3, Y4, Y5)
	QUAD4(192, Y4, Y5, Y6)
	VPBLENDVB Y12, Y4, Y3, Y3
	VPBLENDVB Y0, Y3, Y2, Y2
	VMOVDQU Y2, (DI)(BX*1)
	ADDQ $32, BX
	JMP q8lk2_loop
q8lk2_done:
	VZEROUPPER
	RET
