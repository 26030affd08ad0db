//go:build amd64 && !purego

#include "textflag.h"

// BCASTB broadcasts the low byte of the quadword at mem to every byte of X
// (the clamp bounds), through the scratch register R.
#define BCASTB(mem, R, X) \
	MOVQ mem, R; \
	MOVQ R, X; \
	VPBROADCASTB X, X

// AVX2 int8 kernels (int8_avx2_amd64.go), for CPUs without the AVX-512
// ones of int8_simd_amd64.s and for the kernels that have no AVX-512 form.
// Every one is exact: the plain-Go code is the reference.

// REQ8 requantizes the 8 accumulators at off(SI) into dwords of out
// (q8RequantAVX2's steps before the narrowing), with Y4-Y6 as scratch.
#define REQ8(off, out) \
	VMOVDQU off(SI), out; \
	VPADDD Y10, out, out; \
	VPSHUFD $0xb1, out, Y4; \
	VPMULDQ Y11, out, Y5; \
	VPMULDQ Y11, Y4, Y6; \
	VPCMPGTQ Y5, Y9, Y4; \
	VPADDQ Y12, Y5, Y5; \
	VPADDQ Y4, Y5, Y5; \
	VPCMPGTQ Y6, Y9, Y4; \
	VPADDQ Y12, Y6, Y6; \
	VPADDQ Y4, Y6, Y6; \
	VPSHUFD $0xb1, Y5, Y5; \
	VPBLENDD $0xaa, Y6, Y5, out; \
	VPSRAD X13, out, out

// Dword order after packing 4 vectors of 8 (VPACKSSDW, VPACKSSWB work per
// 128-bit lane): groups of 4 bytes 0, 2, 4, 6 | 1, 3, 5, 7 back in order.
DATA q8reqPerm<>+0(SB)/8, $0x0000000400000000
DATA q8reqPerm<>+8(SB)/8, $0x0000000500000001
DATA q8reqPerm<>+16(SB)/8, $0x0000000600000002
DATA q8reqPerm<>+24(SB)/8, $0x0000000700000003
GLOBL q8reqPerm<>(SB), RODATA|NOPTR, $32

// func q8RequantAVX2(acc *int32, n int, dst *int8, p *q8Lane, lohi *[2]int64)
// Requantizes n (a multiple of 8) accumulators of one channel whose lane
// shifts by 32 or more (int8.go, q8Lane): acc' = acc + init, x = acc'·m
// (exact int64, VPMULDQ on even and odd dwords), x + hz + (x>>63); the
// high dwords of those sums (x >> 32, which fit int32) are blended into
// dword order and shifted arithmetically by Shift − 32 (floor divisions
// compose), narrowed with signed saturation (clamping to [lo, hi] after it
// is the same as before) and clamped as bytes. 32 a step (one narrowing
// for four vectors), then 8.
TEXT ·q8RequantAVX2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
	MOVQ p+24(FP), R8
	MOVQ lohi+32(FP), R9
	VPBROADCASTD 0(R8), Y10  // init
	VPBROADCASTD 4(R8), Y11  // m
	VPBROADCASTQ 8(R8), Y12  // hz
	MOVQ 24(R8), AX          // Shift − 32
	MOVQ AX, X13
	BCASTB(0(R9), AX, X14)   // lo bytes
	BCASTB(8(R9), AX, X15)   // hi bytes
	VPBROADCASTB X14, Y14
	VPBROADCASTB X15, Y15
	VMOVDQU q8reqPerm<>(SB), Y7
	VPXOR Y9, Y9, Y9
	SHRQ $3, CX
	JZ rdone
rloop32:
	CMPQ CX, $4
	JLT rloop
	REQ8(0, Y0)
	REQ8(32, Y1)
	REQ8(64, Y2)
	REQ8(96, Y3)
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y7, Y0
	VPMAXSB Y14, Y0, Y0
	VPMINSB Y15, Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ $128, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ rloop32
	JMP rdone
rloop:
	REQ8(0, Y2)
	VEXTRACTI128 $1, Y2, X3
	VPACKSSDW X3, X2, X2
	VPACKSSWB X2, X2, X2
	VPMAXSB X14, X2, X2
	VPMINSB X15, X2, X2
	MOVQ X2, (DI)
	ADDQ $32, SI
	ADDQ $8, DI
	DECQ CX
	JNZ rloop
rdone:
	VZEROUPPER
	RET

