//go:build amd64 && !purego

#include "textflag.h"
#include "dwdirect_amd64.h"
#include "simd_amd64.h"

// 3x3 convolution (and 3x3 max pooling) of one input plane straight from
// the unpadded plane (conv_dwdirect.go): per 16-output block, masks (per
// tap column and the store) drop the lanes whose input column is outside
// the plane, and the window rows outside the image are skipped (bits of
// dwDirectArgs.on), so no padded copy is made. Registers: Z0-Z8 the
// weights, Z9 bias (-inf for max), Z10/Z11 the clamp, R8-R15 and DX the
// nine taps' input rows, DI the output row, BX the output byte offset in
// the row, CX the block's masks, Z12-Z14 one accumulator per window row.

// LOADTAPS sets the tap pointers from x (8(AX)) and off (64(AX)...).
#define LOADTAPS \
	MOVQ 8(AX), SI; \
	MOVQ 64(AX), R8; ADDQ SI, R8; \
	MOVQ 72(AX), R9; ADDQ SI, R9; \
	MOVQ 80(AX), R10; ADDQ SI, R10; \
	MOVQ 88(AX), R11; ADDQ SI, R11; \
	MOVQ 96(AX), R12; ADDQ SI, R12; \
	MOVQ 104(AX), R13; ADDQ SI, R13; \
	MOVQ 112(AX), R14; ADDQ SI, R14; \
	MOVQ 120(AX), R15; ADDQ SI, R15; \
	MOVQ 128(AX), DX; ADDQ SI, DX

// LOADW takes the kernel's one argument (a *dwDirectArgs) into AX and
// broadcasts its weights.
#define LOADW \
	MOVQ a+0(FP), AX; \
	VBROADCASTSS 136(AX), Z0; \
	VBROADCASTSS 140(AX), Z1; \
	VBROADCASTSS 144(AX), Z2; \
	VBROADCASTSS 148(AX), Z3; \
	VBROADCASTSS 152(AX), Z4; \
	VBROADCASTSS 156(AX), Z5; \
	VBROADCASTSS 160(AX), Z6; \
	VBROADCASTSS 164(AX), Z7; \
	VBROADCASTSS 168(AX), Z8; \
	VBROADCASTSS 172(AX), Z9; \
	VBROADCASTSS 176(AX), Z10; \
	VBROADCASTSS 180(AX), Z11

// NEXTROW moves the output and the taps one row on.
#define NEXTROW \
	ADDQ 32(AX), DI; \
	ADDQ 40(AX), R8; ADDQ 40(AX), R9; ADDQ 40(AX), R10; \
	ADDQ 40(AX), R11; ADDQ 40(AX), R12; ADDQ 40(AX), R13; \
	ADDQ 40(AX), R14; ADDQ 40(AX), R15; ADDQ 40(AX), DX

// INITSUM and SUMROWS start and combine the three row accumulators of a
// convolution; INITMAX and MAXROWS those of a max pool.
#define INITSUM VMOVAPS Z9, Z12; VXORPS Z13, Z13, Z13; VXORPS Z14, Z14, Z14
#define SUMROWS VADDPS Z13, Z12, Z12; VADDPS Z14, Z12, Z12
#define INITMAX VMOVAPS Z9, Z12; VMOVAPS Z9, Z13; VMOVAPS Z9, Z14
#define MAXROWS MAXNAN(Z13, Z12); MAXNAN(Z14, Z12)

// MAXNAN is MAXNANK (simd_amd64.h) with K7, free until STOREBLOCK loads
// the store mask.
#define MAXNAN(x, acc) MAXNANK(x, acc, K7)

// STOREBLOCK clamps Z12 and stores the lanes of the block's store mask.
#define STOREBLOCK \
	KMOVW 12(CX), K7; \
	VMAXPS Z12, Z10, Z12; \
	VMINPS Z12, Z11, Z12; \
	VMOVUPS Z12, K7, (DI)(BX*1)

// DWKERNEL is a kernel's loop over rows and 16-output blocks, with ROW
// (ROW1, ROW2 or ROW2PAIR) adding one window row by TAP; each block loads
// its masks into K1-K6 (see dwDirectPlan: tap column kw at K(2kw+1),
// K(2kw+2)), and the store mask into K7 at the end. Z23-Z25 carry
// ROW2PAIR's last odd lanes from block to block, per window row.
#define DWKERNEL(ROW, TAP, INIT, COMBINE, row, block, skip0, skip1, skip2) \
	LOADTAPS; \
	MOVQ 0(AX), DI; \
	MOVQ 16(AX), SI; \
row: \
	ROWSTART; \
	VXORPS Z23, Z23, Z23; VXORPS Z24, Z24, Z24; VXORPS Z25, Z25, Z25; \
block: \
	TAPMASKS; \
	INIT; \
	ROW(TAP, 1, skip0, R8, R9, R10, Z0, Z1, Z2, Z12, Z23); \
	ROW(TAP, 2, skip1, R11, R12, R13, Z3, Z4, Z5, Z13, Z24); \
	ROW(TAP, 4, skip2, R14, R15, DX, Z6, Z7, Z8, Z14, Z25); \
	COMBINE; \
	STOREBLOCK; \
	NEXTBLOCK(block); \
	NEXTROW; \
	DECQ SI; \
	JNZ row; \
	VZEROUPPER; \
	RET

// TAP1 adds tap row pointer r times weight w to acc over the lanes of k
// (stride 1: input byte offset = output byte offset).
#define TAP1(r, w, k, acc) VFMADD231PS (r)(BX*1), w, k, acc

