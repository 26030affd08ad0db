//go:build amd64 && !purego

#include "textflag.h"
#include "pool_nchwc_amd64.h"
#include "simd_amd64.h"

// PIXMAX sets Z0 to the maximum over the R9 (>= 1) vectors at SI + the
// byte offsets at R8 (MAXNANK: NaN where one is NaN); R10, R11, Z1, K2
// scratch.
#define PIXMAX(tap, tapped) \
	MOVQ (R8), R10; \
	VMOVUPS (SI)(R10*1), Z0; \
	MOVQ $1, R11; \
tap: \
	CMPQ R11, R9; \
	JGE tapped; \
	MOVQ (R8)(R11*8), R10; \
	VMOVUPS (SI)(R10*1), Z1; \
	MAXNANK(Z1, Z0, K2); \
	INCQ R11; \
	JMP tap; \
tapped:

// NEGZERO adds Z0's -0 lanes to K5 (K4 scratch): a -0 maximum may stand
// for a window of -0 and +0, where VMAXPS gives either zero and Go's max +0.
#define NEGZERO VFPCLASSPSZ $0x04, Z0, K4; KORW K4, K5, K5

// STOREROW stores Zz under K3 at R10 and steps R10 to the next plane.
#define STOREROW(z) VMOVUPS z, K3, (R10); ADDQ R14, R10

// func maxPoolNCHWcAVX512(a *mpcArgs)
// mpcArgs: y 0, x 8, taps 16, ntaps 24, n 32, sx 40, sy 48, ys 56, tile 64,
// rows 72, sxr 80, syr 88, special 96 (set when an output is -0).
TEXT ·maxPoolNCHWcAVX512(SB), NOSPLIT, $0-8
	KXORW K5, K5, K5
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
	PIXMAX(btap, bstore)
	NEGZERO
	VMOVUPS Z0, (DI)
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
	// after a row), up to 16 pixels (BX) at a time into the tile,
	// transposed, each channel's row stored into its plane (R14 bytes
	// apart) under K3.
group:
	MOVQ CX, R13
	IMULQ 72(AX), CX
ngroup:
	TESTQ CX, CX
	JZ done
	MOVQ CX, BX
	CMPQ BX, $16
	JLE masked
	MOVQ $16, BX
masked:
	MOVQ $1, R11
	SHLXQ BX, R11, R11
	DECQ R11
	KMOVW R11, K3
	XORQ DX, DX
gpixel:
	CMPQ DX, BX
	JGE transpose
	PIXMAX(gtap, gstore)
	NEGZERO
	MOVQ DX, R10
	SHLQ $6, R10
	VMOVUPS Z0, (R15)(R10*1)
	ADDQ R12, SI
	INCQ DX
	DECQ R13
	JNZ gpixel
	ADDQ 80(AX), SI
	MOVQ 32(AX), R13
	JMP gpixel
transpose:
	VMOVUPS 0(R15), Z0
	VMOVUPS 64(R15), Z1
	VMOVUPS 128(R15), Z2
	VMOVUPS 192(R15), Z3
	VMOVUPS 256(R15), Z4
	VMOVUPS 320(R15), Z5
	VMOVUPS 384(R15), Z6
	VMOVUPS 448(R15), Z7
	VMOVUPS 512(R15), Z8
	VMOVUPS 576(R15), Z9
	VMOVUPS 640(R15), Z10
	VMOVUPS 704(R15), Z11
	VMOVUPS 768(R15), Z12
	VMOVUPS 832(R15), Z13
	VMOVUPS 896(R15), Z14
	VMOVUPS 960(R15), Z15
	TRANSPOSE16
	MOVQ DI, R10
	STOREROW(Z0)
	STOREROW(Z1)
	STOREROW(Z2)
	STOREROW(Z3)
	STOREROW(Z4)
	STOREROW(Z5)
	STOREROW(Z6)
	STOREROW(Z7)
	STOREROW(Z8)
	STOREROW(Z9)
	STOREROW(Z10)
	STOREROW(Z11)
	STOREROW(Z12)
	STOREROW(Z13)
	STOREROW(Z14)
	STOREROW(Z15)
	LEAQ (DI)(BX*4), DI
	SUBQ BX, CX
	JMP ngroup
done:
	KMOVW K5, R11
	MOVQ R11, 96(AX)
	VZEROUPPER
	RET
