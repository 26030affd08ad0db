//go:build amd64 && !purego

#include "textflag.h"
#include "simd_amd64.h"
#include "pool_nchwc_amd64.h"

// The thin stem's kernels (conv_stem.go): stemArgs x 0, w 8, taps 16,
// ntaps 24, n 32, rows 40, xrs 48, x1 56, y 64, yrs 72, bias 80, lo 88,
// hi 92. AX the args, SI the window origin of the group's first pixel (R13
// of its second row when pooling), R8 the taps' byte offsets, R9 their
// count, R10 the tap's offset, R11 the tap, BX the tap's weights, CX the
// pixels left in the row, DI the output, R12 the rows left, R14 and R15
// the row's first window and output; Z31 the tap's weights, Z30 the bias,
// Z28 and Z29 the clamp.

// STEMARGS loads the args and the bias and clamp.
#define STEMARGS \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), SI; \
	MOVQ 16(AX), R8; \
	MOVQ 24(AX), R9; \
	MOVQ 40(AX), R12; \
	MOVQ 64(AX), DI; \
	MOVQ 80(AX), DX; \
	VMOVUPS (DX), Z30; \
	VBROADCASTSS 88(AX), Z28; \
	VBROADCASTSS 92(AX), Z29

// TAPSTART starts the tap loop: the first tap's weights at BX, tap 0.
#define TAPSTART \
	MOVQ 8(AX), BX; \
	XORQ R11, R11

// TAPNEXT loads tap R11's offset and weights.
#define TAPNEXT \
	MOVQ (R8)(R11*8), R10; \
	VMOVUPS (BX), Z31

// TAPEND steps to the next tap and loops to lbl while taps are left.
#define TAPEND(lbl) \
	ADDQ $64, BX; \
	INCQ R11; \
	CMPQ R11, R9; \
	JLT lbl

// FMA adds the tap's weights times the input at byte d from the window
// origin base (plus the tap's offset) to sum z.
#define FMA(d, base, z) VFMADD231PS.BCST d(base)(R10*1), Z31, z

// CLAMP adds the bias to z and clamps it, in the operand order of
// pathNCHWc's NCHW16c store (bias + sum; NaN kept), bit for bit its result.
#define CLAMP(z) \
	VADDPS z, Z30, z; \
	VMAXPS z, Z28, z; \
	VMINPS z, Z29, z

// OUT clamps z and stores it at byte d of DI.
#define OUT(z, d) CLAMP(z); VMOVUPS z, d(DI)

// ROWEND steps to the next row and loops to lbl while rows are left.
#define ROWEND(lbl) \
	MOVQ R14, SI; \
	ADDQ 48(AX), SI; \
	MOVQ R15, DI; \
	ADDQ 72(AX), DI; \
	DECQ R12; \
	JNZ lbl

// STEMROWS is the convolution of rows of n pixels, st bytes apart in the
// input: 16 pixels a group while there are, then 4, then 1.
#define STEMROWS(st) \
row: \
	MOVQ 32(AX), CX; \
	MOVQ SI, R14; \
	MOVQ DI, R15; \
g16: \
	CMPQ CX, $16; \
	JLT g4; \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	TAPSTART; \
t16: \
	TAPNEXT; \
	FMA(0*st, SI, Z0); FMA(1*st, SI, Z1); FMA(2*st, SI, Z2); FMA(3*st, SI, Z3); \
	FMA(4*st, SI, Z4); FMA(5*st, SI, Z5); FMA(6*st, SI, Z6); FMA(7*st, SI, Z7); \
	FMA(8*st, SI, Z8); FMA(9*st, SI, Z9); FMA(10*st, SI, Z10); FMA(11*st, SI, Z11); \
	FMA(12*st, SI, Z12); FMA(13*st, SI, Z13); FMA(14*st, SI, Z14); FMA(15*st, SI, Z15); \
	TAPEND(t16); \
	OUT(Z0, 0); OUT(Z1, 64); OUT(Z2, 128); OUT(Z3, 192); \
	OUT(Z4, 256); OUT(Z5, 320); OUT(Z6, 384); OUT(Z7, 448); \
	OUT(Z8, 512); OUT(Z9, 576); OUT(Z10, 640); OUT(Z11, 704); \
	OUT(Z12, 768); OUT(Z13, 832); OUT(Z14, 896); OUT(Z15, 960); \
	ADDQ $(16*st), SI; \
	ADDQ $1024, DI; \
	SUBQ $16, CX; \
	JMP g16; \