// func q8DepthwiseRowAVX2(a *q8DWArgs)
// One output row of a depthwise convolution of one channel, as int32 sums
// in blocks of 16 outputs, from a plane padded with x_zp. Each entry is a
// byte offset from the row's base and two int16 weights (w0, w1) for the
// bytes at off and off+1 (two horizontally adjacent taps, or one tap and
// a zero weight). Sixteen input bytes widened to int16 (VPMOVSXBW) times
// the weight pair (VPMADDWD) give eight sums of two products each:
//   - stride 1: the load at off gives the even outputs, the load at off+1
//     the odd ones; the two accumulators are interleaved at the end;
//   - stride 2: the load at off gives outputs 0-7, the one at off+16
//     outputs 8-15.
// Products fit int16·int16 and the sums wrap like the reference's int32.
// DWSUM sums the R9 entries (offsets at R8, weight pairs at R12) of the
// block at SI into Y0 (loads at off) and Y1 (loads at off+second).
#define DWSUM(second, loop) \
	VPXOR Y0, Y0, Y0 \
	VPXOR Y1, Y1, Y1 \
	XORQ R10, R10 \
loop: \
	MOVLQSX (R8)(R10*4), BX \
	VPBROADCASTD (R12)(R10*4), Y2 \
	VPMOVSXBW (SI)(BX*1), Y3 \
	VPMOVSXBW second(SI)(BX*1), Y4 \
	VPMADDWD Y2, Y3, Y3 \
	VPMADDWD Y2, Y4, Y4 \
	VPADDD Y3, Y0, Y0 \
	VPADDD Y4, Y1, Y1 \
	INCQ R10 \
	CMPQ R10, R9 \
	JLT loop

TEXT ·q8DepthwiseRowAVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI   // src
	MOVQ 8(AX), R8   // offsets (int32)
	MOVQ 16(AX), R12 // weight pairs (int32)
	MOVQ 24(AX), R9  // entries
	MOVQ 32(AX), DI  // acc
	MOVQ 40(AX), CX  // outputs
	CMPQ 48(AX), $2
	JEQ s2block
s1block:
	CMPQ CX, $0
	JLE dwdone
	DWSUM(1, s1ent)
	VPUNPCKLDQ Y1, Y0, Y2
	VPUNPCKHDQ Y1, Y0, Y3
	VPERM2I128 $0x20, Y3, Y2, Y4
	VPERM2I128 $0x31, Y3, Y2, Y5
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	ADDQ $16, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP s1block
s2block:
	CMPQ CX, $0
	JLE dwdone
	DWSUM(16, s2ent)
	VMOVDQU Y0, (DI)
	VMOVDQU Y1, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP s2block
dwdone:
	VZEROUPPER
	RET

// func q8MaxPool2x2AVX2(src *int8, ld int, dst *int8, ow, rows int)
// int8 max pool 2x2 stride 2 over the first ow &^ 7 outputs of each row:
// output row i (ow bytes apart at dst) from input rows 2i and 2i+1 (ld
// bytes apart). Per 16 (then 8) outputs: the max of the two rows, then of
// each byte pair (VPSRLW brings the odd bytes down), the even bytes packed.
// POOLPAIR takes the max of input rows 2i and 2i+1 at column 2·R10 into
// V0, then of its byte pairs, and packs the even bytes (V1 scratch, VM the
// 0x00ff words); the Y form does 16 outputs, the X form 8.
#define POOLPAIR(V0, V1, VM) \
	LEAQ (SI)(R10*2), R11; \
	VMOVDQU (R11), V0; \
	VPMAXSB (R11)(BX*1), V0, V0; \
	VPSRLW $8, V0, V1; \
	VPMAXSB V1, V0, V0; \
	VPAND VM, V0, V0; \
	VPACKUSWB V0, V0, V0

