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

// REQ16F is REQ16 for lanes with Shift >= 32: even and odd lanes
// multiply in place (VPSHUFD brings the odd dwords down); after the
// rounding adds, the high dwords of the 64-bit sums (x >> 32, which fit
// int32) are blended into dword order and shifted by Shift − 32 (floor
// divisions compose), narrowed with signed saturation (VPMOVSDB: clamping
// to [lo, hi] after it is the same as before) and clamped as bytes. Needs
// Z23 = Shift − 32 (dwords), K3 = 0xAAAA and X30/X31 = lo/hi bytes;
// result in X2. Clobbers Z1-Z5.
#define REQ16F \
	VPSHUFD $0xb1, Z0, Z1 \
	VPMULDQ Z21, Z0, Z2 \
	VPMULDQ Z21, Z1, Z3 \
	VPSRAQ $63, Z2, Z4 \
	VPSRAQ $63, Z3, Z5 \
	VPADDQ Z22, Z2, Z2 \
	VPADDQ Z22, Z3, Z3 \
	VPADDQ Z4, Z2, Z2 \
	VPADDQ Z5, Z3, Z3 \
	VPSHUFD $0xb1, Z2, Z2 \
	VPBLENDMD Z3, Z2, K3, Z2 \
	VPSRAVD Z23, Z2, Z2 \
	VPMOVSDB Z2, X2 \
	VPMAXSB X30, X2, X2 \
	VPMINSB X31, X2, X2

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
	CMPQ 16(R8), $32
	JGE fast
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
fast:
	VPBROADCASTD 24(R8), Z23
	MOVQ 0(R9), AX
	VPBROADCASTB AX, X30
	MOVQ 8(R9), AX
	VPBROADCASTB AX, X31
	MOVL $0xaaaa, AX
	KMOVW AX, K3
floop:
	CMPQ CX, $16
	JLT ftail
	VMOVDQU32 (SI), Z0
	VPADDD Z20, Z0, Z0
	REQ16F
	VMOVDQU X2, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JMP floop
ftail:
	TESTQ CX, CX
	JE done
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVDQU32.Z (SI), K1, Z0
	VPADDD Z20, Z0, Z0
	REQ16F
	VMOVDQU8 X2, K1, (DI)
	JMP done

// C1CHANS(LBL, REQ) is q8Conv3x3C1AVX512's loop over the output channels
// (label LBL) for one chunk: acc = init + the three VPDPBUSD, then REQ
// loads the channel's shift and requantizes and stores the chunk at R11
// (C1REQ: REQ16, C1REQF: REQ16F); then on to the next chunk.
#define C1CHANS(LBL, REQ) \
LBL: \
	VPBROADCASTD 0(R8), Z0; \
	VPDPBUSD.BCST 0(R10), Z16, Z0; \
	VPDPBUSD.BCST 4(R10), Z17, Z0; \
	VPDPBUSD.BCST 8(R10), Z18, Z0; \
	VPBROADCASTD 4(R8), Z21; \
	VPBROADCASTQ 8(R8), Z22; \
	REQ; \
	ADDQ 72(AX), R11; \
	ADDQ $32, R8; \
	ADDQ $12, R10; \
	DECQ R13; \
	JNZ LBL; \
	ADDQ $16, R12; \
	JMP chunk
#define C1REQ VPBROADCASTQ 16(R8), Z23; REQ16; VPMOVQB Z2, K1, (R11); VPMOVQB Z3, K2, 8(R11)
#define C1REQF VPBROADCASTD 24(R8), Z23; REQ16F; VMOVDQU8 X2, K1, (R11)