g4: \
	CMPQ CX, $4; \
	JLT g1; \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	TAPSTART; \
t4: \
	TAPNEXT; \
	FMA(0*st, SI, Z0); FMA(1*st, SI, Z1); FMA(2*st, SI, Z2); FMA(3*st, SI, Z3); \
	TAPEND(t4); \
	OUT(Z0, 0); OUT(Z1, 64); OUT(Z2, 128); OUT(Z3, 192); \
	ADDQ $(4*st), SI; \
	ADDQ $256, DI; \
	SUBQ $4, CX; \
	JMP g4; \
g1: \
	TESTQ CX, CX; \
	JZ rowend; \
	VPXORD Z0, Z0, Z0; \
	TAPSTART; \
t1: \
	TAPNEXT; \
	FMA(0, SI, Z0); \
	TAPEND(t1); \
	OUT(Z0, 0); \
	ADDQ $st, SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JMP g1; \
rowend: \
	ROWEND(row); \
	VZEROUPPER; \
	RET

// POOL sets acc to the maximum of acc, a, b, c and stores it at byte d of
// DI, as Go's max gives: VRANGEPS (max, sign from the comparison) gives +0
// for -0 and +0 (VMAXPS gives either zero), and where one of the four is
// NaN (K2), acc is their sum (Z17), a NaN.
#define POOL(acc, a, b, c, d) \
	VCMPPS $3, a, acc, K2; \
	VCMPPS $3, b, c, K3; \
	KORW K2, K3, K2; \
	VADDPS a, acc, Z17; \
	VADDPS b, c, Z18; \
	VADDPS Z18, Z17, Z17; \
	VRANGEPS $5, a, acc, acc; \
	VRANGEPS $5, b, acc, acc; \
	VRANGEPS $5, c, acc, acc; \
	VMOVAPS Z17, K2, acc; \
	VMOVUPS acc, d(DI)

// STEMPOOL is the convolution followed by a 2x2 stride-2 MaxPool: rows of
// n pooled pixels, each the maximum of the clamped sums of two pixels of
// two rows (st bytes apart in the input along a row, x1 bytes between the
// rows): 4 pooled pixels a group (Z0-Z7 the first row's sums, Z8-Z15 the
// second's), then 1.
#define STEMPOOL(st) \
prow: \
	MOVQ 32(AX), CX; \
	MOVQ 56(AX), DX; \
	MOVQ SI, R14; \
	MOVQ DI, R15; \
p4: \
	CMPQ CX, $4; \
	JLT p1; \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; VPXORD Z5, Z5, Z5; VPXORD Z6, Z6, Z6; VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	LEAQ (SI)(DX*1), R13; \
	TAPSTART; \
pt4: \
	TAPNEXT; \
	FMA(0*st, SI, Z0); FMA(1*st, SI, Z1); FMA(2*st, SI, Z2); FMA(3*st, SI, Z3); \
	FMA(4*st, SI, Z4); FMA(5*st, SI, Z5); FMA(6*st, SI, Z6); FMA(7*st, SI, Z7); \
	FMA(0*st, R13, Z8); FMA(1*st, R13, Z9); FMA(2*st, R13, Z10); FMA(3*st, R13, Z11); \
	FMA(4*st, R13, Z12); FMA(5*st, R13, Z13); FMA(6*st, R13, Z14); FMA(7*st, R13, Z15); \
	TAPEND(pt4); \
	CLAMP(Z0); CLAMP(Z1); CLAMP(Z2); CLAMP(Z3); CLAMP(Z4); CLAMP(Z5); CLAMP(Z6); CLAMP(Z7); \
	CLAMP(Z8); CLAMP(Z9); CLAMP(Z10); CLAMP(Z11); CLAMP(Z12); CLAMP(Z13); CLAMP(Z14); CLAMP(Z15); \
	POOL(Z0, Z1, Z8, Z9, 0); \
	POOL(Z2, Z3, Z10, Z11, 64); \
	POOL(Z4, Z5, Z12, Z13, 128); \
	POOL(Z6, Z7, Z14, Z15, 192); \
	ADDQ $(8*st), SI; \
	ADDQ $256, DI; \
	SUBQ $4, CX; \
	JMP p4; \
