//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"
#include "pool_same3_amd64.h"

// The same 3x3 MaxPool (pool_same3.go), over same3Args at AX
// (pool_same3_amd64.h).
// SI x, DI y, CX n, R8 a row's bytes, R9 the masks, R11 their end; R10
// the mask entry of the next vertical block at BX, R13 that of the output
// block at R14. K6 gathers the NaN and -0 lanes of x.

// VALID sets K7 to the lanes of the block at j (a register) below n (DX,
// R12 scratch).
#define VALID(j, full) \
	MOVQ CX, DX; \
	SUBQ j, DX; \
	UPTO16K(K7, R12, full)

// NEXTMASK moves the mask entry r one vector on, back to the first after
// the period.
#define NEXTMASK(r, in) \
	ADDQ $8, r; \
	CMPQ r, R11; \
	JB in; \
	MOVQ R9, r; \
in:

// VBLOCK sets z to the maximum of the block at BX and, where they are in
// the plane, the values a row above and below.
#define VBLOCK(z, full, in) \
	VALID(BX, full); \
	VMOVUPS.Z (SI)(BX*4), K7, z; \
	VFPCLASSPSZ $0x85, z, K5; \
	KORW K5, K6, K6; \
	KMOVW 0(R10), K1; \
	KANDW K1, K7, K1; \
	KMOVW 2(R10), K2; \
	KANDW K2, K7, K2; \
	LEAQ (SI)(BX*4), R12; \
	SUBQ R8, R12; \
	VMAXPS (R12), z, K1, z; \
	VMAXPS (R12)(R8*2), z, K2, z; \
	NEXTMASK(R10, in)

// func maxSame3AVX512(a *same3Args)
TEXT ·maxSame3AVX512(SB), NOSPLIT, $0-8
	SAME3ARGS
	KXORW K6, K6, K6
	VXORPS Z0, Z0, Z0
	VBLOCK(Z1, v0full, v0in)
	XORQ R14, R14

loop:
	// Z0, Z1, Z2: the vertical maxima of the blocks before, at and after R14.
	LEAQ 16(R14), BX
	CMPQ BX, CX
	JGE last
	VBLOCK(Z2, vfull, vin)
	JMP horiz
last:
	VXORPS Z2, Z2, Z2

horiz:
	VALIGND $15, Z0, Z1, Z3
	VALIGND $1, Z1, Z2, Z4
	VMOVAPS Z1, Z5
	KMOVW 4(R13), K3
	VMAXPS Z3, Z5, K3, Z5
	KMOVW 6(R13), K4
	VMAXPS Z4, Z5, K4, Z5
	VALID(R14, ofull)
	VMOVUPS Z5, K7, (DI)(R14*4)
	NEXTMASK(R13, oin)
	VMOVAPS Z1, Z0
	VMOVAPS Z2, Z1
	ADDQ $16, R14
	CMPQ R14, CX
	JLT loop

	KMOVW K6, DX
	MOVQ DX, 48(AX)
	VZEROUPPER
	RET