// func q8Conv3x3C1AVX512(a *q8C1Args)
// One output row of a 3x3 stride-1 convolution of a single input channel
// into nc output channels, from a padded plane (rows of ld bytes, x_zp
// around). Per chunk of 16 output pixels the three input rows are loaded
// (32 bytes each) and VPERMI2B gathers the 9 taps of every pixel as three
// groups of 4 bytes (taps 9-11 read anything: their weights are 0), biased
// to u8. Per channel: acc = init + 3 VPDPBUSD with the channel's 12 weight
// bytes (init = corr − 128·Σw removes the bias), then REQ16 and a masked
// store of the chunk.
TEXT ·q8Conv3x3C1AVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), BX
	MOVQ 16(AX), R15
	MOVQ 48(AX), DX
	VMOVDQU64 0(DX), Z27
	VMOVDQU64 64(DX), Z28
	VMOVDQU64 128(DX), Z29
	MOVQ 56(AX), DX
	VPBROADCASTQ 0(DX), Z24
	VPBROADCASTQ 8(DX), Z25
	MOVQ 0(DX), R14
	VPBROADCASTB R14, X30
	MOVQ 8(DX), R14
	VPBROADCASTB R14, X31
	MOVL $0xaaaa, DX
	KMOVW DX, K3
	MOVL $0x80808080, DX
	VPBROADCASTD DX, Z26
	MOVQ 64(AX), DI
	MOVQ 80(AX), R14
	XORQ R12, R12
chunk:
	CMPQ R12, R15
	JGE done
	MOVQ R15, CX
	SUBQ R12, CX
	MOVQ $0xffff, DX
	CMPQ CX, $16
	JGE setmask
	MOVQ $1, DX
	SHLQ CX, DX
	DECQ DX
setmask:
	KMOVW DX, K1
	KSHIFTRW $8, K1, K2
	LEAQ (SI)(R12*1), R9
	VMOVDQU8 (R9), Y19
	ADDQ BX, R9
	VINSERTI64X4 $1, (R9), Z19, Z19
	ADDQ BX, R9
	VMOVDQU8 (R9), Y20
	VMOVDQA64 Z27, Z16
	VPERMI2B Z20, Z19, Z16
	VMOVDQA64 Z28, Z17
	VPERMI2B Z20, Z19, Z17
	VMOVDQA64 Z29, Z18
	VPERMI2B Z20, Z19, Z18
	VPXORD Z26, Z16, Z16
	VPXORD Z26, Z17, Z17
	VPXORD Z26, Z18, Z18
	MOVQ 24(AX), R10
	MOVQ 32(AX), R8
	MOVQ 40(AX), R13
	LEAQ (DI)(R12*1), R11
	TESTQ R14, R14
	JNE chanf
	C1CHANS(chan, C1REQ)
	C1CHANS(chanf, C1REQF)
done:
	VZEROUPPER
	RET

// func q8MaxPool2x2AVX512(src *int8, ld int, dst *int8, ow, rows int)
// int8 max pool 2x2 stride 2: output row i (ow bytes at dst + i·ow) from
// input rows src + 2i·ld and src + (2i+1)·ld. Per 32 outputs: VPMAXSB of
// the two rows, VPMAXSB with the words shifted right by 8 (odd byte onto
// even byte), VPMOVWB keeps the even bytes; masked at the row end.
TEXT ·q8MaxPool2x2AVX512(SB), NOSPLIT, $0-40
	MOVQ src+0(FP), SI
	MOVQ ld+8(FP), BX
	MOVQ dst+16(FP), DI
	MOVQ ow+24(FP), R8
	MOVQ rows+32(FP), R9
row:
	TESTQ R9, R9
	JE done
	XORQ R10, R10
col:
	MOVQ R8, CX
	SUBQ R10, CX
	CMPQ CX, $32
	JLT tailmask
	KXNORQ K1, K1, K1
	KXNORD K2, K2, K2
	JMP body
tailmask:
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVD AX, K2
	ADDQ CX, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVQ AX, K1