p1: \
	TESTQ CX, CX; \
	JZ prowend; \
	VPXORD Z0, Z0, Z0; VPXORD Z1, Z1, Z1; VPXORD Z2, Z2, Z2; VPXORD Z3, Z3, Z3; \
	LEAQ (SI)(DX*1), R13; \
	TAPSTART; \
pt1: \
	TAPNEXT; \
	FMA(0, SI, Z0); FMA(st, SI, Z1); FMA(0, R13, Z2); FMA(st, R13, Z3); \
	TAPEND(pt1); \
	CLAMP(Z0); CLAMP(Z1); CLAMP(Z2); CLAMP(Z3); \
	POOL(Z0, Z1, Z2, Z3, 0); \
	ADDQ $(2*st), SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JMP p1; \
prowend: \
	ROWEND(prow); \
	VZEROUPPER; \
	RET

// func stemS1AVX512(a *stemArgs)
TEXT ·stemS1AVX512(SB), NOSPLIT, $0-8
	STEMARGS
	STEMROWS(4)

// func stemS2AVX512(a *stemArgs)
TEXT ·stemS2AVX512(SB), NOSPLIT, $0-8
	STEMARGS
	STEMROWS(8)

// func stemPoolS1AVX512(a *stemArgs)
TEXT ·stemPoolS1AVX512(SB), NOSPLIT, $0-8
	STEMARGS
	STEMPOOL(4)

// func stemPoolS2AVX512(a *stemArgs)
TEXT ·stemPoolS2AVX512(SB), NOSPLIT, $0-8
	STEMARGS
	STEMPOOL(8)

// The AVX2 kernels: a 16-channel vector is two ymm halves; as pathNCHWc's
// AVX2 kernels (bit for bit their result) the sums start from the bias and
// are clamped after the last tap. Y14:Y15 the tap's weights, Y13 the
// broadcast input (then the clamp's top, Y12 its bottom).

// STEMARGSY loads the args.
#define STEMARGSY \
	MOVQ a+0(FP), AX; \
	MOVQ 0(AX), SI; \
	MOVQ 16(AX), R8; \
	MOVQ 24(AX), R9; \
	MOVQ 40(AX), R12; \
	MOVQ 64(AX), DI

// BIASY sets lo:hi to the bias (R10 scratch).
#define BIASY(lo, hi) MOVQ 80(AX), R10; VMOVUPS (R10), lo; VMOVUPS 32(R10), hi

// TAPNEXTY loads tap R11's offset and weights.
#define TAPNEXTY \
	MOVQ (R8)(R11*8), R10; \
	VMOVUPS (BX), Y14; \
	VMOVUPS 32(BX), Y15

// FMAY adds the tap's weights times the input at byte d from base (plus
// the tap's offset) to the sums lo:hi.
#define FMAY(d, base, lo, hi) \
	VBROADCASTSS d(base)(R10*1), Y13; \
	VFMADD231PS Y14, Y13, lo; \
	VFMADD231PS Y15, Y13, hi

// CLAMPY clamps z (Y12 the bottom, Y13 the top, loaded by LOHIY).
#define LOHIY VBROADCASTSS 88(AX), Y12; VBROADCASTSS 92(AX), Y13
#define CLAMPY(z) VMAXPS z, Y12, z; VMINPS z, Y13, z

// STOREY stores lo:hi at byte d of DI; OUTY clamps it first.
#define STOREY(lo, hi, d) VMOVUPS lo, d(DI); VMOVUPS hi, (d+32)(DI)
#define OUTY(lo, hi, d) CLAMPY(lo); CLAMPY(hi); STOREY(lo, hi, d)

// SIX6 starts six pixels' sums (Y0-Y11) at the bias.
#define SIX6 \
	BIASY(Y0, Y1); \
	VMOVAPS Y0, Y2; VMOVAPS Y1, Y3; VMOVAPS Y0, Y4; VMOVAPS Y1, Y5; \
	VMOVAPS Y0, Y6; VMOVAPS Y1, Y7; VMOVAPS Y0, Y8; VMOVAPS Y1, Y9; \
	VMOVAPS Y0, Y10; VMOVAPS Y1, Y11

// TAPS6 adds the taps of six pixels st bytes apart from base (loop lbl)
// and clamps the sums.
#define TAPS6(st, base, lbl) \
	TAPSTART; \