TEXT ·q8MaxPool2x2AVX2(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ ld+8(FP), BX
	MOVQ dst+16(FP), DI
	MOVQ ow+24(FP), R8
	MOVQ rows+32(FP), R9
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $8, Y15, Y15 // 0x00ff words
prow:
	TESTQ R9, R9
	JE pdone
	XORQ R10, R10
p16:
	LEAQ 16(R10), AX
	CMPQ AX, R8
	JGT p8
	POOLPAIR(Y0, Y1, Y15)
	VPERMQ $0x08, Y0, Y0
	VMOVDQU X0, (DI)(R10*1)
	MOVQ AX, R10
	JMP p16
p8:
	LEAQ 8(R10), AX
	CMPQ AX, R8
	JGT pnext
	POOLPAIR(X0, X1, X15)
	MOVQ X0, (DI)(R10*1)
pnext:
	LEAQ (SI)(BX*2), SI
	ADDQ R8, DI
	DECQ R9
	JMP prow
pdone:
	VZEROUPPER
	RET

// BCASTAX broadcasts the dword in AX (through the xmm x) to the ymm y.
#define BCASTAX(x, y) \
	MOVL AX, x \
	VPBROADCASTD x, y

// q8LowBytes picks byte 0 of each dword of a 128-bit lane into its first 4 bytes.
DATA q8LowBytes<>+0(SB)/8, $0x808080800c080400
DATA q8LowBytes<>+8(SB)/8, $0x8080808080808080
GLOBL q8LowBytes<>(SB), RODATA|NOPTR, $16

// func q8QuantizeAVX2(x *float32, n int, dst unsafe.Pointer, scale float32, zero, lo, hi int32)
// q8QuantizeAVX512 for n (a multiple of 8) values, 8 at a time: the same
// division, NaN -> 0, ±2^20 clamp, round half to even, zero point and
// [lo, hi] clamp; the low bytes of the 8 dwords are stored.
TEXT ·q8QuantizeAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
	VBROADCASTSS scale+24(FP), Y10
	MOVL zero+28(FP), AX
	BCASTAX(X11, Y11)
	MOVL lo+32(FP), AX
	BCASTAX(X12, Y12)
	MOVL hi+36(FP), AX
	BCASTAX(X13, Y13)
	MOVL $0x49800000, AX // 2^20
	BCASTAX(X14, Y14)
	MOVL $0xc9800000, AX // -2^20
	BCASTAX(X15, Y15)
	VBROADCASTI128 q8LowBytes<>(SB), Y9
	SHRQ $3, CX
	JZ qdone
qloop:
	VMOVUPS (SI), Y0
	VDIVPS Y10, Y0, Y0
	VCMPPS $3, Y0, Y0, Y1
	VPANDN Y0, Y1, Y0
	VMINPS Y14, Y0, Y0
	VMAXPS Y15, Y0, Y0
	VCVTPS2DQ Y0, Y0
	VPADDD Y11, Y0, Y0
	VPMAXSD Y12, Y0, Y0
	VPMINSD Y13, Y0, Y0
	VPSHUFB Y9, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPUNPCKLDQ X1, X0, X0
	MOVQ X0, (DI)
	ADDQ $32, SI
	ADDQ $8, DI
	DECQ CX
	JNZ qloop
qdone:
	VZEROUPPER
	RET

// PAIRS4 stores the 4 dwords of x at DI, DI+BX, ... and advances DI.
#define PAIRS4(x) \
	VMOVD x, (DI) \
	ADDQ BX, DI \
	VPEXTRD $1, x, (DI) \
	ADDQ BX, DI \
	VPEXTRD $2, x, (DI) \
	ADDQ BX, DI \
	VPEXTRD $3, x, (DI) \
	ADDQ BX, DI

// func q8PairRowAVX2(a, b *int8, n int, dst *byte, stride int)
// Writes the int16 pairs (a[i], b[i]) of n (a multiple of 16) pixels as
// dwords stride bytes apart from dst: the channel pairs of a channel-last
// int16 plane (q8PadNHWC16). Contiguous (stride 4) rows take two stores
// per 16 pixels, others one dword store per pixel.
TEXT ·q8PairRowAVX2(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), R8
	MOVQ n+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ stride+32(FP), BX
	SHRQ $4, CX
	JZ prdone
prloop:
	VMOVDQU (SI), X0
	VMOVDQU (R8), X1
	VPUNPCKLBW X1, X0, X2
	VPUNPCKHBW X1, X0, X3
	VPMOVSXBW X2, Y2
	VPMOVSXBW X3, Y3
	CMPQ BX, $4
	JNE prscatter
	VMOVDQU Y2, (DI)
	VMOVDQU Y3, 32(DI)
	ADDQ $64, DI
	JMP prnext
prscatter:
	PAIRS4(X2)
	VEXTRACTI128 $1, Y2, X4
	PAIRS4(X4)
	PAIRS4(X3)
	VEXTRACTI128 $1, Y3, X4
	PAIRS4(X4)
prnext:
	ADDQ $16, SI
	ADDQ $16, R8
	DECQ CX
	JNZ prloop
prdone:
	VZEROUPPER
	RET

// IMPLPX adds pixel p's products to its accumulators: the dword (int16
// pair) of the pixel's plane at reg + DX, broadcast into Y14, times the
// weight pairs of 8 output channels in Y12 (into acc0) and, with IMPL2,
// of the next 8 in Y13 (into acc1).
#define IMPLPX1(reg, acc0) \
	VPBROADCASTD (reg)(DX*1), Y14; \
	VPMADDWD Y12, Y14, Y15; \
	VPADDD Y15, acc0, acc0

#define IMPLPX2(reg, acc0, acc1) \
	VPBROADCASTD (reg)(DX*1), Y14; \
	VPMADDWD Y12, Y14, Y15; \
	VPADDD Y15, acc0, acc0; \
	VPMADDWD Y13, Y14, Y15; \
	VPADDD Y15, acc1, acc1

// IMPLSTART loads the arguments (at AX) of q8ImplicitAVX2,
// q8Implicit8AVX2 and q8Implicit4AVX2 for the next tile: R8-R13 its six pixels' windows, SI the taps, CX their count, DI the
// weights, R14 the bytes between blocks of 8 channels' weights, and
// clears Y0-Y11.
#define IMPLSTART \
	MOVQ 0(AX), DX; \
	MOVQ 8(AX), BX; \
	MOVLQSX 0(BX), R8; \
	MOVLQSX 4(BX), R9; \
	MOVLQSX 8(BX), R10; \
	MOVLQSX 12(BX), R11; \
	MOVLQSX 16(BX), R12; \
	MOVLQSX 20(BX), R13; \
	ADDQ DX, R8; \
	ADDQ DX, R9; \
	ADDQ DX, R10; \
	ADDQ DX, R11; \
	ADDQ DX, R12; \
	ADDQ DX, R13; \
	MOVQ 16(AX), SI; \
	MOVQ 24(AX), CX; \
	MOVQ 40(AX), DI; \
	MOVQ 64(AX), R14; \
	VPXOR Y0, Y0, Y0; \
	VPXOR Y1, Y1, Y1; \
	VPXOR Y2, Y2, Y2; \
	VPXOR Y3, Y3, Y3; \
	VPXOR Y4, Y4, Y4; \
	VPXOR Y5, Y5, Y5; \
	VPXOR Y6, Y6, Y6; \
	VPXOR Y7, Y7, Y7; \
	VPXOR Y8, Y8, Y8; \
	VPXOR Y9, Y9, Y9; \
	VPXOR Y10, Y10, Y10; \
	VPXOR Y11, Y11, Y11

// TILESTORE stores the accumulators r0-r5 of pixels 0-5 (8 channels
// each) as 8 channel rows of 8 dwords from DI, BX bytes apart (the last
// two dwords of a row are junk that the next tile overwrites), with
// f0-f3 as scratch; r0-r5 are clobbered. A 4x4 dword transpose per
// 128-bit lane over pixel pairs (0,1), (2,3), (4,5) and (4,5) again,
// then the lanes regrouped.
#define TILESTORE(r0, r1, r2, r3, r4, r5, f0, f1, f2, f3) \
	VPUNPCKLDQ r1, r0, f0; \
	VPUNPCKHDQ r1, r0, f1; \
	VPUNPCKLDQ r3, r2, r0; \
	VPUNPCKHDQ r3, r2, r1; \
	VPUNPCKLDQ r5, r4, r2; \
	VPUNPCKHDQ r5, r4, r3; \
	VPUNPCKLQDQ r0, f0, r4; \
	VPUNPCKHQDQ r0, f0, r5; \
	VPUNPCKLQDQ r1, f1, f2; \
	VPUNPCKHQDQ r1, f1, f3; \
	VPUNPCKLQDQ r2, r2, f0; \
	VPUNPCKHQDQ r2, r2, f1; \
	VPUNPCKLQDQ r3, r3, r0; \
	VPUNPCKHQDQ r3, r3, r1; \
	LEAQ (DI)(BX*4), DX; \
	VPERM2I128 $0x20, f0, r4, r2; \
	VMOVDQU r2, (DI); \
	VPERM2I128 $0x20, f1, r5, r2; \
	VMOVDQU r2, (DI)(BX*1); \
	VPERM2I128 $0x20, r0, f2, r2; \
	VMOVDQU r2, (DI)(BX*2); \
	VPERM2I128 $0x31, f0, r4, r2; \
	VMOVDQU r2, (DX); \
	VPERM2I128 $0x31, f1, r5, r2; \
	VMOVDQU r2, (DX)(BX*1); \
	VPERM2I128 $0x31, r0, f2, r2; \
	VMOVDQU r2, (DX)(BX*2); \
	LEAQ (DI)(BX*2), R15; \
	VPERM2I128 $0x20, r1, f3, r2; \
	VMOVDQU r2, (R15)(BX*1); \
	VPERM2I128 $0x31, r1, f3, r2; \
	LEAQ (DX)(BX*2), R15; \
	VMOVDQU r2, (R15)(BX*1)

// NEXTTILE steps the arguments at AX to the next tile (6 pixels on in
// pix and acc) and counts it down, setting the flags.
#define NEXTTILE \
	ADDQ $24, 8(AX); \
	ADDQ $24, 48(AX); \
	DECQ 72(AX)

// func q8ImplicitAVX2(a *q8ImplArgs)
// ntile tiles (pixels 6 apart) of 6 pixels x 16 output channels of an int8 convolution as an
// implicit GEMM: the activations are broadcast straight from the int16
// channel-last plane (pixel p's channel pair q of tap t at src + pix[p] +
// taps[t] + 4q), the weights are two blocks of 8 channels' int16 pairs per
// (tap, pair), wstride bytes apart (VPMADDWD, exact). Twelve accumulators,
// two weight vectors, the broadcast and the product fill the 16 registers;
// each (tap, pair) step does 12 multiplies for 8 loads. The tile is stored
// as 16 rows of 8 accumulators, ld bytes apart: row c holds channel c's
// pixels (the last two are junk).
TEXT ·q8ImplicitAVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
i2tile:
	IMPLSTART
i2tap:
	MOVLQSX (SI), DX
	MOVQ 32(AX), BX // channel pairs
i2pair:
	VMOVDQU (DI), Y12
	VMOVDQU (DI)(R14*1), Y13
	IMPLPX2(R8, Y0, Y6)
	IMPLPX2(R9, Y1, Y7)
	IMPLPX2(R10, Y2, Y8)
	IMPLPX2(R11, Y3, Y9)
	IMPLPX2(R12, Y4, Y10)
	IMPLPX2(R13, Y5, Y11)
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ BX
	JNZ i2pair
	ADDQ $4, SI
	DECQ CX
	JNZ i2tap
	MOVQ 48(AX), DI // acc
	MOVQ 56(AX), BX // ld
	TILESTORE(Y0, Y1, Y2, Y3, Y4, Y5, Y12, Y13, Y14, Y15)
	LEAQ (DI)(BX*8), DI
	TILESTORE(Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	NEXTTILE
	JNZ i2tile
	VZEROUPPER
	RET

// func q8Implicit8AVX2(a *q8ImplArgs)
// q8ImplicitAVX2 for one block of 8 output channels (a layer's last when
// its count is not a multiple of 16).
TEXT ·q8Implicit8AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
i1tile:
	IMPLSTART
i1tap:
	MOVLQSX (SI), DX
	MOVQ 32(AX), BX // channel pairs
i1pair:
	VMOVDQU (DI), Y12
	IMPLPX1(R8, Y0)
	IMPLPX1(R9, Y1)
	IMPLPX1(R10, Y2)
	IMPLPX1(R11, Y3)
	IMPLPX1(R12, Y4)
	IMPLPX1(R13, Y5)
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ BX
	JNZ i1pair
	ADDQ $4, SI
	DECQ CX
	JNZ i1tap
	MOVQ 48(AX), DI // acc
	MOVQ 56(AX), BX // ld
	TILESTORE(Y0, Y1, Y2, Y3, Y4, Y5, Y12, Y13, Y14, Y15)
	NEXTTILE
	JNZ i1tile
	VZEROUPPER
	RET

// func q8AddAVX2(a, b *int8, n int, y *int8, p *q8AddLane)
// QLinearAddInt8 for n (a multiple of 8) elements whose shift s is in
// [10, 32]: v = a·ma + b·mb + c0 (exact int64, VPMULDQ on even and odd
// dwords), v + hz + (v>>63) shifted left by 32 − s (exact: |v| < 2^41),
// whose high dword is the floor of the sum over 2^s; narrowed with signed
// saturation and clamped to [lo, hi] as bytes.
TEXT ·q8AddAVX2(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), R8
	MOVQ n+16(FP), CX
	MOVQ y+24(FP), DI
	MOVQ p+32(FP), AX
	VPBROADCASTQ 0(AX), Y10  // ma
	VPBROADCASTQ 8(AX), Y11  // mb
	VPBROADCASTQ 16(AX), Y12 // c0
	VPBROADCASTQ 24(AX), Y13 // hz
	MOVQ 32(AX), X14         // 32 − s
	BCASTB(40(AX), BX, X15)  // lo bytes
	BCASTB(48(AX), BX, X8)   // hi bytes
	VPXOR Y9, Y9, Y9
	SHRQ $3, CX
	JZ adone
aloop:
	VPMOVSXBD (SI), Y0
	VPMOVSXBD (R8), Y1
	VPSHUFD $0xb1, Y0, Y2
	VPSHUFD $0xb1, Y1, Y3
	VPMULDQ Y10, Y0, Y0
	VPMULDQ Y11, Y1, Y1
	VPMULDQ Y10, Y2, Y2
	VPMULDQ Y11, Y3, Y3
	VPADDQ Y1, Y0, Y0
	VPADDQ Y3, Y2, Y2
	VPADDQ Y12, Y0, Y0
	VPADDQ Y12, Y2, Y2
	VPCMPGTQ Y0, Y9, Y4
	VPCMPGTQ Y2, Y9, Y5
	VPADDQ Y13, Y0, Y0
	VPADDQ Y13, Y2, Y2
	VPADDQ Y4, Y0, Y0
	VPADDQ Y5, Y2, Y2
	VPSLLQ X14, Y0, Y0
	VPSLLQ X14, Y2, Y2
	VPSHUFD $0xb1, Y0, Y0
	VPBLENDD $0xaa, Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW X1, X0, X0
	VPACKSSWB X0, X0, X0
	VPMAXSB X15, X0, X0
	VPMINSB X8, X0, X0
	MOVQ X0, (DI)
	ADDQ $8, SI
	ADDQ $8, R8
	ADDQ $8, DI
	DECQ CX
	JNZ aloop
adone:
	VZEROUPPER
	RET

// func q8MaxAVX2(dst, a, b *int8, n int)
// dst[i] = max(a[i], b[i]) (signed) for n bytes, a multiple of 32.
TEXT ·q8MaxAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX
	XORQ AX, AX
q8max_loop:
	CMPQ AX, CX
	JGE  q8max_done
	VMOVDQU (SI)(AX*1), Y0
	VPMAXSB (DX)(AX*1), Y0, Y0
	VMOVDQU Y0, (DI)(AX*1)
	ADDQ $32, AX
	JMP  q8max_loop
q8max_done:
	VZEROUPPER
	RET

// Even bytes of each 16-byte lane to its low 8 bytes.
DATA q8evenShuf<>+0(SB)/8, $0x0e0c0a0806040200
DATA q8evenShuf<>+8(SB)/8, $0x8080808080808080
DATA q8evenShuf<>+16(SB)/8, $0x0e0c0a0806040200
DATA q8evenShuf<>+24(SB)/8, $0x8080808080808080
GLOBL q8evenShuf<>(SB), RODATA|NOPTR, $32

// func q8EvensAVX2(dst, src *int8, n int)
// dst[i] = src[2i] for i < n, a multiple of 16 (reads 2n bytes of src).
TEXT ·q8EvensAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVDQU q8evenShuf<>(SB), Y1
	XORQ AX, AX
q8even_loop:
	CMPQ AX, CX
	JGE  q8even_done
	VMOVDQU (SI)(AX*2), Y0
	VPSHUFB Y1, Y0, Y0
	VPERMQ  $0x08, Y0, Y0 // quadwords 0 and 2
	VMOVDQU X0, (DI)(AX*1)
	ADDQ $16, AX
	JMP  q8even_loop
q8even_done:
	VZEROUPPER
	RET

// func q8DequantAVX2(dst *float32, src *int8, n int, z int32, s float32)
// dst[i] = float32(src[i] - z)·s for n values, a multiple of 8: the
// difference is exact in int32 and in float32, then one rounded multiply,
// as the Go loop computes it.
TEXT ·q8DequantAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL z+24(FP), AX
	MOVD AX, X2
	VPBROADCASTD X2, Y2
	VBROADCASTSS s+28(FP), Y3
	XORQ AX, AX
q8deq_loop:
	CMPQ AX, CX
	JGE  q8deq_done
	VPMOVSXBD (SI)(AX*1), Y0
	VPMOVSXBD 8(SI)(AX*1), Y1
	VPSUBD    Y2, Y0, Y0
	VPSUBD    Y2, Y1, Y1
	VCVTDQ2PS Y0, Y0
	VCVTDQ2PS Y1, Y1
	VMULPS    Y3, Y0, Y0
	VMULPS    Y3, Y1, Y1
	VMOVUPS   Y0, (DI)(AX*4)
	VMOVUPS   Y1, 32(DI)(AX*4)
	ADDQ $16, AX
	JMP  q8deq_loop
q8deq_done:
	VZEROUPPER
	RET

// OCT8 transposes 8 channels x 8 pixels of int16 per 128-bit lane: r0-r7
// hold channels 0-7 (pixels in words), and on return r0-r7 hold pixels
// 0-7 (channels in words) in the order r0, r4, r1, r5, r2, r6, r3, r7;
// t0-t3 are scratch.
#define OCT8(r0, r1, r2, r3, r4, r5, r6, r7, t0, t1, t2, t3) \
	VPUNPCKLWD r1, r0, t0; \
	VPUNPCKHWD r1, r0, t1; \
	VPUNPCKLWD r3, r2, t2; \
	VPUNPCKHWD r3, r2, t3; \
	VPUNPCKLDQ t2, t0, r0; \
	VPUNPCKHDQ t2, t0, r1; \
	VPUNPCKLDQ t3, t1, r2; \
	VPUNPCKHDQ t3, t1, r3; \
	VPUNPCKLWD r5, r4, t0; \
	VPUNPCKHWD r5, r4, t1; \
	VPUNPCKLWD r7, r6, t2; \
	VPUNPCKHWD r7, r6, t3; \
	VPUNPCKLDQ t2, t0, r4; \
	VPUNPCKHDQ t2, t0, r5; \
	VPUNPCKLDQ t3, t1, r6; \
	VPUNPCKHDQ t3, t1, r7; \
	VPUNPCKLQDQ r4, r0, t0; \
	VPUNPCKHQDQ r4, r0, r4; \
	VMOVDQA t0, r0; \
	VPUNPCKLQDQ r5, r1, t0; \
	VPUNPCKHQDQ r5, r1, r5; \
	VMOVDQA t0, r1; \
	VPUNPCKLQDQ r6, r2, t0; \
	VPUNPCKHQDQ r6, r2, r6; \
	VMOVDQA t0, r2; \
	VPUNPCKLQDQ r7, r3, t0; \
	VPUNPCKHQDQ r7, r3, r7; \
	VMOVDQA t0, r3

// OCTLOAD sign-extends 8 channels' int8 pixels at R8 (channel 0), R8+R9,
// ... (R9 the plane bytes; R10 = R8+3·R9, R11 = R8+6·R9) into X0-X7 (8
// pixels, op VPMOVSXBW from 8 bytes) or Y0-Y7 (16, from 16 bytes).
#define OCTLOAD(r0, r1, r2, r3, r4, r5, r6, r7) \
	VPMOVSXBW (R8), r0; \
	VPMOVSXBW (R8)(R9*1), r1; \
	VPMOVSXBW (R8)(R9*2), r2; \
	VPMOVSXBW (R10), r3; \
	VPMOVSXBW (R8)(R9*4), r4; \
	VPMOVSXBW (R10)(R9*2), r5; \
	VPMOVSXBW (R11), r6; \
	VPMOVSXBW (R11)(R9*1), r7

// OCTSTORE8 stores the 8 pixels of the 128-bit lane (X registers after
// OCT8) at DI, DI+BX, ... DI+7·BX (R12 = 3·BX, R13 = 7·BX... built by the
// caller: R12 = DI+4·BX).
#define OCTSTORE8 \
	LEAQ (DI)(BX*4), R12; \
	LEAQ (BX)(BX*2), R13; \
	VMOVDQU X0, (DI); \
	VMOVDQU X4, (DI)(BX*1); \
	VMOVDQU X1, (DI)(BX*2); \
	VMOVDQU X5, (DI)(R13*1); \
	VMOVDQU X2, (R12); \
	VMOVDQU X6, (R12)(BX*1); \
	VMOVDQU X3, (R12)(BX*2); \
	VMOVDQU X7, (R12)(R13*1)

// func q8OctNHWC16AVX2(src *int8, plane, n int, dst *byte, px int)
// Writes 8 channels (planes plane bytes apart from src) of n pixels (a
// multiple of 8) as int16 into a channel-last plane: pixel i's 8 channels
// are the 16 bytes at dst + i·px. 16 pixels a step as two lanes of 8x8
// word transposes, then a step of 8.
TEXT ·q8OctNHWC16AVX2(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), R8
	MOVQ plane+8(FP), R9
	MOVQ n+16(FP), CX
	MOVQ dst+24(FP), DI
	MOVQ px+32(FP), BX
	LEAQ (R8)(R9*2), R10
	ADDQ R9, R10
	LEAQ (R10)(R9*2), R11
	ADDQ R9, R11
oct16:
	CMPQ CX, $16
	JLT oct8
	OCTLOAD(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	OCT8(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11)
	VPERM2I128 $0x31, Y0, Y0, Y8
	VPERM2I128 $0x31, Y4, Y4, Y9
	VPERM2I128 $0x31, Y1, Y1, Y10
	VPERM2I128 $0x31, Y5, Y5, Y11
	VPERM2I128 $0x31, Y2, Y2, Y12
	VPERM2I128 $0x31, Y6, Y6, Y13
	VPERM2I128 $0x31, Y3, Y3, Y14
	VPERM2I128 $0x31, Y7, Y7, Y15
	OCTSTORE8
	LEAQ (DI)(BX*8), DI
	LEAQ (DI)(BX*4), R12
	VMOVDQU X8, (DI)
	VMOVDQU X9, (DI)(BX*1)
	VMOVDQU X10, (DI)(BX*2)
	VMOVDQU X11, (DI)(R13*1)
	VMOVDQU X12, (R12)
	VMOVDQU X13, (R12)(BX*1)
	VMOVDQU X14, (R12)(BX*2)
	VMOVDQU X15, (R12)(R13*1)
	LEAQ (DI)(BX*8), DI
	ADDQ $16, R8
	ADDQ $16, R10
	ADDQ $16, R11
	SUBQ $16, CX
	JMP oct16
oct8:
	CMPQ CX, $8
	JLT octdone
	OCTLOAD(X0, X1, X2, X3, X4, X5, X6, X7)
	OCT8(X0, X1, X2, X3, X4, X5, X6, X7, X8, X9, X10, X11)
	OCTSTORE8
octdone:
	VZEROUPPER
	RET

// TILESTORE4 stores the accumulators y0-y3 of pixels 0-3 (8 channels
// each; x0-x3 their low halves) as 8 channel rows of 4 dwords from DI, BX
// bytes apart, with f0-f3 as scratch: a 4x4 dword transpose per 128-bit
// lane, whose two lanes are channels c and c+4.
#define TILESTORE4(y0, y1, y2, y3, x0, x1, x2, x3, f0, f1, f2, f3) \
	VPUNPCKLDQ y1, y0, f0; \
	VPUNPCKHDQ y1, y0, f1; \
	VPUNPCKLDQ y3, y2, f2; \
	VPUNPCKHDQ y3, y2, f3; \
	VPUNPCKLQDQ f2, f0, y0; \
	VPUNPCKHQDQ f2, f0, y1; \
	VPUNPCKLQDQ f3, f1, y2; \
	VPUNPCKHQDQ f3, f1, y3; \
	LEAQ (DI)(BX*4), DX; \
	LEAQ (BX)(BX*2), R15; \
	VMOVDQU x0, (DI); \
	VEXTRACTI128 $1, y0, (DX); \
	VMOVDQU x1, (DI)(BX*1); \
	VEXTRACTI128 $1, y1, (DX)(BX*1); \
	VMOVDQU x2, (DI)(BX*2); \
	VEXTRACTI128 $1, y2, (DX)(BX*2); \
	VMOVDQU x3, (DI)(R15*1); \
	VEXTRACTI128 $1, y3, (DX)(R15*1)

// func q8Implicit4AVX2(a *q8ImplArgs)
// One tile of 4 pixels x 16 output channels (q8ImplicitAVX2's, for a
// last tile of at most 4 pixels: a 2x2 plane at batch 1 does 4 pixels'
// work, not 6), stored as 16 rows of 4 accumulators.
TEXT ·q8Implicit4AVX2(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	IMPLSTART // pixels 4 and 5 (R12, R13) go unused
i4tap:
	MOVLQSX (SI), DX
	MOVQ 32(AX), BX // channel pairs
i4pair:
	VMOVDQU (DI), Y12
	VMOVDQU (DI)(R14*1), Y13
	IMPLPX2(R8, Y0, Y6)
	IMPLPX2(R9, Y1, Y7)
	IMPLPX2(R10, Y2, Y8)
	IMPLPX2(R11, Y3, Y9)
	ADDQ $32, DI
	ADDQ $4, DX
	DECQ BX
	JNZ i4pair
	ADDQ $4, SI
	DECQ CX
	JNZ i4tap
	MOVQ 48(AX), DI // acc
	MOVQ 56(AX), BX // ld
	TILESTORE4(Y0, Y1, Y2, Y3, X0, X1, X2, X3, Y12, Y13, Y14, Y15)
	LEAQ (DI)(BX*8), DI
	TILESTORE4(Y6, Y7, Y8, Y9, X6, X7, X8, X9, Y12, Y13, Y14, Y15)
	VZEROUPPER
	RET