body:
	LEAQ (SI)(R10*2), R11
	VMOVDQU8.Z (R11), K1, Z0
	VMOVDQU8.Z (R11)(BX*1), K1, Z1
	VPMAXSB Z1, Z0, Z0
	VPSRLW $8, Z0, Z1
	VPMAXSB Z1, Z0, Z0
	VPMOVWB Z0, K2, (DI)(R10*1)
	ADDQ $32, R10
	CMPQ R10, R8
	JLT col
	LEAQ (SI)(BX*2), SI
	ADDQ R8, DI
	DECQ R9
	JMP row
done:
	VZEROUPPER
	RET

// func q8QuantizeAVX512(x *float32, n int, dst unsafe.Pointer, scale float32, zero, lo, hi int32)
// ONNX QuantizeLinear (QuantizeValue): q = x / scale in float32 (VDIVPS,
// the same IEEE division), NaN -> 0, clamped to ±2^20 (beyond any zero
// point plus int8/uint8 range: saturates the same), VCVTPS2DQ rounds half
// to even (default MXCSR), + zero, clamped to [lo, hi], low byte stored.
TEXT ·q8QuantizeAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ dst+16(FP), DI
	VBROADCASTSS scale+24(FP), Z20
	MOVL zero+28(FP), AX
	VPBROADCASTD AX, Z21
	MOVL lo+32(FP), AX
	VPBROADCASTD AX, Z22
	MOVL hi+36(FP), AX
	VPBROADCASTD AX, Z23
	MOVL $0x49800000, AX // 2^20
	VPBROADCASTD AX, Z24
	MOVL $0xc9800000, AX // -2^20
	VPBROADCASTD AX, Z25
loop:
	CMPQ CX, $16
	JLT tail
	KXNORW K1, K1, K1
	VMOVUPS (SI), Z0
	JMP body
tail:
	TESTQ CX, CX
	JE done
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z0
body:
	VDIVPS Z20, Z0, Z0
	VCMPPS $3, Z0, Z0, K2
	VPXORD Z0, Z0, K2, Z0
	VMINPS Z24, Z0, Z0
	VMAXPS Z25, Z0, Z0
	VCVTPS2DQ Z0, Z0
	VPADDD Z21, Z0, Z0
	VPMAXSD Z22, Z0, Z0
	VPMINSD Z23, Z0, Z0
	VPMOVDB Z0, K1, (DI)
	ADDQ $64, SI
	ADDQ $16, DI
	SUBQ $16, CX
	JGT loop
done:
	VZEROUPPER
	RET

// func q8RowToNHWC16AVX512(src *int8, plane int, dst *int8, cn, groups int, perm *[64]byte)
// Channel-last copy of one row of 16 channels: for each group of 4 pixels,
// one VPGATHERDD reads 4 bytes of each channel (indices c·plane), VPERMB
// turns (channel, pixel) into (pixel, channel), and 4 stores of 16 bytes
// go to the pixels' channel slots (stride cn).
TEXT ·q8RowToNHWC16AVX512(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ plane+8(FP), AX
	MOVQ dst+16(FP), DI
	MOVQ cn+24(FP), BX
	MOVQ groups+32(FP), CX
	MOVQ perm+40(FP), DX
	VMOVDQU64 (DX), Z2
	VPBROADCASTD AX, Z1
	MOVQ $0x0706050403020100, DX
	VMOVQ DX, X3
	MOVQ $0x0f0e0d0c0b0a0908, DX
	VPINSRQ $1, DX, X3, X3
	VPMOVZXBD X3, Z3
	VPMULLD Z3, Z1, Z1
	TESTQ CX, CX
	JE done
loop:
	KXNORW K1, K1, K1
	VPXORD Z0, Z0, Z0
	VPGATHERDD (SI)(Z1*1), K1, Z0
	VPERMB Z0, Z2, Z0
	VMOVDQU X0, (DI)
	ADDQ BX, DI
	VEXTRACTI32X4 $1, Z0, (DI)
	ADDQ BX, DI
	VEXTRACTI32X4 $2, Z0, (DI)
	ADDQ BX, DI
	VEXTRACTI32X4 $3, Z0, (DI)
	ADDQ BX, DI
	ADDQ $4, SI
	DECQ CX
	JNZ loop
done:
	VZEROUPPER
	RET

// func q8PlanePanelsAVX512(a *q8PlaneArgs)
// Quad-packed panels of a 1x1 conv straight from the NCHW planes: per
// panel of 16 pixels and group of 4 channels, four masked 16-byte loads
// (one per channel, lane offsets in offs) become one register, VPERMB
// turns (channel, pixel) into (pixel, channel), biased to u8 and stored.
TEXT ·q8PlanePanelsAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), R11
	MOVQ 0(R11), SI
	MOVQ 8(R11), CX
	MOVQ 0(CX), AX
	MOVQ 8(CX), BX
	MOVQ 16(CX), DX
	MOVQ 16(R11), R13
	MOVQ 24(R11), R8
	MOVQ 32(R11), R10
	MOVQ 40(R11), R9
	MOVQ 48(R11), DI
	MOVQ 56(R11), R14
	MOVQ 64(R11), CX
	VMOVDQU64 (CX), Z2
	MOVL $0x80808080, CX
	VPBROADCASTD CX, Z26
	TESTQ R9, R9
	JE ppdone
	TESTQ R8, R8
	JE ppdone