lbl: \
	TAPNEXTY; \
	FMAY(0*st, base, Y0, Y1); FMAY(1*st, base, Y2, Y3); FMAY(2*st, base, Y4, Y5); \
	FMAY(3*st, base, Y6, Y7); FMAY(4*st, base, Y8, Y9); FMAY(5*st, base, Y10, Y11); \
	TAPEND(lbl); \
	LOHIY; \
	CLAMPY(Y0); CLAMPY(Y1); CLAMPY(Y2); CLAMPY(Y3); CLAMPY(Y4); CLAMPY(Y5); \
	CLAMPY(Y6); CLAMPY(Y7); CLAMPY(Y8); CLAMPY(Y9); CLAMPY(Y10); CLAMPY(Y11)

// STEMROWSY is STEMROWS for AVX2: 6 pixels a group, then 4, then 1.
#define STEMROWSY(st) \
yrow: \
	MOVQ 32(AX), CX; \
	MOVQ SI, R14; \
	MOVQ DI, R15; \
y6: \
	CMPQ CX, $6; \
	JLT y4; \
	SIX6; \
	TAPS6(st, SI, yt6); \
	STOREY(Y0, Y1, 0); STOREY(Y2, Y3, 64); STOREY(Y4, Y5, 128); \
	STOREY(Y6, Y7, 192); STOREY(Y8, Y9, 256); STOREY(Y10, Y11, 320); \
	ADDQ $(6*st), SI; \
	ADDQ $384, DI; \
	SUBQ $6, CX; \
	JMP y6; \
y4: \
	CMPQ CX, $4; \
	JLT y1; \
	BIASY(Y0, Y1); \
	VMOVAPS Y0, Y2; VMOVAPS Y1, Y3; VMOVAPS Y0, Y4; VMOVAPS Y1, Y5; \
	VMOVAPS Y0, Y6; VMOVAPS Y1, Y7; \
	TAPSTART; \
yt4: \
	TAPNEXTY; \
	FMAY(0*st, SI, Y0, Y1); FMAY(1*st, SI, Y2, Y3); FMAY(2*st, SI, Y4, Y5); FMAY(3*st, SI, Y6, Y7); \
	TAPEND(yt4); \
	LOHIY; \
	OUTY(Y0, Y1, 0); OUTY(Y2, Y3, 64); OUTY(Y4, Y5, 128); OUTY(Y6, Y7, 192); \
	ADDQ $(4*st), SI; \
	ADDQ $256, DI; \
	SUBQ $4, CX; \
	JMP y4; \
y1: \
	TESTQ CX, CX; \
	JZ yrowend; \
	BIASY(Y0, Y1); \
	TAPSTART; \
yt1: \
	TAPNEXTY; \
	FMAY(0, SI, Y0, Y1); \
	TAPEND(yt1); \
	LOHIY; \
	OUTY(Y0, Y1, 0); \
	ADDQ $st, SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JMP y1; \
yrowend: \
	ROWEND(yrow); \
	VZEROUPPER; \
	RET

// ZEROY sets acc to t where acc is zero (m scratch). After a maximum, t
// the window's values ANDed: then a zero maximum is -0 only where all of
// them are -0 or negative, as Go's max gives (VMAXPS gives either zero for
// -0 and +0).
#define ZEROY(acc, t, m) VXORPS m, m, m; VCMPPS $0, m, acc, m; VBLENDVPS m, t, acc, acc

// PAIRY stores at byte d of DI the maximum of the first row's pixel pair
// lo:hi, lo2:hi2 (the window's first two taps).
#define PAIRY(lo, hi, lo2, hi2, d) \
	VANDPS lo2, lo, Y12; MAXNANY(lo2, lo, Y14, Y15); ZEROY(lo, Y12, Y13); \
	VANDPS hi2, hi, Y12; MAXNANY(hi2, hi, Y14, Y15); ZEROY(hi, Y12, Y13); \
	VMOVUPS lo, d(DI); VMOVUPS hi, (d+32)(DI)

// JOINY brings the second row's pixel pair lo:hi, lo2:hi2 (the window's
// last two taps) into the maximum at byte d of DI.
#define JOINY(lo, hi, lo2, hi2, d) \
	VMOVUPS d(DI), Y14; VMOVUPS (d+32)(DI), Y15; \
	MAXNANY(lo, Y14, Y12, Y13); MAXNANY(lo2, Y14, Y12, Y13); \
	VANDPS lo2, lo, lo; VANDPS d(DI), lo, lo; ZEROY(Y14, lo, Y13); \
	MAXNANY(hi, Y15, Y12, Y13); MAXNANY(hi2, Y15, Y12, Y13); \
	VANDPS hi2, hi, hi; VANDPS (d+32)(DI), hi, hi; ZEROY(Y15, hi, Y13); \
	VMOVUPS Y14, d(DI); VMOVUPS Y15, (d+32)(DI)

