//go:build amd64 && !purego

#include "textflag.h"
#include "pool_same3_amd64.h"

// The same 3x3 MaxPool (pool_same3.go) for AVX2, over same3Args
// (pool_same3_amd64.h) as maxSame3AVX512. Blocks of 8 values, each the
// low or high byte of a mask entry (half = bit 3 of the block's index); a
// byte becomes a vector of lanes by the table at AX (same3Lanes). Lanes
// out of the plane or past n are left out by VBLENDVPS; blocks whose rows
// above or below leave x load them under VMASKMOVPS (no fault). SI x, DI
// y, CX n, R8 a row's bytes, R9 the masks, R11 their end; R10 the mask
// entry of the next vertical block at BX, R13 that of the output block at
// R14. Y14 gathers the NaN and -0 lanes of x (Y15: -0 in every lane); Y13
// the lanes of a block below n.

// VALID8 sets Y13 to the lanes of the block at j (a register) below n
// (DX, R12 scratch).
#define VALID8(j, full) \
	VPCMPEQD Y13, Y13, Y13; \
	MOVQ CX, DX; \
	SUBQ j, DX; \
	CMPQ DX, $8; \
	JGE full; \
	MOVQ $1, R12; \
	SHLXQ DX, R12, R12; \
	DECQ R12; \
	SHLQ $5, R12; \
	VMOVUPS (AX)(R12*1), Y13; \
full:

// HALF sets R12 to the byte of the mask entries that the block at j takes.
#define HALF(j) \
	MOVQ j, R12; \
	SHRQ $3, R12; \
	ANDQ $1, R12

// LANES sets y to the lanes of the mask byte at off(r)(R12) (DX scratch).
#define LANES(off, r, y) \
	MOVBLZX off(r)(R12*1), DX; \
	SHLQ $5, DX; \
	VMOVUPS (AX)(DX*1), y

// NEXTMASK8 moves the mask entry r on after the high half (block j),
// back to the first after the period.
#define NEXTMASK8(r, j, in) \
	TESTQ $8, j; \
	JZ in; \
	ADDQ $8, r; \
	CMPQ r, R11; \
	JB in; \
	MOVQ R9, r; \
in:

// FLAG8 adds the NaN and -0 lanes of y to Y14 (Y3 scratch).
#define FLAG8(y) \
	VCMPPS $3, y, y, Y3; \
	VORPS Y3, Y14, Y14; \
	VPCMPEQD Y15, y, Y3; \
	VORPS Y3, Y14, Y14

// VBLOCK8 sets y to the maximum of the block at BX and, where they are in
// the plane, the values a row above and below: by plain loads when the
// rows above and below lie in x, else under masks.
#define VBLOCK8(y, full, masked, in, done) \
	MOVQ R8, DX; \
	SHRQ $2, DX; \
	CMPQ BX, DX; \
	JB masked; \
	LEAQ 8(BX)(DX*1), DX; \
	CMPQ DX, CX; \
	JA masked; \
	HALF(BX); \
	VMOVUPS (SI)(BX*4), y; \
	FLAG8(y); \
	LANES(0, R10, Y4); \
	LANES(2, R10, Y5); \
	LEAQ (SI)(BX*4), DX; \
	SUBQ R8, DX; \
	VMAXPS (DX), y, Y6; \
	VBLENDVPS Y4, Y6, y, y; \
	VMAXPS (DX)(R8*2), y, Y7; \
	VBLENDVPS Y5, Y7, y, y; \
	JMP done; \
masked: \
	VALID8(BX, full); \
	HALF(BX); \
	VMASKMOVPS (SI)(BX*4), Y13, y; \
	FLAG8(y); \
	LANES(0, R10, Y4); \
	VANDPS Y13, Y4, Y4; \
	LANES(2, R10, Y5); \
	VANDPS Y13, Y5, Y5; \
	LEAQ (SI)(BX*4), DX; \
	SUBQ R8, DX; \
	VMASKMOVPS (DX), Y4, Y6; \
	VMAXPS Y6, y, Y6; \
	VBLENDVPS Y4, Y6, y, y; \
	VMASKMOVPS (DX)(R8*2), Y5, Y7; \
	VMAXPS Y7, y, Y7; \
	VBLENDVPS Y5, Y7, y, y; \
done: \
	NEXTMASK8(R10, BX, in)

// func maxSame3AVX2(a *same3Args)
TEXT ·maxSame3AVX2(SB), NOSPLIT, $0-8
	SAME3ARGS
	MOVQ 56(AX), AX
	VPCMPEQD Y15, Y15, Y15
	VPSLLD $31, Y15, Y15
	VXORPS Y14, Y14, Y14
	VXORPS Y0, Y0, Y0
	VBLOCK8(Y1, v0full, v0masked, v0in, v0done)
	XORQ R14, R14

loop:
	// Y0, Y1, Y2: the vertical maxima of the blocks before, at and after R14.
	LEAQ 8(R14), BX
	CMPQ BX, CX
	JGE last
	VBLOCK8(Y2, vfull, vmasked, vin, vdone)
	JMP horiz
last:
	VXORPS Y2, Y2, Y2

horiz:
	// Y3: the left neighbours ([prev.hi, cur.lo] shifted in), Y4: the right.
	VPERM2F128 $0x21, Y1, Y0, Y3
	VPALIGNR $12, Y3, Y1, Y3
	VPERM2F128 $0x21, Y2, Y1, Y4
	VPALIGNR $4, Y1, Y4, Y4
	HALF(R14)
	LANES(4, R13, Y5)
	LANES(6, R13, Y6)
	VMAXPS Y3, Y1, Y3
	VBLENDVPS Y5, Y3, Y1, Y7
	VMAXPS Y4, Y7, Y4
	VBLENDVPS Y6, Y4, Y7, Y7
	MOVQ CX, DX
	SUBQ R14, DX
	CMPQ DX, $8
	JLT partial
	VMOVUPS Y7, (DI)(R14*4)
	JMP stored
partial:
	VALID8(R14, ofull)
	VMASKMOVPS Y7, Y13, (DI)(R14*4)
stored:
	NEXTMASK8(R13, R14, oin)
	VMOVAPS Y1, Y0
	VMOVAPS Y2, Y1
	ADDQ $8, R14
	CMPQ R14, CX
	JLT loop

	VMOVMSKPS Y14, DX
	MOVQ a+0(FP), AX
	MOVQ DX, 48(AX)
	VZEROUPPER
	RET
