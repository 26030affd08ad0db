//go:build amd64 && !purego

#include "textflag.h"
#include "pool_nchwc_amd64.h"

// The AVX2 twin of maxPoolNCHWcAVX512 (pool_nchwc_amd64.s): same argument
// block, same two paths; a 16-channel vector is Y0 (lanes 0-7) and Y1
// (lanes 8-15).

// PIXMAXY sets Y0:Y1 to the maximum over the R9 (>= 1) vectors at SI +
// the byte offsets at R8; R10, R11, Y2-Y7 scratch.
#define PIXMAXY(tap, tapped) \
	MOVQ (R8), R10; \
	VMOVUPS (SI)(R10*1), Y0; \
	VMOVUPS 32(SI)(R10*1), Y1; \
	MOVQ $1, R11; \
tap: \
	CMPQ R11, R9; \
	JGE tapped; \
	MOVQ (R8)(R11*8), R10; \
	VMOVUPS (SI)(R10*1), Y2; \
	VMOVUPS 32(SI)(R10*1), Y3; \
	MAXNANY(Y2, Y0, Y4, Y6); \
	MAXNANY(Y3, Y1, Y5, Y7); \
	INCQ R11; \
	JMP tap; \
tapped:

// NEGZEROY(y) ORs into Y9 the lanes of y that are -0 (Y8 holds -0s; Y10
// scratch): such a maximum may stand for a window of -0 and +0, where
// VMAXPS gives either zero and Go's max +0.
#define NEGZEROY(y) VPCMPEQD Y8, y, Y10; VPOR Y10, Y9, Y9

// func maxPoolNCHWcAVX2(a *mpcArgs)
// mpcArgs: y 0, x 8, taps 16, ntaps 24, n 32, sx 40, sy 48, ys 56, tile 64,
// rows 72, sxr 80, syr 88, special 96 (set when an output is -0).
TEXT ·maxPoolNCHWcAVX2(SB), NOSPLIT, $0-8
	MOVL $0x80000000, R11
	VMOVD R11, X8
	VPBROADCASTD X8, Y8
	VPXOR Y9, Y9, Y9
	MPCARGS

	// NCHW16c: rows (R15) of n pixels (R14 left in the row), one store a
	// pixel; after a row x steps sxr and y syr more.
	MOVQ 72(AX), R15
brow:
	TESTQ R15, R15
	JZ done
	MOVQ CX, R14
pixel:
	TESTQ R14, R14
	JZ browend
	PIXMAXY(btap, bstore)
	NEGZEROY(Y0)
	NEGZEROY(Y1)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ R12, SI
	ADDQ R13, DI
	DECQ R14
	JMP pixel
browend:
	ADDQ 80(AX), SI
	ADDQ 88(AX), DI
	DECQ R15
	JMP brow

	// NCHW: rows of n pixels (R13 left in the row; x steps sxr more
	// after a row), up to 16 pixels (BX) at a time into the tile, then
	// each channel's BX values stored into its plane (R14 bytes apart),
	// one float at a time (R9 counts them; reloaded after).
group:
	MOVQ CX, R13
	IMULQ 72(AX), CX
ngroup:
	TESTQ CX, CX
	JZ done
	MOVQ CX, BX
	CMPQ BX, $16
	JLE counted
	MOVQ $16, BX
counted:
	XORQ DX, DX
gpixel:
	CMPQ DX, BX
	JGE scatter
	PIXMAXY(gtap, gstore)
	NEGZEROY(Y0)
	NEGZEROY(Y1)
	MOVQ DX, R10
	SHLQ $6, R10
	VMOVUPS Y0, (R15)(R10*1)
	VMOVUPS Y1, 32(R15)(R10*1)
	ADDQ R12, SI
	INCQ DX
	DECQ R13
	JNZ gpixel
	ADDQ 80(AX), SI
	MOVQ 32(AX), R13
	JMP gpixel
scatter:
	// DX: channel; R10: its plane at y; R11: its float of pixel R9 in
	// the tile (pixel vectors 64 bytes apart); R12 the float.
	XORQ DX, DX
channel:
	CMPQ DX, $16
	JGE scattered
	LEAQ (R15)(DX*4), R11
	MOVQ DX, R10
	IMULQ R14, R10
	ADDQ DI, R10
	XORQ R9, R9
lane:
	CMPQ R9, BX
	JGE laned
	MOVL (R11), R12
	MOVL R12, (R10)(R9*4)
	ADDQ $64, R11
	INCQ R9
	JMP lane
laned:
	INCQ DX
	JMP channel
scattered:
	MOVQ 24(AX), R9
	MOVQ 40(AX), R12
	LEAQ (DI)(BX*4), DI
	SUBQ BX, CX
	JMP ngroup
done:
	VMOVMSKPS Y9, R11
	MOVQ R11, 96(AX)
	VZEROUPPER
	RET