// STEMPOOLY is STEMPOOL for AVX2: three pooled pixels a group, the first
// row's six sums (Y0-Y11) reduced by pairs into the output, then the
// second row's brought in, in the window's order; then one pooled pixel a
// group, Y0:Y1 and Y2:Y3 the first row's sums, Y4:Y5 and Y6:Y7 the
// second's, Y8-Y13 the maximum's scratch.
#define STEMPOOLY(st) \
qrow: \
	MOVQ 32(AX), CX; \
	MOVQ 56(AX), DX; \
	MOVQ SI, R14; \
	MOVQ DI, R15; \
q3: \
	CMPQ CX, $3; \
	JLT q1; \
	SIX6; \
	TAPS6(st, SI, qa3); \
	PAIRY(Y0, Y1, Y2, Y3, 0); PAIRY(Y4, Y5, Y6, Y7, 64); PAIRY(Y8, Y9, Y10, Y11, 128); \
	LEAQ (SI)(DX*1), R13; \
	SIX6; \
	TAPS6(st, R13, qb3); \
	JOINY(Y0, Y1, Y2, Y3, 0); JOINY(Y4, Y5, Y6, Y7, 64); JOINY(Y8, Y9, Y10, Y11, 128); \
	ADDQ $(6*st), SI; \
	ADDQ $192, DI; \
	SUBQ $3, CX; \
	JMP q3; \
q1: \
	TESTQ CX, CX; \
	JZ qrowend; \
	BIASY(Y0, Y1); \
	VMOVAPS Y0, Y2; VMOVAPS Y1, Y3; VMOVAPS Y0, Y4; VMOVAPS Y1, Y5; \
	VMOVAPS Y0, Y6; VMOVAPS Y1, Y7; \
	LEAQ (SI)(DX*1), R13; \
	TAPSTART; \
qt1: \
	TAPNEXTY; \
	FMAY(0, SI, Y0, Y1); FMAY(st, SI, Y2, Y3); FMAY(0, R13, Y4, Y5); FMAY(st, R13, Y6, Y7); \
	TAPEND(qt1); \
	LOHIY; \
	CLAMPY(Y0); CLAMPY(Y1); CLAMPY(Y2); CLAMPY(Y3); CLAMPY(Y4); CLAMPY(Y5); CLAMPY(Y6); CLAMPY(Y7); \
	VANDPS Y0, Y2, Y10; VANDPS Y4, Y10, Y10; VANDPS Y6, Y10, Y10; \
	VANDPS Y1, Y3, Y12; VANDPS Y5, Y12, Y12; VANDPS Y7, Y12, Y12; \
	MAXNANY(Y2, Y0, Y8, Y9); MAXNANY(Y4, Y0, Y8, Y9); MAXNANY(Y6, Y0, Y8, Y9); \
	MAXNANY(Y3, Y1, Y8, Y9); MAXNANY(Y5, Y1, Y8, Y9); MAXNANY(Y7, Y1, Y8, Y9); \
	ZEROY(Y0, Y10, Y11); ZEROY(Y1, Y12, Y13); \
	VMOVUPS Y0, (DI); \
	VMOVUPS Y1, 32(DI); \
	ADDQ $(2*st), SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JMP q1; \
qrowend: \
	ROWEND(qrow); \
	VZEROUPPER; \
	RET

// func stemS1AVX2(a *stemArgs)
TEXT ·stemS1AVX2(SB), NOSPLIT, $0-8
	STEMARGSY
	STEMROWSY(4)

// func stemS2AVX2(a *stemArgs)
TEXT ·stemS2AVX2(SB), NOSPLIT, $0-8
	STEMARGSY
	STEMROWSY(8)

// func stemPoolS1AVX2(a *stemArgs)
TEXT ·stemPoolS1AVX2(SB), NOSPLIT, $0-8
	STEMARGSY
	STEMPOOLY(4)

// func stemPoolS2AVX2(a *stemArgs)
TEXT ·stemPoolS2AVX2(SB), NOSPLIT, $0-8
	STEMARGSY
	STEMPOOLY(8)