// TAPMAX1 is TAP1 for a max pool: the masked-off lanes read -inf (Z9).
#define TAPMAX1(r, w, k, acc) \
	VMOVAPS Z9, Z15; \
	VMOVUPS (r)(BX*1), k, Z15; \
	MAXNAN(Z15, acc)

// ROW1 adds window row kh (bit b of on; taps ra-rc, weights wa-wc) to acc.
#define ROW1(TAP, b, skip, ra, rb, rc, wa, wb, wc, acc, prev) \
	TESTB $b, 48(AX); \
	JZ skip; \
	TAP(ra, wa, K1, acc); \
	TAP(rb, wb, K3, acc); \
	TAP(rc, wc, K5, acc); \
skip:

// TAP2 adds tap row pointer r times weight w to acc (stride 2): the 32
// input lanes from 2·BX (lanes of klo and khi, the others zero) are
// loaded, and their even lanes gathered (Z20 holds the indices).
#define TAP2(r, w, klo, khi, t0, t1, acc) \
	VMOVUPS.Z (r)(BX*2), klo, t0; \
	VMOVUPS.Z 64(r)(BX*2), khi, t1; \
	VPERMT2PS t1, Z20, t0; \
	VFMADD231PS t0, w, acc

// TAPMAX2 is TAP2 for a max pool: the masked-off lanes hold -inf (Z9).
#define TAPMAX2(r, w, klo, khi, t0, t1, acc) \
	VMOVAPS Z9, t0; \
	VMOVAPS Z9, t1; \
	VMOVUPS (r)(BX*2), klo, t0; \
	VMOVUPS 64(r)(BX*2), khi, t1; \
	VPERMT2PS t1, Z20, t0; \
	MAXNAN(t0, acc)

// ROW2 is ROW1 for stride 2.
#define ROW2(TAP, b, skip, ra, rb, rc, wa, wb, wc, acc, prev) \
	TESTB $b, 48(AX); \
	JZ skip; \
	TAP(ra, wa, K1, K2, Z15, Z16, acc); \
	TAP(rb, wb, K3, K4, Z17, Z18, acc); \
	TAP(rc, wc, K5, K6, Z19, Z21, acc); \
skip:

// ROW2PAIR is ROW2 for an undilated row with a left pad (dwDirectPair):
// the window row's three taps read input columns 2c-1, 2c and 2c+1 of one
// 32-lane load (tap kw=1's, whose masks, by input column, hold for all
// three): the even lanes are tap kw=1's, the odd ones tap kw=2's, and the
// odd ones one lane up, with the previous block's last odd lane (prev,
// zero at a row's start, where column -1 is padding) in lane 0, tap
// kw=0's. 2 loads a window row, not 6; Z22 holds the odd indices. The sums
// are ROW2's, in the same order.
#define ROW2PAIR(TAP, b, skip, ra, rb, rc, wa, wb, wc, acc, prev) \
	TESTB $b, 48(AX); \
	JZ skip; \
	VMOVUPS.Z (rb)(BX*2), K3, Z17; \
	VMOVUPS.Z 64(rb)(BX*2), K4, Z18; \
	VMOVAPS Z17, Z19; \
	VPERMT2PS Z18, Z22, Z19; \
	VPERMT2PS Z18, Z20, Z17; \
	VALIGND $15, prev, Z19, Z15; \
	VMOVAPS Z19, prev; \
	VFMADD231PS Z15, wa, acc; \
	VFMADD231PS Z17, wb, acc; \
	VFMADD231PS Z19, wc, acc; \
skip:

// func dwDirect1AVX512(a *dwDirectArgs)
TEXT ·dwDirect1AVX512(SB), NOSPLIT, $0-8
	LOADW
	DWKERNEL(ROW1, TAP1, INITSUM, SUMROWS, row1, block1, kh0s1, kh1s1, kh2s1)

// func dwDirect2AVX512(a *dwDirectArgs)
TEXT ·dwDirect2AVX512(SB), NOSPLIT, $0-8
	LOADW
	VMOVUPS ·evenOddIdx(SB), Z20
	DWKERNEL(ROW2, TAP2, INITSUM, SUMROWS, row2, block2, kh0s2, kh1s2, kh2s2)

// func dwDirect2PairAVX512(a *dwDirectArgs)
TEXT ·dwDirect2PairAVX512(SB), NOSPLIT, $0-8
	LOADW
	VMOVUPS ·evenOddIdx(SB), Z20
	VMOVUPS ·evenOddIdx+64(SB), Z22
	DWKERNEL(ROW2PAIR, TAP2, INITSUM, SUMROWS, row2p, block2p, kh0s2p, kh1s2p, kh2s2p)

// func dwMax1AVX512(a *dwDirectArgs)
TEXT ·dwMax1AVX512(SB), NOSPLIT, $0-8
	LOADW
	DWKERNEL(ROW1, TAPMAX1, INITMAX, MAXROWS, rowm1, blockm1, kh0m1, kh1m1, kh2m1)

// func dwMax2AVX512(a *dwDirectArgs)
TEXT ·dwMax2AVX512(SB), NOSPLIT, $0-8
	LOADW
	VMOVUPS ·evenOddIdx(SB), Z20
	DWKERNEL(ROW2, TAPMAX2, INITMAX, MAXROWS, rowm2, blockm2, kh0m2, kh1m2, kh2m2)