panel:
	MOVL $0xffff, R12
	CMPQ R10, $16
	JGE ppmask
	MOVQ R10, CX
	MOVL $1, R12
	SHLL CX, R12
	DECL R12
ppmask:
	KMOVW R12, K1
	MOVQ SI, R11
	MOVQ DI, CX
	MOVQ R8, R12
group:
	VMOVDQU8.Z (R11), K1, X0
	VMOVDQU8.Z (R11)(AX*1), K1, X1
	VMOVDQU8.Z (R11)(BX*1), K1, X3
	VMOVDQU8.Z (R11)(DX*1), K1, X4
	VINSERTI32X4 $1, X1, Z0, Z0
	VINSERTI32X4 $2, X3, Z0, Z0
	VINSERTI32X4 $3, X4, Z0, Z0
	VPERMB Z0, Z2, Z0
	VPXORD Z26, Z0, Z0
	VMOVDQU64 Z0, (CX)
	ADDQ $64, CX
	ADDQ R13, R11
	DECQ R12
	JNZ group
	ADDQ $16, SI
	ADDQ R14, DI
	SUBQ $16, R10
	DECQ R9
	JNZ panel
ppdone:
	VZEROUPPER
	RET

// QT_LOAD loads 64 bytes of pixel j's run (offset idx[j] from R11) into zr.
#define QT_LOAD(j, zr) MOVLQSX (j*4)(DX), R12; VMOVDQU32 (R11)(R12*1), zr

// QT_DQ interleaves the dwords of rows a, b into lo, hi (stage 1).
#define QT_DQ(a, b, lo, hi) VPUNPCKLDQ b, a, lo; VPUNPCKHDQ b, a, hi

// QT_QDQ interleaves the qwords of rows a, b into lo, hi (stage 2).
#define QT_QDQ(a, b, lo, hi) VPUNPCKLQDQ b, a, lo; VPUNPCKHQDQ b, a, hi

// QT_OUT writes, for dword m of every 128-bit lane, the four output
// vectors 4L+m (L = lane) from the quarters A (rows 0-3), B, C, D.
#define QT_OUT(m, A, B, C, D) \
	VSHUFI32X4 $0x44, B, A, Z16 \
	VSHUFI32X4 $0xee, B, A, Z17 \
	VSHUFI32X4 $0x44, D, C, Z18 \
	VSHUFI32X4 $0xee, D, C, Z19 \
	VSHUFI32X4 $0x88, Z18, Z16, Z20 \
	VSHUFI32X4 $0xdd, Z18, Z16, Z21 \
	VSHUFI32X4 $0x88, Z19, Z17, Z22 \
	VSHUFI32X4 $0xdd, Z19, Z17, Z23 \
	VPXORD Z31, Z20, Z20 \
	VPXORD Z31, Z21, Z21 \
	VPXORD Z31, Z22, Z22 \
	VPXORD Z31, Z23, Z23 \
	VMOVDQU32 Z20, (m*64)(CX) \
	VMOVDQU32 Z21, ((4+m)*64)(CX) \
	VMOVDQU32 Z22, ((8+m)*64)(CX) \
	VMOVDQU32 Z23, ((12+m)*64)(CX)

// func q8QuadTransposeAVX512(a *q8GatherArgs)
// Writes one 16-pixel panel of patches in the quad layout of
// blas.GemmS8Quad from a padded channel-last copy, biased to u8: per tap and
// block of 16 groups of 4 bytes, the 16 pixels' 64-byte rows are loaded
// and transposed as a 16x16 dword matrix (unpacks, then 128-bit lane
// shuffles). A run's last block stores all 16 vectors: those past its
// groups land on slots written later (the next run's or panel's) or in
// the caller's slack of 15·64 bytes past the panel; the rows read up to
// 63 bytes past a run (the plane's slack).
TEXT ·q8QuadTransposeAVX512(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), DX
	MOVQ 16(AX), R8
	MOVQ 24(AX), R9
	MOVQ 32(AX), R10
	MOVQ 40(AX), DI
	MOVL $0x80808080, BX
	VPBROADCASTD BX, Z31
	TESTQ R9, R9
	JE qtdone
	TESTQ R10, R10
	JE qtdone
qttap:
	MOVLQSX (R8), R11
	ADDQ SI, R11
	MOVQ DI, CX
	MOVQ R10, R13
qtblock:
	QT_LOAD(0, Z0); QT_LOAD(1, Z1); QT_LOAD(2, Z2); QT_LOAD(3, Z3)
	QT_LOAD(4, Z4); QT_LOAD(5, Z5); QT_LOAD(6, Z6); QT_LOAD(7, Z7)
	QT_DQ(Z0, Z1, Z16, Z17); QT_DQ(Z2, Z3, Z18, Z19)
	QT_DQ(Z4, Z5, Z20, Z21); QT_DQ(Z6, Z7, Z22, Z23)
	QT_QDQ(Z16, Z18, Z0, Z1); QT_QDQ(Z17, Z19, Z2, Z3)
	QT_QDQ(Z20, Z22, Z4, Z5); QT_QDQ(Z21, Z23, Z6, Z7)
	QT_LOAD(8, Z8); QT_LOAD(9, Z9); QT_LOAD(10, Z10); QT_LOAD(11, Z11)
	QT_LOAD(12, Z12); QT_LOAD(13, Z13); QT_LOAD(14, Z14); QT_LOAD(15, Z15)
	QT_DQ(Z8, Z9, Z16, Z17); QT_DQ(Z10, Z11, Z18, Z19)
	QT_DQ(Z12, Z13, Z20, Z21); QT_DQ(Z14, Z15, Z22, Z23)
	QT_QDQ(Z16, Z18, Z8, Z9); QT_QDQ(Z17, Z19, Z10, Z11)
	QT_QDQ(Z20, Z22, Z12, Z13); QT_QDQ(Z21, Z23, Z14, Z15)
	QT_OUT(0, Z0, Z4, Z8, Z12)
	QT_OUT(1, Z1, Z5, Z9, Z13)
	QT_OUT(2, Z2, Z6, Z10, Z14)
	QT_OUT(3, Z3, Z7, Z11, Z15)
	ADDQ $64, R11
	ADDQ $1024, CX
	SUBQ $16, R13
	JG qtblock
	MOVQ R10, BX
	SHLQ $6, BX
	ADDQ BX, DI
	ADDQ $4, R8
	DECQ R9
	JNZ qttap
qtdone:
	VZEROUPPER
	RET
